/*
 * fuzz_wsframe.c - libFuzzer target for the WebSocket frame decoder.  The
 * first byte picks the chunk size; the rest is the stream.  Invariants:
 * what reaches the text handler is valid UTF-8 when a message ends, the
 * answer does not depend on how the stream is split, and the framed twin
 * of the same bytes as a chat line is valid UTF-8.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "ws-frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char text[1 << 16];
static size_t tlen;
static unsigned events;

static void h_text(void *a, const char *d, size_t n)
{
	(void)a;
	if (tlen + n <= sizeof(text)) {
		memcpy(text + tlen, d, n);
		tlen += n;
	}
	events++;
}

static void h_end(void *a)
{
	(void)a;
	if (tlen < sizeof(text) && !ws_utf8_valid(text, tlen))
		abort();
	tlen = 0;
	events++;
}

static void h_ping(void *a, const uint8_t *p, size_t n) { (void)a; (void)p; if (n > 125) abort(); events++; }
static void h_pong(void *a) { (void)a; events++; }
static void h_close(void *a, unsigned code) { (void)a; (void)code; events++; }

static const struct ws_handler H = { h_text, h_end, h_ping, h_pong, h_close };

static unsigned run(const uint8_t *data, size_t size, size_t step)
{
	struct ws_decoder d;
	unsigned err = 0;

	ws_decoder_init(&d);
	tlen = 0;
	for (size_t pos = 0; pos < size && err == 0; pos += step)
		err = ws_decode(&d, data + pos, size - pos < step ? size - pos : step, &H, NULL);
	return err;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t step;
	unsigned a, b;
	struct msg *m, *f;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 23 + 1;
	data++;
	size--;
	a = run(data, size, step);
	b = run(data, size, size ? size : 1);
	if (a != b)
		abort();
	m = msg_new(size);
	if (m == NULL)
		return 0;
	if (size > 0)
		memcpy(m->data, data, size);
	f = msg_twin(m, ws_frame_line);
	if (f != NULL) {
		size_t h = (uint8_t)f->data[1] == 126 ? 4 : (uint8_t)f->data[1] == 127 ? 10 : 2;

		if (!ws_utf8_valid(f->data + h, f->len - h))
			abort();
	}
	msg_unref(m);
	return 0;
}
