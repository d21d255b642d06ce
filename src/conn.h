/*
 * conn.h - one client connection: its transport, input remainder, output
 * queue, write interest only while output is pending, idle tracking,
 * input held back on request (flood control, bounded slices) and an
 * orderly close (flush, shut the write side, drain, close).
 *
 * A connection knows only its endpoint (the owner interface a listener
 * embeds: protocol table, settings, counters) and the pool of all
 * connections; never the server or the listener.
 */
#ifndef CHATD_CONN_H
#define CHATD_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "buffer.h"
#include "config.h"
#include "framer.h"
#include "msg.h"
#include "selector.h"

struct proto_ops;
struct transport_ops;
struct room;

#define CONN_NAME_MAX 56	/* "[v6]:port", "unix:N" or a nickname */

enum conn_flag {
	CONN_CLOSED = 0x001,	/* fd closed; struct waits in the graveyard */
	CONN_IN_FLUSH = 0x002,	/* on the pool's flush list */
	CONN_DOOMED = 0x004,	/* to be closed at the next flush (slow consumer) */
	CONN_CLOSING = 0x008,	/* close once the output is flushed */
	CONN_READ_EOF = 0x010,	/* peer sent EOF */
	CONN_PAUSED = 0x020,	/* output backlog: not reading until it drains */
	CONN_LINGER = 0x040,	/* write side shut, draining input until EOF */
	CONN_JOINED = 0x080,	/* chat: member of its room */
	CONN_HANDSHAKE = 0x100,	/* the transport's handshake is not done */
	CONN_HELD = 0x200,	/* input held back until wake_at */
	CONN_ON_WAKE = 0x400,	/* on the pool's wake list */
	CONN_WSFRAME = 0x800	/* gets chat lines as WebSocket frames */
};

/* Why a connection ended, for the counters (SPEC 17). */
enum close_kind {
	CLOSE_CLIENT, CLOSE_IDLE, CLOSE_SLOW, CLOSE_FLOOD, CLOSE_SHUTDOWN,
	CLOSE_ERROR, CLOSE_KINDS
};

/* Why a newcomer or a datagram was turned away, for the counters. */
enum reject_kind { REJECT_FULL, REJECT_SHUTDOWN, REJECT_LOOP, REJECT_KINDS };

/* Kept as events happen (one increment each), so a scrape or SIGUSR1
 * reads them in O(listeners), never by walking connections. */
struct stats {
	uint64_t accepted;
	uint64_t rejected[REJECT_KINDS];
	uint64_t messages;	/* chat lines delivered to a room / echo reads */
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t flood_holds;	/* times a client's input was held back */
	uint64_t handshake_failures;
	uint64_t closed[CLOSE_KINDS];
};

/* Every connection of the daemon: what is flushed before the next wait,
 * what is freed after it, timers for sweeps and held input. */
struct conn_pool {
	struct selector *sel;
	struct endpoint *endpoints;	/* with connections or listening */
	unsigned nconns;
	unsigned nbounded;		/* closing or handshaking: time-bounded */
	uint32_t unix_counter;
	int64_t close_bound_ms;		/* a closing client takes what it is owed */
	bool stopping;			/* the server is shutting down */
	struct conn *flush_list;	/* output queued since the last wait */
	struct conn *graveyard;		/* closed, freed after dispatch */
	struct conn *wake_list;		/* held input, pending transport bytes */
	struct sel_timer *sweep_timer;
	struct sel_timer *wake_timer;
	bool sweep_armed;
	int64_t wake_armed_at;		/* INT64_MAX: not armed */
};

/* What a connection may use of whoever accepted it; a listener embeds
 * one.  conf points at the listener's own copy and follows reloads. */
struct endpoint {
	struct endpoint *pool_next, *pool_prev;
	struct conn_pool *pool;
	const struct proto_ops *proto;
	const struct listener_conf *conf;
	void *proto_state;		/* the protocol's, e.g. chat's room */
	unsigned nclients;
	struct conn *oldest, *newest;	/* by last input, for idle sweeps */
	struct stats stats;
};

struct conn {
	int fd;
	uint16_t flags;
	uint8_t namelen;
	int8_t tr_want;			/* SEL_* the transport waits for */
	struct endpoint *ep;
	const struct transport_ops *tr_ops;
	void *tr;			/* transport state (TLS: the SSL) */
	void *proto_data;		/* protocol state beyond the basics */
	struct conn *prev, *next;	/* endpoint's list, oldest input first;
					 * next: the graveyard once closed */
	struct conn *flush_next;
	struct conn *wake_next;
	int64_t last_input;		/* ms, monotonic */
	int64_t wake_at;		/* CONN_HELD: when input may go on */
	int64_t flood_tat;		/* flood control: theoretical arrival, us */
	int64_t held_since;		/* flood: held back without a break since */
	struct buffer in;		/* input the protocol has not used yet */
	struct outq out;
	struct framer framer;
	struct room *room;
	struct conn *room_prev, *room_next;
	const char *close_reason;
	char name[CONN_NAME_MAX];
};

/* ---- the pool --------------------------------------------------------- */
int conn_pool_init(struct conn_pool *, struct selector *);
void conn_pool_free(struct conn_pool *);
void conn_pool_add_endpoint(struct conn_pool *, struct endpoint *);
void conn_pool_remove_endpoint(struct endpoint *);
/* Flushes every connection with pending output (before each wait). */
void conn_flush_all(struct conn_pool *);
/* Frees closed connections (after flushing). */
void conn_free_closed(struct conn_pool *);
/* An endpoint's settings changed (reload): timers follow them. */
void conn_endpoint_changed(struct endpoint *);

/* ---- one connection ----------------------------------------------- */
/* Wraps an accepted socket with the plain transport; registers it for
 * reading.  conn_start() once the transport is set (tls_conn_attach). */
struct conn *conn_new(struct endpoint *, int fd, const struct sockaddr *peer, socklen_t peerlen);
/* Starts the handshake, or opens the protocol at once. */
void conn_start(struct conn *);

/* Queues a shared message; a client over max_queue is doomed. */
void conn_send(struct conn *, struct msg *);
/* Queues bytes of its own (echo): written now if the socket takes them,
 * the rest kept in the queue; reading pauses while it is over max_queue. */
void conn_write(struct conn *, const char *data, size_t len);
/* Stop reading, flush what is owed, then close. */
void conn_close_after_flush(struct conn *, enum close_kind, const char *reason);
/* Closes now, dropping unsent output. */
void conn_close(struct conn *, enum close_kind, const char *reason);
/* Holds input back: no reads until after_ms, then proto->resume(). */
void conn_hold_input(struct conn *, int64_t after_ms);
size_t conn_pending(const struct conn *);

/* Closes what idled or lingered too long; true while any remain. */
bool conn_sweep(struct conn_pool *);

#endif
