/*
 * notify.c - sd_notify(3) messages: READY, RELOADING (with
 * MONOTONIC_USEC, which systemd 253+ requires and older ones ignore),
 * STOPPING, STATUS and WATCHDOG.  Without libsystemd these do nothing.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "notify.h"

#ifdef HAVE_LIBSYSTEMD
void notify_ready(unsigned nconns)
{
	sd_notifyf(0, "READY=1\nSTATUS=serving %u connections", nconns);
}

void notify_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
}

void notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=shutting down");
}

void notify_status(unsigned nconns)
{
	sd_notifyf(0, "STATUS=serving %u connections", nconns);
}

long notify_watchdog_ms(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return (long)(usec / 1000);
}

void notify_watchdog(void)
{
	sd_notify(0, "WATCHDOG=1");
}
#else
void notify_ready(unsigned nconns) { (void)nconns; }
void notify_reloading(void) { }
void notify_stopping(void) { }
void notify_status(unsigned nconns) { (void)nconns; }
long notify_watchdog_ms(void) { return 0; }
void notify_watchdog(void) { }
#endif
