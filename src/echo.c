/*
 * echo.c - RFC 862 echo.  TCP input is written straight back from the
 * read buffer; only what the socket does not take is queued, and reading
 * pauses while that backlog is above max_queue (conn_write: flow control
 * instead of unbounded buffering).  UDP datagrams go back to their
 * senders, unless the sender could be another echo service (the loop
 * check of SPEC 19, as inetd's).
 */
#include "autoconfig.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
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
	c->ep->stats.messages++;
	conn_write(c, data, len);
}

static void echo_eof(struct conn *c)
{
	conn_close_after_flush(c, CLOSE_CLIENT, "client closed");
}

/* ---- UDP and its loop check ---------------------------------------- */

/* The addresses of every UDP echo socket chatd serves: a datagram from
 * one of them is our own echo coming back. */
struct udp_self {
	struct udp_self *next;
	const struct endpoint *ep;
	struct sockaddr_storage addr;
	socklen_t len;
};

static struct udp_self *udp_selves;

static int echo_attach(struct endpoint *ep, const struct listener_conf *conf)
{
	struct udp_self *u;

	if (conf->addr.socktype != SOCK_DGRAM)
		return 0;
	u = calloc(1, sizeof(*u));
	if (u == NULL) {
		log_warnx("%s: out of memory", conf->name);
		return -1;
	}
	u->ep = ep;
	memcpy(&u->addr, &conf->addr.ss, sizeof(u->addr));
	u->len = conf->addr.len;
	u->next = udp_selves;
	udp_selves = u;
	ep->proto_state = u;
	return 0;
}

static void echo_detach(struct endpoint *ep)
{
	struct udp_self **pp;

	for (pp = &udp_selves; *pp != NULL; pp = &(*pp)->next)
		if (*pp == ep->proto_state) {
			struct udp_self *u = *pp;

			*pp = u->next;
			free(u);
			break;
		}
	ep->proto_state = NULL;
}

static int port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return -1;
}

/* Same address and port; an IPv4 address also matches its v4-mapped
 * form and a wildcard bind matches any address on its port. */
static bool same_host_port(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	unsigned char ia[16], ib[16];
	size_t na = 0, nb = 0;

	if (port_of(a) != port_of(b))
		return false;
	if (a->ss_family == AF_INET) {
		memcpy(ia, mapped, 12);
		memcpy(ia + 12, &((const struct sockaddr_in *)a)->sin_addr, 4);
		na = 16;
	} else if (a->ss_family == AF_INET6) {
		memcpy(ia, &((const struct sockaddr_in6 *)a)->sin6_addr, 16);
		na = 16;
	}
	if (b->ss_family == AF_INET) {
		memcpy(ib, mapped, 12);
		memcpy(ib + 12, &((const struct sockaddr_in *)b)->sin_addr, 4);
		nb = 16;
	} else if (b->ss_family == AF_INET6) {
		memcpy(ib, &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
		nb = 16;
	}
	if (na != 16 || nb != 16)
		return false;
	static const unsigned char any6[16], any4[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff, 0, 0, 0, 0 };
	if (memcmp(ib, any6, 16) == 0 || memcmp(ib, any4, 16) == 0)
		return true;
	return memcmp(ia, ib, 16) == 0;
}

/* SPEC 19: never answer port 0, the well-known ports of the small
 * services that answer datagrams, or any of our own UDP sockets. */
static bool may_answer(const struct sockaddr_storage *peer)
{
	static const int small_services[] = { 7, 9, 13, 17, 19, 37 };
	int port = port_of(peer);

	if (port <= 0)
		return false;
	for (size_t i = 0; i < sizeof(small_services) / sizeof(small_services[0]); i++)
		if (port == small_services[i])
			return false;
	for (const struct udp_self *u = udp_selves; u != NULL; u = u->next)
		if (same_host_port(peer, &u->addr))
			return false;
	return true;
}

static void echo_datagrams(struct endpoint *ep, int fd)
{
	static char buf[DGRAM_MAX];

	for (int i = 0; i < DGRAM_BATCH; i++) {
		struct sockaddr_storage peer = { .ss_family = AF_UNSPEC };
		socklen_t plen = sizeof(peer);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen);

		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("%s: recvfrom", ep->conf->name);
			return;
		}
		ep->stats.bytes_in += (uint64_t)n;
		if (!may_answer(&peer)) {
			ep->stats.rejected[REJECT_LOOP]++;
			continue;
		}
		ep->stats.messages++;
		/* A datagram the kernel cannot take now is dropped, as UDP
		 * allows; queueing it would let a flood grow memory. */
		if (sendto(fd, buf, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&peer,
		    plen) == n)
			ep->stats.bytes_out += (uint64_t)n;
	}
}

const struct proto_ops echo_ops = {
	.name = "echo",
	.full_notice = NULL,
	.attach = echo_attach,
	.detach = echo_detach,
	.update = NULL,
	.datagram = echo_datagrams,
	.open = echo_open,
	.input = echo_input,
	.resume = NULL,
	.eof = echo_eof,
	.closing = NULL,
	.farewell = NULL,
};
