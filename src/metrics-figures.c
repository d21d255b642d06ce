/*
 * metrics-figures.c - collecting the figures (metrics-figures.h) and
 * rendering them for Prometheus and for the log.
 *
 * Nothing here walks connections: listeners keep their counters in their
 * endpoint (conn.h), rooms in chat.c, so a scrape at 15,000 clients costs
 * what one at 15 does.
 */
#include "autoconfig.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chat.h"
#include "log.h"
#include "metrics-figures.h"
#include "proto.h"
#include "selector.h"

struct daemon_counters daemon_counters;

static figures_hook_fn *hook_fn;
static void *hook_arg;

static const char *const close_names[CLOSE_KINDS] = {
	[CLOSE_CLIENT] = "client", [CLOSE_IDLE] = "idle",
	[CLOSE_SLOW] = "slow_consumer", [CLOSE_FLOOD] = "flood",
	[CLOSE_SHUTDOWN] = "shutdown", [CLOSE_ERROR] = "error",
};

static const char *const reject_names[REJECT_KINDS] = {
	[REJECT_FULL] = "full", [REJECT_SHUTDOWN] = "shutdown",
	[REJECT_LOOP] = "loop",
};

static double wall_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void figures_started(void)
{
	daemon_counters.start_time = wall_seconds();
	daemon_counters.last_reload_ok = daemon_counters.start_time;
}

void figures_reloaded(bool ok)
{
	if (ok) {
		daemon_counters.reloads_ok++;
		daemon_counters.last_reload_ok = wall_seconds();
	} else
		daemon_counters.reloads_failed++;
}

void figures_set_hook(figures_hook_fn *fn, void *arg)
{
	hook_fn = fn;
	hook_arg = arg;
}

/* ---- collecting ---------------------------------------------------- */

static void add_stats(struct stats *to, const struct stats *from)
{
	to->accepted += from->accepted;
	for (int i = 0; i < REJECT_KINDS; i++)
		to->rejected[i] += from->rejected[i];
	to->messages += from->messages;
	to->bytes_in += from->bytes_in;
	to->bytes_out += from->bytes_out;
	to->flood_holds += from->flood_holds;
	to->handshake_failures += from->handshake_failures;
	for (int i = 0; i < CLOSE_KINDS; i++)
		to->closed[i] += from->closed[i];
}

/* A listener replaced by a reload lives on while its clients stay: its
 * figures go under the one name, so no series is ever duplicated. */
static struct fig_listener *listener_slot(struct figures *f, const char *name)
{
	for (size_t i = 0; i < f->nlisteners; i++)
		if (f->listeners[i].name != NULL && strcmp(f->listeners[i].name, name) == 0)
			return &f->listeners[i];
	return &f->listeners[f->nlisteners++];
}

static int collect_listeners(struct figures *f, const struct conn_pool *pool)
{
	size_t n = 0;

	for (const struct endpoint *ep = pool->endpoints; ep != NULL; ep = ep->pool_next)
		n++;
	f->listeners = calloc(n + 1, sizeof(*f->listeners));
	if (f->listeners == NULL)
		return -1;
	for (const struct endpoint *ep = pool->endpoints; ep != NULL; ep = ep->pool_next) {
		struct fig_listener *l = listener_slot(f, ep->conf->name);

		l->name = ep->conf->name;
		l->protocol = ep->proto != NULL ? ep->proto->name : "none";
		l->connections += ep->nclients;
		add_stats(&l->stats, &ep->stats);
	}
	f->connections = pool->nconns;
	return 0;
}

struct room_walk {
	struct figures *f;
	size_t cap;
	bool failed;
};

static void take_room(void *arg, const char *room, unsigned members, uint64_t deliveries)
{
	struct room_walk *w = arg;
	struct fig_room *r;

	if (w->failed)
		return;
	if (w->f->nrooms == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 8;

		r = realloc(w->f->rooms, cap * sizeof(*r));
		if (r == NULL) {
			w->failed = true;
			return;
		}
		w->f->rooms = r;
		w->cap = cap;
	}
	w->f->rooms[w->f->nrooms++] = (struct fig_room){ room, members, deliveries };
}

/* Field n (1-based, as in proc(5)) of /proc/self/stat; fields start
 * after the command name, which may hold spaces and parentheses. */
