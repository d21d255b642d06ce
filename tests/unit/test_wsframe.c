/* test_wsframe.c - SHA-1 (FIPS 180 vectors), the RFC 6455 accept key,
 * and the frame decoder by Autobahn|Testsuite case family: framing,
 * pings/pongs, reserved bits, opcodes, fragmentation, UTF-8, limits
 * (lengths), close handling; the framed twin of a chat line. */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>

#include "msg.h"
#include "sha1.h"
#include "unit.h"
#include "ws-frame.h"

static char got[4096];
static size_t glen;

static void rec(const char *s, size_t n)
{
	if (glen + n < sizeof(got)) {
		memcpy(got + glen, s, n);
		glen += n;
		got[glen] = '\0';
	}
}

static void h_text(void *a, const char *d, size_t n) { (void)a; rec(d, n); }
static void h_end(void *a) { (void)a; rec("|", 1); }
static void h_ping(void *a, const uint8_t *p, size_t n) { (void)a; rec("P:", 2); rec((const char *)p, n); rec("|", 1); }
static void h_pong(void *a) { (void)a; rec("O|", 2); }
static void h_close(void *a, unsigned code)
{
	char b[16];

	(void)a;
	rec(b, (size_t)snprintf(b, sizeof(b), "C%u|", code));
}

static const struct ws_handler H = { h_text, h_end, h_ping, h_pong, h_close };

/* A masked client frame of payload p into out; returns its length. */
static size_t cframe(uint8_t *out, int b0, const char *p, size_t n)
{
	static const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	size_t h = ws_frame_header(out, (enum ws_opcode)(b0 & 0x0f), n);

	out[0] = (uint8_t)b0;
	out[1] |= 0x80;
	memcpy(out + h, key, 4);
	for (size_t i = 0; i < n; i++)
		out[h + 4 + i] = (uint8_t)p[i] ^ key[i % 4];
	return h + 4 + n;
}

/* Decodes in at every chunk size; all must agree.  Returns the code. */
static unsigned decode_all(const uint8_t *in, size_t len)
{
	unsigned first = 0;
	char first_got[sizeof(got)];

	for (size_t step = 1; step <= len; step++) {
		struct ws_decoder d;
		unsigned err = 0;

		ws_decoder_init(&d);
		glen = 0;
		got[0] = '\0';
		for (size_t pos = 0; pos < len && err == 0; pos += step)
			err = ws_decode(&d, in + pos, len - pos < step ? len - pos : step, &H, NULL);
		if (step == 1) {
			first = err;
			memcpy(first_got, got, glen + 1);
		} else	/* text before an error may come in other pieces */
			CHECK(err == first && (err != 0 || strcmp(got, first_got) == 0));
	}
	return first;
}

