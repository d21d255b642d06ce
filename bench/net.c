/*
 * net.c - the load generator's connections: TCP_NODELAY sockets,
 * optionally bound to one of several 127.0.0.x source addresses, at
 * most a given number of handshakes in flight; the epoll helper.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "net.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static int tcp_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

char connect_err[128];
int connect_rcvbuf;	/* SO_RCVBUF before connecting, when > 0 */

/* Opens n non-blocking TCP connections to O.dst into fds[] (-1 where one
 * failed), at most inflight handshakes at a time so the server's listen
 * queue never overflows; with nsrc > 0 connection i is bound first to
 * 127.0.0.(1 + i % nsrc).  With greeting, a connection also counts as in
 * flight until the server has sent something on it (left unread): proof
 * that it was accepted, for servers with a short listen queue that greet
 * newcomers (ncat --chat).  Returns how many connected. */
unsigned connect_all(int *fds, unsigned n, unsigned nsrc, unsigned inflight,
    double timeout, bool greeting)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	char *pending = xcalloc(n, 1);
	unsigned started = 0, npend = 0, ok = 0;
	uint64_t deadline = now_ns() + (uint64_t)(timeout * 1e9);
	struct epoll_event evs[256];

	if (ep < 0)
		die("epoll_create1: %s", strerror(errno));
	for (unsigned i = 0; i < n; i++)
		fds[i] = -1;
	while ((started < n || npend) && now_ns() < deadline) {
		while (started < n && npend < inflight) {
			unsigned i = started++;
			int fd = tcp_socket();
			if (fd < 0) {
				snprintf(connect_err, sizeof connect_err, "socket: %s", strerror(errno));
				continue;
			}
			if (connect_rcvbuf > 0)
				setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &connect_rcvbuf,
				    sizeof connect_rcvbuf);
			if (nsrc) {
				struct sockaddr_in src = { .sin_family = AF_INET };
				int one = 1;
				src.sin_addr.s_addr = htonl(0x7f000001u + i % nsrc);
				setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
				if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
					snprintf(connect_err, sizeof connect_err, "bind: %s", strerror(errno));
					close(fd);
					continue;
				}
			}
			if (connect(fd, (struct sockaddr *)&O.dst, sizeof O.dst) == 0) {
				fds[i] = fd;
				ok++;
				continue;
			}
			if (errno != EINPROGRESS) {
				snprintf(connect_err, sizeof connect_err, "connect: %s", strerror(errno));
				close(fd);
				continue;
			}
			struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = i };
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
			fds[i] = fd;
			pending[i] = 1;
			npend++;
		}
		int k = epoll_wait(ep, evs, 256, 50);
		for (int j = 0; j < k; j++) {
			unsigned i = evs[j].data.u32;
			int err = 0;
			socklen_t len = sizeof err;
			if (pending[i] == 2) {		/* the greeting arrived */
				epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
				pending[i] = 0;
				npend--;
				ok++;
				continue;
			}
			getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err, &len);
			if (!err && greeting) {
				struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
				epoll_ctl(ep, EPOLL_CTL_MOD, fds[i], &ev);
				pending[i] = 2;
				continue;
			}
			epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
			pending[i] = 0;
			npend--;
			if (err) {
				snprintf(connect_err, sizeof connect_err, "connect: %s", strerror(err));
				close(fds[i]);
				fds[i] = -1;
			} else {
				ok++;
			}
		}
	}
	for (unsigned i = 0; i < n; i++)
		if (pending[i]) {
			snprintf(connect_err, sizeof connect_err, pending[i] == 2 ?
			    "no greeting from the server" : "connect: timed out");
			close(fds[i]);
			fds[i] = -1;
		}
	free(pending);
	close(ep);
	return ok;
}

void ep_set(int ep, int op, int fd, uint32_t events, uint32_t id)
{
	struct epoll_event ev = { .events = events, .data.u32 = id };
	if (epoll_ctl(ep, op, fd, &ev) < 0 && op != EPOLL_CTL_DEL)
		die("epoll_ctl: %s", strerror(errno));
}

/* True when something accepts a blocking connection to O.dst. */
bool try_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = connect(fd, (struct sockaddr *)&O.dst, sizeof O.dst) == 0;
	close(fd);
	return ok;
}
