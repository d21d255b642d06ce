/*
 * proto.h - what a protocol does with its listeners and connections.
 *
 * One const table per protocol (chat.c, echo.c, ...), found by the
 * configured protocol in one place, proto-registry.c.  A protocol owns its
 * per-listener state (chat: the room) through attach/detach/update and
 * its per-connection state through c->proto_data.  Adding a protocol is
 * one new file, one line in proto-registry.c and its rows in the config
 * schema.
 */
#ifndef CHATD_PROTO_H
#define CHATD_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct conn;
struct endpoint;
struct msg;

struct proto_ops {
	const char *name;		/* as in the config */
	/* Sent to a newcomer refused because the listener is full; NULL:
	 * just close. */
	const char *full_notice;
	/* Keeps accepting through a graceful shutdown, and its clients do not
	 * hold the shutdown up (metrics: /healthz answers 503 meanwhile). */
	bool serves_shutdown;

	/* ---- per listener ---- */
	/* Sets up ep->proto_state for conf; -1 after logging. */
	int (*attach)(struct endpoint *, const struct listener_conf *);
	void (*detach)(struct endpoint *);
	/* A reload changed conf; -1 keeps the old state (after logging). */
	int (*update)(struct endpoint *, const struct listener_conf *);
	/* A datagram socket is readable (UDP echo); NULL: stream only. */
	void (*datagram)(struct endpoint *, int fd);

	/* ---- per connection ---- */
	void (*open)(struct conn *);	/* after the transport's handshake */
	void (*input)(struct conn *, const char *data, size_t len);
	/* Input held back (flood control, bounded slices) may go on. */
	void (*resume)(struct conn *);
	void (*eof)(struct conn *);
	void (*closing)(struct conn *);	/* before the fd is closed */
	/* A last notice before the server closes the connection (idle
	 * timeout, shutdown); NULL for protocols without notices. */
	void (*farewell)(struct conn *, const char *notice);
	/* What a shared line becomes for a connection flagged CONN_WSFRAME
	 * (websocket: its text frame, cached on the msg); NULL: as is. */
	struct msg *(*frame)(struct msg *);
};

#endif
