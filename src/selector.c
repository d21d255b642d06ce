/*
 * selector.c - the backend-independent half of the event loop: the
 * callback table, timers, signals through a self-pipe, the before-wait
 * hook and dispatch.  Backends only translate interest masks.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "selector.h"
#include "selector-backend.h"

#define FIRED_MAX 512

struct sel_slot {
	sel_io_fn *fn;
	void *arg;
	int events;		/* the mask the backend has */
	int want;		/* the mask asked for; differs while retrying */
	int registered;
	int retry;		/* the backend refused want for lack of memory */
};

struct sel_timer {
	struct selector *sel;
	struct sel_timer *prev, *next;	/* armed timers only */
	int64_t deadline;
	uint64_t round;			/* sel->round when last armed */
	sel_timer_fn *fn;
	void *arg;
	int armed;
};

struct sel_signal {
	sel_signal_fn *fn;
	void *arg;
};

struct selector {
	struct sel_backend *backend;
	struct sel_slot *slots;
	int nslots;
	struct sel_fired fired[FIRED_MAX];
	struct sel_timer *timers;	/* few: unsorted list is enough */
	struct sel_signal signals[NSIG];
	int sigpipe[2];
	sel_hook_fn *hook;
	void *hook_arg;
	int nretry;			/* slots with retry set */
	int64_t now;
	uint64_t round;			/* counts run_timers() calls */
	int stopping;
};

/* The write end of the self-pipe, for the async-signal-safe handler. */
static volatile int signal_pipe_wr = -1;

int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t selector_now(const struct selector *sel)
{
	return sel->now;
}

const char *selector_backend_name(void)
{
	return sel_backend_name;
}

struct selector *selector_new(void)
{
	struct selector *sel = calloc(1, sizeof(*sel));

	if (sel == NULL)
		return NULL;
	sel->sigpipe[0] = sel->sigpipe[1] = -1;
	sel->backend = sel_backend_new();
	if (sel->backend == NULL) {
		free(sel);
		return NULL;
	}
	sel->now = monotonic_ms();
	return sel;
}

void selector_free(struct selector *sel)
{
	if (sel == NULL)
		return;
	while (sel->timers != NULL)
		selector_timer_disarm(sel->timers);
	if (sel->sigpipe[0] != -1) {
		for (int s = 1; s < NSIG; s++)
			if (sel->signals[s].fn != NULL)
				signal(s, SIG_DFL);
		signal_pipe_wr = -1;
		close(sel->sigpipe[0]);
		close(sel->sigpipe[1]);
	}
	sel_backend_free(sel->backend);
	free(sel->slots);
	free(sel);
}

static int grow_slots(struct selector *sel, int fd)
{
	int n = sel->nslots ? sel->nslots : 64;
	struct sel_slot *s;

	while (n <= fd)
		n *= 2;
	s = realloc(sel->slots, (size_t)n * sizeof(*s));
	if (s == NULL)
		return -1;
	memset(s + sel->nslots, 0, (size_t)(n - sel->nslots) * sizeof(*s));
	sel->slots = s;
	sel->nslots = n;
	return 0;
}

/* The backend call, and chatd's failure point for it (epoll_ctl(2),
 * kevent(2) changes, the poll array's growth: all can lack memory; a
 * removal allocates nothing and never does). */
static int backend_set(struct selector *sel, int fd, int old_events, int new_events)
{
	if (new_events != 0)
		FAULT_RETURN("chatd/selector/set", -1, ENOMEM, ENOSPC);
	return sel_backend_set(sel->backend, fd, old_events, new_events);
}

static void clear_retry(struct selector *sel, struct sel_slot *s)
{
	if (s->retry) {
		s->retry = 0;
		sel->nretry--;
	}
}

/* Applies the interest changes the backend refused earlier (ENOMEM,
 * ENOSPC): a client whose reading was to resume must not wait forever
 * because memory was short at that moment.  Runs before each wait. */
static void retry_interest(struct selector *sel)
{
	for (int fd = 0; fd < sel->nslots && sel->nretry > 0; fd++) {
		struct sel_slot *s = &sel->slots[fd];

		if (!s->retry)
			continue;
		if (s->events == s->want ||
		    backend_set(sel, fd, s->events, s->want) == 0) {
			s->events = s->want;
			clear_retry(sel, s);
		}
	}
}

