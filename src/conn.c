/*
 * conn.c - the life of one client connection, independent of protocol.
 *
 * Output is queued and flushed once per loop iteration (conn_flush_all,
 * from the before-wait hook), so a burst of chat lines costs one writev
 * per client.  Write interest is registered only while output is left
 * over.  Closing is orderly: flush, shut the write side, keep reading
 * until the peer's EOF (so our last lines are not destroyed by an RST),
 * then close.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "listener.h"
#include "log.h"
#include "server.h"

#define READ_CHUNK 65536
#define LINGER_MS 2000		/* waiting for the peer's EOF after ours */
#define FLUSH_MS 10000		/* a closing client to take what it is owed */

/* One read buffer for everybody: input is handled before the next read,
 * so only what is left over (a partial line) needs per-client storage. */
static char scratch[READ_CHUNK];

static void conn_io(struct selector *, int fd, int events, void *arg);

static struct server *srv_of(const struct conn *c)
{
	return c->lst->srv;
}

size_t conn_pending(const struct conn *c)
{
	return c->lst->conf.protocol == PROTO_CHAT ? c->out.bytes : buffer_len(&c->in);
}

/* ---- the listener's list, ordered by last input ------------------- */

static void list_unlink(struct conn *c)
{
	struct listener *l = c->lst;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		l->oldest = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		l->newest = c->prev;
	c->prev = c->next = NULL;
}

static void list_append(struct conn *c)
{
	struct listener *l = c->lst;

	c->prev = l->newest;
	c->next = NULL;
	if (l->newest != NULL)
		l->newest->next = c;
	else
		l->oldest = c;
	l->newest = c;
}

/* Records input.  The list is kept in input order only where an idle
 * timeout needs it: moving a node touches two neighbours' memory, which
 * a busy echo listener would pay on every read. */
static void touch(struct conn *c)
{
	c->last_input = selector_now(srv_of(c)->sel);
	if (c->lst->conf.idle_timeout > 0 && c->lst->newest != c) {
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
		    (unsigned)++srv_of(c)->unix_counter);
	else {
		addr_format(peer, len, c->name, sizeof(c->name));
		n = (int)strlen(c->name);
	}
	c->namelen = (uint8_t)(n < (int)sizeof(c->name) ? n : (int)sizeof(c->name) - 1);
}

struct conn *conn_new(struct listener *l, int fd, const struct sockaddr *peer, socklen_t peerlen)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->fd = fd;
	c->lst = l;
	c->framer.max_line = (uint32_t)l->conf.max_line;
	name_from_peer(c, peer, peerlen);
	if (selector_add(l->srv->sel, fd, SEL_READ, conn_io, c) == -1) {
		free(c);
		return NULL;
	}
	c->last_input = selector_now(l->srv->sel);
	list_append(c);
	if (l->conf.idle_timeout > 0)
		server_arm_sweep(l->srv);
	l->nclients++;
	l->srv->nconns++;
	l->stats.accepted++;
	return c;
}

/* ---- output -------------------------------------------------------- */

void conn_schedule_flush(struct conn *c)
{
	struct server *s = srv_of(c);

	if (c->flags & (CONN_IN_FLUSH | CONN_CLOSED))
		return;
	c->flags |= CONN_IN_FLUSH;
	c->flush_next = s->flush_list;
	s->flush_list = c;
}

/* Over max_queue before the next flush: write now, so the limit counts
 * what the client really has not taken, not what one loop iteration
 * queued.  Never closes here: the caller may be walking a room. */
static bool over_limit_after_write(struct conn *c, size_t more)
{
	ssize_t n;

	if (c->out.bytes == 0 || c->out.bytes + more <= c->lst->conf.max_queue)
		return false;
	n = outq_flush(&c->out, c->fd);
	if (n == -1) {
		c->flags |= CONN_DOOMED;
		c->close_reason = "write error";
		return true;
	}
	c->lst->stats.bytes_out += (uint64_t)n;
	/* One message always fits an empty queue: a long line or a big /who
	 * must not look like a slow consumer. */
	return c->out.bytes > 0 && c->out.bytes + more > c->lst->conf.max_queue;
}

