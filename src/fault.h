/*
 * fault.h - chatd's own failure points for fault injection with libfiu,
 * where the fiu-run preload cannot reach: accept4(2), epoll_ctl(2),
 * epoll_wait(2), poll(2) and the allocation of input buffers and
 * messages (which an ASan build's malloc hides from the preload).
 *
 * Compiled in only by ./configure --enable-fault-injection (HAVE_FIU);
 * otherwise every macro expands to nothing and chatd does not link
 * libfiu.  Points are switched on from outside, with fiu-run -c or
 * fiu-ctrl (tests/fault-inject.sh); their names are in chatd(8).
 */
#ifndef CHATD_FAULT_H
#define CHATD_FAULT_H

#ifdef HAVE_FIU
#include <stddef.h>

/* Starts libfiu (a no-op when fiu-run's preload has already done it). */
void fault_init(void);

/* True when the failure point NAME fires; errno is then the point's
 * failinfo if one was given, else the next of ERRS (N of them) in turn,
 * so one run sees each error its caller must handle. */
int fault_hit(const char *name, const int *errs, size_t n);

/* FAULT_RETURN(NAME, RET, ERRNO...): returns RET from the calling
 * function, with errno set, when the failure point NAME fires. */
#define FAULT_RETURN(name, ret, ...) do { \
	static const int fault_errs_[] = { __VA_ARGS__ }; \
	if (fault_hit((name), fault_errs_, sizeof(fault_errs_) / sizeof(fault_errs_[0]))) \
		return ret; \
} while (0)
#define FAULT_INIT() fault_init()
#define FAULT_BUILD 1
#else
#define FAULT_RETURN(name, ret, ...) do { } while (0)
#define FAULT_INIT() do { } while (0)
#define FAULT_BUILD 0
#endif

#endif
