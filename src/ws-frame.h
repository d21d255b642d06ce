/*
 * ws-frame.h - RFC 6455 frames: a streaming decoder for client frames,
 * the server's frame header, the handshake's accept key, and the framed
 * twin of a chat line.
 *
 * The decoder never buffers a message: text arrives in pieces through
 * the handler as it is unmasked and checked (UTF-8 across fragments), so
 * a message of any length costs no memory here; the chat layer above caps
 * what it keeps.  Control frames (at most 125 bytes) are gathered whole.
 */
#ifndef CHATD_WS_FRAME_H
#define CHATD_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct msg;

enum ws_opcode {
	WS_CONT = 0x0, WS_TEXT = 0x1, WS_BINARY = 0x2,
	WS_CLOSE = 0x8, WS_PING = 0x9, WS_PONG = 0xa
};

/* Close codes (RFC 6455 7.4.1). */
#define WS_CLOSE_NORMAL 1000
#define WS_CLOSE_GOING_AWAY 1001
#define WS_CLOSE_PROTOCOL 1002
#define WS_CLOSE_UNSUPPORTED 1003
#define WS_CLOSE_NO_STATUS 1005
#define WS_CLOSE_INVALID_DATA 1007

struct ws_handler {
	/* Unmasked, valid UTF-8 bytes of a text message (maybe a piece of
	 * a character's worth at the end: the check continues). */
	void (*text)(void *arg, const char *data, size_t len);
	void (*text_end)(void *arg);		/* the message's last byte came */
	void (*ping)(void *arg, const uint8_t *payload, size_t len);
	void (*pong)(void *arg);
	/* code WS_CLOSE_NO_STATUS when the frame had none. */
	void (*close)(void *arg, unsigned code);
};

struct ws_decoder {
	uint64_t remaining;	/* payload bytes of the current frame left */
	uint8_t hdr[14];	/* the header being gathered */
	uint8_t hlen;
	uint8_t mask[4];
	uint8_t mpos;		/* index into mask of the next byte */
	uint8_t opcode;		/* of the current frame */
	bool fin;
	bool in_frame;		/* the header is done, payload follows */
	bool in_message;	/* a fragmented text message is open */
	bool closed;		/* a close frame came: nothing more is read */
	bool close_due;		/* ...and h->close is still to be called */
	uint16_t close_code;
	uint8_t utf8_need;	/* continuation bytes still owed */
	uint8_t utf8_lo, utf8_hi;	/* range of the next one */
	uint8_t ctl_len;
	uint8_t ctl[125];
};

void ws_decoder_init(struct ws_decoder *);

/* Decodes data[0..len), calling h as frames complete.  Returns 0, or the
 * close code to answer with (1002, 1003, 1007); after an error or a close
 * frame the decoder takes nothing more.  Every byte is used. */
unsigned ws_decode(struct ws_decoder *, const uint8_t *data, size_t len,
    const struct ws_handler *h, void *arg);

/* A server frame header (FIN set, no mask) for a payload of len bytes;
 * returns its length (2, 4 or 10). */
size_t ws_frame_header(uint8_t out[10], enum ws_opcode, uint64_t len);

/* Sec-WebSocket-Accept for key: base64(SHA-1(key GUID)), NUL-terminated.
 * False if key is not 16 bytes in base64 (24 characters). */
bool ws_accept_key(const char *key, char out[29]);

/* The text frame of a chat line (m's bytes without the final CR LF), with
 * every invalid UTF-8 sequence replaced by U+FFFD; NULL without memory. */
struct msg *ws_frame_line(const struct msg *m);

/* True if data is valid UTF-8 as a whole. */
bool ws_utf8_valid(const char *data, size_t len);

#endif