void conn_send(struct conn *c, struct msg *m)
{
	if (c->flags & (CONN_CLOSED | CONN_DOOMED | CONN_LINGER))
		return;
	if (over_limit_after_write(c, m->len)) {
		/* Dropping lines would silently corrupt the stream; the only
		 * honest choice left is to disconnect. */
		if (!(c->flags & CONN_DOOMED))
			c->close_reason = "slow consumer: output queue full";
		c->flags |= CONN_DOOMED;
	} else if (outq_push(&c->out, m) == -1) {
		c->flags |= CONN_DOOMED;
		c->close_reason = "out of memory";
	}
	conn_schedule_flush(c);
}

static int wanted_events(const struct conn *c)
{
	int ev = 0;

	if (!(c->flags & (CONN_PAUSED | CONN_CLOSING | CONN_READ_EOF)) ||
	    (c->flags & CONN_LINGER))
		ev |= SEL_READ;
	if (conn_pending(c) > 0 && !(c->flags & CONN_LINGER))
		ev |= SEL_WRITE;
	return ev;
}

static void update_interest(struct conn *c)
{
	if (selector_mod(srv_of(c)->sel, c->fd, wanted_events(c)) == -1)
		log_warn("%s: cannot update interest for %s", c->lst->conf.name, c->name);
}

void conn_set_reading(struct conn *c, bool on)
{
	if (on)
		c->flags &= ~CONN_PAUSED;
	else
		c->flags |= CONN_PAUSED;
	update_interest(c);
}

/* Shuts our side and waits (bounded) for the peer's EOF. */
static void start_linger(struct conn *c)
{
	if (c->flags & CONN_LINGER)
		return;
	if (c->flags & CONN_READ_EOF || shutdown(c->fd, SHUT_WR) == -1) {
		conn_close(c, c->close_reason);
		return;
	}
	c->flags |= CONN_LINGER;
	touch(c);
	update_interest(c);
}

/* Writes what is queued; returns -1 if the connection was closed. */
static int conn_flush(struct conn *c)
{
	ssize_t n;

	if (c->lst->conf.protocol == PROTO_CHAT)
		n = outq_flush(&c->out, c->fd);
	else {
		n = 0;
		while (buffer_len(&c->in) > 0) {
			ssize_t w = write(c->fd, buffer_data(&c->in), buffer_len(&c->in));

			if (w == -1 && errno == EINTR)
				continue;
			if (w <= 0) {
				if (w == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
					n = -1;
				break;
			}
			buffer_consume(&c->in, (size_t)w);
			n += w;
		}
	}
	if (n == -1) {
		conn_close(c, strerror(errno));
		return -1;
	}
	c->lst->stats.bytes_out += (uint64_t)n;
	/* A closing client that still takes its output is not stalled. */
	if ((c->flags & CONN_CLOSING) && n > 0)
		touch(c);
	/* Echo flow control: resume reading once half the backlog is gone. */
	if ((c->flags & CONN_PAUSED) && conn_pending(c) <= c->lst->conf.max_queue / 2)
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
		log_client(LOG_WARNING, c->lst->conf.name, c->name,
		    "%s (%zu bytes unsent, max_queue %zu)", c->close_reason,
		    c->out.bytes, c->lst->conf.max_queue);
		conn_close(c, c->close_reason);
		return;
	}
	if (conn_flush(c) == 0)
		update_interest(c);
}

void conn_flush_all(struct server *s)
{
	struct conn *c;

	/* Closing a client may queue "left" notices, which puts more
	 * clients on the list: pop until it stays empty. */
	while ((c = s->flush_list) != NULL) {
		s->flush_list = c->flush_next;
		c->flush_next = NULL;
		c->flags &= ~CONN_IN_FLUSH;
		flush_one(c);
	}
}

/* ---- input --------------------------------------------------------- */

static void conn_read(struct conn *c)
{
	ssize_t n = read(c->fd, scratch, sizeof(scratch));

	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		conn_close(c, strerror(errno));
		return;
	}
	if (c->flags & CONN_LINGER) {
		if (n == 0)
			conn_close(c, c->close_reason);
		return;
	}
	if (n == 0) {
		c->flags |= CONN_READ_EOF;
		update_interest(c);
		c->lst->ops->eof(c);
		return;
	}
	c->lst->stats.bytes_in += (uint64_t)n;
	touch(c);
	c->lst->ops->input(c, scratch, (size_t)n);
}

