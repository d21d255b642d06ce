/*
 * redis-loop.c - hiredis async contexts on the selector, with the
 * connect and command timeouts and the reconnection hiredis 0.14 lacks.
 *
 * Ownership rules of hiredis 0.14 that shape this file:
 *  - a failed connect calls the connect callback, then hiredis frees the
 *    context itself: the link forgets it in that callback;
 *  - a lost connection calls the disconnect callback, then frees it;
 *  - redisAsyncFree() runs every pending reply callback with NULL.
 * hiredis aborts when malloc fails; nothing here can prevent that, so
 * fault injection uses the failure points below, not malloc.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis.h>
#include <async.h>

#ifdef HAVE_FIU
#include <fiu-local.h>
#else
#define fiu_return_on(name, ret)
#endif

#include "log.h"
#include "redis-loop.h"
#include "selector.h"

#define BACKOFF_MIN_MS 25
#define BACKOFF_MAX_MS 400	/* back within 1 s of Redis returning */

/* ---- the adapter: hiredis's read/write interest on the selector ---- */

struct rl_ev {
	struct selector *sel;
	redisAsyncContext *ac;
	int fd;
	int events;
	bool registered;
	bool dispatching;	/* inside ev_io: cleanup must not free */
	bool dead;
};

static sel_io_fn ev_io;

static void ev_sync(struct rl_ev *ev)
{
	if (ev->dead)
		return;
	if (!ev->registered) {
		if (ev->events == 0)
			return;
		if (selector_add(ev->sel, ev->fd, ev->events, ev_io, ev) == -1)
			return;
		ev->registered = true;
	} else
		selector_mod(ev->sel, ev->fd, ev->events);
}

static void ev_add_read(void *p) { struct rl_ev *ev = p; ev->events |= SEL_READ; ev_sync(ev); }
static void ev_del_read(void *p) { struct rl_ev *ev = p; ev->events &= ~SEL_READ; ev_sync(ev); }
static void ev_add_write(void *p) { struct rl_ev *ev = p; ev->events |= SEL_WRITE; ev_sync(ev); }
static void ev_del_write(void *p) { struct rl_ev *ev = p; ev->events &= ~SEL_WRITE; ev_sync(ev); }

static void ev_cleanup(void *p)
{
	struct rl_ev *ev = p;

	if (ev->dead)
		return;
	if (ev->registered)
		selector_del(ev->sel, ev->fd);
	ev->registered = false;
	ev->dead = true;
	ev->ac->ev.data = NULL;
	if (!ev->dispatching)
		free(ev);
}

static void ev_io(struct selector *sel, int fd, int events, void *arg)
{
	struct rl_ev *ev = arg;

	(void)sel;
	(void)fd;
	ev->dispatching = true;
	if (events & SEL_READ)
		redisAsyncHandleRead(ev->ac);
	if (!ev->dead && (events & SEL_WRITE))
		redisAsyncHandleWrite(ev->ac);
	ev->dispatching = false;
	if (ev->dead)
		free(ev);
}

static int ev_attach(redisAsyncContext *ac, struct selector *sel)
{
	struct rl_ev *ev = calloc(1, sizeof(*ev));

	if (ev == NULL)
		return -1;
	ev->sel = sel;
	ev->ac = ac;
	ev->fd = ac->c.fd;
	ac->ev.data = ev;
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	return 0;
}


/* ---- the link ------------------------------------------------------ */

enum rl_state { RL_DOWN, RL_CONNECTING, RL_AUTH, RL_UP };

struct rlink {
	struct selector *sel;
	char host[256];
	int port;
	char *path;		/* unix socket, or NULL */
	char *password;
	char *name;
	char *target;
	int connect_timeout_ms, command_timeout_ms;
	const struct rlink_ops *ops;
	void *arg;

	redisAsyncContext *ac;
	enum rl_state state;
	int backoff_ms;
	bool quiet;		/* failure already logged in this outage */
	bool freeing;
	struct sel_timer *retry;	/* next connect attempt */
	struct sel_timer *watch;	/* connect and command timeouts */
	unsigned pending;	/* timed replies awaited */
	int64_t progress;	/* last reply, or when pending became non-zero */
	int64_t connect_start;
	bool kill;		/* drop at the next watch tick */
	rlink_reply_fn *sub_fn;	/* messages of subscribed channels */
	void *sub_priv;
};

/* Per timed command: the caller's callback. */
struct rl_call {
	struct rlink *link;
	rlink_reply_fn *fn;
	void *privdata;
};

