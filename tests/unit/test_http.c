/* test_http.c - the HTTP request-head parser: every split of a request,
 * the limits (414, 431), versions (505), path decoding and refusals,
 * header lookup and token lists, the response head, Content-Types. */
#include "autoconfig.h"

#include <stdlib.h>

#include "http.h"
#include "unit.h"

static struct http_req req;

/* Feeds in in chunks of step; returns the status and *used_total. */
static enum http_status feed(const char *in, size_t len, size_t step,
    size_t *used_total)
{
	enum http_status st = HTTP_NEED_MORE;

	http_req_init(&req);
	*used_total = 0;
	for (size_t pos = 0; pos < len && st == HTTP_NEED_MORE; pos += step) {
		size_t n = len - pos < step ? len - pos : step, used;

		st = http_feed(&req, in + pos, n, &used);
		*used_total += used;
	}
	return st;
}

static enum http_status feed_str(const char *in)
{
	size_t used;

	return feed(in, strlen(in), strlen(in), &used);
}

static int error_of(const char *in)
{
	return feed_str(in) == HTTP_ERROR ? req.error : 0;
}

static void test_upgrade_every_split(void)
{
	const char *in = "GET /chat?room=a HTTP/1.1\r\nHost: h\r\n"
	    "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
	    "Sec-WebSocket-Key:   dGhlIHNhbXBsZSBub25jZQ==  \r\n\r\nFRAME";
	size_t len = strlen(in), head = len - 5;

	for (size_t step = 1; step <= len; step++) {
		size_t used;

		CHECK(feed(in, len, step, &used) == HTTP_DONE);
		CHECK(used == head);
		CHECK_STR(req.method, "GET");
		CHECK_STR(req.path, "/chat");
		CHECK_STR(req.query, "room=a");
		CHECK(req.version_minor == 1);
		CHECK(req.nheaders == 4);
		CHECK_STR(http_header(&req, "sec-websocket-key"), "dGhlIHNhbXBsZSBub25jZQ==");
		CHECK(http_header_has_token(&req, "CONNECTION", "upgrade"));
		CHECK(http_header_has_token(&req, "Connection", "Keep-Alive"));
		CHECK(!http_header_has_token(&req, "Connection", "close"));
		CHECK(!http_header_has_token(&req, "Connection", "Upgr"));
		CHECK(http_header(&req, "Origin") == NULL);
	}
}

static void test_bare_lf_and_leading_blank_lines(void)
{
	CHECK(feed_str("\r\n\nHEAD / HTTP/1.0\nHost: x\n\n") == HTTP_DONE);
	CHECK_STR(req.method, "HEAD");
	CHECK_STR(req.path, "/");
	CHECK(req.query == NULL);
	CHECK(req.version_minor == 0);
	CHECK(feed_str("GET / HTTP/1.1\r\n") == HTTP_NEED_MORE);
	/* Once decided, the answer sticks. */
	CHECK(feed_str("GET / HTTP/1.1\r\n\r\n") == HTTP_DONE);
	{
		size_t used;

		CHECK(http_feed(&req, "x", 1, &used) == HTTP_DONE && used == 0);
	}
}

static void test_paths(void)
{
	CHECK(feed_str("GET /a%20b/%41.html HTTP/1.1\r\n\r\n") == HTTP_DONE);
	CHECK_STR(req.path, "/a b/A.html");
	CHECK(feed_str("GET /a..b/..c HTTP/1.1\r\n\r\n") == HTTP_DONE);
	CHECK(error_of("GET /../etc/passwd HTTP/1.1\r\n\r\n") == 400);
	CHECK(error_of("GET /a/.. HTTP/1.1\r\n\r\n") == 400);
	CHECK(error_of("GET /%2e%2e/etc/passwd HTTP/1.1\r\n\r\n") == 400);
	CHECK(error_of("GET /%2E./x HTTP/1.1\r\n\r\n") == 400);
	CHECK(error_of("GET /a%2f..%2fb HTTP/1.1\r\n\r\n") == 400);
	CHECK(error_of("GET /a%00b HTTP/1.1\r\n\r\n") == 400);
	CHECK(error_of("GET /a%zz HTTP/1.1\r\n\r\n") == 400);
	CHECK(error_of("GET /a% HTTP/1.1\r\n\r\n") == 400);
	CHECK(error_of("GET http://x/ HTTP/1.1\r\n\r\n") == 400);
	CHECK(error_of("GET * HTTP/1.1\r\n\r\n") == 400);
	/* The query is not decoded and may hold anything printable. */
	CHECK(feed_str("GET /x?a=%2e%2e/.. HTTP/1.1\r\n\r\n") == HTTP_DONE);
	CHECK_STR(req.path, "/x");
	CHECK_STR(req.query, "a=%2e%2e/..");
}

