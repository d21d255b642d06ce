/*
 * listener.h - one configured listening socket: bind or adopt, accept in
 * a loop, enforce client limits, pause and retry on descriptor exhaustion.
 * The connections it accepts see only its endpoint.
 */
#ifndef CHATD_LISTENER_H
#define CHATD_LISTENER_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "conn.h"

struct tls_ctx;

/* What a listener asks of the daemon as a whole. */
struct listener_owner {
	unsigned max_connections;	/* 0: no limit */
	bool accepting;			/* false while shutting down */
};

struct listener {
	struct listener *next;
	struct endpoint ep;		/* what its connections see */
	struct listener_conf conf;	/* own deep copy: survives reloads */
	const struct listener_owner *owner;
	struct tls_ctx *tls;		/* NULL: plaintext */
	int fd;				/* -1 once closed by a reload */
	bool inherited;			/* passed in by systemd/launchd */
	bool paused;			/* accept back-off after EMFILE */
	bool unlink_on_close;		/* a unix socket chatd created */
	struct sel_timer *backoff;
};

/* Binds a socket for conf (no listener yet): the first half of a reload
 * that must not lose an address.  Returns the fd or -1 with errno. */
int listener_bind(const struct listener_conf *conf, bool *created_unix);

/* Creates the listener for conf on fd (adopted, inherited or bound by
 * listener_bind; -1: bind now).  tls is taken (may be NULL).  Returns
 * NULL after logging why. */
struct listener *listener_open(struct conn_pool *, const struct listener_owner *,
    const struct listener_conf *conf, int fd, bool inherited, struct tls_ctx *tls);
/* Stops accepting; clients stay until they leave. */
void listener_close(struct listener *);
/* Gives the listening socket away (to a listener taking its address in
 * a reload) without closing it; returns the fd. */
int listener_release_fd(struct listener *);
/* Frees a closed listener with no clients left. */
void listener_free(struct listener *);
/* Applies new settings from a reload (same name, same socket); takes
 * tls.  Returns -1 (changing nothing) when out of memory. */
int listener_update(struct listener *, const struct listener_conf *conf, struct tls_ctx *tls);
/* A unix socket chatd created goes to the user it will run as. */
void listener_chown(struct listener *, uid_t uid, gid_t gid);
const char *listener_protocol_name(const struct listener *);

#endif