int rlink_parse_target(const char *target, char *host, size_t hostlen,
    int *port, const char **path)
{
	const char *colon;
	char *end;
	long p;
	size_t n;

	*path = NULL;
	if (strncmp(target, "unix:", 5) == 0) {
		if (target[5] == '\0')
			return -1;
		*path = target + 5;
		return 0;
	}
	if (target[0] == '[') {
		const char *rb = strchr(target, ']');

		if (rb == NULL || rb[1] != ':')
			return -1;
		n = (size_t)(rb - target - 1);
		target++;
		colon = rb + 1;
	} else {
		colon = strrchr(target, ':');
		if (colon == NULL)
			return -1;
		n = (size_t)(colon - target);
	}
	if (n == 0 || n >= hostlen)
		return -1;
	memcpy(host, target, n);
	host[n] = '\0';
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || p < 1 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

static void link_down(struct rlink *l, const char *why);

static void arm_retry(struct rlink *l)
{
	if (l->freeing)
		return;
	selector_timer_arm(l->retry, l->backoff_ms);
	l->backoff_ms *= 2;
	if (l->backoff_ms > BACKOFF_MAX_MS)
		l->backoff_ms = BACKOFF_MAX_MS;
}

static void say_failed(struct rlink *l, const char *why)
{
	if (l->quiet)
		return;
	l->quiet = true;
	log_warnx("cluster: redis %s (%s link): %s; retrying", l->target, l->name, why);
}

/* Forgets the context (hiredis frees it or has freed it) and schedules
 * the next attempt.  Idempotent. */
static void link_down(struct rlink *l, const char *why)
{
	bool was_up = l->state == RL_UP;

	if (l->state == RL_DOWN)
		return;
	l->state = RL_DOWN;
	l->ac = NULL;
	l->pending = 0;
	l->kill = false;
	selector_timer_disarm(l->watch);
	if (was_up) {
		l->quiet = false;
		l->backoff_ms = BACKOFF_MIN_MS;
	}
	say_failed(l, why);
	arm_retry(l);
	if (was_up && l->ops->down != NULL)
		l->ops->down(l, l->arg);
}

static void became_up(struct rlink *l)
{
	l->state = RL_UP;
	l->backoff_ms = BACKOFF_MIN_MS;
	if (l->quiet)
		log_notice("cluster: redis %s (%s link): connected", l->target, l->name);
	l->quiet = false;
	if (l->ops->up != NULL)
		l->ops->up(l, l->arg);
}

/* hiredis does not expect its context freed inside the connect
 * callback: the watch timer drops it right after. */
static void drop_soon(struct rlink *l)
{
	l->kill = true;
	selector_timer_arm(l->watch, 0);
}

static void timed_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct rl_call *call = privdata;
	struct rlink *l = call->link;

	(void)ac;
	if (l->pending > 0)
		l->pending--;
	l->progress = selector_now(l->sel);
	if (l->pending == 0)
		selector_timer_disarm(l->watch);
	if (call->fn != NULL)
		call->fn(l, reply, call->privdata);
	free(call);
}

static void watch_arm(struct rlink *l, int ms)
{
	selector_timer_arm(l->watch, ms);
}

static int send_timed(struct rlink *l, rlink_reply_fn *fn, void *privdata,
    int argc, const char **argv, const size_t *lens)
{
	struct rl_call *call = malloc(sizeof(*call));

	if (call == NULL)
		return -1;
	call->link = l;
	call->fn = fn;
	call->privdata = privdata;
	if (redisAsyncCommandArgv(l->ac, timed_reply, call, argc, argv, lens) != REDIS_OK) {
		free(call);
		return -1;
	}
	if (l->pending++ == 0) {
		l->progress = selector_now(l->sel);
		watch_arm(l, l->command_timeout_ms);
	}
	return 0;
}

static void auth_reply(struct rlink *l, void *r, void *privdata)
{
	redisReply *reply = r;

	(void)privdata;
	if (reply == NULL || l->state != RL_AUTH)
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		char why[300];

		snprintf(why, sizeof(why), "AUTH refused: %.*s",
		    (int)(reply->len > 200 ? 200 : reply->len), reply->str);
		say_failed(l, why);
		drop_soon(l);
		return;
	}
	became_up(l);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct rlink *l = ac->data;

	if (l == NULL)
		return;
	if (status != REDIS_OK) {
		/* hiredis frees ac after this returns. */
		link_down(l, ac->errstr[0] != '\0' ? ac->errstr : "connect failed");
		return;
	}
	selector_timer_disarm(l->watch);
	if (l->password != NULL) {
		const char *argv[] = { "AUTH", l->password };
		size_t lens[] = { 4, strlen(l->password) };

		l->state = RL_AUTH;
		if (send_timed(l, auth_reply, NULL, 2, argv, lens) == -1)
			drop_soon(l);
		return;
	}
	became_up(l);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct rlink *l = ac->data;

	(void)status;
	if (l == NULL || l->ac != ac)
		return;
	link_down(l, ac->errstr[0] != '\0' ? ac->errstr : "connection closed");
}

static int start_connect(struct rlink *l)
{
	redisAsyncContext *ac;

	fiu_return_on("chatd/redis/connect", -1);
	ac = l->path != NULL ? redisAsyncConnectUnix(l->path) :
	    redisAsyncConnect(l->host, l->port);
	if (ac == NULL)
		return -1;
	if (ac->err != 0 || ev_attach(ac, l->sel) == -1) {
		say_failed(l, ac->err != 0 ? ac->errstr : "out of memory");
		redisAsyncFree(ac);
		return -1;
	}
	ac->data = l;
	l->ac = ac;
	l->state = RL_CONNECTING;
	l->connect_start = selector_now(l->sel);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	watch_arm(l, l->connect_timeout_ms);
	return 0;
}

