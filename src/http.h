/*
 * http.h - an incremental HTTP/1.1 request-head parser with hard limits,
 * a response-head writer and a Content-Type table.
 *
 * Knows nothing about connections or protocols: the caller feeds bytes as
 * they arrive and gets HTTP_NEED_MORE, HTTP_DONE or HTTP_ERROR (with the
 * status to answer: 400, 414, 431 or 505).  Method checks (405) and what
 * a path means are the caller's.  The head is kept in the struct (at most
 * HTTP_HEAD_MAX bytes), so allocate it for the handshake and free it after.
 */
#ifndef CHATD_HTTP_H
#define CHATD_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_HEAD_MAX 8192	/* request line + headers + blank line */
#define HTTP_MAX_HEADERS 64

enum http_status {
	HTTP_NEED_MORE,		/* the head is not complete: feed more */
	HTTP_DONE,		/* the head is parsed: read the fields */
	HTTP_ERROR		/* answer req->error and close */
};

struct http_header {
	const char *name;	/* as sent; look up with http_header() */
	const char *value;	/* leading and trailing blanks trimmed */
};

struct http_req {
	/* results, valid once http_feed() returned HTTP_DONE */
	const char *method;	/* "GET", case as sent (methods are case-sensitive) */
	const char *path;	/* percent-decoded, starts with '/', no ".." segment */
	const char *query;	/* raw text after '?', or NULL */
	int version_minor;	/* HTTP/1.<minor> */
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t nheaders;
	int error;		/* the status code when HTTP_ERROR */

	/* parser state */
	size_t len;		/* bytes held in buf */
	size_t scanned;		/* buf[0..scanned) holds no end of head */
	enum http_status state;
	char buf[HTTP_HEAD_MAX + 1];
};

void http_req_init(struct http_req *);

/* Takes bytes of the request.  *used is how many of data[0..len) belong
 * to the head; on HTTP_DONE the rest (a client that did not wait for the
 * answer) is the caller's.  Once DONE or ERROR the result sticks. */
enum http_status http_feed(struct http_req *, const void *data, size_t len,
    size_t *used);

/* The value of the first header called name (case-insensitive), or NULL. */
const char *http_header(const struct http_req *, const char *name);

/* True if any header called name holds token as one of its
 * comma-separated elements (case-insensitive): "keep-alive, Upgrade". */
bool http_header_has_token(const struct http_req *, const char *name,
    const char *token);

/* The reason phrase of a status code ("Not Found"), "Unknown" if none. */
const char *http_reason(int status);

/* Writes "HTTP/1.1 <status> <reason>\r\n", extra (zero or more complete
 * "Name: value\r\n" lines, or NULL), Content-Length when content_length
 * >= 0, "Connection: close" unless status is 101, and the blank line.
 * Returns the length, or 0 if it does not fit in cap. */
size_t http_response_head(char *out, size_t cap, int status, const char *extra,
    long long content_length);

/* The Content-Type for a file name by its extension, with a default. */
const char *http_content_type(const char *filename);

#endif
