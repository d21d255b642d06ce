/*
 * metrics-figures.h - one source of truth for the daemon's figures: the
 * counters kept as events happen, collected into one structure in
 * O(listeners + rooms), and two renderings of it: the Prometheus text
 * format (metrics.c) and the SIGUSR1 log lines (server.c).
 */
#ifndef CHATD_METRICS_FIGURES_H
#define CHATD_METRICS_FIGURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buffer.h"
#include "conn.h"

/* What is counted for the daemon as a whole rather than per endpoint;
 * server.c writes it, the renderers read it. */
struct daemon_counters {
	double start_time;		/* s since the epoch */
	uint64_t reloads_ok, reloads_failed;
	double last_reload_ok;		/* s since the epoch; start_time at first */
	bool stopping;			/* graceful shutdown: /healthz is 503 */
};
extern struct daemon_counters daemon_counters;

void figures_started(void);
void figures_reloaded(bool ok);

struct fig_listener {
	const char *name, *protocol;	/* borrowed from the live endpoints */
	unsigned connections;
	struct stats stats;		/* summed over endpoints of one name */
};

struct fig_room {
	const char *name;		/* borrowed: valid until the loop runs */
	unsigned members;
	uint64_t deliveries;
};

struct figures {
	struct daemon_counters daemon;
	unsigned connections;
	size_t nlisteners, nrooms;
	struct fig_listener *listeners;
	struct fig_room *rooms;
	bool have_process;		/* /proc/self was readable */
	double rss_bytes, cpu_seconds, process_start;
	long open_fds;
};

/* Fills f from pool and the rooms; -1 when out of memory.  The names
 * it borrows are valid until control returns to the loop. */
int figures_collect(struct figures *f, const struct conn_pool *pool);
void figures_free(struct figures *f);

/* Appends the Prometheus text format 0.0.4; -1 when out of memory. */
int figures_prometheus(const struct figures *f, struct buffer *out);
/* Logs the figures at notice level, one line per listener and room. */
void figures_log(const struct figures *f);

/* More metric families (cluster.c): called at the end of every
 * Prometheus rendering with the buffer to append HELP, TYPE and samples
 * to.  One hook; NULL removes it. */
typedef int figures_hook_fn(struct buffer *out, void *arg);
void figures_set_hook(figures_hook_fn *fn, void *arg);

/* Appends printf-style text to out (for hooks); -1 when out of memory. */
int figures_printf(struct buffer *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends a family's # HELP and # TYPE lines. */
int figures_family(struct buffer *out, const char *name, const char *type, const char *help);
/* Appends s as a label value, escaped as the text format wants. */
int figures_label(struct buffer *out, const char *s);

#endif
