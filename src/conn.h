/*
 * conn.h - one client connection: its socket, input remainder, output
 * queue, write interest only while output is pending, idle tracking, and
 * an orderly close (flush, shut the write side, drain, close).
 */
#ifndef CHATD_CONN_H
#define CHATD_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "buffer.h"
#include "framer.h"
#include "msg.h"

struct listener;
struct server;
struct room;

#define CONN_NAME_MAX 56	/* "[v6]:port", "unix:N" or a nickname */

enum conn_flag {
	CONN_CLOSED = 0x01,	/* fd closed; struct waits in the graveyard */
	CONN_IN_FLUSH = 0x02,	/* on the server's flush list */
	CONN_DOOMED = 0x04,	/* to be closed at the next flush (slow consumer) */
	CONN_CLOSING = 0x08,	/* close once the output is flushed */
	CONN_READ_EOF = 0x10,	/* peer sent EOF */
	CONN_PAUSED = 0x20,	/* echo flow control: not reading */
	CONN_LINGER = 0x40,	/* write side shut, draining input until EOF */
	CONN_JOINED = 0x80	/* chat: member of its room */
};

struct conn {
	int fd;
	uint16_t flags;
	uint8_t namelen;
	struct listener *lst;
	struct conn *prev, *next;	/* listener's list, oldest input first */
	struct conn *flush_next;
	int64_t last_input;		/* ms, monotonic */
	struct buffer in;		/* chat: partial line; echo: unsent bytes */
	struct outq out;		/* chat output */
	struct framer framer;
	struct room *room;
	struct conn *room_prev, *room_next;
	const char *close_reason;
	char name[CONN_NAME_MAX];
};

/* Wraps an accepted socket; registers it for reading. */
struct conn *conn_new(struct listener *, int fd, const struct sockaddr *peer, socklen_t peerlen);

/* Queues a shared message; a client over max_queue is doomed. */
void conn_send(struct conn *, struct msg *);
/* Output was added to c->in (echo): make sure it gets flushed. */
void conn_schedule_flush(struct conn *);
/* Stop reading, flush what is owed, then close with reason. */
void conn_close_after_flush(struct conn *, const char *reason);
/* Closes now, dropping unsent output. */
void conn_close(struct conn *, const char *reason);
void conn_set_reading(struct conn *, bool on);
/* Flushes every connection with pending output (before each wait). */
void conn_flush_all(struct server *);
/* Frees closed connections (after flushing). */
void conn_bury(struct server *);
/* Idle timeouts and lingering closes; returns true when any remain. */
bool conn_sweep(struct server *);
size_t conn_pending(const struct conn *);

#endif