static void on_retry(struct selector *sel, void *arg)
{
	struct rlink *l = arg;

	(void)sel;
	if (l->state != RL_DOWN)
		return;
	if (start_connect(l) == -1) {
		say_failed(l, "connect failed");
		arm_retry(l);
	}
}

/* A connect or a reply that does not come: drop the connection, as a
 * lost one.  (Redis stopped with SIGSTOP keeps TCP open forever.) */
static void on_watch(struct selector *sel, void *arg)
{
	struct rlink *l = arg;
	int64_t now = selector_now(sel);
	redisAsyncContext *ac = l->ac;
	const char *why;

	if (ac == NULL)
		return;
	if (l->kill) {
		l->kill = false;
		why = "dropped";
	} else if (l->state == RL_CONNECTING) {
		if (now - l->connect_start < l->connect_timeout_ms) {
			watch_arm(l, (int)(l->connect_timeout_ms - (now - l->connect_start)));
			return;
		}
		why = "connect timed out";
	} else {
		if (l->pending == 0)
			return;
		if (now - l->progress < l->command_timeout_ms) {
			watch_arm(l, (int)(l->command_timeout_ms - (now - l->progress)));
			return;
		}
		why = "no reply in time";
	}
	/* Set down first: the callbacks redisAsyncFree runs see a link that
	 * is down, and no second attempt starts from them. */
	ac->data = NULL;
	link_down(l, why);
	redisAsyncFree(ac);
}

struct rlink *rlink_new(struct selector *sel, const struct rlink_conf *conf,
    const struct rlink_ops *ops, void *arg, char *err, size_t errlen)
{
	struct rlink *l = calloc(1, sizeof(*l));
	const char *path;

	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (rlink_parse_target(conf->target, l->host, sizeof(l->host), &l->port, &path) == -1) {
		snprintf(err, errlen, "redis: '%s' is not HOST:PORT or unix:PATH", conf->target);
		free(l);
		return NULL;
	}
	l->sel = sel;
	l->ops = ops;
	l->arg = arg;
	l->connect_timeout_ms = conf->connect_timeout_ms;
	l->command_timeout_ms = conf->command_timeout_ms;
	l->backoff_ms = BACKOFF_MIN_MS;
	l->state = RL_DOWN;
	if ((path != NULL && (l->path = strdup(path)) == NULL) ||
	    (conf->password != NULL && (l->password = strdup(conf->password)) == NULL) ||
	    (l->name = strdup(conf->name)) == NULL ||
	    (l->target = strdup(conf->target)) == NULL ||
	    (l->retry = selector_timer_new(sel, on_retry, l)) == NULL ||
	    (l->watch = selector_timer_new(sel, on_watch, l)) == NULL) {
		snprintf(err, errlen, "out of memory");
		l->freeing = true;
		rlink_free(l);
		return NULL;
	}
	if (start_connect(l) == -1)
		arm_retry(l);
	return l;
}

void rlink_free(struct rlink *l)
{
	if (l == NULL)
		return;
	l->freeing = true;
	if (l->ac != NULL) {
		redisAsyncContext *ac = l->ac;

		ac->data = NULL;
		l->ac = NULL;
		l->state = RL_DOWN;
		redisAsyncFree(ac);
	}
	if (l->retry != NULL)
		selector_timer_free(l->retry);
	if (l->watch != NULL)
		selector_timer_free(l->watch);
	free(l->path);
	if (l->password != NULL)
		memset(l->password, 0, strlen(l->password));
	free(l->password);
	free(l->name);
	free(l->target);
	free(l);
}

bool rlink_is_up(const struct rlink *l)
{
	return l->state == RL_UP;
}

void *rlink_arg(const struct rlink *l)
{
	return l->arg;
}

unsigned rlink_pending(const struct rlink *l)
{
	return l->pending;
}

int rlink_command(struct rlink *l, rlink_reply_fn *fn, void *privdata,
    int argc, const char **argv, const size_t *lens)
{
	fiu_return_on("chatd/redis/publish", -1);
	if (l->state != RL_UP)
		return -1;
	return send_timed(l, fn, privdata, argc, argv, lens);
}

/* Subscription callbacks stay registered in hiredis for every message
 * of their channel (and run with NULL when the context goes): privdata
 * is the link itself, the caller's callback is kept in it. */
static void sub_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct rlink *l = privdata;

	(void)ac;
	if (reply != NULL && l->sub_fn != NULL)
		l->sub_fn(l, reply, l->sub_priv);
}

int rlink_subscribe(struct rlink *l, rlink_reply_fn *fn, void *privdata,
    int argc, const char **argv, const size_t *lens)
{
	if (l->state != RL_UP)
		return -1;
	l->sub_fn = fn;
	l->sub_priv = privdata;
	return redisAsyncCommandArgv(l->ac, sub_reply, l, argc, argv, lens) == REDIS_OK ? 0 : -1;
}