static void test_bad_request_lines(void)
{
	CHECK(error_of("GET / HTTP/2.0\r\n\r\n") == 505);
	CHECK(error_of("GET / HTTP/0.9\r\n\r\n") == 505);
	CHECK(error_of("GET / HTTP/1.10\r\n\r\n") == 400);
	CHECK(error_of("GET / FTP/1.1\r\n\r\n") == 400);
	CHECK(error_of("GET /\r\n\r\n") == 400);
	CHECK(error_of("GET  / HTTP/1.1\r\n\r\n") == 400);
	CHECK(error_of(" GET / HTTP/1.1\r\n\r\n") == 400);
	CHECK(error_of("G(T / HTTP/1.1\r\n\r\n") == 400);
	CHECK(error_of("GET / HTTP/1.1 \r\n\r\n") == 400);
	CHECK(error_of("GET / HTTP/1.1\r\nNo colon\r\n\r\n") == 400);
	CHECK(error_of("GET / HTTP/1.1\r\nBad name: v\r\n\r\n") == 400);
	CHECK(error_of("GET / HTTP/1.1\r\nName : v\r\n\r\n") == 400);
	CHECK(error_of("GET / HTTP/1.1\r\n: v\r\n\r\n") == 400);
	CHECK(error_of("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n") == 400);
	CHECK(error_of("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n") == 400);
	{
		static const char nul[] = "GET / HTTP/1.1\r\nA: b\0c\r\n\r\n";
		size_t used;

		CHECK(feed(nul, sizeof(nul) - 1, 5, &used) == HTTP_ERROR && req.error == 400);
	}
}

static void test_limits(void)
{
	static char big[HTTP_HEAD_MAX + 64];
	size_t used, n;

	/* A request line that never ends: 414. */
	memcpy(big, "GET /", 5);
	memset(big + 5, 'a', sizeof(big) - 5);
	CHECK(feed(big, sizeof(big), 1000, &used) == HTTP_ERROR && req.error == 414);
	CHECK(used == HTTP_HEAD_MAX);
	/* Headers that never end: 431. */
	n = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX: ");
	memset(big + n, 'b', sizeof(big) - n);
	CHECK(feed(big, sizeof(big), 777, &used) == HTTP_ERROR && req.error == 431);
	/* Exactly HTTP_HEAD_MAX bytes including the blank line is accepted. */
	memset(big, 'c', sizeof(big));
	n = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX: ");
	big[n] = 'c';
	memcpy(big + HTTP_HEAD_MAX - 4, "\r\n\r\n", 4);
	CHECK(feed(big, HTTP_HEAD_MAX, 100, &used) == HTTP_DONE && used == HTTP_HEAD_MAX);
	CHECK(http_header(&req, "x") != NULL &&
	    strlen(http_header(&req, "x")) == HTTP_HEAD_MAX - 4 - n);
	/* One byte more is not. */
	memset(big, 'c', sizeof(big));
	snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX: ");
	big[strlen(big)] = 'c';
	memcpy(big + HTTP_HEAD_MAX - 3, "\r\n\r\n", 4);
	CHECK(feed(big, HTTP_HEAD_MAX + 1, 100, &used) == HTTP_ERROR && req.error == 431);
	/* Too many headers: 431. */
	n = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\n");
	for (int i = 0; i <= HTTP_MAX_HEADERS; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "H%d: v\r\n", i);
	snprintf(big + n, sizeof(big) - n, "\r\n");
	CHECK(error_of(big) == 431);
}

static void test_response_head(void)
{
	char out[256];
	size_t n;

	n = http_response_head(out, sizeof(out), 404, "Content-Type: text/plain\r\n", 10);
	CHECK_STR(out, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 10\r\nConnection: close\r\n\r\n");
	CHECK(n == strlen(out));
	http_response_head(out, sizeof(out), 101, "Upgrade: websocket\r\n", -1);
	CHECK_STR(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
	http_response_head(out, sizeof(out), 426, NULL, 0);
	CHECK_STR(out, "HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n");
	CHECK(http_response_head(out, 10, 200, NULL, 0) == 0);
	CHECK_STR(http_reason(431), "Request Header Fields Too Large");
	CHECK_STR(http_reason(799), "Unknown");
}

static void test_content_types(void)
{
	CHECK_STR(http_content_type("/www/index.html"), "text/html; charset=utf-8");
	CHECK_STR(http_content_type("chat.JS"), "text/javascript; charset=utf-8");
	CHECK_STR(http_content_type("style.css"), "text/css; charset=utf-8");
	CHECK_STR(http_content_type("a.png"), "image/png");
	CHECK_STR(http_content_type("a.svg"), "image/svg+xml");
	CHECK_STR(http_content_type("dir.html/README"), "application/octet-stream");
	CHECK_STR(http_content_type("x.unknown"), "application/octet-stream");
}

int main(void)
{
	RUN(test_upgrade_every_split);
	RUN(test_bare_lf_and_leading_blank_lines);
	RUN(test_paths);
	RUN(test_bad_request_lines);
	RUN(test_limits);
	RUN(test_response_head);
	RUN(test_content_types);
	return unit_done("test_http");
}