static void test_sha1(void)
{
	static const struct { const char *in, *hex; } v[] = {
		{ "abc", "a9993e364706816aba3e25717850c26c9cd0d89d" },
		{ "", "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
	};
	uint8_t d[SHA1_LEN], e[SHA1_LEN];
	char hex[41];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		sha1_own(v[i].in, strlen(v[i].in), d);
		sha1_digest(v[i].in, strlen(v[i].in), e);
		for (size_t j = 0; j < SHA1_LEN; j++)
			snprintf(hex + 2 * j, 3, "%02x", d[j]);
		CHECK_STR(hex, v[i].hex);
		CHECK(memcmp(d, e, SHA1_LEN) == 0);
	}
	{	/* a million 'a' (FIPS 180 A.3) */
		char *m = malloc(1000000);

		memset(m, 'a', 1000000);
		sha1_own(m, 1000000, d);
		for (size_t j = 0; j < SHA1_LEN; j++)
			snprintf(hex + 2 * j, 3, "%02x", d[j]);
		CHECK_STR(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
		free(m);
	}
}

static void test_accept_key(void)
{
	char out[29];

	CHECK(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out));
	CHECK_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	CHECK(!ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=", out));
	CHECK(!ws_accept_key("dGhlIHNhbXBsZSBub25j!Q==", out));
	CHECK(!ws_accept_key("", out));
}

static void test_framing(void)
{
	uint8_t b[70000];
	static char big[66000];
	size_t n;

	n = cframe(b, 0x81, "Hello", 5);
	CHECK(decode_all(b, n) == 0);
	CHECK_STR(got, "Hello|");
	n = cframe(b, 0x81, "", 0);
	CHECK(decode_all(b, n) == 0);
	CHECK_STR(got, "|");
	/* 16-bit and 64-bit lengths */
	memset(big, 'x', sizeof(big));
	n = cframe(b, 0x81, big, 300);
	CHECK(b[1] == (0x80 | 126));
	CHECK(decode_all(b, n) == 0 && glen == 301);
	n = cframe(b, 0x81, big, 65536);
	CHECK(b[1] == (0x80 | 127));
	{
		struct ws_decoder d;

		ws_decoder_init(&d);
		glen = 0;
		CHECK(ws_decode(&d, b, n, &H, NULL) == 0);
	}
	/* unmasked: 1002 */
	n = ws_frame_header(b, WS_TEXT, 2);
	memcpy(b + n, "hi", 2);
	CHECK(decode_all(b, n + 2) == WS_CLOSE_PROTOCOL);
	/* a 64-bit length with the top bit set */
	memcpy(b, "\x81\xff\x80\0\0\0\0\0\0\0\1\2\3\4", 14);
	CHECK(decode_all(b, 14) == WS_CLOSE_PROTOCOL);
}

static void test_pings_pongs(void)
{
	uint8_t b[400];
	size_t n = cframe(b, 0x89, "ping!", 5);

	n += cframe(b + n, 0x8a, "x", 1);
	n += cframe(b + n, 0x89, "", 0);
	CHECK(decode_all(b, n) == 0);
	CHECK_STR(got, "P:ping!|O|P:|");
	{
		char p[126];

		memset(p, 'p', sizeof(p));
		n = cframe(b, 0x89, p, 125);
		CHECK(decode_all(b, n) == 0);
		n = cframe(b, 0x89, p, 126);
		CHECK(decode_all(b, n) == WS_CLOSE_PROTOCOL);
	}
}

static void test_reserved_bits(void)
{
	uint8_t b[64];

	for (int rsv = 1; rsv < 8; rsv++) {
		size_t n = cframe(b, 0x81 | rsv << 4, "x", 1);

		CHECK(decode_all(b, n) == WS_CLOSE_PROTOCOL);
	}
}

static void test_opcodes(void)
{
	uint8_t b[64];
	size_t n;

	for (int op = 3; op <= 15; op++) {
		if (op >= 8 && op <= 10)
			continue;
		n = cframe(b, 0x80 | op, "x", 1);
		CHECK(decode_all(b, n) == WS_CLOSE_PROTOCOL);
	}
	n = cframe(b, 0x82, "bin", 3);
	CHECK(decode_all(b, n) == WS_CLOSE_UNSUPPORTED);
}

static void test_fragmentation(void)
{
	uint8_t b[256];
	size_t n = cframe(b, 0x01, "frag", 4);

	n += cframe(b + n, 0x89, "in", 2);
	n += cframe(b + n, 0x00, "men", 3);
	n += cframe(b + n, 0x8a, "", 0);
	n += cframe(b + n, 0x80, "ted", 3);
	CHECK(decode_all(b, n) == 0);
	CHECK_STR(got, "fragP:in|menO|ted|");
	n = cframe(b, 0x80, "x", 1);		/* nothing to continue */
	CHECK(decode_all(b, n) == WS_CLOSE_PROTOCOL);
	n = cframe(b, 0x01, "a", 1);
	n += cframe(b + n, 0x81, "b", 1);	/* new message inside one */
	CHECK(decode_all(b, n) == WS_CLOSE_PROTOCOL);
	n = cframe(b, 0x09, "a", 1);		/* fragmented control */
	CHECK(decode_all(b, n) == WS_CLOSE_PROTOCOL);
}

static void test_utf8(void)
{
	uint8_t b[256];
	size_t n;

	n = cframe(b, 0x81, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 11);
	CHECK(decode_all(b, n) == 0);
	n = cframe(b, 0x01, "\xe2\x82", 2);	/* split in a character */
	n += cframe(b + n, 0x80, "\xac", 1);
	CHECK(decode_all(b, n) == 0);
	CHECK_STR(got, "\xe2\x82\xac|");
	n = cframe(b, 0x01, "\xe2\x82", 2);	/* cut short at the end */
	n += cframe(b + n, 0x80, "", 0);
	CHECK(decode_all(b, n) == WS_CLOSE_INVALID_DATA);
	static const char *const bad[] = {
		"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\xff", "\x80", "\xf8\x88\x80\x80\x80",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = cframe(b, 0x81, bad[i], strlen(bad[i]));
		CHECK(decode_all(b, n) == WS_CLOSE_INVALID_DATA);
	}
	CHECK(ws_utf8_valid("\xf4\x8f\xbf\xbf", 4));
	CHECK(!ws_utf8_valid("\xf4\x8f\xbf", 3));
}

static void test_close_handling(void)
{
	uint8_t b[256];
	size_t n;

	n = cframe(b, 0x88, "\x03\xe8" "bye", 5);
	n += cframe(b + n, 0x81, "after", 5);	/* nothing after a close */
	CHECK(decode_all(b, n) == 0);
	CHECK_STR(got, "C1000|");
	n = cframe(b, 0x88, "", 0);
	CHECK(decode_all(b, n) == 0);
	CHECK_STR(got, "C1005|");
	n = cframe(b, 0x88, "\x03", 1);
	CHECK(decode_all(b, n) == WS_CLOSE_PROTOCOL);
	n = cframe(b, 0x88, "\x03\xed", 2);	/* 1005 may not be sent */
	CHECK(decode_all(b, n) == WS_CLOSE_PROTOCOL);
	n = cframe(b, 0x88, "\x0f\xa0", 2);	/* 4000: private use */
	CHECK(decode_all(b, n) == 0);
	n = cframe(b, 0x88, "\x03\xe8\xff", 3);
	CHECK(decode_all(b, n) == WS_CLOSE_INVALID_DATA);
}

static void test_framed_twin(void)
{
	struct msg *m = msg_build((struct iovec[]){ { "a: caf\xe9 \xe2\x82 ok\xed\xa0\x80", 16 } }, 1);
	struct msg *f = msg_twin(m, ws_frame_line), *again = msg_twin(m, ws_frame_line);
	static const char want[] = "\x81\x19" "a: caf\xef\xbf\xbd \xef\xbf\xbd ok"
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd";

	CHECK(f == again);
	CHECK_MEM(f->data, f->len, want, sizeof(want) - 1);
	msg_unref(m);
	m = msg_notice("%0300d", 0);
	f = msg_twin(m, ws_frame_line);
	CHECK(f->len == 4 + 302 && (uint8_t)f->data[1] == 126);
	msg_unref(m);
}

int main(void)
{
	RUN(test_sha1);
	RUN(test_accept_key);
	RUN(test_framing);
	RUN(test_pings_pongs);
	RUN(test_reserved_bits);
	RUN(test_opcodes);
	RUN(test_fragmentation);
	RUN(test_utf8);
	RUN(test_close_handling);
	RUN(test_framed_twin);
	return unit_done("test_wsframe");
}
