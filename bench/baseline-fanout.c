/*
 * baseline-fanout.c - the "bare fan-out ceiling" of chatd's benchmark.
 *
 * The smallest honest chat loop: one thread, level-triggered epoll,
 * non-blocking sockets, TCP_NODELAY, one read per ready socket.  Every
 * complete line read in one epoll batch goes, as "ADDR:PORT: text\r\n"
 * (chatd's format, so the load generator checks names and bytes the same
 * way), into one shared buffer; after the batch that buffer is written
 * once to each client, its senders included.  A partial line waits in its
 * connection for the rest; empty lines are dropped, as chatd does.  Bytes
 * a client's socket will not take are kept for it, later batches behind
 * them; a client owing more than 1 MiB, or sending a line over 64 KiB, is
 * dropped.  No nicknames, commands, notices, timers or limits beyond that:
 * what chatd costs on top of this is the price of being a daemon.  Linux
 * only.
 *
 * usage: baseline-fanout PORT     (listens on 127.0.0.1:PORT)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* accept4 */
#endif
#ifndef __linux__
#error "baseline-fanout needs Linux epoll(7); the benchmark runs on Linux only"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_OWED (1u << 20)	/* unsent bytes a client may owe */
#define MAX_PART (1u << 16)	/* longest line */

struct bytes { char *p; size_t off, len, cap; };

struct client {
	int fd;
	unsigned idx;			/* in members[] */
	unsigned char namelen;
	char name[INET_ADDRSTRLEN + 8];	/* "ADDR:PORT: " */
	struct bytes part;		/* a line without its LF yet */
	struct bytes owed;		/* what the socket did not take */
};

static int ep;
static struct client **byfd;		/* fd -> client */
static int maxfd;
static struct client **members;		/* every client, in no order */
static unsigned nmembers;
static struct bytes batch;		/* the lines of one epoll batch */

/* Appends n bytes to b; -1 when out of memory. */
static int put(struct bytes *b, const void *data, size_t n)
{
	if (b->off > 0 && b->off + b->len + n > b->cap) {	/* compact */
		memmove(b->p, b->p + b->off, b->len);
		b->off = 0;
	}
	if (b->off + b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *np;

		while (cap < b->off + b->len + n)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->off + b->len, data, n);
	b->len += n;
	return 0;
}

static void watch(struct client *c, unsigned events)
{
	struct epoll_event ev = { .events = events, .data.fd = c->fd };

	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Drops c: out of members (the last takes its place), descriptor closed. */
static void drop(struct client *c)
{
	members[c->idx] = members[--nmembers];
	members[c->idx]->idx = c->idx;
	byfd[c->fd] = NULL;
	close(c->fd);
	free(c->part.p);
	free(c->owed.p);
	free(c);
}

static void add(int fd)
{
	struct client *c = NULL;
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	char ip[INET_ADDRSTRLEN];
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	int one = 1;

	if (fd >= maxfd || (c = calloc(1, sizeof *c)) == NULL ||
	    getpeername(fd, (struct sockaddr *)&sa, &len) < 0 ||
	    !inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip)) {
		free(c);
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->fd = fd;
	c->namelen = (unsigned char)snprintf(c->name, sizeof c->name, "%s:%u: ",
	    ip, ntohs(sa.sin_port));
	c->idx = nmembers;
	members[nmembers++] = c;
	byfd[fd] = c;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* One line of c (without its LF) into the batch. */
static void take_line(struct client *c, const char *line, size_t n)
{
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (n == 0)
		return;
	if (put(&batch, c->name, c->namelen) < 0 || put(&batch, line, n) < 0 ||
	    put(&batch, "\r\n", 2) < 0) {
		fputs("baseline-fanout: out of memory\n", stderr);
		exit(71);
	}
}

/* One read of c; its complete lines into the batch.  -1: drop c. */
static int read_lines(struct client *c)
{
	static char buf[65536];
	ssize_t r = read(c->fd, buf, sizeof buf);
	const char *p = buf, *end, *nl;

	if (r == 0 || (r < 0 && errno != EAGAIN))
		return -1;
	if (r < 0)
		return 0;
	end = buf + r;
	if (c->part.len > 0) {			/* the rest of a partial line */
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return c->part.len + (size_t)r > MAX_PART ||
			    put(&c->part, p, (size_t)r) < 0 ? -1 : 0;
		if (c->part.len + (size_t)(nl - p) > MAX_PART ||
		    put(&c->part, p, (size_t)(nl - p)) < 0)
			return -1;
		take_line(c, c->part.p + c->part.off, c->part.len);
		c->part.off = c->part.len = 0;
		p = nl + 1;
	}
	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		take_line(c, p, (size_t)(nl - p));
		p = nl + 1;
	}
	if (p < end && ((size_t)(end - p) > MAX_PART || put(&c->part, p, (size_t)(end - p)) < 0))
		return -1;
	return 0;
}

/* Writes what c owes; -1: drop c. */
static int flush_owed(struct client *c)
{
	ssize_t w = write(c->fd, c->owed.p + c->owed.off, c->owed.len);

	if (w < 0)
		return errno == EAGAIN ? 0 : -1;
	c->owed.off += (size_t)w;
	c->owed.len -= (size_t)w;
	if (c->owed.len == 0) {
		c->owed.off = 0;
		watch(c, EPOLLIN);
	}
	return 0;
}

/* The batch to c: one write, the rest owed.  -1: drop c. */
static int send_batch(struct client *c)
{
	size_t off = 0;

	if (c->owed.len == 0) {
		ssize_t w = write(c->fd, batch.p, batch.len);

		if (w < 0 && errno != EAGAIN)
			return -1;
		off = w > 0 ? (size_t)w : 0;
		if (off == batch.len)
			return 0;
		watch(c, EPOLLIN | EPOLLOUT);
	}
	if (c->owed.len + batch.len - off > MAX_OWED)
		return -1;
	return put(&c->owed, batch.p + off, batch.len - off);
}

int main(int argc, char **argv)
{
	if (argc != 2 || atoi(argv[1]) <= 0 || atoi(argv[1]) > 65535) {
		fprintf(stderr, "usage: baseline-fanout PORT\n");
		return 64;
	}
	signal(SIGPIPE, SIG_IGN);
	maxfd = (int)sysconf(_SC_OPEN_MAX);
	byfd = calloc((size_t)maxfd, sizeof *byfd);
	members = calloc((size_t)maxfd, sizeof *members);
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (!byfd || !members || lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(lfd, 4096) < 0) {
		perror("baseline-fanout");
		return 71;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd }, evs[512];
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 512, -1);

		batch.len = 0;
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd, c;
			struct client *cl;

			if (fd == lfd) {
				while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
					add(c);
				continue;
			}
			if ((cl = byfd[fd]) == NULL)
				continue;
			if ((evs[i].events & EPOLLOUT) && cl->owed.len > 0 && flush_owed(cl) < 0) {
				drop(cl);
				continue;
			}
			if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && read_lines(cl) < 0)
				drop(cl);
		}
		if (batch.len == 0)
			continue;
		/* downwards: a drop moves the last member, already served, here */
		for (unsigned i = nmembers; i-- > 0;)
			if (send_batch(members[i]) < 0)
				drop(members[i]);
	}
}
