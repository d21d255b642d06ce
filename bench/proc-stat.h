/*
 * proc-stat.h - the server under test and this machine, seen from /proc:
 * a process's memory, CPU time (with its process group's, for servers
 * that fork per connection) and descriptors; each CPU's busy ticks.
 */
#ifndef CHATD_BENCH_PROC_STAT_H
#define CHATD_BENCH_PROC_STAT_H

#include <stdbool.h>

#define MAXCPU 64

struct srv {
	bool ok;
	long rss_kb, hwm_kb, fds;
	double cpu;
};

/* Fills s for process pid (s->ok false when it cannot be read). */
void srv_sample(long pid, struct srv *s);
/* Per-CPU busy and total ticks, at most MAXCPU; returns how many CPUs. */
unsigned cpu_ticks(unsigned long long *busy, unsigned long long *all);

#endif
