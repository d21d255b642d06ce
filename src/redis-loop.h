/*
 * redis-loop.h - one Redis connection on chatd's selector.
 *
 * hiredis 0.14's async API has no event loop, no timeouts and frees its
 * context itself when a connection fails.  A link hides all of that: it
 * connects (TCP "HOST:PORT" or "unix:PATH"), authenticates, reconnects
 * with back-off forever, and drops a connection that does not connect or
 * answer in time.  Only this file and cluster.c see hiredis.
 */
#ifndef CHATD_REDIS_LOOP_H
#define CHATD_REDIS_LOOP_H

#include <stdbool.h>
#include <stddef.h>

struct selector;
struct redisAsyncContext;
struct rlink;

struct rlink_ops {
	void (*up)(struct rlink *, void *arg);	/* connected (and AUTH accepted) */
	void (*down)(struct rlink *, void *arg);	/* an up link was lost */
};

struct rlink_conf {
	const char *target;	/* "HOST:PORT" or "unix:PATH" */
	const char *password;	/* NULL: no AUTH */
	const char *name;	/* for log lines: "publish", "subscribe" */
	int connect_timeout_ms;
	int command_timeout_ms;
};

/* Called with the reply (a redisReply *), or NULL when the connection
 * went away before it came. */
typedef void rlink_reply_fn(struct rlink *, void *reply, void *privdata);

/* Checks the target and starts connecting; NULL with a message in err. */
struct rlink *rlink_new(struct selector *, const struct rlink_conf *,
    const struct rlink_ops *, void *arg, char *err, size_t errlen);
/* Pending reply callbacks run (with NULL) before it returns. */
void rlink_free(struct rlink *);
bool rlink_is_up(const struct rlink *);
void *rlink_arg(const struct rlink *);	/* as given to rlink_new */

/* Sends a command while the link is up; fn gets its reply.  A command
 * with fn counts toward the command timeout.  -1: not up or failed. */
int rlink_command(struct rlink *, rlink_reply_fn *fn, void *privdata,
    int argc, const char **argv, const size_t *lens);
/* For SUBSCRIBE/UNSUBSCRIBE of one channel: fn (one per link, the last
 * given) gets every push of the channels, is never called with NULL and
 * is not timed. */
int rlink_subscribe(struct rlink *, rlink_reply_fn *fn, void *privdata,
    int argc, const char **argv, const size_t *lens);
/* Replies awaited on this link. */
unsigned rlink_pending(const struct rlink *);

/* Parses "HOST:PORT" / "[V6]:PORT" / "unix:PATH"; 0 or -1. */
int rlink_parse_target(const char *target, char *host, size_t hostlen,
    int *port, const char **path);

#endif
