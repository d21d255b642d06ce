/*
 * selector-backend.h - the contract between selector.c and one backend.
 *
 * Each selector-<name>.c implements these functions and nothing else;
 * Automake compiles the one configure chose.  selector.c owns the
 * callback table, timers and signals; a backend only maps interest masks
 * to the kernel and reports what fired.
 */
#ifndef CHATD_SELECTOR_BACKEND_H
#define CHATD_SELECTOR_BACKEND_H

struct sel_backend;

struct sel_fired {
	int fd;
	int events;	/* SEL_READ | SEL_WRITE */
};

extern const char sel_backend_name[];

struct sel_backend *sel_backend_new(void);
void sel_backend_free(struct sel_backend *);
/* old is the mask currently registered (0: not registered), new the wanted
 * one (0: remove).  Called only when they differ. */
int sel_backend_set(struct sel_backend *, int fd, int old_events, int new_events);
/* Waits up to timeout_ms (-1 forever), fills at most max entries, merging
 * read and write readiness of one fd into one entry.  Returns the count,
 * 0 on timeout or EINTR, -1 on a fatal error. */
int sel_backend_wait(struct sel_backend *, struct sel_fired *out, int max, int timeout_ms);

#endif
