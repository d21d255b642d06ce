/*
 * baseline-echo.c - the "bare loop ceiling" of chatd's benchmark.
 *
 * The smallest honest epoll echo server: one thread, level-triggered,
 * non-blocking sockets, accept4 until EAGAIN, TCP_NODELAY, one read and
 * one write per ready socket.  Bytes the kernel will not take yet are kept
 * per connection and reading from that connection pauses until they are
 * gone, so it stays correct under pipelining.  Linux only.
 *
 * usage: baseline-echo PORT     (listens on 127.0.0.1:PORT)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* accept4 */
#endif
#ifndef __linux__
#error "baseline-echo needs Linux epoll(7); the benchmark runs on Linux only"
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <errno.h>

struct pend { char *buf; size_t off, len; };	/* unsent bytes of one fd */
static struct pend *pend;
static int npend;

/* Drops fd: its pending bytes and its descriptor. */
static void drop(int fd)
{
	free(pend[fd].buf);
	pend[fd] = (struct pend){ 0 };
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc != 2 || atoi(argv[1]) <= 0 || atoi(argv[1]) > 65535) {
		fprintf(stderr, "usage: baseline-echo PORT\n");
		return 64;
	}
	signal(SIGPIPE, SIG_IGN);
	npend = (int)sysconf(_SC_OPEN_MAX);
	pend = calloc((size_t)npend, sizeof *pend);
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (!pend || lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 4096) < 0) {
		perror("baseline-echo");
		return 71;
	}
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd }, evs[512];
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	static char buf[65536];
	for (;;) {
		int n = epoll_wait(ep, evs, 512, -1);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd, c;
			if (fd == lfd) {
				while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					if (c >= npend) { close(c); continue; }
					setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = c };
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				}
				continue;
			}
			struct pend *p = &pend[fd];
			if (p->len) {			/* writable again: finish the backlog */
				ssize_t w = write(fd, p->buf + p->off, p->len);
				if (w < 0 && errno != EAGAIN) { drop(fd); continue; }
				if (w > 0) { p->off += (size_t)w; p->len -= (size_t)w; }
				if (p->len == 0) {
					ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = fd };
					epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
				}
				continue;
			}
			ssize_t r = read(fd, buf, sizeof buf);
			if (r == 0 || (r < 0 && errno != EAGAIN)) { drop(fd); continue; }
			if (r < 0)
				continue;
			ssize_t w = write(fd, buf, (size_t)r);
			if (w < 0 && errno != EAGAIN) { drop(fd); continue; }
			if (w < r) {			/* keep the rest, wait for EPOLLOUT */
				size_t off = w > 0 ? (size_t)w : 0, len = (size_t)r - off;
				char *nb = realloc(p->buf, len);
				if (!nb) { drop(fd); continue; }
				memcpy(nb, buf + off, len);
				*p = (struct pend){ nb, 0, len };
				ev = (struct epoll_event){ .events = EPOLLOUT, .data.fd = fd };
				epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
			}
		}
	}
}
