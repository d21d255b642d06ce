/*
 * http.c - HTTP/1.1 request heads (RFC 9112) parsed in place.
 *
 * Bytes are gathered until the blank line that ends the head, scanning
 * each byte once however the head is split; then the whole head is parsed
 * in one pass, cutting it into NUL-terminated fields inside buf.  Anything
 * doubtful is refused rather than guessed at: a parser in front of a file
 * server is an attack surface.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http.h"

void http_req_init(struct http_req *r)
{
	memset(r, 0, sizeof(*r) - sizeof(r->buf));
	r->buf[0] = '\0';
	r->state = HTTP_NEED_MORE;
}

static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static enum http_status fail(struct http_req *r, int status)
{
	r->error = status;
	r->state = HTTP_ERROR;
	return HTTP_ERROR;
}

/* Cuts the line starting at *p: returns it NUL-terminated without CR LF
 * and moves *p past it.  NULL if the line holds a bare CR or a NUL. */
static char *next_line(char **p, const char *end)
{
	char *line = *p, *lf = memchr(line, '\n', (size_t)(end - line));
	char *stop;

	if (lf == NULL)
		return NULL;
	stop = (lf > line && lf[-1] == '\r') ? lf - 1 : lf;
	if (memchr(line, '\r', (size_t)(stop - line)) != NULL ||
	    memchr(line, '\0', (size_t)(stop - line)) != NULL)
		return NULL;
	*stop = '\0';
	*p = lf + 1;
	return line;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s in place.  False on a bad escape or an encoded NUL. */
static bool percent_decode(char *s)
{
	char *out = s;

	for (; *s != '\0'; s++) {
		if (*s == '%') {
			int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return false;
			*out++ = (char)(hi * 16 + lo);
			s += 2;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
	return true;
}

/* True if a segment of the decoded path is "..": checked after decoding
 * so that "%2e%2e" and "%2E." are caught like "..". */
static bool has_dotdot(const char *path)
{
	for (const char *seg = path; seg != NULL; ) {
		const char *slash = strchr(seg, '/');
		size_t n = slash ? (size_t)(slash - seg) : strlen(seg);

		if (n == 2 && seg[0] == '.' && seg[1] == '.')
			return true;
		seg = slash ? slash + 1 : NULL;
	}
	return false;
}

/* "GET /path?q HTTP/1.1": exactly one SP between the three parts. */
static enum http_status parse_request_line(struct http_req *r, char *line)
{
	char *sp1 = strchr(line, ' '), *sp2, *v, *q;

	if (sp1 == NULL || sp1 == line)
		return fail(r, 400);
	*sp1 = '\0';
	for (const char *m = line; *m != '\0'; m++)
		if (!is_tchar((unsigned char)*m))
			return fail(r, 400);
	r->method = line;
	sp2 = strchr(sp1 + 1, ' ');
	if (sp2 == NULL || sp2 == sp1 + 1)
		return fail(r, 400);
	*sp2 = '\0';
	v = sp2 + 1;
	if (strncmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9' || v[8] != '\0')
		return fail(r, 400);
	if (v[5] != '1')
		return fail(r, 505);
	r->version_minor = v[7] - '0';
	/* Origin form only: a server of its own files needs no proxy forms. */
	if (sp1[1] != '/')
		return fail(r, 400);
	q = strchr(sp1 + 1, '?');
	if (q != NULL) {
		*q = '\0';
		r->query = q + 1;
	}
	if (!percent_decode(sp1 + 1) || has_dotdot(sp1 + 1))
		return fail(r, 400);
	r->path = sp1 + 1;
	return HTTP_DONE;
}

/* "Name: value": no blank before the colon, no folded lines. */
static enum http_status parse_header(struct http_req *r, char *line)
{
	char *colon = strchr(line, ':'), *v, *end;

	if (colon == NULL || colon == line)
		return fail(r, 400);
	for (const char *n = line; n < colon; n++)
		if (!is_tchar((unsigned char)*n))
			return fail(r, 400);
	if (r->nheaders == HTTP_MAX_HEADERS)
		return fail(r, 431);
	*colon = '\0';
	for (v = colon + 1; is_blank(*v); v++)
		;
	for (end = v + strlen(v); end > v && is_blank(end[-1]); end--)
		;
	*end = '\0';
	r->headers[r->nheaders].name = line;
	r->headers[r->nheaders].value = v;
	r->nheaders++;
	return HTTP_DONE;
}

static enum http_status parse_head(struct http_req *r, size_t head_len)
{
	char *p = r->buf, *end = r->buf + head_len, *line;

	line = next_line(&p, end);
	if (line == NULL || parse_request_line(r, line) != HTTP_DONE)
		return r->state == HTTP_ERROR ? HTTP_ERROR : fail(r, 400);
	while ((line = next_line(&p, end)) != NULL && *line != '\0')
		if (parse_header(r, line) != HTTP_DONE)
			return HTTP_ERROR;
	if (line == NULL)
		return fail(r, 400);
	r->state = HTTP_DONE;
	return HTTP_DONE;
}

/* The length of the head if buf holds its end (an empty line after a
 * line), else 0.  Resumes where the last call stopped. */
static size_t find_end(struct http_req *r)
{
	for (size_t i = r->scanned; i < r->len; i++) {
		if (r->buf[i] != '\n')
			continue;
		if ((i >= 1 && r->buf[i - 1] == '\n') ||
		    (i >= 2 && r->buf[i - 1] == '\r' && r->buf[i - 2] == '\n'))
			return i + 1;
	}
	r->scanned = r->len;
	return 0;
}

enum http_status http_feed(struct http_req *r, const void *data, size_t len,
    size_t *used)
{
	const char *in = data;
	size_t skip = 0, room, n, old, head_len;

	*used = 0;
	if (r->state != HTTP_NEED_MORE)
		return r->state;
	/* RFC 9112 2.2: empty lines before the request line are ignored. */
	while (r->len == 0 && skip < len && (in[skip] == '\r' || in[skip] == '\n'))
		skip++;
	room = HTTP_HEAD_MAX - r->len;
	n = len - skip < room ? len - skip : room;
	old = r->len;
	memcpy(r->buf + r->len, in + skip, n);
	r->len += n;
	r->buf[r->len] = '\0';
	head_len = find_end(r);
	if (head_len == 0) {
		*used = skip + n;
		if (r->len < HTTP_HEAD_MAX)
			return HTTP_NEED_MORE;
		/* Full without a blank line: which part was too long? */
		return fail(r, memchr(r->buf, '\n', r->len) ? 431 : 414);
	}
	*used = skip + (head_len - old);
	r->len = head_len;
	r->buf[head_len] = '\0';
	return parse_head(r, head_len);
}

const char *http_header(const struct http_req *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

/* True if the comma-separated list holds token (case-insensitive). */
static bool list_has_token(const char *list, const char *token)
{
	size_t tlen = strlen(token);

	while (*list != '\0') {
		const char *end;
		size_t n;

		while (is_blank(*list) || *list == ',')
			list++;
		end = strchr(list, ',');
		n = end ? (size_t)(end - list) : strlen(list);
		while (n > 0 && is_blank(list[n - 1]))
			n--;
		if (n == tlen && n > 0 && strncasecmp(list, token, n) == 0)
			return true;
		list += end ? (size_t)(end - list) : strlen(list);
	}
	return false;
}

bool http_header_has_token(const struct http_req *r, const char *name,
    const char *token)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0 &&
		    list_has_token(r->headers[i].value, token))
			return true;
	return false;
}

const char *http_reason(int status)
{
	static const struct { int code; const char *reason; } reasons[] = {
		{ 101, "Switching Protocols" }, { 200, "OK" },
		{ 204, "No Content" }, { 301, "Moved Permanently" },
		{ 304, "Not Modified" }, { 400, "Bad Request" },
		{ 403, "Forbidden" }, { 404, "Not Found" },
		{ 405, "Method Not Allowed" }, { 408, "Request Timeout" },
		{ 414, "URI Too Long" }, { 426, "Upgrade Required" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 503, "Service Unavailable" },
		{ 505, "HTTP Version Not Supported" },
	};

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == status)
			return reasons[i].reason;
	return "Unknown";
}

size_t http_response_head(char *out, size_t cap, int status, const char *extra,
    long long content_length)
{
	char length[48] = "";
	int n;

	if (content_length >= 0)
		snprintf(length, sizeof(length), "Content-Length: %lld\r\n",
		    content_length);
	n = snprintf(out, cap, "HTTP/1.1 %d %s\r\n%s%s%s\r\n", status,
	    http_reason(status), extra ? extra : "", length,
	    status == 101 ? "" : "Connection: close\r\n");
	return (n < 0 || (size_t)n >= cap) ? 0 : (size_t)n;
}

const char *http_content_type(const char *filename)
{
	static const struct { const char *ext, *type; } types[] = {
		{ "html", "text/html; charset=utf-8" },
		{ "htm", "text/html; charset=utf-8" },
		{ "css", "text/css; charset=utf-8" },
		{ "js", "text/javascript; charset=utf-8" },
		{ "mjs", "text/javascript; charset=utf-8" },
		{ "json", "application/json" },
		{ "txt", "text/plain; charset=utf-8" },
		{ "svg", "image/svg+xml" },
		{ "png", "image/png" },
		{ "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" },
		{ "gif", "image/gif" },
		{ "webp", "image/webp" },
		{ "ico", "image/x-icon" },
		{ "wasm", "application/wasm" },
		{ "woff2", "font/woff2" },
		{ "webmanifest", "application/manifest+json" },
	};
	const char *slash = strrchr(filename, '/');
	const char *dot = strrchr(slash ? slash + 1 : filename, '.');

	if (dot != NULL)
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(dot + 1, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}
