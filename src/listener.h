/*
 * listener.h - one configured listening socket: bind or adopt, accept in
 * a loop, enforce client limits, pause and retry on descriptor exhaustion.
 */
#ifndef CHATD_LISTENER_H
#define CHATD_LISTENER_H

#include <stdbool.h>

#include "config.h"
#include "server.h"

struct conn;
struct room;

/* What a protocol does with a connection; chat.c and echo.c each
 * provide one table. */
struct proto_ops {
	void (*open)(struct conn *);
	void (*input)(struct conn *, const char *data, size_t len);
	void (*eof)(struct conn *);
	void (*closing)(struct conn *);		/* before the fd is closed */
	/* A last notice before the server closes the connection (idle
	 * timeout, shutdown); NULL for protocols that carry no notices. */
	void (*farewell)(struct conn *, const char *notice);
};

struct listener {
	struct listener *next;
	struct server *srv;
	struct listener_conf conf;	/* own deep copy: survives reloads */
	const struct proto_ops *ops;
	int fd;				/* -1 once closed by a reload */
	bool inherited;			/* passed in by systemd/launchd */
	bool paused;			/* accept back-off after EMFILE */
	bool unlink_on_close;		/* a unix socket chatd created */
	struct sel_timer *backoff;
	struct room *room;
	unsigned nclients;
	struct conn *oldest, *newest;	/* by last input, for idle sweeps */
	struct stats stats;
};

/* Creates the listener for conf, adopting fd when >= 0, else binding.
 * Returns NULL after logging why. */
struct listener *listener_open(struct server *, const struct listener_conf *conf, int fd);
/* Stops accepting; clients stay until they leave. */
void listener_close(struct listener *);
/* Frees a closed listener with no clients left. */
void listener_free(struct listener *);
/* Applies new limits from a reload (same name, same bind). */
void listener_update(struct listener *, const struct listener_conf *conf);
/* A unix socket chatd created goes to the user it will run as. */
void listener_chown(struct listener *, uid_t uid, gid_t gid);


#endif
