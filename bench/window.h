/*
 * window.h - the phases of a timed run (echo, chat) and its measured
 * window: this process's CPU time, the server's /proc figures and each
 * CPU's busy ticks at the window's start and end.
 */
#ifndef CHATD_BENCH_WINDOW_H
#define CHATD_BENCH_WINDOW_H

#include <stdint.h>

#include "proc-stat.h"

enum phase { P_WARM, P_MEASURE, P_DRAIN, P_DONE };

struct window {
	uint64_t t0, t_meas, t_end;	/* run start, measure start, measure end */
	double cpu0, cpu1;
	struct srv s0, s1;
	unsigned long long busy0[MAXCPU], all0[MAXCPU], busy1[MAXCPU], all1[MAXCPU];
	unsigned ncpu;
};

void window_open(struct window *w, uint64_t now);
void window_close(struct window *w, uint64_t now);
double window_secs(const struct window *w);
/* the window's members of the JSON line */
void json_window(const struct window *w);

#endif
