/*
 * ws-frame.c - the RFC 6455 framing layer (section 5) on chatd's own
 * terms: streaming (no message is buffered), strict (every rule breach is
 * a close code), and the server side frames each shared line once.
 *
 * Why not wslay: its event API hands whole messages to a callback after
 * buffering them (or fragments without UTF-8 checking), and its send
 * queue copies each message per connection, which would defeat the one
 * shared framed msg per line.  The decoder here is ~200 lines.
 */
#include "autoconfig.h"

#include <string.h>

#include "msg.h"
#include "sha1.h"
#include "ws-frame.h"

void ws_decoder_init(struct ws_decoder *d)
{
	memset(d, 0, sizeof(*d));
}

/* ---- UTF-8 (RFC 3629), a byte at a time ---------------------------- */

/* Advances the check by one byte: false if b cannot come next. */
static bool utf8_step(uint8_t *need, uint8_t *lo, uint8_t *hi, uint8_t b)
{
	if (*need > 0) {
		if (b < *lo || b > *hi)
			return false;
		(*need)--;
		*lo = 0x80;
		*hi = 0xbf;
		return true;
	}
	*lo = 0x80;
	*hi = 0xbf;
	if (b < 0x80)
		return true;
	if (b >= 0xc2 && b <= 0xdf)
		*need = 1;
	else if (b >= 0xe0 && b <= 0xef) {
		*need = 2;
		if (b == 0xe0)
			*lo = 0xa0;		/* no overlong forms */
		else if (b == 0xed)
			*hi = 0x9f;		/* no surrogates */
	} else if (b >= 0xf0 && b <= 0xf4) {
		*need = 3;
		if (b == 0xf0)
			*lo = 0x90;
		else if (b == 0xf4)
			*hi = 0x8f;		/* nothing above U+10FFFF */
	} else
		return false;
	return true;
}

bool ws_utf8_valid(const char *data, size_t len)
{
	uint8_t need = 0, lo = 0x80, hi = 0xbf;

	for (size_t i = 0; i < len; i++)
		if (!utf8_step(&need, &lo, &hi, (uint8_t)data[i]))
			return false;
	return need == 0;
}

/* ---- the decoder --------------------------------------------------- */

static size_t header_len(const uint8_t *h)
{
	/* An unmasked frame is refused at once, so its key is not awaited. */
	size_t n = (h[1] & 0x80) ? 2 + 4 : 2;

	if ((h[1] & 0x7f) == 126)
		n += 2;
	else if ((h[1] & 0x7f) == 127)
		n += 8;
	return n;
}

/* The header is complete: checks it against the rules of 5.2-5.5. */
static unsigned start_frame(struct ws_decoder *d)
{
	const uint8_t *h = d->hdr;
	uint8_t op = h[0] & 0x0f, len7 = h[1] & 0x7f;
	size_t at = 2;

	if (h[0] & 0x70)
		return WS_CLOSE_PROTOCOL;	/* no extension was negotiated */
	if (!(h[1] & 0x80))
		return WS_CLOSE_PROTOCOL;	/* 5.1: clients must mask */
	d->fin = (h[0] & 0x80) != 0;
	d->opcode = op;
	if (len7 == 126) {
		d->remaining = (uint64_t)h[2] << 8 | h[3];
		at = 4;
	} else if (len7 == 127) {
		d->remaining = 0;
		for (int i = 0; i < 8; i++)
			d->remaining = d->remaining << 8 | h[2 + i];
		if (d->remaining >> 63)
			return WS_CLOSE_PROTOCOL;
		at = 10;
	} else
		d->remaining = len7;
	memcpy(d->mask, h + at, 4);
	d->mpos = 0;
	switch (op) {
	case WS_CLOSE: case WS_PING: case WS_PONG:
		if (!d->fin || d->remaining > 125)
			return WS_CLOSE_PROTOCOL;	/* 5.5 */
		d->ctl_len = 0;
		break;
	case WS_TEXT:
		if (d->in_message)
			return WS_CLOSE_PROTOCOL;	/* the last one is not done */
		d->in_message = true;
		d->utf8_need = 0;
		break;
	case WS_CONT:
		if (!d->in_message)
			return WS_CLOSE_PROTOCOL;	/* nothing to continue */
		break;
	case WS_BINARY:
		return WS_CLOSE_UNSUPPORTED;
	default:
		return WS_CLOSE_PROTOCOL;
	}
	d->in_frame = true;
	return 0;
}

