/*
 * conn.c - the life of one client connection, independent of protocol
 * and transport.
 *
 * Output is queued and flushed once per loop iteration (conn_flush_all,
 * from the before-wait hook), so a burst of chat lines costs one writev
 * per client.  Write interest is registered only while output is left
 * over (or the transport needs it).  Closing is orderly: flush, shut the
 * write side, keep reading until the peer's EOF (so our last lines are
 * not destroyed by an RST), then close.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "proto.h"
#include "transport.h"

#define READ_CHUNK 65536
#define LINGER_MS 2000		/* waiting for the peer's EOF after ours */
#define FLUSH_MS 10000		/* least time a closing client gets to take its output */
#define SWEEP_MS 250

/* One read buffer for everybody: input is handled before the next read,
 * so only what is left over (a partial line) needs per-client storage. */
static char scratch[READ_CHUNK];

static void conn_io(struct selector *, int fd, int events, void *arg);
static void conn_read(struct conn *);
static void arm_sweep(struct conn_pool *);

size_t conn_pending(const struct conn *c)
{
	return c->out.bytes;
}

static const struct listener_conf *conf_of(const struct conn *c)
{
	return c->ep->conf;
}

/* ---- the plain socket transport ------------------------------------ */

static ssize_t plain_read(struct conn *c, void *buf, size_t len)
{
	return read(c->fd, buf, len);
}

static ssize_t plain_writev(struct conn *c, const struct iovec *iov, int n)
{
	return writev(c->fd, iov, n);
}

static int plain_shutdown(struct conn *c)
{
	return shutdown(c->fd, SHUT_WR);
}

const struct transport_ops transport_plain = {
	.name = "plain",
	.handshake = NULL,
	.read = plain_read,
	.writev = plain_writev,
	.shutdown = plain_shutdown,
	.pending = NULL,
	.release = NULL,
};

static ssize_t tr_writev(void *arg, const struct iovec *iov, int n)
{
	struct conn *c = arg;

	return c->tr_ops->writev(c, iov, n);
}

/* ---- the endpoint's list, ordered by last input ------------------- */

static void list_unlink(struct conn *c)
{
	struct endpoint *ep = c->ep;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		ep->oldest = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		ep->newest = c->prev;
	c->prev = c->next = NULL;
}

static void list_append(struct conn *c)
{
	struct endpoint *ep = c->ep;

	c->prev = ep->newest;
	c->next = NULL;
	if (ep->newest != NULL)
		ep->newest->next = c;
	else
		ep->oldest = c;
	ep->newest = c;
}

/* Records input.  The list is kept in input order only where an idle
 * timeout needs it: moving a node touches two neighbours' memory, which
 * a busy echo listener would pay on every read. */
static void touch(struct conn *c)
{
	c->last_input = selector_now(c->ep->pool->sel);
	if (conf_of(c)->idle_timeout > 0 && c->ep->newest != c) {
		list_unlink(c);
		list_append(c);
	}
}

/* ---- the pool ------------------------------------------------------- */

static void sweep_fired(struct selector *sel, void *arg);
static void wake_fired(struct selector *sel, void *arg);

int conn_pool_init(struct conn_pool *p, struct selector *sel)
{
	memset(p, 0, sizeof(*p));
	p->sel = sel;
	p->close_bound_ms = FLUSH_MS;
	p->wake_armed_at = INT64_MAX;
	p->sweep_timer = selector_timer_new(sel, sweep_fired, p);
	p->wake_timer = selector_timer_new(sel, wake_fired, p);
	return p->sweep_timer != NULL && p->wake_timer != NULL ? 0 : -1;
}

void conn_pool_free(struct conn_pool *p)
{
	conn_free_closed(p);
	selector_timer_free(p->sweep_timer);
	selector_timer_free(p->wake_timer);
	p->sweep_timer = p->wake_timer = NULL;
}

void conn_pool_add_endpoint(struct conn_pool *p, struct endpoint *ep)
{
	ep->pool = p;
	ep->pool_prev = NULL;
	ep->pool_next = p->endpoints;
	if (p->endpoints != NULL)
		p->endpoints->pool_prev = ep;
	p->endpoints = ep;
	conn_endpoint_changed(ep);
}

