/*
 * window.c - opening and closing the measured window of a run, and its
 * part of the JSON line (CPU per second of both sides, server memory,
 * busy fraction of every CPU).
 */
#include "bench.h"
#include "json.h"
#include "window.h"

void window_open(struct window *w, uint64_t now)
{
	w->t_meas = now;
	w->cpu0 = cpu_now();
	srv_sample(O.server_pid, &w->s0);
	w->ncpu = cpu_ticks(w->busy0, w->all0);
}

void window_close(struct window *w, uint64_t now)
{
	w->t_end = now;
	w->cpu1 = cpu_now();
	srv_sample(O.server_pid, &w->s1);
	if (cpu_ticks(w->busy1, w->all1) != w->ncpu)
		w->ncpu = 0;
}

double window_secs(const struct window *w)
{
	return (double)(w->t_end - w->t_meas) / 1e9;
}

void json_window(const struct window *w)
{
	double secs = window_secs(w);
	jdbl("measured_s", secs, 3);
	jdbl("client_cpu", secs > 0 ? (w->cpu1 - w->cpu0) / secs : 0, 3);
	if (w->s0.ok && w->s1.ok) {
		jdbl("server_cpu", secs > 0 ? (w->s1.cpu - w->s0.cpu) / secs : 0, 3);
		jint("server_rss_kb", w->s1.rss_kb);
		jint("server_hwm_kb", w->s1.hwm_kb);
	}
	jsep("cpus_busy");
	japp("[");
	for (unsigned i = 0; i < w->ncpu; i++) {
		unsigned long long a = w->all1[i] - w->all0[i], b = w->busy1[i] - w->busy0[i];
		japp("%s%.3f", i ? "," : "", a ? (double)b / (double)a : 0.0);
	}
	japp("]");
}