/* Text payload: unmasks and checks in slices, hands on what is valid. */
static unsigned text_payload(struct ws_decoder *d, const uint8_t *p, size_t n,
    const struct ws_handler *h, void *arg)
{
	char out[512];

	while (n > 0) {
		size_t k = n < sizeof(out) ? n : sizeof(out);

		for (size_t i = 0; i < k; i++) {
			uint8_t b = p[i] ^ d->mask[d->mpos];

			d->mpos = (d->mpos + 1) & 3;
			if (!utf8_step(&d->utf8_need, &d->utf8_lo, &d->utf8_hi, b))
				return WS_CLOSE_INVALID_DATA;
			out[i] = (char)b;
		}
		h->text(arg, out, k);
		p += k;
		n -= k;
	}
	return 0;
}

static bool valid_close_code(unsigned code)
{
	if (code >= 3000 && code <= 4999)
		return true;
	return code >= 1000 && code <= 1011 && code != 1004 && code != 1005 &&
	    code != 1006;
}

/* The close handler may free the connection and this decoder with it:
 * ws_decode calls it last, after its final look at d. */
static void close_later(struct ws_decoder *d, unsigned code)
{
	d->close_due = true;
	d->close_code = (uint16_t)code;
}

/* A control frame is complete (its payload, unmasked, in d->ctl). */
static unsigned end_control(struct ws_decoder *d, const struct ws_handler *h,
    void *arg)
{
	unsigned code;

	switch (d->opcode) {
	case WS_PING:
		h->ping(arg, d->ctl, d->ctl_len);
		return 0;
	case WS_PONG:
		h->pong(arg);
		return 0;
	default:	/* WS_CLOSE */
		d->closed = true;
		if (d->ctl_len == 0) {
			close_later(d, WS_CLOSE_NO_STATUS);
			return 0;
		}
		if (d->ctl_len == 1)
			return WS_CLOSE_PROTOCOL;
		code = (unsigned)d->ctl[0] << 8 | d->ctl[1];
		if (!valid_close_code(code))
			return WS_CLOSE_PROTOCOL;
		if (!ws_utf8_valid((const char *)d->ctl + 2, d->ctl_len - 2u))
			return WS_CLOSE_INVALID_DATA;
		close_later(d, code);
		return 0;
	}
}

/* The current frame's payload is all in. */
static unsigned end_frame(struct ws_decoder *d, const struct ws_handler *h,
    void *arg)
{
	d->in_frame = false;
	d->hlen = 0;
	if (d->opcode >= WS_CLOSE)
		return end_control(d, h, arg);
	if (d->fin) {
		d->in_message = false;
		if (d->utf8_need != 0)
			return WS_CLOSE_INVALID_DATA;	/* cut in a character */
		h->text_end(arg);
	}
	return 0;
}

/* Payload bytes of the current frame; returns how many were used. */
static size_t payload(struct ws_decoder *d, const uint8_t *p, size_t len,
    const struct ws_handler *h, void *arg, unsigned *err)
{
	size_t n = d->remaining < len ? (size_t)d->remaining : len;

	if (d->opcode >= WS_CLOSE) {
		for (size_t i = 0; i < n; i++) {
			d->ctl[d->ctl_len++] = p[i] ^ d->mask[d->mpos];
			d->mpos = (d->mpos + 1) & 3;
		}
	} else if ((*err = text_payload(d, p, n, h, arg)) != 0)
		return n;
	d->remaining -= n;
	if (d->remaining == 0)
		*err = end_frame(d, h, arg);
	return n;
}