void conn_pool_remove_endpoint(struct endpoint *ep)
{
	struct conn_pool *p = ep->pool;

	if (p == NULL)
		return;
	if (ep->pool_prev != NULL)
		ep->pool_prev->pool_next = ep->pool_next;
	else
		p->endpoints = ep->pool_next;
	if (ep->pool_next != NULL)
		ep->pool_next->pool_prev = ep->pool_prev;
	ep->pool = NULL;
}

/* A reload that turns idle_timeout on finds the list in creation order:
 * sort it by last input (stable merge sort), so the sweep may stop at
 * the first young connection. */
static struct conn *merge_by_input(struct conn *a, struct conn *b)
{
	struct conn head, *t = &head;

	while (a != NULL && b != NULL) {
		struct conn **pick = b->last_input < a->last_input ? &b : &a;

		t->next = *pick;
		t = *pick;
		*pick = (*pick)->next;
	}
	t->next = a != NULL ? a : b;
	return head.next;
}

static struct conn *sort_by_input(struct conn *list, size_t n)
{
	struct conn *mid, *rest;
	size_t half = n / 2;

	if (n < 2)
		return list;
	mid = list;
	for (size_t i = 1; i < half; i++)
		mid = mid->next;
	rest = mid->next;
	mid->next = NULL;
	return merge_by_input(sort_by_input(list, half), sort_by_input(rest, n - half));
}

void conn_endpoint_changed(struct endpoint *ep)
{
	struct conn *c, *prev = NULL;

	if (ep->conf->idle_timeout <= 0 || ep->oldest == NULL) {
		if (ep->conf->idle_timeout > 0 && ep->pool != NULL)
			arm_sweep(ep->pool);
		return;
	}
	ep->oldest = sort_by_input(ep->oldest, ep->nclients);
	for (c = ep->oldest; c != NULL; prev = c, c = c->next)
		c->prev = prev;
	ep->newest = prev;
	if (ep->pool != NULL)
		arm_sweep(ep->pool);
}

/* ---- creation ------------------------------------------------------ */

static void name_from_peer(struct conn *c, const struct sockaddr *peer, socklen_t len)
{
	int n;

	if (peer->sa_family == AF_UNIX)
		n = snprintf(c->name, sizeof(c->name), "unix:%u",
		    (unsigned)++c->ep->pool->unix_counter);
	else {
		addr_format(peer, len, c->name, sizeof(c->name));
		n = (int)strlen(c->name);
	}
	c->namelen = (uint8_t)(n < (int)sizeof(c->name) ? n : (int)sizeof(c->name) - 1);
}

struct conn *conn_new(struct endpoint *ep, int fd, const struct sockaddr *peer, socklen_t peerlen)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->fd = fd;
	c->ep = ep;
	c->tr_ops = &transport_plain;
	c->framer.max_line = (uint32_t)ep->conf->max_line;
	name_from_peer(c, peer, peerlen);
	if (selector_add(ep->pool->sel, fd, SEL_READ, conn_io, c) == -1) {
		free(c);
		return NULL;
	}
	c->last_input = selector_now(ep->pool->sel);
	list_append(c);
	if (ep->conf->idle_timeout > 0)
		arm_sweep(ep->pool);
	ep->nclients++;
	ep->pool->nconns++;
	ep->stats.accepted++;
	return c;
}

static void update_interest(struct conn *);

void conn_start(struct conn *c)
{
	if (c->tr_ops->handshake != NULL) {
		/* A handshake is bounded in time like a close (conn_sweep). */
		c->flags |= CONN_HANDSHAKE;
		c->ep->pool->nbounded++;
		arm_sweep(c->ep->pool);
		return;
	}
	c->ep->proto->open(c);
}

static void handshake_step(struct conn *c)
{
	enum transport_step r = c->tr_ops->handshake(c);

	if (r == TRANSPORT_AGAIN) {
		update_interest(c);
		return;
	}
	c->flags &= ~CONN_HANDSHAKE;
	c->ep->pool->nbounded--;
	c->tr_want = 0;
	if (r == TRANSPORT_FAILED) {
		c->ep->stats.handshake_failures++;
		conn_close(c, CLOSE_ERROR, c->close_reason ? c->close_reason : "handshake failed");
		return;
	}
	touch(c);
	c->ep->proto->open(c);
	if (!(c->flags & CONN_CLOSED))
		update_interest(c);
}