int selector_add(struct selector *sel, int fd, int events, sel_io_fn *fn, void *arg)
{
	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (fd >= sel->nslots && grow_slots(sel, fd) == -1)
		return -1;
	if (sel->slots[fd].registered) {
		errno = EEXIST;
		return -1;
	}
	if (events != 0 && backend_set(sel, fd, 0, events) == -1)
		return -1;
	sel->slots[fd] = (struct sel_slot){ fn, arg, events, events, 1, 0 };
	return 0;
}

int selector_mod(struct selector *sel, int fd, int events)
{
	struct sel_slot *s;

	if (fd < 0 || fd >= sel->nslots || !sel->slots[fd].registered) {
		errno = ENOENT;
		return -1;
	}
	s = &sel->slots[fd];
	if (s->events == events) {
		s->want = events;
		clear_retry(sel, s);
		return 0;
	}
	if (backend_set(sel, fd, s->events, events) == -1) {
		if (errno != ENOMEM && errno != ENOSPC)
			return -1;
		/* Short of memory now, maybe not in a moment: the change is
		 * kept, honoured by dispatch at once, applied by a retry. */
		s->want = events;
		if (!s->retry) {
			s->retry = 1;
			sel->nretry++;
		}
		return 0;
	}
	s->events = s->want = events;
	clear_retry(sel, s);
	return 0;
}

int selector_del(struct selector *sel, int fd)
{
	struct sel_slot *s;
	int rc = 0;

	if (fd < 0 || fd >= sel->nslots || !sel->slots[fd].registered) {
		errno = ENOENT;
		return -1;
	}
	s = &sel->slots[fd];
	if (s->events != 0)
		rc = backend_set(sel, fd, s->events, 0);
	clear_retry(sel, s);
	memset(s, 0, sizeof(*s));
	return rc;
}

int selector_events(const struct selector *sel, int fd)
{
	if (fd < 0 || fd >= sel->nslots || !sel->slots[fd].registered)
		return -1;
	return sel->slots[fd].want;
}

/* ---- timers -------------------------------------------------------- */

struct sel_timer *selector_timer_new(struct selector *sel, sel_timer_fn *fn, void *arg)
{
	struct sel_timer *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->sel = sel;
	t->fn = fn;
	t->arg = arg;
	return t;
}

void selector_timer_arm(struct sel_timer *t, int64_t after_ms)
{
	struct selector *sel = t->sel;

	if (after_ms < 0)
		after_ms = 0;
	t->deadline = monotonic_ms() + after_ms;
	t->round = sel->round;
	if (t->armed)
		return;
	t->armed = 1;
	t->prev = NULL;
	t->next = sel->timers;
	if (sel->timers != NULL)
		sel->timers->prev = t;
	sel->timers = t;
}

void selector_timer_disarm(struct sel_timer *t)
{
	if (t == NULL || !t->armed)
		return;
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		t->sel->timers = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	t->armed = 0;
	t->prev = t->next = NULL;
}

void selector_timer_free(struct sel_timer *t)
{
	selector_timer_disarm(t);
	free(t);
}

/* Milliseconds until the nearest timer, capped by limit (-1: no limit). */
static int next_timeout(const struct selector *sel, int limit)
{
	int64_t best = limit;

	for (const struct sel_timer *t = sel->timers; t != NULL; t = t->next) {
		int64_t left = t->deadline - sel->now;

		if (left < 0)
			left = 0;
		if (best < 0 || left < best)
			best = left;
	}
	return best > (int64_t)24 * 3600 * 1000 ? 24 * 3600 * 1000 : (int)best;
}

/* The armed timer with the earliest deadline that is due this round, or
 * NULL.  Timers armed by this round's callbacks wait for the next. */
static struct sel_timer *first_due(const struct selector *sel)
{
	struct sel_timer *first = NULL;

	for (struct sel_timer *t = sel->timers; t != NULL; t = t->next)
		if (t->deadline <= sel->now && t->round != sel->round &&
		    (first == NULL || t->deadline < first->deadline))
			first = t;
	return first;
}

