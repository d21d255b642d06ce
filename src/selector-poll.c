/*
 * selector-poll.c - portable poll(2) backend.  A dense pollfd array plus a
 * map from fd to its slot keeps add, change and remove O(1).
 */
#include "autoconfig.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "selector.h"
#include "selector-backend.h"

const char sel_backend_name[] = "poll";

struct sel_backend {
	struct pollfd *pfds;
	int npfds, cappfds;
	int *slot_of;		/* fd -> index in pfds, -1 when absent */
	int nslot_of;
	int next_scan;		/* where the next wait starts reporting */
};

struct sel_backend *sel_backend_new(void)
{
	return calloc(1, sizeof(struct sel_backend));
}

void sel_backend_free(struct sel_backend *be)
{
	if (be == NULL)
		return;
	free(be->pfds);
	free(be->slot_of);
	free(be);
}

static short to_poll(int events)
{
	return (short)(((events & SEL_READ) ? POLLIN : 0) |
	    ((events & SEL_WRITE) ? POLLOUT : 0));
}

static int reserve(struct sel_backend *be, int fd)
{
	if (fd >= be->nslot_of) {
		int n = be->nslot_of ? be->nslot_of : 64;
		int *m;

		while (n <= fd)
			n *= 2;
		m = realloc(be->slot_of, (size_t)n * sizeof(*m));
		if (m == NULL)
			return -1;
		for (int i = be->nslot_of; i < n; i++)
			m[i] = -1;
		be->slot_of = m;
		be->nslot_of = n;
	}
	if (be->npfds == be->cappfds) {
		int n = be->cappfds ? be->cappfds * 2 : 64;
		struct pollfd *p = realloc(be->pfds, (size_t)n * sizeof(*p));

		if (p == NULL)
			return -1;
		be->pfds = p;
		be->cappfds = n;
	}
	return 0;
}

static void remove_slot(struct sel_backend *be, int fd)
{
	int i = be->slot_of[fd];
	int last = be->npfds - 1;

	if (i != last) {
		be->pfds[i] = be->pfds[last];
		be->slot_of[be->pfds[i].fd] = i;
	}
	be->slot_of[fd] = -1;
	be->npfds--;
}

int sel_backend_set(struct sel_backend *be, int fd, int old_events, int new_events)
{
	if (old_events == 0) {
		if (reserve(be, fd) == -1)
			return -1;
		be->slot_of[fd] = be->npfds;
		be->pfds[be->npfds++] = (struct pollfd){ fd, to_poll(new_events), 0 };
		return 0;
	}
	if (fd >= be->nslot_of || be->slot_of[fd] == -1) {
		errno = ENOENT;
		return -1;
	}
	if (new_events == 0)
		remove_slot(be, fd);
	else
		be->pfds[be->slot_of[fd]].events = to_poll(new_events);
	return 0;
}

/* poll(2), and chatd's failure point for it (fiu-run's preload would
 * also inject EFAULT and EINVAL, which only a bug can cause). */
static int do_poll(struct pollfd *pfds, nfds_t n, int timeout_ms)
{
	FAULT_RETURN("chatd/selector/poll", -1, EINTR, ENOMEM);
	return poll(pfds, n, timeout_ms);
}

/* Reports ready descriptors starting where the last wait stopped, so
 * that with more than max ready the later ones are not starved. */
int sel_backend_wait(struct sel_backend *be, struct sel_fired *out, int max, int timeout_ms)
{
	int n, found = 0, start;

	n = do_poll(be->pfds, (nfds_t)be->npfds, timeout_ms);
	/* poll(2) may lack memory for its own table for a moment: not a
	 * reason to stop serving. */
	if (n == -1)
		return errno == EINTR || errno == ENOMEM ? 0 : -1;
	if (n == 0 || be->npfds == 0)
		return 0;
	start = be->next_scan < be->npfds ? be->next_scan : 0;
	for (int k = 0; k < be->npfds && found < n && found < max; k++) {
		int i = (start + k) % be->npfds;
		short re = be->pfds[i].revents;
		int mask = 0;

		if (re == 0)
			continue;
		if (re & POLLIN)
			mask |= SEL_READ;
		if (re & POLLOUT)
			mask |= SEL_WRITE;
		if (re & (POLLERR | POLLHUP | POLLNVAL))
			mask |= SEL_READ | SEL_WRITE;
		out[found].fd = be->pfds[i].fd;
		out[found].events = mask;
		found++;
		be->next_scan = i + 1;
	}
	return found;
}