/* ---- output -------------------------------------------------------- */

static void schedule_flush(struct conn *c)
{
	struct conn_pool *p = c->ep->pool;

	if (c->flags & (CONN_IN_FLUSH | CONN_CLOSED))
		return;
	c->flags |= CONN_IN_FLUSH;
	c->flush_next = p->flush_list;
	p->flush_list = c;
}

static void doom(struct conn *c, const char *reason)
{
	if (!(c->flags & CONN_DOOMED))
		c->close_reason = reason;
	c->flags |= CONN_DOOMED;
}

/* Over max_queue before the next flush: write now, so the limit counts
 * what the client really has not taken, not what one loop iteration
 * queued.  Never closes here: the caller may be walking a room. */
static bool over_limit_after_write(struct conn *c, size_t more)
{
	size_t max = conf_of(c)->max_queue;
	ssize_t n;

	if (c->out.bytes == 0 || c->out.bytes + more <= max)
		return false;
	if (c->flags & CONN_HANDSHAKE)
		return true;
	n = outq_flush_with(&c->out, tr_writev, c);
	if (n == -1) {
		doom(c, "write error");
		return true;
	}
	c->ep->stats.bytes_out += (uint64_t)n;
	/* One message always fits an empty queue: a long line or a big /who
	 * must not look like a slow consumer. */
	return c->out.bytes > 0 && c->out.bytes + more > max;
}

void conn_send(struct conn *c, struct msg *m)
{
	if (c->flags & (CONN_CLOSED | CONN_DOOMED | CONN_LINGER))
		return;
	if (over_limit_after_write(c, m->len)) {
		/* Dropping lines would silently corrupt the stream; the only
		 * honest choice left is to disconnect. */
		doom(c, "slow consumer: output queue full");
	} else if (outq_push(&c->out, m) == -1)
		doom(c, "out of memory");
	schedule_flush(c);
}

static int wanted_events(const struct conn *c)
{
	int ev = 0;

	if (c->flags & CONN_HANDSHAKE)
		return c->tr_want != 0 ? c->tr_want : SEL_READ;
	if (!(c->flags & (CONN_PAUSED | CONN_CLOSING | CONN_READ_EOF | CONN_HELD)) ||
	    (c->flags & CONN_LINGER))
		ev |= SEL_READ;
	if (conn_pending(c) > 0 && !(c->flags & CONN_LINGER))
		ev |= SEL_WRITE;
	/* A transport that must write to read (or read to write) says so. */
	return ev | c->tr_want;
}

static void update_interest(struct conn *c)
{
	if (c->flags & CONN_CLOSED)
		return;
	if (selector_mod(c->ep->pool->sel, c->fd, wanted_events(c)) == -1)
		log_warn("%s: cannot update interest for %s", conf_of(c)->name, c->name);
}

static void set_paused(struct conn *c, bool on)
{
	if (on)
		c->flags |= CONN_PAUSED;
	else
		c->flags &= ~CONN_PAUSED;
	update_interest(c);
}

void conn_write(struct conn *c, const char *data, size_t len)
{
	struct msg *m;

	if (c->flags & (CONN_CLOSED | CONN_DOOMED | CONN_LINGER))
		return;
	if (c->out.bytes == 0 && !(c->flags & CONN_HANDSHAKE)) {
		struct iovec iov = { (void *)data, len };
		ssize_t w = c->tr_ops->writev(c, &iov, 1);

		if (w == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			conn_close(c, CLOSE_ERROR, "write error");
			return;
		}
		if (w > 0) {
			c->ep->stats.bytes_out += (uint64_t)w;
			data += w;
			len -= (size_t)w;
		}
		if (len == 0)
			return;
	}
	/* Only what the socket did not take is copied: the rare case. */
	m = msg_new(len);
	if (m == NULL) {
		conn_close(c, CLOSE_ERROR, "out of memory");
		return;
	}
	memcpy(m->data, data, len);
	if (outq_push(&c->out, m) == -1) {
		msg_unref(m);
		conn_close(c, CLOSE_ERROR, "out of memory");
		return;
	}
	msg_unref(m);
	schedule_flush(c);
	/* Flow control instead of unbounded buffering. */
	if (c->out.bytes > conf_of(c)->max_queue)
		set_paused(c, true);
}