/* Fires every expired timer once, earliest deadline first (the list is
 * unsorted, and several may be due after a slow round).  A callback may
 * arm, disarm or free any timer: the scan starts again after each. */
static void run_timers(struct selector *sel)
{
	struct sel_timer *t;

	sel->round++;
	while ((t = first_due(sel)) != NULL) {
		selector_timer_disarm(t);
		t->fn(sel, t->arg);
	}
}

/* ---- signals ------------------------------------------------------- */

static void signal_to_pipe(int signo)
{
	int saved = errno;
	unsigned char b = (unsigned char)signo;
	int fd = signal_pipe_wr;

	if (fd != -1 && write(fd, &b, 1) == -1) {
		/* A full pipe already holds a wake-up; nothing to do. */
	}
	errno = saved;
}

static void drain_signals(struct selector *sel, int fd, int events, void *arg)
{
	unsigned char buf[64];
	ssize_t n;

	(void)events;
	(void)arg;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			struct sel_signal *s = &sel->signals[buf[i] % NSIG];

			if (s->fn != NULL)
				s->fn(sel, buf[i], s->arg);
		}
	}
}

static int set_nonblock_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static int open_signal_pipe(struct selector *sel)
{
	if (pipe(sel->sigpipe) == -1)
		return -1;
	if (set_nonblock_cloexec(sel->sigpipe[0]) == -1 ||
	    set_nonblock_cloexec(sel->sigpipe[1]) == -1 ||
	    selector_add(sel, sel->sigpipe[0], SEL_READ, drain_signals, NULL) == -1) {
		close(sel->sigpipe[0]);
		close(sel->sigpipe[1]);
		sel->sigpipe[0] = sel->sigpipe[1] = -1;
		return -1;
	}
	signal_pipe_wr = sel->sigpipe[1];
	return 0;
}

int selector_signal(struct selector *sel, int signo, sel_signal_fn *fn, void *arg)
{
	struct sigaction sa;

	if (signo <= 0 || signo >= NSIG) {
		errno = EINVAL;
		return -1;
	}
	if (sel->sigpipe[0] == -1 && open_signal_pipe(sel) == -1)
		return -1;
	sel->signals[signo] = (struct sel_signal){ fn, arg };
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = signal_to_pipe;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	return sigaction(signo, &sa, NULL);
}

/* ---- the loop ------------------------------------------------------ */

void selector_before_wait(struct selector *sel, sel_hook_fn *fn, void *arg)
{
	sel->hook = fn;
	sel->hook_arg = arg;
}

static void dispatch(struct selector *sel, const struct sel_fired *f)
{
	struct sel_slot *s;
	int ready;

	if (f->fd < 0 || f->fd >= sel->nslots)
		return;
	s = &sel->slots[f->fd];
	/* An earlier callback in this batch may have closed this fd; a
	 * change still being retried is honoured already. */
	ready = f->events & s->events & s->want;
	if (!s->registered || ready == 0)
		return;
	s->fn(sel, f->fd, ready, s->arg);
}

int selector_run_once(struct selector *sel, int timeout_ms)
{
	int n;

	if (sel->hook != NULL)
		sel->hook(sel, sel->hook_arg);
	/* The hook may have decided that this was the last iteration. */
	if (sel->stopping)
		return 0;
	if (sel->nretry > 0)
		retry_interest(sel);
	sel->now = monotonic_ms();
	n = sel_backend_wait(sel->backend, sel->fired, FIRED_MAX,
	    next_timeout(sel, timeout_ms));
	if (n == -1)
		return -1;
	sel->now = monotonic_ms();
	for (int i = 0; i < n; i++)
		dispatch(sel, &sel->fired[i]);
	run_timers(sel);
	return n;
}

void selector_stop(struct selector *sel)
{
	sel->stopping = 1;
}

int selector_run(struct selector *sel)
{
	sel->stopping = 0;
	while (!sel->stopping)
		if (selector_run_once(sel, -1) == -1)
			return -1;
	if (sel->hook != NULL)
		sel->hook(sel, sel->hook_arg);
	return 0;
}
