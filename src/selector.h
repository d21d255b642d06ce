/*
 * selector.h - the event loop interface the whole daemon uses.
 *
 * Exactly one backend (epoll, kqueue or poll) is compiled in, chosen by
 * configure.  No backend header leaks through this file: callers see
 * descriptors, interest masks, timers and signals, nothing else.
 */
#ifndef CHATD_SELECTOR_H
#define CHATD_SELECTOR_H

#include <stdint.h>

#define SEL_READ  0x1
#define SEL_WRITE 0x2

struct selector;
struct sel_timer;

/* Called when fd is ready; events is a mask of SEL_READ/SEL_WRITE.  Errors
 * and hang-ups are reported as both readable and writable so the owner
 * finds out through its next read or write. */
typedef void sel_io_fn(struct selector *, int fd, int events, void *arg);
typedef void sel_timer_fn(struct selector *, void *arg);
typedef void sel_signal_fn(struct selector *, int signo, void *arg);
typedef void sel_hook_fn(struct selector *, void *arg);

struct selector *selector_new(void);
void selector_free(struct selector *);
const char *selector_backend_name(void);

/* Interest management.  add fails if fd is already registered; mod
 * with 0 keeps fd registered but silent.  A mod the backend refuses for
 * lack of memory (ENOMEM, ENOSPC) still succeeds: callbacks see the new
 * mask at once and the backend gets it by a retry before each wait. */
int selector_add(struct selector *, int fd, int events, sel_io_fn *fn, void *arg);
int selector_mod(struct selector *, int fd, int events);
int selector_del(struct selector *, int fd);
int selector_events(const struct selector *, int fd);

/* One-shot timers, in milliseconds from now.  A timer may be re-armed
 * from its own callback. */
struct sel_timer *selector_timer_new(struct selector *, sel_timer_fn *fn, void *arg);
void selector_timer_arm(struct sel_timer *, int64_t after_ms);
void selector_timer_disarm(struct sel_timer *);
void selector_timer_free(struct sel_timer *);

/* Signals are delivered as loop events, never handled in the handler. */
int selector_signal(struct selector *, int signo, sel_signal_fn *fn, void *arg);

/* Runs before every wait: the place to flush output gathered while
 * dispatching, so a burst of events costs one write per client. */
void selector_before_wait(struct selector *, sel_hook_fn *fn, void *arg);

/* Waits at most timeout_ms (-1: until an event or timer) and dispatches.
 * Returns the number of events dispatched, or -1 on a fatal error. */
int selector_run_once(struct selector *, int timeout_ms);
void selector_stop(struct selector *);
/* Loops until selector_stop(); returns 0, or -1 on a fatal error. */
int selector_run(struct selector *);

/* Monotonic clock in milliseconds, cached per loop iteration. */
int64_t selector_now(const struct selector *);
int64_t monotonic_ms(void);

#endif
