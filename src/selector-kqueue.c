/*
 * selector-kqueue.c - BSD/macOS kqueue(2) backend, written against the
 * FreeBSD and macOS kevent(2) pages.  Read and write interest are two
 * filters; kevent reports them as separate events, which are merged per
 * fd so the common code sees one entry per descriptor, as with epoll.
 */
#include "autoconfig.h"

#include <sys/types.h>
#include <sys/event.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "selector.h"
#include "selector-backend.h"

const char sel_backend_name[] = "kqueue";

#define KQ_BATCH 512

struct sel_backend {
	int kq;
	struct kevent events[KQ_BATCH];
	int *merged_at;		/* fd -> index in this wait's output, or -1 */
	int nmerged_at;
};

struct sel_backend *sel_backend_new(void)
{
	struct sel_backend *be = calloc(1, sizeof(*be));

	if (be == NULL)
		return NULL;
	be->kq = kqueue();
	if (be->kq == -1) {
		free(be);
		return NULL;
	}
	/* Not inherited by fork(2), but it must not leak through exec(2). */
	(void)fcntl(be->kq, F_SETFD, FD_CLOEXEC);
	return be;
}

void sel_backend_free(struct sel_backend *be)
{
	if (be == NULL)
		return;
	close(be->kq);
	free(be->merged_at);
	free(be);
}

static int ensure_merge_map(struct sel_backend *be, int fd)
{
	int n = be->nmerged_at ? be->nmerged_at : 64;
	int *m;

	if (fd < be->nmerged_at)
		return 0;
	while (n <= fd)
		n *= 2;
	m = realloc(be->merged_at, (size_t)n * sizeof(*m));
	if (m == NULL)
		return -1;
	for (int i = be->nmerged_at; i < n; i++)
		m[i] = -1;
	be->merged_at = m;
	be->nmerged_at = n;
	return 0;
}

int sel_backend_set(struct sel_backend *be, int fd, int old_events, int new_events)
{
	struct kevent ch[2];
	int n = 0;
	int changed = old_events ^ new_events;

	if (ensure_merge_map(be, fd) == -1)
		return -1;
	if (changed & SEL_READ) {
		EV_SET(&ch[n], (uintptr_t)fd, EVFILT_READ,
		    (new_events & SEL_READ) ? EV_ADD : EV_DELETE, 0, 0, NULL);
		n++;
	}
	if (changed & SEL_WRITE) {
		EV_SET(&ch[n], (uintptr_t)fd, EVFILT_WRITE,
		    (new_events & SEL_WRITE) ? EV_ADD : EV_DELETE, 0, 0, NULL);
		n++;
	}
	return kevent(be->kq, ch, n, NULL, 0, NULL) == -1 ? -1 : 0;
}

int sel_backend_wait(struct sel_backend *be, struct sel_fired *out, int max, int timeout_ms)
{
	struct timespec ts, *tsp = NULL;
	int n, found = 0;

	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
		tsp = &ts;
	}
	if (max > KQ_BATCH)
		max = KQ_BATCH;
	n = kevent(be->kq, NULL, 0, be->events, max, tsp);
	if (n == -1)
		return errno == EINTR ? 0 : -1;
	for (int i = 0; i < n; i++) {
		const struct kevent *ev = &be->events[i];
		int fd = (int)ev->ident;
		int mask = ev->filter == EVFILT_READ ? SEL_READ : SEL_WRITE;

		if (ev->flags & (EV_ERROR | EV_EOF))
			mask |= SEL_READ | SEL_WRITE;
		if (fd < be->nmerged_at && be->merged_at[fd] != -1) {
			out[be->merged_at[fd]].events |= mask;
			continue;
		}
		if (fd < be->nmerged_at)
			be->merged_at[fd] = found;
		out[found].fd = fd;
		out[found].events = mask;
		found++;
	}
	for (int i = 0; i < found; i++)
		if (out[i].fd < be->nmerged_at)
			be->merged_at[out[i].fd] = -1;
	return found;
}
