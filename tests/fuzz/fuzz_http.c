/*
 * fuzz_http.c - libFuzzer target for the HTTP request-head parser.  The
 * first byte picks the chunk size; the rest is the stream.  Invariants:
 * never more than the input is used, DONE yields a path that starts with
 * '/' and has no ".." segment, ERROR carries a status the caller can send,
 * and the same input fed whole gives the same answer.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum http_status feed_all(struct http_req *r, const uint8_t *data,
    size_t size, size_t step)
{
	enum http_status st = HTTP_NEED_MORE;

	http_req_init(r);
	for (size_t pos = 0; pos < size && st == HTTP_NEED_MORE; pos += step) {
		size_t n = size - pos < step ? size - pos : step, used;

		st = http_feed(r, data + pos, n, &used);
		if (used > n || (st == HTTP_NEED_MORE && used != n))
			abort();
	}
	return st;
}

static void check_done(const struct http_req *r)
{
	const char *p = r->path;

	if (p == NULL || p[0] != '/' || r->method == NULL || r->method[0] == '\0')
		abort();
	if (strstr(p, "/../") != NULL || (strlen(p) >= 3 &&
	    strcmp(p + strlen(p) - 3, "/..") == 0))
		abort();
	for (size_t i = 0; i < r->nheaders; i++)
		if (http_header(r, r->headers[i].name) == NULL)
			abort();
	(void)http_header_has_token(r, "Connection", "upgrade");
	(void)http_content_type(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_req a, b;
	enum http_status sa, sb;
	size_t step;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 31 + 1;
	data++;
	size--;
	sa = feed_all(&a, data, size, step);
	sb = feed_all(&b, data, size, size ? size : 1);
	if (sa != sb || (sa == HTTP_ERROR && a.error != b.error))
		abort();
	if (sa == HTTP_DONE)
		check_done(&a);
	if (sa == HTTP_ERROR && a.error != 400 && a.error != 414 &&
	    a.error != 431 && a.error != 505)
		abort();
	return 0;
}
