/*
 * conn-pool.c - what concerns every connection at once: the pool and its
 * endpoints, the wake timer (input held back by flood control or bounded
 * slices, bytes a transport has already decoded) and the sweep timer
 * (idle timeouts, and the time bounds of handshakes, closing and
 * lingering).
 */
#include "autoconfig.h"

#include <stdint.h>
#include <string.h>

#include "conn.h"
#include "conn-internal.h"
#include "log.h"
#include "proto.h"
#include "transport.h"

#define LINGER_MS 2000		/* waiting for the peer's EOF after ours */
#define FLUSH_MS 10000		/* least time a closing client gets to take its output */
#define SWEEP_MS 250

static void sweep_fired(struct selector *sel, void *arg);
static void wake_fired(struct selector *sel, void *arg);

/* ---- the pool ------------------------------------------------------- */


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

/* ---- held input and bytes inside the transport -------------------- */

static void arm_wake(struct conn_pool *p, int64_t at)
{
	int64_t now = selector_now(p->sel);

	if (at >= p->wake_armed_at)
		return;
	p->wake_armed_at = at;
	selector_timer_arm(p->wake_timer, at > now ? at - now : 0);
}

void add_wake(struct conn *c, int64_t at)
{
	c->wake_at = at;
	if (!(c->flags & CONN_ON_WAKE)) {
		c->flags |= CONN_ON_WAKE;
		c->wake_next = c->ep->pool->wake_list;
		c->ep->pool->wake_list = c;
	}
	arm_wake(c->ep->pool, at);
}

void wake_for_transport(struct conn *c)
{
	if (!(c->flags & (CONN_CLOSED | CONN_HELD)) && transport_has_bytes(c))
		add_wake(c, selector_now(c->ep->pool->sel));
}

void conn_hold_input(struct conn *c, int64_t after_ms)
{
	if (c->flags & CONN_CLOSED)
		return;
	c->flags |= CONN_HELD;
	add_wake(c, selector_now(c->ep->pool->sel) + (after_ms > 0 ? after_ms : 0));
	update_interest(c);
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

/* ---- timers -------------------------------------------------------- */

void arm_sweep(struct conn_pool *p)
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
