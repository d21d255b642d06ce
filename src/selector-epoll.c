/*
 * selector-epoll.c - Linux epoll(7) backend, level-triggered so a callback
 * that stops early (fairness, flow control) is woken again.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "fault.h"
#include "selector.h"
#include "selector-backend.h"

const char sel_backend_name[] = "epoll";

struct sel_backend {
	int epfd;
	struct epoll_event events[512];
};

struct sel_backend *sel_backend_new(void)
{
	struct sel_backend *be = calloc(1, sizeof(*be));

	if (be == NULL)
		return NULL;
	be->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (be->epfd == -1) {
		free(be);
		return NULL;
	}
	return be;
}

void sel_backend_free(struct sel_backend *be)
{
	if (be == NULL)
		return;
	close(be->epfd);
	free(be);
}

int sel_backend_set(struct sel_backend *be, int fd, int old_events, int new_events)
{
	struct epoll_event ev = { 0 };
	int op;

	/* The kernel's set may disagree with ours after a failed call (a
	 * DEL that failed before the fd was handed on): converge. */
	if (new_events == 0)
		return epoll_ctl(be->epfd, EPOLL_CTL_DEL, fd, &ev) == -1 &&
		    errno != ENOENT ? -1 : 0;
	op = old_events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
	ev.events = ((new_events & SEL_READ) ? EPOLLIN : 0) |
	    ((new_events & SEL_WRITE) ? EPOLLOUT : 0);
	ev.data.fd = fd;
	if (epoll_ctl(be->epfd, op, fd, &ev) == 0)
		return 0;
	if (op == EPOLL_CTL_ADD && errno == EEXIST)
		return epoll_ctl(be->epfd, EPOLL_CTL_MOD, fd, &ev);
	if (op == EPOLL_CTL_MOD && errno == ENOENT)
		return epoll_ctl(be->epfd, EPOLL_CTL_ADD, fd, &ev);
	return -1;
}

int sel_backend_wait(struct sel_backend *be, struct sel_fired *out, int max, int timeout_ms)
{
	int n;

	if (max > (int)(sizeof(be->events) / sizeof(be->events[0])))
		max = (int)(sizeof(be->events) / sizeof(be->events[0]));
	/* EINTR is its only error that a correct caller can meet. */
	FAULT_RETURN("chatd/selector/epoll_wait", 0, EINTR);
	n = epoll_wait(be->epfd, be->events, max, timeout_ms);
	if (n == -1)
		return errno == EINTR ? 0 : -1;
	for (int i = 0; i < n; i++) {
		uint32_t e = be->events[i].events;
		int mask = 0;

		if (e & (EPOLLIN | EPOLLRDHUP))
			mask |= SEL_READ;
		if (e & EPOLLOUT)
			mask |= SEL_WRITE;
		if (e & (EPOLLERR | EPOLLHUP))
			mask |= SEL_READ | SEL_WRITE;
		out[i].fd = be->events[i].data.fd;
		out[i].events = mask;
	}
	return n;
}