static void conn_io(struct selector *sel, int fd, int events, void *arg)
{
	struct conn *c = arg;

	(void)sel;
	(void)fd;
	if (events & SEL_READ) {
		conn_read(c);
		if (c->flags & CONN_CLOSED)
			return;
	}
	if ((events & SEL_WRITE) && conn_pending(c) > 0)
		flush_one(c);
}

/* ---- closing ------------------------------------------------------- */

void conn_close_after_flush(struct conn *c, const char *reason)
{
	struct server *s = srv_of(c);

	if (c->flags & (CONN_CLOSED | CONN_CLOSING))
		return;
	c->flags |= CONN_CLOSING;
	c->close_reason = reason;
	/* Closing is bounded in time (see sweep_listener) even for a client
	 * that stops reading what it is owed. */
	s->nclosing++;
	touch(c);
	server_arm_sweep(s);
	conn_schedule_flush(c);
	update_interest(c);
	if (conn_pending(c) == 0)
		start_linger(c);
}

void conn_close(struct conn *c, const char *reason)
{
	struct server *s = srv_of(c);
	struct listener *l = c->lst;

	if (c->flags & CONN_CLOSED)
		return;
	if (l->ops->closing != NULL)
		l->ops->closing(c);
	if (c->flags & CONN_CLOSING)
		s->nclosing--;
	c->flags |= CONN_CLOSED;
	selector_del(s->sel, c->fd);
	close(c->fd);
	c->fd = -1;
	log_client(LOG_INFO, l->conf.name, c->name, "disconnected (%s)",
	    reason ? reason : "closed");
	list_unlink(c);
	l->nclients--;
	s->nconns--;
	outq_clear(&c->out);
	buffer_free(&c->in);
	/* Freed after this loop iteration: callers up the stack and the
	 * flush list may still hold the pointer. */
	c->next = s->graveyard;
	s->graveyard = c;
	server_conn_gone(s);
}

void conn_bury(struct server *s)
{
	struct conn *c;

	struct listener *l, *next;

	while ((c = s->graveyard) != NULL) {
		s->graveyard = c->next;
		free(c);
	}
	/* Listeners closed by a reload live until their last client left. */
	for (l = s->listeners; l != NULL; l = next) {
		next = l->next;
		if (l->fd == -1 && l->nclients == 0 && s->state == SERVER_RUNNING)
			listener_free(l);
	}
}

/* ---- timers -------------------------------------------------------- */

/* Closes what has idled or lingered too long.  With an idle timeout the
 * list is ordered by last input (a lingering close counts as input), so
 * the scan stops at the first connection younger than the shorter of the
 * two limits; without one, only lingering connections are looked at. */
static bool sweep_listener(struct listener *l, int64_t now)
{
	int64_t idle_ms = (int64_t)(l->conf.idle_timeout * 1000.0);
	int64_t first = (idle_ms > 0 && idle_ms < LINGER_MS) ? idle_ms : LINGER_MS;
	bool pending = false;
	struct conn *c, *next;

	if (idle_ms <= 0 && l->srv->nclosing == 0)
		return false;
	for (c = l->oldest; c != NULL; c = next) {
		int64_t age = now - c->last_input;

		next = c->next;
		if (idle_ms > 0 && age < first)
			return true;
		if (c->flags & CONN_CLOSING) {
			if (age >= ((c->flags & CONN_LINGER) ? LINGER_MS : FLUSH_MS))
				conn_close(c, c->close_reason);
			else
				pending = true;
		} else if (idle_ms > 0 && age >= idle_ms) {
			if (l->ops->farewell != NULL)
				l->ops->farewell(c, "error: idle timeout");
			/* It has left now, not when its socket is finally closed. */
			if (l->ops->closing != NULL)
				l->ops->closing(c);
			conn_close_after_flush(c, "idle timeout");
		}
	}
	return pending || (idle_ms > 0 && l->oldest != NULL);
}

bool conn_sweep(struct server *s)
{
	int64_t now = selector_now(s->sel);
	bool any = false;

	for (struct listener *l = s->listeners; l != NULL; l = l->next)
		if (sweep_listener(l, now))
			any = true;
	return any;
}
