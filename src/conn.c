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
#include "conn-internal.h"
#include "log.h"
#include "proto.h"
#include "transport.h"

#define READ_CHUNK 65536

/* One read buffer for everybody: input is handled before the next read,
 * so only what is left over (a partial line) needs per-client storage. */
static char scratch[READ_CHUNK];

static void conn_io(struct selector *, int fd, int events, void *arg);

size_t conn_pending(const struct conn *c)
{
	return c->out.bytes;
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

void list_unlink(struct conn *c)
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

void list_append(struct conn *c)
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
void touch(struct conn *c)
{
	c->last_input = selector_now(c->ep->pool->sel);
	if (conf_of(c)->idle_timeout > 0 && c->ep->newest != c) {
		list_unlink(c);
		list_append(c);
	}
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
	if (c->flags & CONN_CLOSED)
		return;
	update_interest(c);
	/* Data that came with the handshake's last flight is already read. */
	wake_for_transport(c);
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

/* More would take the queue past max_queue.  One message always fits
 * an empty queue: a long line or a big /who must not look like a slow
 * consumer. */
static inline bool exceeds_queue(const struct conn *c, size_t more)
{
	return c->out.bytes > 0 && c->out.bytes + more > conf_of(c)->max_queue;
}

/* Over max_queue before the next flush: write now, so the limit counts
 * what the client really has not taken, not what one loop iteration
 * queued.  Never closes here: the caller may be walking a room.  Out of
 * line: conn_send's common path (a push and a flag) stays small enough
 * to inline well into the room's loop. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static bool over_limit_after_write(struct conn *c, size_t more)
{
	ssize_t n;

	if (c->flags & CONN_HANDSHAKE)
		return true;
	n = outq_flush_with(&c->out, tr_writev, c);
	if (n == -1) {
		doom(c, "write error");
		return true;
	}
	c->ep->stats.bytes_out += (uint64_t)n;
	return exceeds_queue(c, more);
}

void conn_send(struct conn *c, struct msg *m)
{
	if (c->flags & (CONN_CLOSED | CONN_DOOMED | CONN_LINGER))
		return;
	if ((c->flags & CONN_WSFRAME) && c->ep->proto->frame != NULL &&
	    (m = c->ep->proto->frame(m)) == NULL) {
		doom(c, "out of memory");
		schedule_flush(c);
		return;
	}
	if (exceeds_queue(c, m->len) && over_limit_after_write(c, m->len)) {
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

void update_interest(struct conn *c)
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
	if (c->flags & CONN_READ_EOF) {
		/* Nothing to wait for; TLS still says goodbye (close_notify),
		 * or its client sees a truncated stream. */
		(void)c->tr_ops->shutdown(c);
		conn_close(c, CLOSE_CLIENT, c->close_reason);
		return;
	}
	if (c->tr_ops->shutdown(c) == -1) {
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
	if ((c->flags & CONN_PAUSED) && conn_pending(c) <= conf_of(c)->max_queue / 2) {
		c->flags &= ~CONN_PAUSED;
		wake_for_transport(c);	/* it may hold input already */
	}
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

/* ---- input --------------------------------------------------------- */

void conn_read(struct conn *c)
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
	wake_for_transport(c);
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