/* Shuts our side and waits (bounded) for the peer's EOF. */
static void start_linger(struct conn *c)
{
	if (c->flags & CONN_LINGER)
		return;
	if (c->flags & CONN_READ_EOF || c->tr_ops->shutdown(c) == -1) {
		conn_close(c, CLOSE_CLIENT, c->close_reason);
		return;
	}
	c->flags |= CONN_LINGER;
	touch(c);
	update_interest(c);
}

/* Writes what is queued; returns -1 if the connection was closed. */
static int conn_flush(struct conn *c)
{
	ssize_t n = 0;

	if (c->flags & CONN_HANDSHAKE)
		return 0;
	if (c->out.count > 0)
		n = outq_flush_with(&c->out, tr_writev, c);
	if (n == -1) {
		conn_close(c, CLOSE_ERROR, strerror(errno));
		return -1;
	}
	c->ep->stats.bytes_out += (uint64_t)n;
	/* A closing client that still takes its output is not stalled. */
	if ((c->flags & CONN_CLOSING) && n > 0)
		touch(c);
	/* Flow control: resume reading once half the backlog is gone. */
	if ((c->flags & CONN_PAUSED) && conn_pending(c) <= conf_of(c)->max_queue / 2)
		c->flags &= ~CONN_PAUSED;
	if (conn_pending(c) == 0 && (c->flags & CONN_CLOSING)) {
		start_linger(c);
		return (c->flags & CONN_CLOSED) ? -1 : 0;
	}
	return 0;
}

static void flush_one(struct conn *c)
{
	if (c->flags & CONN_CLOSED)
		return;
	if (c->flags & CONN_DOOMED) {
		log_client(LOG_WARNING, conf_of(c)->name, c->name,
		    "%s (%zu bytes unsent, max_queue %zu)", c->close_reason,
		    c->out.bytes, conf_of(c)->max_queue);
		conn_close(c, strncmp(c->close_reason, "slow", 4) == 0 ? CLOSE_SLOW :
		    CLOSE_ERROR, c->close_reason);
		return;
	}
	if (conn_flush(c) == 0)
		update_interest(c);
}

void conn_flush_all(struct conn_pool *p)
{
	struct conn *c;

	/* Closing a client may queue "left" notices, which puts more
	 * clients on the list: pop until it stays empty. */
	while ((c = p->flush_list) != NULL) {
		p->flush_list = c->flush_next;
		c->flush_next = NULL;
		c->flags &= ~CONN_IN_FLUSH;
		flush_one(c);
	}
}

/* ---- held input and bytes inside the transport -------------------- */

static void arm_wake(struct conn_pool *p, int64_t at)
{
	int64_t now = selector_now(p->sel);

	if (at >= p->wake_armed_at)
		return;
	p->wake_armed_at = at;
	selector_timer_arm(p->wake_timer, at > now ? at - now : 0);
}

static void add_wake(struct conn *c, int64_t at)
{
	c->wake_at = at;
	if (!(c->flags & CONN_ON_WAKE)) {
		c->flags |= CONN_ON_WAKE;
		c->wake_next = c->ep->pool->wake_list;
		c->ep->pool->wake_list = c;
	}
	arm_wake(c->ep->pool, at);
}

void conn_hold_input(struct conn *c, int64_t after_ms)
{
	if (c->flags & CONN_CLOSED)
		return;
	c->flags |= CONN_HELD;
	add_wake(c, selector_now(c->ep->pool->sel) + (after_ms > 0 ? after_ms : 0));
	update_interest(c);
}

static bool transport_has_bytes(const struct conn *c)
{
	return c->tr_ops->pending != NULL && c->tr_ops->pending(c) > 0;
}

/* Gives a woken connection its turn: held input first, then what the
 * transport has already decoded (the selector will not report it). */
static void wake_one(struct conn *c)
{
	if (c->flags & CONN_HELD) {
		c->flags &= ~CONN_HELD;
		if (c->ep->proto->resume != NULL)
			c->ep->proto->resume(c);
		if (c->flags & (CONN_CLOSED | CONN_HELD))
			return;
		update_interest(c);
	}
	if (transport_has_bytes(c) && !(c->flags & (CONN_PAUSED | CONN_CLOSING |
	    CONN_READ_EOF | CONN_HANDSHAKE)))
		conn_read(c);
}

