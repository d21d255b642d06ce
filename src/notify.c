/*
 * notify.c - sd_notify(3) messages: READY, RELOADING (with
 * MONOTONIC_USEC, which systemd 253+ requires and older ones ignore),
 * STOPPING, STATUS and WATCHDOG.
 *
 * With libsystemd these go through sd_notify().  Without it chatd speaks
 * the protocol itself, as systemd's notify-selfcontained-example.c does:
 * one datagram to the AF_UNIX socket named in $NOTIFY_SOCKET (a leading
 * '@' means the abstract namespace).  A Type=notify unit would otherwise
 * wait for READY=1 that never comes, and its watchdog would kill chatd.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#else
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#endif

#include "notify.h"

#ifdef HAVE_LIBSYSTEMD
static void send_state(const char *state)
{
	sd_notify(0, state);
}

long notify_watchdog_ms(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return (long)(usec / 1000);
}
#else
/* Fills *sun from $NOTIFY_SOCKET; returns the address length, or 0 when
 * there is no usable socket (unset, relative, or too long). */
static socklen_t notify_address(struct sockaddr_un *sun)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t len;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return 0;
	len = strlen(path);
	if (len < 2 || len > sizeof(sun->sun_path))
		return 0;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, len);
	if (path[0] == '@')
		sun->sun_path[0] = '\0';	/* abstract: no terminating NUL */
	else if (len == sizeof(sun->sun_path))
		return 0;			/* no room for the NUL */
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
	    (path[0] == '/'));
}

/* One datagram per message, on a fresh socket: messages are rare, and a
 * kept socket would have to survive privilege drops and -d. */
static void send_state(const char *state)
{
	struct sockaddr_un sun;
	socklen_t len = notify_address(&sun);
	int fd;

	if (len == 0)
		return;
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd == -1)
		return;
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	/* The kernel adds our credentials for a receiver that asks for them
	 * (SO_PASSCRED), which is how NotifyAccess=main checks the sender.
	 * An unconnected datagram raises no SIGPIPE (and main ignores it). */
	(void)sendto(fd, state, strlen(state), 0,
	    (const struct sockaddr *)&sun, len);
	close(fd);
}

/* $WATCHDOG_USEC, for us when $WATCHDOG_PID is absent or our pid. */
long notify_watchdog_ms(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	unsigned long long v;
	char *end;

	if (usec == NULL || getenv("NOTIFY_SOCKET") == NULL)
		return 0;
	if (pid != NULL && strtol(pid, NULL, 10) != (long)getpid())
		return 0;
	errno = 0;
	v = strtoull(usec, &end, 10);
	if (errno != 0 || end == usec || *end != '\0' || v == 0)
		return 0;
	return (long)(v / 1000);
}
#endif

/* printf into a message and send it. */
static void send_statef(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	send_state(buf);
}

void notify_ready(unsigned nconns)
{
	send_statef("READY=1\nSTATUS=serving %u connections", nconns);
}

void notify_reload_failed(unsigned nconns)
{
	send_statef("READY=1\nSTATUS=reload failed; serving the previous "
	    "configuration, %u connections", nconns);
}

void notify_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	send_statef("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
}

void notify_stopping(void)
{
	send_state("STOPPING=1\nSTATUS=shutting down");
}

void notify_status(unsigned nconns)
{
	send_statef("STATUS=serving %u connections", nconns);
}

void notify_watchdog(void)
{
	send_state("WATCHDOG=1");
}
