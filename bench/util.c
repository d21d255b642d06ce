/*
 * util.c - chatd-bench's small helpers: the monotonic clock and this
 * process's CPU time, exit on a setup error, allocation that cannot
 * fail, the alarm that bounds every run in time, the descriptor limit.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / NS), (long)(ns % NS) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("chatd-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);
	if (!p)
		die("out of memory");
	return p;
}

/* Epoll timeout in ms until deadline, rounded up, clipped to [0, cap]. */
int ms_until(uint64_t now, uint64_t deadline, int cap)
{
	if (deadline <= now)
		return 0;
	uint64_t ms = (deadline - now + 999999) / 1000000;
	return ms > (uint64_t)cap ? cap : (int)ms;
}

pid_t alarm_child;

/* The last line of defence for "every run is bounded in time". */
static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "chatd-bench: time budget exceeded, giving up\n";
	if (alarm_child > 0)
		kill(alarm_child, SIGKILL);
	ssize_t r = write(2, msg, sizeof msg - 1);
	(void)r;
	_exit(2);
}

void set_budget(double seconds)
{
	signal(SIGALRM, on_alarm);
	alarm((unsigned)seconds + 1);
}

/* Raises the soft RLIMIT_NOFILE to the hard limit; returns it. */
rlim_t raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur;
}

/* An option's value as an integer or a number within bounds, else die. */
unsigned uarg(const char *name, const char *v, unsigned lo, unsigned hi)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(v, &end, 10);
	if (errno || *end || end == v || x < lo || x > hi)
		die("%s: expected an integer from %u to %u, got '%s'", name, lo, hi, v);
	return (unsigned)x;
}

double darg(const char *name, const char *v, double lo, double hi)
{
	char *end;
	double x = strtod(v, &end);
	if (*end || end == v || !(x >= lo && x <= hi))
		die("%s: expected a number from %g to %g, got '%s'", name, lo, hi, v);
	return x;
}