static void wake_fired(struct selector *sel, void *arg)
{
	struct conn_pool *p = arg;
	int64_t now = selector_now(sel), next = INT64_MAX;
	struct conn **pp = &p->wake_list, *due = NULL, *c;

	p->wake_armed_at = INT64_MAX;
	/* Take the due ones off first: waking may put them back on. */
	while ((c = *pp) != NULL) {
		if (c->wake_at <= now || (c->flags & CONN_CLOSED)) {
			*pp = c->wake_next;
			c->flags &= ~CONN_ON_WAKE;
			c->wake_next = due;
			due = c;
		} else {
			if (c->wake_at < next)
				next = c->wake_at;
			pp = &c->wake_next;
		}
	}
	if (next != INT64_MAX)
		arm_wake(p, next);
	while ((c = due) != NULL) {
		due = c->wake_next;
		c->wake_next = NULL;
		if (!(c->flags & CONN_CLOSED))
			wake_one(c);
	}
}

/* ---- input --------------------------------------------------------- */

static void conn_read(struct conn *c)
{
	ssize_t n = c->tr_ops->read(c, scratch, sizeof(scratch));

	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			update_interest(c);
			return;
		}
		conn_close(c, CLOSE_ERROR, strerror(errno));
		return;
	}
	if (c->flags & CONN_LINGER) {
		if (n == 0)
			conn_close(c, CLOSE_CLIENT, c->close_reason);
		else if (transport_has_bytes(c))
			add_wake(c, selector_now(c->ep->pool->sel));
		return;
	}
	if (n == 0) {
		c->flags |= CONN_READ_EOF;
		update_interest(c);
		c->ep->proto->eof(c);
		return;
	}
	c->ep->stats.bytes_in += (uint64_t)n;
	touch(c);
	c->ep->proto->input(c, scratch, (size_t)n);
	if (!(c->flags & (CONN_CLOSED | CONN_HELD)) && transport_has_bytes(c))
		add_wake(c, selector_now(c->ep->pool->sel));
}

static void conn_io(struct selector *sel, int fd, int events, void *arg)
{
	struct conn *c = arg;

	(void)sel;
	(void)fd;
	if (c->flags & CONN_HANDSHAKE) {
		handshake_step(c);
		return;
	}
	/* The transport waited for a direction on behalf of the other
	 * operation (a read that must write, a write that must read):
	 * retry both; each ends in EAGAIN at worst. */
	if (c->tr_want != 0) {
		events |= SEL_READ | SEL_WRITE;
		c->tr_want = 0;
	}
	if (events & SEL_READ) {
		conn_read(c);
		if (c->flags & CONN_CLOSED)
			return;
	}
	if ((events & SEL_WRITE) && conn_pending(c) > 0)
		flush_one(c);
}

/* ---- closing ------------------------------------------------------- */

void conn_close_after_flush(struct conn *c, enum close_kind kind, const char *reason)
{
	struct conn_pool *p = c->ep->pool;

	if (c->flags & (CONN_CLOSED | CONN_CLOSING))
		return;
	if (c->flags & CONN_HANDSHAKE) {
		conn_close(c, kind, reason);
		return;
	}
	c->flags |= CONN_CLOSING;
	c->close_reason = reason;
	c->ep->stats.closed[kind]++;
	/* Closing is bounded in time (see sweep_endpoint) even for a client
	 * that stops reading what it is owed. */
	p->nbounded++;
	touch(c);
	arm_sweep(p);
	schedule_flush(c);
	update_interest(c);
	if (conn_pending(c) == 0)
		start_linger(c);
}

void conn_close(struct conn *c, enum close_kind kind, const char *reason)
{
	struct endpoint *ep = c->ep;
	struct conn_pool *p = ep->pool;

	if (c->flags & CONN_CLOSED)
		return;
	if (!(c->flags & CONN_HANDSHAKE) && ep->proto->closing != NULL)
		ep->proto->closing(c);
	if (c->flags & (CONN_CLOSING | CONN_HANDSHAKE))
		p->nbounded--;
	else
		ep->stats.closed[kind]++;
	c->flags |= CONN_CLOSED;
	selector_del(p->sel, c->fd);
	if (c->tr_ops->release != NULL)
		c->tr_ops->release(c);
	close(c->fd);
	c->fd = -1;
	log_client(LOG_INFO, ep->conf->name, c->name, "disconnected (%s)",
	    reason ? reason : "closed");
	list_unlink(c);
	ep->nclients--;
	p->nconns--;
	outq_clear(&c->out);
	buffer_free(&c->in);
	/* Freed after this loop iteration: callers up the stack and the
	 * flush and wake lists may still hold the pointer. */
	c->next = p->graveyard;	/* off the endpoint's list now */
	p->graveyard = c;
}