static bool stat_field(const char *buf, int n, unsigned long long *v)
{
	const char *p = strrchr(buf, ')');
	char *end;

	if (p == NULL)
		return false;
	p++;
	for (int i = 3; i < n && p != NULL; i++)
		p = strchr(p + 1, ' ');
	if (p == NULL)
		return false;
	*v = strtoull(p + 1, &end, 10);
	return end != p + 1;
}

static unsigned long long boot_time(void)
{
	char line[256];
	unsigned long long btime = 0;
	FILE *fp = fopen("/proc/stat", "r");

	if (fp == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "btime ", 6) == 0) {
			btime = strtoull(line + 6, NULL, 10);
			break;
		}
	fclose(fp);
	return btime;
}

/* Since Linux 6.2 the directory's size is the number of descriptors:
 * O(1), where listing it would be O(connections). */
static long open_fds(void)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	long n = 0;

	if (stat("/proc/self/fd", &st) == 0 && st.st_size > 0)
		return (long)st.st_size;
	if ((d = opendir("/proc/self/fd")) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own descriptor */
}

/* Linux's /proc/self: what Prometheus' own process collector reads. */
static void collect_process(struct figures *f)
{
	char buf[1024];
	unsigned long long utime, stime, start, rss;
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	FILE *fp = fopen("/proc/self/stat", "r");
	size_t n;

	if (fp == NULL)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if (!stat_field(buf, 14, &utime) || !stat_field(buf, 15, &stime) ||
	    !stat_field(buf, 22, &start) || !stat_field(buf, 24, &rss) || tick <= 0)
		return;
	f->cpu_seconds = (double)(utime + stime) / (double)tick;
	f->process_start = (double)boot_time() + (double)start / (double)tick;
	f->rss_bytes = (double)rss * (double)page;
	f->open_fds = open_fds();
	f->have_process = true;
}

int figures_collect(struct figures *f, const struct conn_pool *pool)
{
	struct room_walk w = { f, 0, false };

	memset(f, 0, sizeof(*f));
	f->daemon = daemon_counters;
	if (collect_listeners(f, pool) == -1)
		return -1;
	chat_rooms_each(take_room, &w);
	if (w.failed) {
		figures_free(f);
		return -1;
	}
	collect_process(f);
	return 0;
}

void figures_free(struct figures *f)
{
	free(f->listeners);
	free(f->rooms);
	f->listeners = NULL;
	f->rooms = NULL;
}

/* ---- the Prometheus text format ------------------------------------ */