unsigned ws_decode(struct ws_decoder *d, const uint8_t *data, size_t len,
    const struct ws_handler *h, void *arg)
{
	size_t pos = 0;
	unsigned err = 0;

	while (!d->closed && err == 0 && (pos < len || (d->in_frame && d->remaining == 0))) {
		if (d->in_frame) {
			pos += payload(d, data + pos, len - pos, h, arg, &err);
			continue;
		}
		/* Gather the header, however it is split. */
		d->hdr[d->hlen++] = data[pos++];
		if (d->hlen >= 2 && d->hlen == header_len(d->hdr))
			err = start_frame(d);
	}
	if (err != 0)
		d->closed = true;
	if (err == 0 && d->close_due) {
		unsigned code = d->close_code;

		d->close_due = false;
		h->close(arg, code);	/* d may be gone from here on */
	}
	return err;
}

/* ---- what the server sends ----------------------------------------- */

size_t ws_frame_header(uint8_t out[10], enum ws_opcode op, uint64_t len)
{
	out[0] = (uint8_t)(0x80 | op);
	if (len < 126) {
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		return 4;
	}
	out[1] = 127;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 10;
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(const uint8_t *in, size_t n, char *out)
{
	size_t i = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*out++ = b64[v >> 18];
		*out++ = b64[(v >> 12) & 63];
		*out++ = b64[(v >> 6) & 63];
		*out++ = b64[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		*out++ = b64[v >> 18];
		*out++ = b64[(v >> 12) & 63];
		*out++ = '=';
		*out++ = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		*out++ = b64[v >> 18];
		*out++ = b64[(v >> 12) & 63];
		*out++ = b64[(v >> 6) & 63];
		*out++ = '=';
	}
	*out = '\0';
}

bool ws_accept_key(const char *key, char out[29])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	char buf[24 + sizeof(guid)];
	uint8_t digest[SHA1_LEN];

	/* 16 bytes in base64: 22 characters and "==". */
	if (strlen(key) != 24 || key[22] != '=' || key[23] != '=')
		return false;
	for (int i = 0; i < 22; i++)
		if (strchr(b64, key[i]) == NULL || key[i] == '\0')
			return false;
	memcpy(buf, key, 24);
	memcpy(buf + 24, guid, sizeof(guid) - 1);
	sha1_digest(buf, 24 + sizeof(guid) - 1, digest);
	base64(digest, sizeof(digest), out);
	return true;
}

/* Copies a line, replacing each maximal invalid UTF-8 subpart by U+FFFD
 * (the Unicode "best practice"); out NULL: only counts. */
static size_t sanitize(const uint8_t *in, size_t n, uint8_t *out)
{
	static const uint8_t fffd[3] = { 0xef, 0xbf, 0xbd };
	size_t o = 0, start = 0;
	uint8_t need = 0, lo = 0x80, hi = 0xbf;

	for (size_t i = 0; i < n; ) {
		if (utf8_step(&need, &lo, &hi, in[i])) {
			i++;
			if (need == 0) {
				if (out)
					memcpy(out + o, in + start, i - start);
				o += i - start;
				start = i;
			}
			continue;
		}
		/* Bad byte: the sequence so far is one replacement; a lead
		 * byte that broke a sequence starts again on its own. */
		if (out)
			memcpy(out + o, fffd, 3);
		o += 3;
		if (need == 0)
			i++;
		need = 0;
		start = i;
	}
	if (start < n) {	/* cut short at the end */
		if (out)
			memcpy(out + o, fffd, 3);
		o += 3;
	}
	return o;
}

struct msg *ws_frame_line(const struct msg *m)
{
	const uint8_t *text = (const uint8_t *)m->data;
	size_t n = m->len, plen, hlen;
	uint8_t hdr[10];
	struct msg *f;

	if (n >= 2 && text[n - 2] == '\r' && text[n - 1] == '\n')
		n -= 2;
	plen = sanitize(text, n, NULL);
	hlen = ws_frame_header(hdr, WS_TEXT, plen);
	f = msg_new(hlen + plen);
	if (f == NULL)
		return NULL;
	memcpy(f->data, hdr, hlen);
	sanitize(text, n, (uint8_t *)f->data + hlen);
	return f;
}