void conn_free_closed(struct conn_pool *p)
{
	struct conn *c, **pp;

	/* A closed connection leaves the wake list before it is freed. */
	for (pp = &p->wake_list; (c = *pp) != NULL;)
		if (c->flags & CONN_CLOSED)
			*pp = c->wake_next;
		else
			pp = &c->wake_next;
	while ((c = p->graveyard) != NULL) {
		p->graveyard = c->next;
		free(c);
	}
}

/* ---- timers -------------------------------------------------------- */

static void arm_sweep(struct conn_pool *p)
{
	if (p->sweep_armed || p->sweep_timer == NULL)
		return;
	p->sweep_armed = true;
	selector_timer_arm(p->sweep_timer, SWEEP_MS);
}

static void sweep_fired(struct selector *sel, void *arg)
{
	struct conn_pool *p = arg;

	(void)sel;
	p->sweep_armed = false;
	if (conn_sweep(p))
		arm_sweep(p);
}

static int64_t handshake_ms(const struct listener_conf *conf)
{
	const struct tls_conf *t = conf->tls;

	return (int64_t)((t != NULL ? t->handshake_timeout : 10.0) * 1000.0);
}

/* A time-bounded state (handshake, closing, lingering) that ran out. */
static void close_if_expired(struct conn *c, int64_t age, bool *pending)
{
	int64_t limit;

	if (c->flags & CONN_HANDSHAKE)
		limit = handshake_ms(conf_of(c));
	else if (c->flags & CONN_LINGER)
		limit = LINGER_MS;
	else
		limit = c->ep->pool->close_bound_ms;
	if (age < limit) {
		*pending = true;
		return;
	}
	if (c->flags & CONN_HANDSHAKE) {
		log_client(LOG_INFO, conf_of(c)->name, c->name, "handshake timeout");
		c->ep->stats.handshake_failures++;
		conn_close(c, CLOSE_IDLE, "handshake timeout");
	} else
		conn_close(c, CLOSE_CLIENT, c->close_reason);
}

/* With an idle timeout the list is ordered by last input (a lingering
 * close counts as input), so the scan stops at the first connection
 * younger than the shortest limit; without one, every connection is
 * looked at, but only while some are in a bounded state. */
static bool sweep_endpoint(struct endpoint *ep, int64_t now)
{
	int64_t idle_ms = (int64_t)(ep->conf->idle_timeout * 1000.0);
	int64_t first = (idle_ms > 0 && idle_ms < LINGER_MS) ? idle_ms : LINGER_MS;
	bool pending = false;
	struct conn *c, *next;

	if (idle_ms <= 0 && ep->pool->nbounded == 0)
		return false;
	if (ep->conf->tls != NULL && handshake_ms(ep->conf) < first)
		first = handshake_ms(ep->conf);
	for (c = ep->oldest; c != NULL; c = next) {
		int64_t age = now - c->last_input;

		next = c->next;
		if (idle_ms > 0 && age < first)
			return true;
		if (c->flags & (CONN_CLOSING | CONN_HANDSHAKE))
			close_if_expired(c, age, &pending);
		else if (idle_ms > 0 && age >= idle_ms) {
			if (ep->proto->farewell != NULL)
				ep->proto->farewell(c, "error: idle timeout");
			/* It has left now, not when its socket is finally closed. */
			if (ep->proto->closing != NULL)
				ep->proto->closing(c);
			conn_close_after_flush(c, CLOSE_IDLE, "idle timeout");
		}
	}
	return pending || (idle_ms > 0 && ep->oldest != NULL);
}

bool conn_sweep(struct conn_pool *p)
{
	int64_t now = selector_now(p->sel);
	bool any = false;

	for (struct endpoint *ep = p->endpoints; ep != NULL; ep = ep->pool_next)
		if (sweep_endpoint(ep, now))
			any = true;
	return any;
}