int figures_printf(struct buffer *out, const char *fmt, ...)
{
	va_list ap;
	size_t avail;
	char *p;
	int n;

	for (size_t want = 256;; want = (size_t)n + 1) {
		if ((p = buffer_reserve(out, want, &avail)) == NULL)
			return -1;
		va_start(ap, fmt);
		n = vsnprintf(p, avail, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -1;
		if ((size_t)n < avail) {
			buffer_commit(out, (size_t)n);
			return 0;
		}
	}
}

int figures_label(struct buffer *out, const char *s)
{
	int r = 0;

	/* The text format escapes backslash, double quote and newline. */
	for (; *s != '\0' && r == 0; s++)
		if (*s == '\\' || *s == '"')
			r = figures_printf(out, "\\%c", *s);
		else if (*s == '\n')
			r = figures_printf(out, "\\n");
		else
			r = buffer_append(out, s, 1);
	return r;
}

int figures_family(struct buffer *out, const char *name, const char *type, const char *help)
{
	return figures_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{listener="..",protocol=".."[,reason=".."]} value */
static int listener_sample(struct buffer *out, const char *name,
    const struct fig_listener *l, const char *reason, double v)
{
	return figures_printf(out, "%s{listener=\"", name) |
	    figures_label(out, l->name) |
	    figures_printf(out, "\",protocol=\"%s\"", l->protocol) |
	    (reason != NULL ? figures_printf(out, ",reason=\"%s\"", reason) : 0) |
	    figures_printf(out, "} %.17g\n", v);
}

enum lfield { L_CONNS, L_ACCEPTED, L_MESSAGES, L_BYTES_IN, L_BYTES_OUT, L_FLOOD, L_TLS };

static double lfield(const struct fig_listener *l, enum lfield k)
{
	switch (k) {
	case L_CONNS: return l->connections;
	case L_ACCEPTED: return (double)l->stats.accepted;
	case L_MESSAGES: return (double)l->stats.messages;
	case L_BYTES_IN: return (double)l->stats.bytes_in;
	case L_BYTES_OUT: return (double)l->stats.bytes_out;
	case L_FLOOD: return (double)l->stats.flood_holds;
	case L_TLS: return (double)l->stats.handshake_failures;
	}
	return 0;
}

static const struct {
	const char *name, *type, *help;
	enum lfield field;
} listener_families[] = {
	{ "chatd_connections", "gauge", "Clients connected to the listener.", L_CONNS },
	{ "chatd_connections_accepted_total", "counter",
	  "Connections accepted by the listener.", L_ACCEPTED },
	{ "chatd_messages_received_total", "counter",
	  "Chat lines handed to a room, echo reads or datagrams answered.", L_MESSAGES },
	{ "chatd_bytes_received_total", "counter", "Bytes read from clients.", L_BYTES_IN },
	{ "chatd_bytes_sent_total", "counter", "Bytes written to clients.", L_BYTES_OUT },
	{ "chatd_flood_holds_total", "counter",
	  "Times a client's input was held back by flood control.", L_FLOOD },
	{ "chatd_tls_handshake_failures_total", "counter",
	  "TLS handshakes that failed.", L_TLS },
};

static int render_listeners(const struct figures *f, struct buffer *out)
{
	int r = 0;

	for (size_t k = 0; k < sizeof(listener_families) / sizeof(listener_families[0]); k++) {
		r |= figures_family(out, listener_families[k].name, listener_families[k].type,
		    listener_families[k].help);
		for (size_t i = 0; i < f->nlisteners; i++)
			r |= listener_sample(out, listener_families[k].name, &f->listeners[i],
			    NULL, lfield(&f->listeners[i], listener_families[k].field));
	}
	r |= figures_family(out, "chatd_connections_rejected_total", "counter",
	    "Newcomers or datagrams turned away, by reason.");
	for (size_t i = 0; i < f->nlisteners; i++)
		for (int k = 0; k < REJECT_KINDS; k++)
			r |= listener_sample(out, "chatd_connections_rejected_total",
			    &f->listeners[i], reject_names[k],
			    (double)f->listeners[i].stats.rejected[k]);
	r |= figures_family(out, "chatd_disconnects_total", "counter",
	    "Connections ended, by reason.");
	for (size_t i = 0; i < f->nlisteners; i++)
		for (int k = 0; k < CLOSE_KINDS; k++)
			r |= listener_sample(out, "chatd_disconnects_total", &f->listeners[i],
			    close_names[k], (double)f->listeners[i].stats.closed[k]);
	return r;
}

static int render_rooms(const struct figures *f, struct buffer *out)
{
	int r = figures_family(out, "chatd_room_members", "gauge", "Members of the room.");

	for (size_t i = 0; i < f->nrooms; i++)
		r |= figures_printf(out, "chatd_room_members{room=\"") |
		    figures_label(out, f->rooms[i].name) |
		    figures_printf(out, "\"} %u\n", f->rooms[i].members);
	r |= figures_family(out, "chatd_deliveries_total", "counter",
	    "Messages queued to the room's members (one per member per line).");
	for (size_t i = 0; i < f->nrooms; i++)
		r |= figures_printf(out, "chatd_deliveries_total{room=\"") |
		    figures_label(out, f->rooms[i].name) |
		    figures_printf(out, "\"} %llu\n", (unsigned long long)f->rooms[i].deliveries);
	return r;
}

static int render_daemon(const struct figures *f, struct buffer *out)
{
	const struct daemon_counters *d = &f->daemon;
#ifdef HAVE_TLS
	const char *tls = "yes";
#else
	const char *tls = "no";
#endif

	return figures_family(out, "chatd_build_info", "gauge",
	    "Always 1; the labels say what was built.") |
	    figures_printf(out, "chatd_build_info{version=\"%s\",selector=\"%s\",tls=\"%s\"} 1\n",
	    PACKAGE_VERSION, selector_backend_name(), tls) |
	    figures_family(out, "chatd_start_time_seconds", "gauge",
	    "When the daemon started, in seconds since the epoch.") |
	    figures_printf(out, "chatd_start_time_seconds %.3f\n", d->start_time) |
	    figures_family(out, "chatd_reloads_total", "counter", "Configuration reloads, by result.") |
	    figures_printf(out, "chatd_reloads_total{result=\"success\"} %llu\n"
	    "chatd_reloads_total{result=\"failure\"} %llu\n",
	    (unsigned long long)d->reloads_ok, (unsigned long long)d->reloads_failed) |
	    figures_family(out, "chatd_config_last_reload_success_timestamp_seconds", "gauge",
	    "When the configuration was last loaded, in seconds since the epoch.") |
	    figures_printf(out, "chatd_config_last_reload_success_timestamp_seconds %.3f\n",
	    d->last_reload_ok);
}

static int render_process(const struct figures *f, struct buffer *out)
{
	if (!f->have_process)
		return 0;	/* no /proc: the families are left out, not faked */
	return figures_family(out, "process_resident_memory_bytes", "gauge",
	    "Resident memory size in bytes.") |
	    figures_printf(out, "process_resident_memory_bytes %.17g\n", f->rss_bytes) |
	    figures_family(out, "process_open_fds", "gauge", "Number of open file descriptors.") |
	    figures_printf(out, "process_open_fds %ld\n", f->open_fds) |
	    figures_family(out, "process_cpu_seconds_total", "counter",
	    "Total user and system CPU time spent in seconds.") |
	    figures_printf(out, "process_cpu_seconds_total %.2f\n", f->cpu_seconds) |
	    figures_family(out, "process_start_time_seconds", "gauge",
	    "Start time of the process since unix epoch in seconds.") |
	    figures_printf(out, "process_start_time_seconds %.2f\n", f->process_start);
}

int figures_prometheus(const struct figures *f, struct buffer *out)
{
	int r = render_daemon(f, out) | render_listeners(f, out) | render_rooms(f, out) |
	    render_process(f, out);

	if (hook_fn != NULL)
		r |= hook_fn(out, hook_arg);
	return r != 0 ? -1 : 0;
}

/* ---- the log ------------------------------------------------------- */

static unsigned long long sum(const uint64_t *v, int n)
{
	unsigned long long s = 0;

	for (int i = 0; i < n; i++)
		s += v[i];
	return s;
}

static void log_listener(const struct fig_listener *l)
{
	const struct stats *st = &l->stats;
	const uint64_t *cl = st->closed;

	log_notice("%s: %u clients, %llu accepted, %llu refused (full %llu, shutdown %llu, "
	    "loop %llu), %llu messages, %llu bytes in, %llu bytes out, %llu flood holds, "
	    "%llu tls handshake failures; disconnects: client %llu, idle %llu, "
	    "slow_consumer %llu, flood %llu, shutdown %llu, error %llu", l->name,
	    l->connections, (unsigned long long)st->accepted,
	    sum(st->rejected, REJECT_KINDS), (unsigned long long)st->rejected[REJECT_FULL],
	    (unsigned long long)st->rejected[REJECT_SHUTDOWN],
	    (unsigned long long)st->rejected[REJECT_LOOP], (unsigned long long)st->messages,
	    (unsigned long long)st->bytes_in, (unsigned long long)st->bytes_out,
	    (unsigned long long)st->flood_holds, (unsigned long long)st->handshake_failures,
	    (unsigned long long)cl[CLOSE_CLIENT], (unsigned long long)cl[CLOSE_IDLE],
	    (unsigned long long)cl[CLOSE_SLOW], (unsigned long long)cl[CLOSE_FLOOD],
	    (unsigned long long)cl[CLOSE_SHUTDOWN], (unsigned long long)cl[CLOSE_ERROR]);
}

void figures_log(const struct figures *f)
{
	log_notice("statistics: %u connections", f->connections);
	log_notice("reloads: %llu succeeded, %llu failed",
	    (unsigned long long)f->daemon.reloads_ok,
	    (unsigned long long)f->daemon.reloads_failed);
	for (size_t i = 0; i < f->nlisteners; i++)
		log_listener(&f->listeners[i]);
	for (size_t i = 0; i < f->nrooms; i++)
		log_notice("room %s: %u members, %llu deliveries", f->rooms[i].name,
		    f->rooms[i].members, (unsigned long long)f->rooms[i].deliveries);
	if (f->have_process)
		log_notice("process: %.0f bytes resident, %ld open fds, %.2f s cpu",
		    f->rss_bytes, f->open_fds, f->cpu_seconds);
}
