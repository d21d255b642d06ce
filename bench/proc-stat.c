/*
 * proc-stat.c - reading /proc/PID/stat, /proc/PID/status, /proc/PID/fd
 * and /proc/stat.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc-stat.h"

/* CPU seconds of process pid from its stat file: its own time and, with
 * children, that of the children it has reaped; pgrp gets its group. */
static double proc_cpu(long pid, bool children, long *pgrp)
{
	char path[64], buf[1024];
	unsigned long long ut = 0, st = 0, cut = 0, cst = 0;
	long grp = -1;
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	char *p = strrchr(buf, ')');
	/* fields after the command: state(3) ppid pgrp(5) ... utime(14)
	 * stime cutime cstime(17) */
	if (!p || sscanf(p + 1, " %*c %*d %ld %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu",
	    &grp, &ut, &st, &cut, &cst) != 5)
		return 0;
	if (pgrp)
		*pgrp = grp;
	return (double)(ut + st + (children ? cut + cst : 0)) / (double)sysconf(_SC_CLK_TCK);
}

void srv_sample(long pid, struct srv *s)
{
	char path[64], buf[1024];
	memset(s, 0, sizeof *s);
	if (pid <= 0)
		return;
	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(buf, sizeof buf, f)) {
		if (!strncmp(buf, "VmRSS:", 6))
			s->rss_kb = strtol(buf + 6, NULL, 10);
		else if (!strncmp(buf, "VmHWM:", 6))
			s->hwm_kb = strtol(buf + 6, NULL, 10);
	}
	fclose(f);
	/* servers that fork per connection (socat, inetd) work in their
	 * children: when pid leads a process group, count the whole group */
	long grp = -1;
	s->cpu = proc_cpu(pid, true, &grp);
	DIR *d;
	if (grp == pid && (d = opendir("/proc"))) {
		struct dirent *de;
		while ((de = readdir(d))) {
			long other = strtol(de->d_name, NULL, 10), og = -1;
			if (other <= 0 || other == pid)
				continue;
			double c = proc_cpu(other, false, &og);
			if (og == pid)
				s->cpu += c;
		}
		closedir(d);
	}
	snprintf(path, sizeof path, "/proc/%ld/fd", pid);
	d = opendir(path);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				s->fds++;
		closedir(d);
	}
	s->ok = true;
}

/* Per-CPU busy and total ticks from /proc/stat: the kernel's share of
 * loopback work (softirq) shows there and not in any process's times. */
unsigned cpu_ticks(unsigned long long *busy, unsigned long long *all)
{
	FILE *f = fopen("/proc/stat", "r");
	char line[512];
	unsigned n = 0;
	if (!f)
		return 0;
	while (n < MAXCPU && fgets(line, sizeof line, f)) {
		unsigned long long v[8] = { 0 };
		unsigned id;
		if (strncmp(line, "cpu", 3) || line[3] < '0' || line[3] > '9')
			continue;
		if (sscanf(line + 3, "%u %llu %llu %llu %llu %llu %llu %llu %llu", &id,
		    &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 5)
			continue;
		all[n] = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
		busy[n] = all[n] - v[3] - v[4];		/* minus idle and iowait */
		n++;
	}
	fclose(f);
	return n;
}
