/*
 * echo.c - RFC 862 echo.  TCP input is written straight back from the
 * read buffer; only what the socket does not take is kept, and reading
 * pauses while that backlog is above max_queue (flow control instead of
 * unbounded buffering).  UDP datagrams go back to their senders.
 */
#include "autoconfig.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "echo.h"
#include "log.h"

#define DGRAM_MAX 65536
#define DGRAM_BATCH 64

static void echo_open(struct conn *c)
{
	(void)c;
}

static void echo_input(struct conn *c, const char *data, size_t len)
{
	c->lst->stats.messages++;
	if (buffer_len(&c->in) == 0) {
		ssize_t w = write(c->fd, data, len);

		if (w == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			conn_close(c, "write error");
			return;
		}
		if (w > 0) {
			c->lst->stats.bytes_out += (uint64_t)w;
			data += w;
			len -= (size_t)w;
		}
		if (len == 0)
			return;
	}
	if (buffer_append(&c->in, data, len) == -1) {
		conn_close(c, "out of memory");
		return;
	}
	conn_schedule_flush(c);
	if (buffer_len(&c->in) > c->lst->conf.max_queue)
		conn_set_reading(c, false);
}

static void echo_eof(struct conn *c)
{
	conn_close_after_flush(c, "client closed");
}

const struct proto_ops echo_ops = {
	.open = echo_open,
	.input = echo_input,
	.eof = echo_eof,
	.closing = NULL,
	.farewell = NULL,
};

void echo_datagrams(struct listener *l)
{
	static char buf[DGRAM_MAX];

	for (int i = 0; i < DGRAM_BATCH; i++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		ssize_t n = recvfrom(l->fd, buf, sizeof(buf), 0,
		    (struct sockaddr *)&peer, &plen);

		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("%s: recvfrom", l->conf.name);
			return;
		}
		l->stats.messages++;
		l->stats.bytes_in += (uint64_t)n;
		/* A datagram the kernel cannot take now is dropped, as UDP
		 * allows; queueing it would let a flood grow memory. */
		if (sendto(l->fd, buf, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&peer,
		    plen) == n)
			l->stats.bytes_out += (uint64_t)n;
	}
}
