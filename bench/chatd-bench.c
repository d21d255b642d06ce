/*
 * chatd-bench.c - the load generator of chatd's benchmark (bench/).
 *
 * One thread, one epoll loop, non-blocking sockets, loopback only, every
 * run bounded in time and count.  Modes:
 *
 *   echo     N connections, request/response (or K messages in flight)
 *            of M bytes each; every byte checked against a known
 *            pattern; messages/s, MB/s, round-trip percentiles.
 *   chat     C clients in one room, S of them sending self-identifying
 *            lines "~B<sender>:<seq>:<send time>:xxx..."; closed loop (a
 *            line is done when every reading client has it) or a fixed
 *            rate; deliveries/s, end-to-end latency, exact loss per
 *            (receiver, sender), order violations, lines that are not
 *            what was sent; optional clients that never read.
 *   conns    K idle connections from several 127.0.0.x source addresses,
 *            each proven served by one round trip; the server's VmRSS
 *            before and after, bytes per connection.
 *   startup  start a server command, time until its port accepts a
 *            connection, its idle RSS, time to exit after SIGTERM.
 *   wait     wait until a port accepts connections (for scripts).
 *   freeport print a TCP port that is free on 127.0.0.1 (for scripts).
 *
 * Each measuring run prints one JSON line on stdout and a human summary
 * on stderr.  Exit status: 0 clean, 1 the run found errors (lost,
 * corrupt or unanswered data, failed connections), 2 usage or setup.
 *
 * Latencies go into a log-linear histogram (128 sub-buckets per power of
 * two: under 1 % error), recorded in nanoseconds, reported in µs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* memmem, IP_BIND_ADDRESS_NO_PORT */
#endif

#ifndef __linux__
#error "chatd-bench needs Linux (epoll(7), /proc); the benchmark runs on Linux only"
#endif

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define NS 1000000000ull
#define MAXEV 1024

/* ------------------------------------------------------------------ */
/* options                                                            */

enum peer_format { FMT_CHATD, FMT_NCAT };

struct opts {
	const char *mode;
	const char *label;
	struct sockaddr_in dst;
	char host[INET_ADDRSTRLEN];
	int port;
	double duration, warmup, timeout;
	long server_pid;
	unsigned src_addrs;
	/* echo */
	unsigned conns, size, pipeline;
	/* chat */
	unsigned clients, senders, never_read, window, nr_rcvbuf;
	double rate, line_timeout;
	enum peer_format fmt;
	const char *fmt_name;
	/* conns */
	unsigned count, inflight;
	bool proto_echo;
	double hold;
	const char *probe, *expect;
	/* startup */
	double settle;
	char **cmd;
};

static struct opts O;

/* ------------------------------------------------------------------ */
/* small helpers                                                      */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / NS), (long)(ns % NS) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("chatd-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);
	if (!p)
		die("out of memory");
	return p;
}

/* Epoll timeout in ms until deadline, rounded up, clipped to [0, cap]. */
static int ms_until(uint64_t now, uint64_t deadline, int cap)
{
	if (deadline <= now)
		return 0;
	uint64_t ms = (deadline - now + 999999) / 1000000;
	return ms > (uint64_t)cap ? cap : (int)ms;
}

static pid_t alarm_child;

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

static void set_budget(double seconds)
{
	signal(SIGALRM, on_alarm);
	alarm((unsigned)seconds + 1);
}

/* Raises the soft RLIMIT_NOFILE to the hard limit; returns it. */
static rlim_t raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur;
}

/* ------------------------------------------------------------------ */
/* histogram                                                          */

#define H_SUB_BITS 7
#define H_SUB (1u << H_SUB_BITS)
#define H_BUCKETS ((64 - H_SUB_BITS + 1) * H_SUB)

struct hist {
	uint64_t n, max, sum;
	uint64_t b[H_BUCKETS];
};

static unsigned hist_index(uint64_t v)
{
	if (v < H_SUB)
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = msb - H_SUB_BITS;
	return (shift + 1) * H_SUB + (unsigned)((v >> shift) - H_SUB);
}

/* The middle of bucket i. */
static uint64_t hist_value(unsigned i)
{
	if (i < H_SUB)
		return i;
	unsigned shift = i / H_SUB - 1;
	uint64_t low = (uint64_t)(H_SUB + i % H_SUB) << shift;
	return low + ((1ull << shift) >> 1);
}

static void hist_add(struct hist *h, uint64_t v)
{
	h->b[hist_index(v)]++;
	h->n++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

/* Value at percentile p (0..100) in µs; 0 when empty. */
static double hist_pct_us(const struct hist *h, double p)
{
	if (h->n == 0)
		return 0;
	double t = p / 100.0 * (double)h->n;
	uint64_t target = (uint64_t)t, acc = 0;
	if ((double)target < t)
		target++;
	if (target == 0)
		target = 1;
	for (unsigned i = 0; i < H_BUCKETS; i++) {
		acc += h->b[i];
		if (acc >= target) {
			uint64_t v = hist_value(i);
			return (double)(v > h->max ? h->max : v) / 1e3;
		}
	}
	return (double)h->max / 1e3;
}

static double hist_mean_us(const struct hist *h)
{
	return h->n ? (double)h->sum / (double)h->n / 1e3 : 0;
}

/* ------------------------------------------------------------------ */
/* one JSON line                                                      */

static char jb[32768];
static size_t jl;
static int jdepth;
static bool jfirst[8];

static void japp(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (jl < sizeof jb) {
		int n = vsnprintf(jb + jl, sizeof jb - jl, fmt, ap);
		if (n > 0)
			jl += (size_t)n < sizeof jb - jl ? (size_t)n : sizeof jb - jl - 1;
	}
	va_end(ap);
}

static void jesc(const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			japp("\\%c", ch);
		else if (ch < 0x20)
			japp("\\u%04x", ch);
		else
			japp("%c", ch);
	}
}

static void jsep(const char *key)
{
	if (!jfirst[jdepth])
		japp(",");
	jfirst[jdepth] = false;
	if (key) {
		japp("\"");
		jesc(key);
		japp("\":");
	}
}

static void jopen(const char *key)
{
	if (key || jdepth > 0)
		jsep(key);
	japp("{");
	jfirst[++jdepth] = true;
}

static void jclose(void)
{
	japp("}");
	jdepth--;
}

static void jstr(const char *key, const char *v)
{
	jsep(key);
	if (!v) {
		japp("null");
		return;
	}
	japp("\"");
	jesc(v);
	japp("\"");
}

static void juint(const char *key, uint64_t v)
{
	jsep(key);
	japp("%" PRIu64, v);
}

static void jint(const char *key, long long v)
{
	jsep(key);
	japp("%lld", v);
}

static void jdbl(const char *key, double v, int prec)
{
	jsep(key);
	if (v != v || v > 1e300 || v < -1e300)
		japp("null");
	else
		japp("%.*f", prec, v);
}

static void jbool(const char *key, bool v)
{
	jsep(key);
	japp(v ? "true" : "false");
}

static void jstart(void)
{
	jl = 0;
	jb[0] = 0;
	jdepth = 0;
	jfirst[0] = true;
	jopen(NULL);
	jstr("mode", O.mode);
	jstr("label", O.label);
}

static void jend(void)
{
	while (jdepth > 0)
		jclose();
	fputs(jb, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* the server under test, seen from /proc                             */

struct srv {
	bool ok;
	long rss_kb, hwm_kb, fds;
	double cpu;
};

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

static void srv_sample(long pid, struct srv *s)
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

/* ------------------------------------------------------------------ */
/* connecting                                                         */

static int tcp_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static char connect_err[128];
static int connect_rcvbuf;	/* SO_RCVBUF before connecting, when > 0 */

/* Opens n non-blocking TCP connections to O.dst into fds[] (-1 where one
 * failed), at most inflight handshakes at a time so the server's listen
 * queue never overflows; with nsrc > 0 connection i is bound first to
 * 127.0.0.(1 + i % nsrc).  With greeting, a connection also counts as in
 * flight until the server has sent something on it (left unread): proof
 * that it was accepted, for servers with a short listen queue that greet
 * newcomers (ncat --chat).  Returns how many connected. */
static unsigned connect_all(int *fds, unsigned n, unsigned nsrc, unsigned inflight,
    double timeout, bool greeting)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	char *pending = xcalloc(n, 1);
	unsigned started = 0, npend = 0, ok = 0;
	uint64_t deadline = now_ns() + (uint64_t)(timeout * 1e9);
	struct epoll_event evs[256];

	if (ep < 0)
		die("epoll_create1: %s", strerror(errno));
	for (unsigned i = 0; i < n; i++)
		fds[i] = -1;
	while ((started < n || npend) && now_ns() < deadline) {
		while (started < n && npend < inflight) {
			unsigned i = started++;
			int fd = tcp_socket();
			if (fd < 0) {
				snprintf(connect_err, sizeof connect_err, "socket: %s", strerror(errno));
				continue;
			}
			if (connect_rcvbuf > 0)
				setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &connect_rcvbuf,
				    sizeof connect_rcvbuf);
			if (nsrc) {
				struct sockaddr_in src = { .sin_family = AF_INET };
				int one = 1;
				src.sin_addr.s_addr = htonl(0x7f000001u + i % nsrc);
				setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
				if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
					snprintf(connect_err, sizeof connect_err, "bind: %s", strerror(errno));
					close(fd);
					continue;
				}
			}
			if (connect(fd, (struct sockaddr *)&O.dst, sizeof O.dst) == 0) {
				fds[i] = fd;
				ok++;
				continue;
			}
			if (errno != EINPROGRESS) {
				snprintf(connect_err, sizeof connect_err, "connect: %s", strerror(errno));
				close(fd);
				continue;
			}
			struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = i };
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
			fds[i] = fd;
			pending[i] = 1;
			npend++;
		}
		int k = epoll_wait(ep, evs, 256, 50);
		for (int j = 0; j < k; j++) {
			unsigned i = evs[j].data.u32;
			int err = 0;
			socklen_t len = sizeof err;
			if (pending[i] == 2) {		/* the greeting arrived */
				epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
				pending[i] = 0;
				npend--;
				ok++;
				continue;
			}
			getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err, &len);
			if (!err && greeting) {
				struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
				epoll_ctl(ep, EPOLL_CTL_MOD, fds[i], &ev);
				pending[i] = 2;
				continue;
			}
			epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
			pending[i] = 0;
			npend--;
			if (err) {
				snprintf(connect_err, sizeof connect_err, "connect: %s", strerror(err));
				close(fds[i]);
				fds[i] = -1;
			} else {
				ok++;
			}
		}
	}
	for (unsigned i = 0; i < n; i++)
		if (pending[i]) {
			snprintf(connect_err, sizeof connect_err, pending[i] == 2 ?
			    "no greeting from the server" : "connect: timed out");
			close(fds[i]);
			fds[i] = -1;
		}
	free(pending);
	close(ep);
	return ok;
}

static void ep_set(int ep, int op, int fd, uint32_t events, uint32_t id)
{
	struct epoll_event ev = { .events = events, .data.u32 = id };
	if (epoll_ctl(ep, op, fd, &ev) < 0 && op != EPOLL_CTL_DEL)
		die("epoll_ctl: %s", strerror(errno));
}

/* ------------------------------------------------------------------ */
/* phases shared by echo and chat                                     */

enum phase { P_WARM, P_MEASURE, P_DRAIN, P_DONE };

#define MAXCPU 64

struct window {
	uint64_t t0, t_meas, t_end;	/* run start, measure start, measure end */
	double cpu0, cpu1;
	struct srv s0, s1;
	unsigned long long busy0[MAXCPU], all0[MAXCPU], busy1[MAXCPU], all1[MAXCPU];
	unsigned ncpu;
};

/* Per-CPU busy and total ticks from /proc/stat: the kernel's share of
 * loopback work (softirq) shows there and not in any process's times. */
static unsigned cpu_ticks(unsigned long long *busy, unsigned long long *all)
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

static void window_open(struct window *w, uint64_t now)
{
	w->t_meas = now;
	w->cpu0 = cpu_now();
	srv_sample(O.server_pid, &w->s0);
	w->ncpu = cpu_ticks(w->busy0, w->all0);
}

static void window_close(struct window *w, uint64_t now)
{
	w->t_end = now;
	w->cpu1 = cpu_now();
	srv_sample(O.server_pid, &w->s1);
	if (cpu_ticks(w->busy1, w->all1) != w->ncpu)
		w->ncpu = 0;
}

static double window_secs(const struct window *w)
{
	return (double)(w->t_end - w->t_meas) / 1e9;
}

static void json_window(const struct window *w)
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

/* ------------------------------------------------------------------ */
/* echo mode                                                          */

#define PLEN 65521u		/* pattern period: prime, so messages differ */
#define CHUNK (256u * 1024u)	/* largest single write */
#define RBUF 65536u

static unsigned char *pattern;	/* PLEN + CHUNK bytes, periodic */

static void pattern_init(void)
{
	uint32_t x = 2463534242u;
	pattern = xcalloc(PLEN + CHUNK, 1);
	for (size_t i = 0; i < PLEN; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		pattern[i] = (unsigned char)(x >> 24);
	}
	for (size_t i = PLEN; i < PLEN + CHUNK; i++)
		pattern[i] = pattern[i - PLEN];
}

struct econn {
	int fd;
	bool dead, out_armed;
	uint32_t seed;			/* where this stream starts in the pattern */
	uint64_t issued_bytes, sent_bytes, recv_bytes;
	uint64_t issued, done;		/* messages */
	uint64_t *ts;			/* send times, pipeline slots */
};

struct echo {
	int ep;
	struct econn *c;
	unsigned n;
	enum phase phase;
	struct window w;
	struct hist rtt;
	uint64_t msgs, bytes, outstanding, unanswered, errors, verified;
	char err[160];
};

static void echo_fail(struct echo *e, struct econn *c, const char *what)
{
	if (!e->err[0])
		snprintf(e->err, sizeof e->err, "connection %ld: %s",
		    (long)(c - e->c), what);
	e->errors++;
	e->unanswered += c->issued - c->done;
	e->outstanding -= c->issued - c->done;
	c->dead = true;
	close(c->fd);
}

/* Writes what was issued and not yet taken by the kernel. */
static void echo_flush(struct echo *e, struct econn *c)
{
	while (c->sent_bytes < c->issued_bytes) {
		uint64_t left = c->issued_bytes - c->sent_bytes;
		size_t n = left > CHUNK ? CHUNK : (size_t)left;
		ssize_t w = write(c->fd, pattern + (c->seed + c->sent_bytes) % PLEN, n);
		if (w > 0) {
			c->sent_bytes += (uint64_t)w;
			continue;
		}
		if (w < 0 && errno == EAGAIN) {
			if (!c->out_armed) {
				ep_set(e->ep, EPOLL_CTL_MOD, c->fd, EPOLLIN | EPOLLOUT, (uint32_t)(c - e->c));
				c->out_armed = true;
			}
			return;
		}
		echo_fail(e, c, w < 0 ? strerror(errno) : "write returned 0");
		return;
	}
	if (c->out_armed) {
		ep_set(e->ep, EPOLL_CTL_MOD, c->fd, EPOLLIN, (uint32_t)(c - e->c));
		c->out_armed = false;
	}
}

/* Issues messages until pipeline are in flight, stamped now. */
static void echo_issue(struct echo *e, struct econn *c, uint64_t now)
{
	while (c->issued - c->done < O.pipeline) {
		c->ts[c->issued % O.pipeline] = now;
		c->issued++;
		c->issued_bytes += O.size;
		e->outstanding++;
	}
	echo_flush(e, c);
}

static void echo_read(struct echo *e, struct econn *c, uint64_t now)
{
	static unsigned char buf[RBUF];
	for (;;) {
		ssize_t n = read(c->fd, buf, sizeof buf);
		if (n == 0) {
			echo_fail(e, c, "closed by the server");
			return;
		}
		if (n < 0) {
			if (errno != EAGAIN)
				echo_fail(e, c, strerror(errno));
			return;
		}
		if (c->recv_bytes + (uint64_t)n > c->sent_bytes) {
			echo_fail(e, c, "more bytes came back than were sent");
			return;
		}
		const unsigned char *want = pattern + (c->seed + c->recv_bytes) % PLEN;
		if (memcmp(buf, want, (size_t)n) != 0) {
			char what[96];
			size_t k = 0;
			while (buf[k] == want[k])
				k++;
			snprintf(what, sizeof what, "wrong byte at stream offset %" PRIu64,
			    c->recv_bytes + k);
			echo_fail(e, c, what);
			return;
		}
		c->recv_bytes += (uint64_t)n;
		e->verified += (uint64_t)n;
		while (c->done < c->issued && c->recv_bytes >= (c->done + 1) * O.size) {
			uint64_t t = c->ts[c->done % O.pipeline];
			c->done++;
			e->outstanding--;
			if (e->phase == P_MEASURE) {
				hist_add(&e->rtt, now - t);
				e->msgs++;
			}
		}
		if (e->phase <= P_MEASURE)
			echo_issue(e, c, now);
		if ((size_t)n < sizeof buf)
			return;
	}
}

static int run_echo(void)
{
	struct echo *e = xcalloc(1, sizeof *e);
	int *fds = xcalloc(O.conns, sizeof *fds);
	rlim_t lim = raise_nofile();

	if (O.conns + 16 > lim)
		die("--conns %u needs more descriptors than RLIMIT_NOFILE %lu",
		    O.conns, (unsigned long)lim);
	set_budget(O.timeout + O.warmup + O.duration + 10 + 5);
	pattern_init();
	e->n = O.conns;
	e->c = xcalloc(O.conns, sizeof *e->c);
	e->ep = epoll_create1(EPOLL_CLOEXEC);

	uint64_t tc = now_ns();
	unsigned up = connect_all(fds, O.conns, O.src_addrs, O.inflight, O.timeout, false);
	double connect_s = (double)(now_ns() - tc) / 1e9;
	if (up < O.conns) {
		fprintf(stderr, "chatd-bench: echo: only %u of %u connections: %s\n",
		    up, O.conns, connect_err);
		jstart();
		jopen("results");
		jbool("ok", false);
		jstr("error", "connect failed");
		juint("connected", up);
		jend();
		return 2;
	}
	for (unsigned i = 0; i < O.conns; i++) {
		struct econn *c = &e->c[i];
		c->fd = fds[i];
		c->seed = (uint32_t)((i * 7919u) % PLEN);
		c->ts = xcalloc(O.pipeline, sizeof *c->ts);
		ep_set(e->ep, EPOLL_CTL_ADD, c->fd, EPOLLIN, i);
	}
	free(fds);

	uint64_t now = now_ns(), t_meas, t_end = 0, t_stop = 0;
	e->w.t0 = now;
	t_meas = now + (uint64_t)(O.warmup * 1e9);
	e->phase = P_WARM;
	for (unsigned i = 0; i < O.conns; i++)
		if (!e->c[i].dead)
			echo_issue(e, &e->c[i], now);

	struct epoll_event evs[MAXEV];
	while (e->phase != P_DONE) {
		now = now_ns();
		int tmo = 100;
		if (e->phase == P_WARM && now >= t_meas) {
			e->phase = P_MEASURE;
			window_open(&e->w, now);
			t_end = now + (uint64_t)(O.duration * 1e9);
		}
		if (e->phase == P_MEASURE && now >= t_end) {
			window_close(&e->w, now);
			e->phase = P_DRAIN;
			t_stop = now + 5 * NS;
		}
		if (e->phase == P_DRAIN && (e->outstanding == 0 || now >= t_stop)) {
			e->phase = P_DONE;
			break;
		}
		if (e->phase == P_WARM)
			tmo = ms_until(now, t_meas, 100);
		else if (e->phase == P_MEASURE)
			tmo = ms_until(now, t_end, 100);
		int k = epoll_wait(e->ep, evs, MAXEV, tmo);
		if (k < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		now = now_ns();
		for (int j = 0; j < k; j++) {
			struct econn *c = &e->c[evs[j].data.u32];
			if (c->dead)
				continue;
			if (evs[j].events & EPOLLOUT)
				echo_flush(e, c);
			if (!c->dead && (evs[j].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
				echo_read(e, c, now);
		}
	}
	e->unanswered += e->outstanding;

	double secs = window_secs(&e->w);
	double mps = secs > 0 ? (double)e->msgs / secs : 0;
	double mbps = secs > 0 ? (double)e->msgs * O.size / secs / 1e6 : 0;
	bool ok = e->errors == 0 && e->unanswered == 0;
	unsigned alive = 0;
	for (unsigned i = 0; i < O.conns; i++)
		alive += !e->c[i].dead;

	jstart();
	jopen("params");
	jstr("host", O.host);
	jint("port", O.port);
	juint("conns", O.conns);
	juint("size", O.size);
	juint("pipeline", O.pipeline);
	jdbl("duration", O.duration, 3);
	jdbl("warmup", O.warmup, 3);
	jclose();
	jopen("results");
	jbool("ok", ok);
	juint("connected", up);
	juint("alive_at_end", alive);
	jdbl("connect_s", connect_s, 3);
	juint("msgs", e->msgs);
	jdbl("msgs_per_s", mps, 1);
	jdbl("mb_per_s", mbps, 3);
	jdbl("rtt_p50_us", hist_pct_us(&e->rtt, 50), 1);
	jdbl("rtt_p99_us", hist_pct_us(&e->rtt, 99), 1);
	jdbl("rtt_p999_us", hist_pct_us(&e->rtt, 99.9), 1);
	jdbl("rtt_max_us", (double)e->rtt.max / 1e3, 1);
	jdbl("rtt_mean_us", hist_mean_us(&e->rtt), 1);
	juint("bytes_verified", e->verified);
	juint("errors", e->errors);
	juint("unanswered", e->unanswered);
	if (e->err[0])
		jstr("first_error", e->err);
	json_window(&e->w);
	jend();

	fprintf(stderr,
	    "echo %s: %u conns x %u B, pipeline %u, %.1f s: %.0f msgs/s, %.2f MB/s, "
	    "rtt p50 %.1f p99 %.1f p99.9 %.1f max %.1f us; %" PRIu64 " bytes verified, "
	    "%" PRIu64 " errors, %" PRIu64 " unanswered%s%s\n",
	    O.label, O.conns, O.size, O.pipeline, secs, mps, mbps,
	    hist_pct_us(&e->rtt, 50), hist_pct_us(&e->rtt, 99), hist_pct_us(&e->rtt, 99.9),
	    (double)e->rtt.max / 1e3, e->verified, e->errors, e->unanswered,
	    e->err[0] ? "; first: " : "", e->err);
	return ok ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* chat mode                                                          */

/*
 * A benchmark line, M bytes with its LF:
 *   ~B<sender, 8 digits>:<seq, 16 digits>:<send time, 16 digits>:xxxx...\n
 * the send time in ns since the run began (CLOCK_MONOTONIC).  The payload
 * is found by its "~" wherever the server put it (after "NAME: " for chatd
 * and the seed, after "<user#N> " for ncat), so parsing does not depend
 * on the server's format.  Readiness probes are "~R<n>".  Fields are
 * decimal and 8-digit aligned: the reader parses 8 digits at a time.
 */
#define HDR_LEN 45		/* "~B" 8 ":" 16 ":" 16 ":" */
#define SCRATCH (256u * 1024u)
#define MAX_CARRY (64u * 1024u)

enum { NR_CONNECTED, NR_GONE_LIVE, NR_GONE_AT_END };

struct cli {
	int fd;
	bool dead, probe_seen, out_armed, discarding, never;
	unsigned char namelen;
	char name[40];			/* what the server calls it: "127.0.0.1:PORT" */
	char *carry;			/* partial line kept between reads */
	size_t carry_len, carry_cap;
	char *out;			/* bytes the kernel did not take yet */
	size_t out_len, out_cap;
	struct pair *pair;		/* readers: per sender */
	int nr_state;			/* never-readers */
	uint64_t nr_bytes, nr_when, nr_last;
};

struct pair {			/* one (receiver, sender): one cache access */
	uint32_t expect;		/* next seq expected */
	uint32_t got;			/* deliveries */
};

struct snd {
	unsigned cli;
	uint64_t next, base;		/* next seq to send; oldest unfinished */
	uint32_t *cnt;			/* deliveries per outstanding seq (window slots) */
	uint64_t *ts;
};

struct chat {
	int ep;
	struct cli *c;			/* readers 0..C-1, never-readers C..C+K-1 */
	unsigned nc, nall;
	struct snd *s;
	unsigned ns, W;
	unsigned live_readers, ready;
	bool self_echo, check_names;
	enum phase phase;
	struct window w;
	struct hist lat, done;
	char pad[1024];
	unsigned payload_len;		/* M - 1 */
	uint64_t deliveries, lines_sent, lines_done, stalled, skipped;
	uint64_t order, corrupt, misnamed, other_lines, overlong;
	uint64_t readers_lost, rate_slot;
	uint64_t t_run0;
	uint64_t t_base;		/* send times in lines count from here */
	char err[160];
};

static unsigned need_of(const struct chat *ch, const struct snd *s)
{
	unsigned n = ch->live_readers;
	if (!ch->self_echo && !ch->c[s->cli].dead && n > 0)
		n--;
	return n;
}

static void cli_kill(struct chat *ch, struct cli *c, const char *why);

static void cli_write(struct chat *ch, struct cli *c, const char *p, size_t len)
{
	if (c->dead)
		return;
	if (c->out_len == 0) {
		ssize_t w = write(c->fd, p, len);
		if (w < 0 && errno != EAGAIN) {
			cli_kill(ch, c, strerror(errno));
			return;
		}
		if (w > 0) {
			p += w;
			len -= (size_t)w;
		}
		if (len == 0)
			return;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap * 2 : 4096;
		while (cap < c->out_len + len)
			cap *= 2;
		c->out = realloc(c->out, cap);
		if (!c->out)
			die("out of memory");
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p, len);
	c->out_len += len;
	if (!c->out_armed) {
		ep_set(ch->ep, EPOLL_CTL_MOD, c->fd, EPOLLIN | EPOLLRDHUP | EPOLLOUT,
		    (uint32_t)(c - ch->c));
		c->out_armed = true;
	}
}

static void cli_flush(struct chat *ch, struct cli *c)
{
	size_t off = 0;
	while (off < c->out_len) {
		ssize_t w = write(c->fd, c->out + off, c->out_len - off);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EAGAIN)
			break;
		cli_kill(ch, c, w < 0 ? strerror(errno) : "write returned 0");
		return;
	}
	memmove(c->out, c->out + off, c->out_len - off);
	c->out_len -= off;
	if (c->out_len == 0 && c->out_armed) {
		ep_set(ch->ep, EPOLL_CTL_MOD, c->fd, EPOLLIN | EPOLLRDHUP, (uint32_t)(c - ch->c));
		c->out_armed = false;
	}
}

static void snd_send(struct chat *ch, struct snd *s, uint64_t now)
{
	char line[1100];
	unsigned id = (unsigned)(s - ch->s);
	int h = snprintf(line, sizeof line, "~B%08u:%016" PRIu64 ":%016" PRIu64 ":",
	    id, s->next, now - ch->t_base);
	memcpy(line + h, ch->pad, ch->payload_len - (unsigned)h);
	line[ch->payload_len] = '\n';
	s->ts[s->next % ch->W] = now;
	s->cnt[s->next % ch->W] = 0;
	s->next++;
	if (ch->phase == P_MEASURE)
		ch->lines_sent++;
	cli_write(ch, &ch->c[s->cli], line, ch->payload_len + 1);
}

/* Retires finished lines at the head of s's window; in closed loop,
 * refills the window. */
static void snd_advance(struct chat *ch, struct snd *s, uint64_t now)
{
	unsigned need = need_of(ch, s);
	while (s->base < s->next && s->cnt[s->base % ch->W] >= need) {
		if (ch->phase == P_MEASURE) {
			hist_add(&ch->done, now - s->ts[s->base % ch->W]);
			ch->lines_done++;
		}
		s->base++;
	}
	if (O.rate == 0 && ch->phase <= P_MEASURE && !ch->c[s->cli].dead)
		while (s->next - s->base < ch->W)
			snd_send(ch, s, now);
}

static void cli_kill(struct chat *ch, struct cli *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = true;
	close(c->fd);
	if (c->never)
		return;
	if (!ch->err[0])
		snprintf(ch->err, sizeof ch->err, "reader %ld disconnected: %s",
		    (long)(c - ch->c), why);
	ch->readers_lost++;
	ch->live_readers--;
	/* fewer recipients now: lines waiting for this one may be complete */
	uint64_t now = now_ns();
	for (unsigned i = 0; i < ch->ns; i++)
		snd_advance(ch, &ch->s[i], now);
}

/* Digit values for the parsers: 0..15, or 0x10 for anything else (so
 * OR-ing them up flags a bad character without a branch per digit). */
static unsigned char dec_val[256];

static void digits_init(void)
{
	memset(dec_val, 0x10, sizeof dec_val);
	for (unsigned i = 0; i < 10; i++)
		dec_val['0' + i] = (unsigned char)i;
}

/* 8 decimal digits at p; sets bit 0x10 of *bad on a non-digit. */
static uint64_t parse_dec8(const char *p, unsigned *bad)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* SWAR: the first digit is the lowest byte */
	uint64_t v;
	memcpy(&v, p, 8);
	if ((v & 0xf0f0f0f0f0f0f0f0ull) != 0x3030303030303030ull ||
	    ((v + 0x0606060606060606ull) & 0xf0f0f0f0f0f0f0f0ull) != 0x3030303030303030ull)
		*bad |= 0x10;
	v &= 0x0f0f0f0f0f0f0f0full;
	v = (v * 10 + (v >> 8)) & 0x00ff00ff00ff00ffull;
	v = (v * 100 + (v >> 16)) & 0x0000ffff0000ffffull;
	return (v * 10000 + (v >> 32)) & 0xffffffffull;
#else
	uint64_t x = 0;
	unsigned acc = 0;
	for (unsigned i = 0; i < 8; i++) {
		unsigned d = dec_val[(unsigned char)p[i]];
		acc |= d;
		x = x * 10 + d;
	}
	*bad |= acc & 0x10;
	return x;
#endif
}

static uint64_t parse_dec16(const char *p, unsigned *bad)
{
	return parse_dec8(p, bad) * 100000000u + parse_dec8(p + 8, bad);
}

/* A notice "* NAME left" seen by client 0 (chatd's format): when NAME is
 * a never-reader, the server has just dropped it. */
static void chat_notice(struct chat *ch, const char *line, size_t len, uint64_t now)
{
	if (len < 8 || memcmp(line, "* ", 2) != 0 || memcmp(line + len - 5, " left", 5) != 0)
		return;
	size_t nl = len - 7;
	for (unsigned i = ch->nc; i < ch->nall; i++) {
		struct cli *c = &ch->c[i];
		if (c->nr_state == NR_CONNECTED && c->namelen == nl &&
		    memcmp(c->name, line + 2, nl) == 0) {
			c->nr_state = NR_GONE_LIVE;
			c->nr_when = now;
		}
	}
}

/* One complete line received by reader r (LF removed). */
static void chat_line(struct chat *ch, struct cli *r, const char *line, size_t len,
    uint64_t now)
{
	if (len && line[len - 1] == '\r')
		len--;
	const char *p = memchr(line, '~', len);
	if (!p || p + 1 >= line + len) {
		ch->other_lines++;
		if (r == ch->c && ch->nall > ch->nc && ch->check_names)
			chat_notice(ch, line, len, now);
		return;
	}
	size_t rest = len - (size_t)(p - line);
	if (p[1] == 'R') {
		if (!r->probe_seen) {
			r->probe_seen = true;
			ch->ready++;
		}
		return;
	}
	if (p[1] != 'B') {
		ch->other_lines++;
		return;
	}
	unsigned bad = rest != ch->payload_len;
	uint64_t sid = 0, seq = 0, ts = 0;
	if (!bad) {
		sid = parse_dec8(p + 2, &bad);
		seq = parse_dec16(p + 11, &bad);
		ts = parse_dec16(p + 28, &bad) + ch->t_base;
		bad = bad || p[10] != ':' || p[27] != ':' || p[44] != ':' || sid >= ch->ns ||
		    ts > now || seq >= ch->s[sid].next ||
		    memcmp(p + HDR_LEN, ch->pad, ch->payload_len - HDR_LEN) != 0;
	}
	if (bad) {
		ch->corrupt++;
		return;
	}
	struct snd *s = &ch->s[sid];
	if (ch->check_names) {
		const struct cli *sc = &ch->c[s->cli];
		size_t pre = (size_t)(p - line);
		if (pre != (size_t)sc->namelen + 2 || memcmp(line, sc->name, sc->namelen) != 0 ||
		    line[sc->namelen] != ':' || line[sc->namelen + 1] != ' ')
			ch->misnamed++;
	}
	struct pair *pr = &r->pair[sid];
	if (seq == pr->expect)
		pr->expect++;
	else if (seq > pr->expect)
		pr->expect = (uint32_t)seq + 1;	/* a gap: loss unless it comes late */
	else
		ch->order++;			/* older than one already seen: late */
	pr->got++;
	if (ch->phase == P_MEASURE) {
		ch->deliveries++;
		hist_add(&ch->lat, now - ts);
	}
	if (seq >= s->base && seq < s->next) {
		s->cnt[seq % ch->W]++;
		if (seq == s->base)
			snd_advance(ch, s, now);
	}
}

static void chat_read(struct chat *ch, struct cli *r, uint64_t now)
{
	static char buf[SCRATCH];
	for (int rounds = 0; rounds < 8 && !r->dead; rounds++) {
		size_t have = r->carry_len;
		memcpy(buf, r->carry, have);
		ssize_t n = read(r->fd, buf + have, SCRATCH - have);
		if (n == 0) {
			cli_kill(ch, r, "closed by the server");
			return;
		}
		if (n < 0) {
			if (errno != EAGAIN)
				cli_kill(ch, r, strerror(errno));
			return;
		}
		size_t end = have + (size_t)n, pos = 0;
		for (;;) {
			char *nl = memchr(buf + pos, '\n', end - pos);
			if (!nl)
				break;
			size_t len = (size_t)(nl - (buf + pos));
			if (r->discarding)
				r->discarding = false;
			else
				chat_line(ch, r, buf + pos, len, now);
			pos += len + 1;
			if (r->dead)
				return;
		}
		size_t left = end - pos;
		if (left > MAX_CARRY) {		/* absurdly long line: skip it */
			ch->overlong++;
			r->discarding = true;
			left = 0;
		}
		if (left > r->carry_cap) {
			r->carry = realloc(r->carry, left);
			if (!r->carry)
				die("out of memory");
			r->carry_cap = left;
		}
		memcpy(r->carry, buf + pos, left);
		r->carry_len = left;
		if ((size_t)n < SCRATCH - have)
			return;
	}
}

/* Handles what one epoll batch reported. */
static void chat_events(struct chat *ch, struct epoll_event *evs, int k, uint64_t now)
{
	for (int j = 0; j < k; j++) {
		struct cli *c = &ch->c[evs[j].data.u32];
		if (c->dead)
			continue;
		if (c->never) {
			/* it never reads, so only a hangup or an error shows up */
			c->nr_state = NR_GONE_LIVE;
			c->nr_when = now;
			epoll_ctl(ch->ep, EPOLL_CTL_DEL, c->fd, NULL);
			continue;
		}
		if (evs[j].events & EPOLLOUT)
			cli_flush(ch, c);
		if (!c->dead && (evs[j].events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)))
			chat_read(ch, c, now);
	}
}

/* Abandons lines that waited too long (lost somewhere), so a closed-loop
 * sender never stalls forever; the loss shows in the per-pair counts. */
static void chat_stalls(struct chat *ch, uint64_t now)
{
	uint64_t lim = (uint64_t)(O.line_timeout * 1e9);
	for (unsigned i = 0; i < ch->ns; i++) {
		struct snd *s = &ch->s[i];
		bool moved = false;
		while (s->base < s->next && now - s->ts[s->base % ch->W] > lim) {
			s->base++;
			ch->stalled++;
			moved = true;
		}
		if (moved)
			snd_advance(ch, s, now);
	}
}

static uint64_t chat_outstanding(const struct chat *ch)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < ch->ns; i++)
		n += ch->s[i].next - ch->s[i].base;
	return n;
}

/* Fixed rate: issues the sends that are due, round-robin over senders;
 * a sender whose window is full skips its turn (counted). */
static void chat_rate(struct chat *ch, uint64_t now)
{
	uint64_t due = (uint64_t)((double)(now - ch->t_run0) / 1e9 * O.rate);
	while (ch->rate_slot < due) {
		struct snd *s = &ch->s[ch->rate_slot % ch->ns];
		ch->rate_slot++;
		if (ch->c[s->cli].dead)
			continue;
		if (s->next - s->base >= ch->W) {
			if (ch->phase == P_MEASURE)
				ch->skipped++;
			continue;
		}
		snd_send(ch, s, now);
	}
}

/* After the run: reads what the never-readers were sent, to learn
 * whether the server had closed them (EOF behind the data), including
 * those it announced as gone. */
static void never_readers_final(struct chat *ch)
{
	static char buf[SCRATCH];
	uint64_t start = now_ns(), deadline = start + 3 * NS;
	for (unsigned i = ch->nc; i < ch->nall; i++)
		ch->c[i].nr_last = start;
	for (;;) {
		unsigned open = 0;
		uint64_t now = now_ns();
		for (unsigned i = ch->nc; i < ch->nall; i++) {
			struct cli *c = &ch->c[i];
			if (c->dead)
				continue;
			for (int k = 0; k < 64; k++) {
				ssize_t n = read(c->fd, buf, sizeof buf);
				if (n > 0) {
					c->nr_bytes += (uint64_t)n;
					c->nr_last = now;
					continue;
				}
				if (n == 0 || errno != EAGAIN) {
					if (c->nr_state == NR_CONNECTED)
						c->nr_state = NR_GONE_AT_END;
					c->dead = true;
					close(c->fd);
				}
				break;
			}
			/* one the server announced gone is read until its EOF */
			if (!c->dead && (c->nr_state == NR_GONE_LIVE || now - c->nr_last < NS / 2))
				open++;
		}
		if (open == 0 || now >= deadline)
			break;
		sleep_ns(10 * 1000000ull);
	}
}

/* Client i on socket fd: its name as the server sees it, its counters,
 * its events (a never-reader waits only for a hangup or an error). */
static void cli_setup(struct chat *ch, unsigned i, int fd)
{
	struct cli *c = &ch->c[i];
	struct sockaddr_in me;
	socklen_t len = sizeof me;
	char ip[INET_ADDRSTRLEN];

	c->fd = fd;
	c->never = i >= ch->nc;
	getsockname(c->fd, (struct sockaddr *)&me, &len);
	inet_ntop(AF_INET, &me.sin_addr, ip, sizeof ip);
	c->namelen = (unsigned char)snprintf(c->name, sizeof c->name, "%s:%u",
	    ip, ntohs(me.sin_port));
	if (c->never) {
		ep_set(ch->ep, EPOLL_CTL_ADD, c->fd, EPOLLRDHUP, i);
	} else {
		c->pair = xcalloc(ch->ns, sizeof *c->pair);
		ep_set(ch->ep, EPOLL_CTL_ADD, c->fd, EPOLLIN | EPOLLRDHUP, i);
	}
}

/* Connects the never-readers into fds[C..C+K-1]; returns how many. */
static unsigned connect_never_readers(struct chat *ch, int *fds, unsigned infl, bool greet)
{
	unsigned up;
	/* a small window, so the server's own queue for them fills within
	 * seconds instead of megabytes of kernel buffers */
	connect_rcvbuf = (int)O.nr_rcvbuf;
	up = connect_all(fds + ch->nc, ch->nall - ch->nc, O.src_addrs, infl, O.timeout, greet);
	connect_rcvbuf = 0;
	return up;
}

static int chat_fail(const char *error, const char *key, unsigned v)
{
	jstart();
	jopen("results");
	jbool("ok", false);
	jstr("error", error);
	juint(key, v);
	jend();
	return 2;
}

static int run_chat(void)
{
	struct chat *ch = xcalloc(1, sizeof *ch);
	rlim_t lim = raise_nofile();
	unsigned C = O.clients, S = O.senders, K = O.never_read;

	if (C + K + 16 > lim)
		die("%u clients need more descriptors than RLIMIT_NOFILE %lu",
		    C + K, (unsigned long)lim);
	set_budget(2 * O.timeout + O.warmup + O.duration + O.line_timeout + 15);
	ch->nc = C;
	ch->nall = C + K;
	ch->ns = S;
	ch->W = O.window ? O.window : (O.rate > 0 ? 256 : 1);
	ch->self_echo = O.fmt == FMT_CHATD;
	ch->check_names = O.fmt == FMT_CHATD;
	ch->payload_len = O.size - 1;
	memset(ch->pad, 'x', sizeof ch->pad);
	ch->c = xcalloc(ch->nall, sizeof *ch->c);
	ch->t_base = now_ns();
	ch->s = xcalloc(S, sizeof *ch->s);
	ch->ep = epoll_create1(EPOLL_CLOEXEC);

	/*
	 * Never-readers connect first: the listen queue is FIFO, so once every
	 * reader is seen in the room they are in it too.  Not with ncat: it
	 * announces each newcomer to everyone with blocking writes, so their
	 * windows would fill while the readers join and ncat would stop
	 * before all are in; there they join last, its greeting proving them
	 * accepted.
	 */
	uint64_t tc = now_ns();
	int *fds = xcalloc(ch->nall, sizeof *fds);
	unsigned up = 0;
	bool greet = O.fmt == FMT_NCAT;	/* ncat: listen(fd, 10), greets each newcomer */
	unsigned infl = greet && O.inflight > 8 ? 8 : O.inflight;
	if (K && !greet)
		up += connect_never_readers(ch, fds, infl, greet);
	up += connect_all(fds, C, O.src_addrs, infl, O.timeout, greet);
	if (up < (greet ? C : ch->nall)) {
		fprintf(stderr, "chatd-bench: chat: only %u of %u clients connected: %s\n",
		    up, ch->nall, connect_err);
		return chat_fail("connect failed", "connected", up);
	}
	for (unsigned i = 0; i < (greet ? C : ch->nall); i++)
		cli_setup(ch, i, fds[i]);
	ch->live_readers = C;
	/* the senders' window slots side by side: few cache lines for all */
	uint32_t *cnt_all = xcalloc((size_t)S * ch->W, sizeof *cnt_all);
	uint64_t *ts_all = xcalloc((size_t)S * ch->W, sizeof *ts_all);
	for (unsigned i = 0; i < S; i++) {
		ch->s[i].cli = i;
		ch->s[i].cnt = cnt_all + (size_t)i * ch->W;
		ch->s[i].ts = ts_all + (size_t)i * ch->W;
	}

	/* readiness: client 0 says "~R<n>" every 20 ms until every reader has
	 * seen one; then everyone is in the room */
	struct epoll_event evs[MAXEV];
	uint64_t deadline = now_ns() + (uint64_t)(O.timeout * 1e9), next_probe = 0;
	unsigned probes = 0;
	ch->phase = P_WARM;
	if (!ch->self_echo) {
		ch->c[0].probe_seen = true;
		ch->ready = 1;
	}
	while (ch->ready < ch->live_readers) {
		uint64_t now = now_ns();
		if (now >= deadline || ch->c[0].dead) {
			fprintf(stderr, "chatd-bench: chat: only %u of %u clients saw a probe "
			    "within %.0f s%s%s\n", ch->ready, C, O.timeout,
			    ch->err[0] ? ": " : "", ch->err);
			return chat_fail("clients did not all join", "joined", ch->ready);
		}
		if (now >= next_probe) {
			char p[32];
			int n = snprintf(p, sizeof p, "~R%u\n", ++probes);
			cli_write(ch, &ch->c[0], p, (size_t)n);
			next_probe = now + 20 * 1000000ull;
		}
		int k = epoll_wait(ch->ep, evs, MAXEV, ms_until(now, next_probe, 20));
		chat_events(ch, evs, k > 0 ? k : 0, now_ns());
	}
	if (K && greet) {
		unsigned nup = connect_never_readers(ch, fds, infl, greet);
		if (nup < K) {
			fprintf(stderr, "chatd-bench: chat: only %u of %u never-readers "
			    "connected: %s\n", nup, K, connect_err);
			return chat_fail("connect failed", "connected", C + nup);
		}
		for (unsigned i = C; i < ch->nall; i++)
			cli_setup(ch, i, fds[i]);
	}
	free(fds);
	double setup_s = (double)(now_ns() - tc) / 1e9;
	uint64_t readers_lost_setup = ch->readers_lost;

	uint64_t now = now_ns(), t_meas, t_end = 0, t_stop = 0, next_stall = 0;
	ch->t_run0 = ch->w.t0 = now;
	t_meas = now + (uint64_t)(O.warmup * 1e9);
	for (unsigned i = 0; i < S; i++)
		snd_advance(ch, &ch->s[i], now);
	while (ch->phase != P_DONE) {
		now = now_ns();
		if (ch->phase == P_WARM && now >= t_meas) {
			ch->phase = P_MEASURE;
			window_open(&ch->w, now);
			t_end = now + (uint64_t)(O.duration * 1e9);
		}
		if (ch->phase == P_MEASURE && now >= t_end) {
			window_close(&ch->w, now);
			ch->phase = P_DRAIN;
			t_stop = now + (uint64_t)((O.line_timeout + 1) * 1e9);
		}
		if (ch->phase == P_DRAIN && (chat_outstanding(ch) == 0 || now >= t_stop)) {
			ch->phase = P_DONE;
			break;
		}
		if (O.rate > 0 && ch->phase <= P_MEASURE)
			chat_rate(ch, now);
		if (now >= next_stall) {
			chat_stalls(ch, now);
			next_stall = now + 100 * 1000000ull;
		}
		int tmo = O.rate > 0 ? 1 : 50;
		if (ch->phase == P_WARM)
			tmo = ms_until(now, t_meas, tmo);
		else if (ch->phase == P_MEASURE)
			tmo = ms_until(now, t_end, tmo);
		int k = epoll_wait(ch->ep, evs, MAXEV, tmo);
		if (k < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		chat_events(ch, evs, k > 0 ? k : 0, now_ns());
	}
	uint64_t unfinished = chat_outstanding(ch);
	if (K)
		never_readers_final(ch);

	/* exact loss per (receiver, sender): sent minus received (a pair that
	 * got more than was sent got duplicates: counted apart) */
	uint64_t loss = 0, loss_pairs = 0, loss_dead = 0, total_sent = 0, dups = 0;
	for (unsigned j = 0; j < S; j++)
		total_sent += ch->s[j].next;
	for (unsigned i = 0; i < C; i++) {
		struct cli *r = &ch->c[i];
		for (unsigned j = 0; j < S; j++) {
			if (!ch->self_echo && ch->s[j].cli == i)
				continue;
			if (r->pair[j].got > ch->s[j].next) {
				dups += r->pair[j].got - ch->s[j].next;
				continue;
			}
			uint64_t lost = ch->s[j].next - r->pair[j].got;
			if (r->dead)
				loss_dead += lost;
			else {
				loss += lost;
				loss_pairs += lost != 0;
			}
		}
	}
	unsigned nr_live = 0, nr_end = 0, nr_conn = 0, nr_left_open = 0;
	uint64_t nr_bytes = 0, nr_first = 0, nr_last = 0;
	for (unsigned i = C; i < ch->nall; i++) {
		struct cli *c = &ch->c[i];
		nr_bytes += c->nr_bytes;
		if (c->nr_state == NR_GONE_LIVE) {
			nr_live++;
			nr_left_open += !c->dead;	/* announced gone, yet no EOF */
			uint64_t t = c->nr_when - ch->t_run0;
			if (!nr_first || t < nr_first)
				nr_first = t;
			if (t > nr_last)
				nr_last = t;
		} else if (c->nr_state == NR_GONE_AT_END) {
			nr_end++;
		} else {
			nr_conn++;
		}
		if (!c->dead)
			close(c->fd);
	}

	double secs = window_secs(&ch->w);
	double dps = secs > 0 ? (double)ch->deliveries / secs : 0;
	double lps = secs > 0 ? (double)ch->lines_done / secs : 0;
	bool ok = loss == 0 && loss_dead == 0 && ch->order == 0 && dups == 0 && ch->corrupt == 0 &&
	    ch->misnamed == 0 && ch->readers_lost == 0 && unfinished == 0;

	jstart();
	jopen("params");
	jstr("host", O.host);
	jint("port", O.port);
	juint("clients", C);
	juint("senders", S);
	juint("never_read", K);
	juint("nr_rcvbuf", O.nr_rcvbuf);
	juint("size", O.size);
	juint("window", ch->W);
	jdbl("rate", O.rate, 1);
	jstr("peer_format", O.fmt_name);
	jdbl("duration", O.duration, 3);
	jdbl("warmup", O.warmup, 3);
	jclose();
	jopen("results");
	jbool("ok", ok);
	jdbl("setup_s", setup_s, 3);
	juint("lines_sent", ch->lines_sent);
	juint("lines_done", ch->lines_done);
	jdbl("lines_per_s", lps, 1);
	juint("deliveries", ch->deliveries);
	jdbl("deliveries_per_s", dps, 1);
	jdbl("lat_p50_us", hist_pct_us(&ch->lat, 50), 1);
	jdbl("lat_p99_us", hist_pct_us(&ch->lat, 99), 1);
	jdbl("lat_p999_us", hist_pct_us(&ch->lat, 99.9), 1);
	jdbl("lat_max_us", (double)ch->lat.max / 1e3, 1);
	jdbl("lat_mean_us", hist_mean_us(&ch->lat), 1);
	jdbl("done_p50_us", hist_pct_us(&ch->done, 50), 1);
	jdbl("done_p99_us", hist_pct_us(&ch->done, 99), 1);
	juint("total_lines_sent", total_sent);
	juint("loss", loss);
	juint("loss_pairs", loss_pairs);
	juint("loss_to_dropped_readers", loss_dead);
	juint("order_violations", ch->order);
	juint("duplicates", dups);
	juint("corrupt_lines", ch->corrupt);
	juint("misattributed", ch->misnamed);
	juint("other_lines", ch->other_lines);
	juint("stalled_lines", ch->stalled);
	juint("unfinished_lines", unfinished);
	juint("rate_skipped", ch->skipped);
	juint("readers_disconnected", ch->readers_lost);
	juint("readers_disconnected_setup", readers_lost_setup);
	if (K) {
		juint("nr_disconnected", nr_live + nr_end);
		juint("nr_disconnected_live", nr_live);
		juint("nr_still_connected", nr_conn);
		juint("nr_gone_but_open", nr_left_open);
		jdbl("nr_first_disconnect_s", nr_live ? (double)nr_first / 1e9 : (double)NAN, 3);
		jdbl("nr_last_disconnect_s", nr_live ? (double)nr_last / 1e9 : (double)NAN, 3);
		juint("nr_bytes_drained_at_end", nr_bytes);
	}
	if (ch->err[0])
		jstr("first_error", ch->err);
	json_window(&ch->w);
	jend();

	fprintf(stderr,
	    "chat %s: %u clients, %u senders, %u B lines, window %u%s, %.1f s: "
	    "%.0f deliveries/s (%.0f lines/s), latency p50 %.1f p99 %.1f p99.9 %.1f us; "
	    "loss %" PRIu64 " (%" PRIu64 " pairs), order %" PRIu64 ", corrupt %" PRIu64
	    ", misattributed %" PRIu64 ", readers dropped %" PRIu64 ", unfinished %" PRIu64 "\n",
	    O.label, C, S, O.size, ch->W, O.rate > 0 ? " fixed rate" : " closed loop", secs,
	    dps, lps, hist_pct_us(&ch->lat, 50), hist_pct_us(&ch->lat, 99),
	    hist_pct_us(&ch->lat, 99.9), loss, loss_pairs, ch->order, ch->corrupt,
	    ch->misnamed, ch->readers_lost, unfinished);
	if (ch->stalled)
		fprintf(stderr, "  %" PRIu64 " lines stalled (not everywhere after %.1f s) and "
		    "were given up on\n", ch->stalled, O.line_timeout);
	if (K && nr_live)
		fprintf(stderr, "  never-readers: %u of %u disconnected, %u seen live %.2f-%.2f s "
		    "after the start, %u found at the end; %u still connected; %" PRIu64
		    " bytes drained at the end\n", nr_live + nr_end, K, nr_live,
		    (double)nr_first / 1e9, (double)nr_last / 1e9, nr_end, nr_conn, nr_bytes);
	else if (K)
		fprintf(stderr, "  never-readers: %u of %u disconnected (found at the end); "
		    "%u still connected; %" PRIu64 " bytes drained at the end\n",
		    nr_end, K, nr_conn, nr_bytes);
	if (ch->w.s1.ok)
		fprintf(stderr, "  server: cpu %.2f, rss %ld kB, peak %ld kB\n",
		    secs > 0 ? (ch->w.s1.cpu - ch->w.s0.cpu) / secs : 0,
		    ch->w.s1.rss_kb, ch->w.s1.hwm_kb);
	return ok ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* conns mode                                                         */

static int run_conns(void)
{
	rlim_t lim = raise_nofile();
	unsigned K = O.count;
	if (K + 16 > lim)
		die("--count %u needs more descriptors than RLIMIT_NOFILE %lu",
		    K, (unsigned long)lim);
	if (O.server_pid <= 0)
		die("conns needs --server-pid to read the server's memory");
	set_budget(3 * O.timeout + O.hold + 10);

	struct srv before, after;
	srv_sample(O.server_pid, &before);
	if (!before.ok)
		die("cannot read /proc/%ld", O.server_pid);

	int *fds = xcalloc(K, sizeof *fds);
	char *state = xcalloc(K, 1);		/* 0 waiting, 1 proven, 2 lost */
	uint64_t t0 = now_ns();
	unsigned up = connect_all(fds, K, O.src_addrs, O.inflight, O.timeout, false);
	double connect_s = (double)(now_ns() - t0) / 1e9;

	int ep = epoll_create1(EPOLL_CLOEXEC);
	const char *probe = O.probe ? O.probe : (O.proto_echo ? "x" : "/bench-ping\r\n");
	const char *expect = O.expect ? O.expect : (O.proto_echo ? "x" : "* error");
	size_t plen = strlen(probe), elen = strlen(expect);
	unsigned proven = 0, lost = 0, waiting = 0;
	static char buf[65536];

	for (unsigned i = 0; i < K; i++) {
		if (fds[i] < 0) {
			state[i] = 2;
			continue;
		}
		ep_set(ep, EPOLL_CTL_ADD, fds[i], EPOLLIN | EPOLLRDHUP, i);
		if (write(fds[i], probe, plen) != (ssize_t)plen) {
			state[i] = 2;
			lost++;
			continue;
		}
		waiting++;
	}
	/* proving, then holding: anything that arrives is read and dropped;
	 * a connection that closes while idle counts as lost */
	uint64_t t1 = now_ns(), deadline = t1 + (uint64_t)(O.timeout * 1e9), hold_end = 0;
	double prove_s = 0;
	struct epoll_event evs[MAXEV];
	for (;;) {
		uint64_t now = now_ns();
		if (!hold_end && (waiting == 0 || now >= deadline)) {
			prove_s = (double)(now - t1) / 1e9;
			hold_end = now + (uint64_t)(O.hold * 1e9);
		}
		if (hold_end && now >= hold_end)
			break;
		int k = epoll_wait(ep, evs, MAXEV, 50);
		for (int j = 0; j < k; j++) {
			unsigned i = evs[j].data.u32;
			if (state[i] == 2)
				continue;
			ssize_t n = read(fds[i], buf, sizeof buf);
			if (n > 0) {
				if (state[i] == 0 && memmem(buf, (size_t)n, expect, elen)) {
					state[i] = 1;
					proven++;
					waiting--;
				}
				continue;
			}
			if (n < 0 && errno == EAGAIN)
				continue;
			if (state[i] == 0)
				waiting--;
			else
				proven--;
			state[i] = 2;
			lost++;
			epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
			close(fds[i]);
			fds[i] = -1;
		}
	}
	srv_sample(O.server_pid, &after);

	double per = proven ? (double)(after.rss_kb - before.rss_kb) * 1024.0 / proven : 0;
	bool ok = proven == K;
	jstart();
	jopen("params");
	jstr("host", O.host);
	jint("port", O.port);
	juint("count", K);
	jstr("proto", O.proto_echo ? "echo" : "chat");
	juint("src_addrs", O.src_addrs);
	jdbl("hold", O.hold, 3);
	jclose();
	jopen("results");
	jbool("ok", ok);
	juint("connected", up);
	juint("proven", proven);
	juint("unproven", waiting);
	juint("lost", lost);
	jdbl("connect_s", connect_s, 3);
	jdbl("prove_s", prove_s, 3);
	jint("server_rss_before_kb", before.rss_kb);
	jint("server_rss_after_kb", after.rss_kb);
	jint("server_hwm_kb", after.hwm_kb);
	jint("server_fds_before", before.fds);
	jint("server_fds_after", after.fds);
	jdbl("bytes_per_conn", per, 1);
	if (up < K)
		jstr("first_error", connect_err);
	jend();
	fprintf(stderr, "conns %s: %u of %u connected (%.2f s), %u proven served (%.2f s), "
	    "%u lost; server RSS %ld -> %ld kB, fds %ld -> %ld: %.0f bytes/connection%s%s\n",
	    O.label, up, K, connect_s, proven, prove_s, lost, before.rss_kb, after.rss_kb,
	    before.fds, after.fds, per, up < K ? "; " : "", up < K ? connect_err : "");
	return ok ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* startup, wait, freeport                                            */

static bool try_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = connect(fd, (struct sockaddr *)&O.dst, sizeof O.dst) == 0;
	close(fd);
	return ok;
}

static int run_startup(void)
{
	if (!O.cmd || !O.cmd[0])
		die("startup needs a command after --");
	if (try_connect())
		die("port %d already accepts connections before the server starts", O.port);
	set_budget(O.timeout + O.settle + 10);
	uint64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		execvp(O.cmd[0], O.cmd);
		fprintf(stderr, "chatd-bench: %s: %s\n", O.cmd[0], strerror(errno));
		_exit(127);
	}
	alarm_child = pid;
	uint64_t deadline = t0 + (uint64_t)(O.timeout * 1e9), t_ready = 0;
	int status = 0;
	bool exited = false;
	while (now_ns() < deadline) {
		if (try_connect()) {
			t_ready = now_ns();
			break;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			exited = true;
			break;
		}
		sleep_ns(200000);
	}
	struct srv idle = { 0 };
	uint64_t t_stop = 0, t_term = 0;
	if (t_ready) {
		sleep_ns((uint64_t)(O.settle * 1e9));
		srv_sample(pid, &idle);
	}
	if (!exited) {
		t_term = now_ns();
		kill(pid, SIGTERM);
		uint64_t kd = t_term + 5 * NS;
		while (waitpid(pid, &status, WNOHANG) != pid) {
			if (now_ns() >= kd) {
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				break;
			}
			sleep_ns(200000);
		}
		t_stop = now_ns();
	}
	alarm_child = 0;
	bool ok = t_ready != 0;
	jstart();
	jopen("params");
	jint("port", O.port);
	jdbl("settle", O.settle, 3);
	jstr("command", O.cmd[0]);
	jclose();
	jopen("results");
	jbool("ok", ok);
	jdbl("ready_ms", ok ? (double)(t_ready - t0) / 1e6 : -1, 3);
	jint("idle_rss_kb", idle.rss_kb);
	jint("idle_hwm_kb", idle.hwm_kb);
	jint("idle_fds", idle.fds);
	jdbl("stop_ms", t_term ? (double)(t_stop - t_term) / 1e6 : -1, 3);
	jint("exit_status", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	jend();
	fprintf(stderr, "startup %s: ready after %.2f ms, idle RSS %ld kB, stopped %.2f ms "
	    "after SIGTERM\n", O.label, ok ? (double)(t_ready - t0) / 1e6 : -1.0,
	    idle.rss_kb, t_term ? (double)(t_stop - t_term) / 1e6 : -1.0);
	return ok ? 0 : 1;
}

static int run_wait(void)
{
	uint64_t deadline = now_ns() + (uint64_t)(O.timeout * 1e9);
	while (now_ns() < deadline) {
		if (try_connect())
			return 0;
		sleep_ns(2000000);
	}
	fprintf(stderr, "chatd-bench: nothing accepts on %s:%d after %.1f s\n",
	    O.host, O.port, O.timeout);
	return 1;
}

static int run_freeport(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof sa;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		die("freeport: %s", strerror(errno));
	printf("%u\n", ntohs(sa.sin_port));
	close(fd);
	return 0;
}

/* ------------------------------------------------------------------ */
/* command line                                                       */

static void usage(FILE *f)
{
	fputs(
"usage: chatd-bench MODE [options]\n"
"  echo    --port P [--host H] [--conns N] [--size M] [--pipeline K]\n"
"          [--duration S] [--warmup S]\n"
"  chat    --port P [--clients C] [--senders S] [--size M] [--window W]\n"
"          [--rate LINES/S] [--never-read K [--nr-rcvbuf BYTES]]\n"
"          [--peer-format chatd|seed|ncat]\n"
"          [--duration S] [--warmup S] [--line-timeout S]\n"
"  conns   --port P --server-pid PID [--count K] [--proto chat|echo]\n"
"          [--src-addrs N] [--hold S] [--probe TEXT] [--expect TEXT]\n"
"  startup --port P [--settle S] -- COMMAND [ARGS...]\n"
"  wait    --port P [--timeout S]\n"
"  freeport\n"
"common: --label NAME (tag in the JSON), --server-pid PID (server CPU and\n"
"  memory from /proc), --timeout S (connect/join limit, default 30),\n"
"  --src-addrs N (bind to 127.0.0.1..N before connecting), --inflight N\n"
"  (concurrent handshakes, default 64).  Loopback addresses only.\n"
"Output: one JSON line on stdout, a summary on stderr.\n", f);
}

static unsigned uarg(const char *name, const char *v, unsigned lo, unsigned hi)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(v, &end, 10);
	if (errno || *end || end == v || x < lo || x > hi)
		die("%s: expected an integer from %u to %u, got '%s'", name, lo, hi, v);
	return (unsigned)x;
}

static double darg(const char *name, const char *v, double lo, double hi)
{
	char *end;
	double x = strtod(v, &end);
	if (*end || end == v || !(x >= lo && x <= hi))
		die("%s: expected a number from %g to %g, got '%s'", name, lo, hi, v);
	return x;
}

enum {
	OPT_HOST = 256, OPT_PORT, OPT_CONNS, OPT_SIZE, OPT_PIPE, OPT_DUR, OPT_WARM,
	OPT_CLIENTS, OPT_SENDERS, OPT_NEVER, OPT_WINDOW, OPT_RATE, OPT_FMT,
	OPT_LTMO, OPT_COUNT, OPT_PROTO, OPT_PID, OPT_SRC, OPT_HOLD, OPT_PROBE,
	OPT_EXPECT, OPT_SETTLE, OPT_TIMEOUT, OPT_LABEL, OPT_INFLIGHT, OPT_NRBUF, OPT_HELP
};

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "host", 1, NULL, OPT_HOST }, { "port", 1, NULL, OPT_PORT },
		{ "conns", 1, NULL, OPT_CONNS }, { "size", 1, NULL, OPT_SIZE },
		{ "pipeline", 1, NULL, OPT_PIPE }, { "duration", 1, NULL, OPT_DUR },
		{ "warmup", 1, NULL, OPT_WARM }, { "clients", 1, NULL, OPT_CLIENTS },
		{ "senders", 1, NULL, OPT_SENDERS }, { "never-read", 1, NULL, OPT_NEVER },
		{ "window", 1, NULL, OPT_WINDOW }, { "rate", 1, NULL, OPT_RATE },
		{ "peer-format", 1, NULL, OPT_FMT }, { "line-timeout", 1, NULL, OPT_LTMO },
		{ "count", 1, NULL, OPT_COUNT }, { "proto", 1, NULL, OPT_PROTO },
		{ "server-pid", 1, NULL, OPT_PID }, { "src-addrs", 1, NULL, OPT_SRC },
		{ "hold", 1, NULL, OPT_HOLD }, { "probe", 1, NULL, OPT_PROBE },
		{ "expect", 1, NULL, OPT_EXPECT }, { "settle", 1, NULL, OPT_SETTLE },
		{ "timeout", 1, NULL, OPT_TIMEOUT }, { "label", 1, NULL, OPT_LABEL },
		{ "inflight", 1, NULL, OPT_INFLIGHT }, { "nr-rcvbuf", 1, NULL, OPT_NRBUF },
		{ "help", 0, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 }
	};
	const char *host = "127.0.0.1";
	bool senders_set = false, src_set = false;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	O = (struct opts){
		.mode = argv[1], .label = "server", .duration = 5, .warmup = 1,
		.timeout = 30, .conns = 1, .size = 64, .pipeline = 1, .clients = 100,
		.line_timeout = 2, .fmt = FMT_CHATD, .fmt_name = "chatd", .count = 1000,
		.inflight = 64, .hold = 1, .settle = 0.5, .nr_rcvbuf = 4096,
	};
	optind = 2;
	int opt;
	while ((opt = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		switch (opt) {
		case OPT_HOST: host = optarg; break;
		case OPT_PORT: O.port = (int)uarg("--port", optarg, 1, 65535); break;
		case OPT_CONNS: O.conns = uarg("--conns", optarg, 1, 1000000); break;
		case OPT_SIZE: O.size = uarg("--size", optarg, 1, 1u << 24); break;
		case OPT_PIPE: O.pipeline = uarg("--pipeline", optarg, 1, 4096); break;
		case OPT_DUR: O.duration = darg("--duration", optarg, 0.01, 3600); break;
		case OPT_WARM: O.warmup = darg("--warmup", optarg, 0, 600); break;
		case OPT_CLIENTS: O.clients = uarg("--clients", optarg, 1, 100000); break;
		case OPT_SENDERS:
			O.senders = uarg("--senders", optarg, 1, 99999);
			senders_set = true;
			break;
		case OPT_NEVER: O.never_read = uarg("--never-read", optarg, 0, 100000); break;
		case OPT_WINDOW: O.window = uarg("--window", optarg, 1, 65536); break;
		case OPT_RATE: O.rate = darg("--rate", optarg, 0, 1e8); break;
		case OPT_FMT:
			if (!strcmp(optarg, "chatd") || !strcmp(optarg, "seed"))
				O.fmt = FMT_CHATD;
			else if (!strcmp(optarg, "ncat"))
				O.fmt = FMT_NCAT;
			else
				die("--peer-format: chatd, seed or ncat, not '%s'", optarg);
			O.fmt_name = optarg;
			break;
		case OPT_LTMO: O.line_timeout = darg("--line-timeout", optarg, 0.01, 600); break;
		case OPT_COUNT: O.count = uarg("--count", optarg, 1, 1000000); break;
		case OPT_PROTO:
			if (strcmp(optarg, "chat") && strcmp(optarg, "echo"))
				die("--proto: chat or echo, not '%s'", optarg);
			O.proto_echo = !strcmp(optarg, "echo");
			break;
		case OPT_PID: O.server_pid = (long)uarg("--server-pid", optarg, 1, 1u << 30); break;
		case OPT_SRC:
			O.src_addrs = uarg("--src-addrs", optarg, 1, 254);
			src_set = true;
			break;
		case OPT_HOLD: O.hold = darg("--hold", optarg, 0, 3600); break;
		case OPT_PROBE: O.probe = optarg; break;
		case OPT_EXPECT: O.expect = optarg; break;
		case OPT_SETTLE: O.settle = darg("--settle", optarg, 0, 60); break;
		case OPT_TIMEOUT: O.timeout = darg("--timeout", optarg, 0.1, 600); break;
		case OPT_LABEL: O.label = optarg; break;
		case OPT_INFLIGHT: O.inflight = uarg("--inflight", optarg, 1, 100000); break;
		case OPT_NRBUF: O.nr_rcvbuf = uarg("--nr-rcvbuf", optarg, 0, 1u << 30); break;
		case OPT_HELP: usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!strcmp(O.mode, "startup"))
		O.cmd = argv + optind;
	else if (optind < argc)
		die("unexpected argument '%s'", argv[optind]);

	if (!strcmp(O.mode, "freeport"))
		return run_freeport();

	/* loopback only: the benchmark never loads anything but this machine */
	O.dst.sin_family = AF_INET;
	O.dst.sin_port = htons((unsigned short)O.port);
	if (inet_pton(AF_INET, host, &O.dst.sin_addr) != 1)
		die("--host: '%s' is not an IPv4 address", host);
	if ((ntohl(O.dst.sin_addr.s_addr) >> 24) != 127)
		die("--host: %s is not a loopback address; the benchmark stays on 127.0.0.0/8", host);
	snprintf(O.host, sizeof O.host, "%s", host);
	if (O.port == 0)
		die("--port is required");
	signal(SIGPIPE, SIG_IGN);
	digits_init();

	if (!strcmp(O.mode, "echo")) {
		return run_echo();
	} else if (!strcmp(O.mode, "chat")) {
		if (!senders_set)
			O.senders = O.clients;
		if (O.senders > O.clients)
			die("--senders %u is more than --clients %u", O.senders, O.clients);
		if (O.size < HDR_LEN + 2 || O.size > 1000)
			die("chat --size: from %u to 1000 bytes (a line and its LF)", HDR_LEN + 2);
		if (O.fmt == FMT_NCAT && O.clients < 2)
			die("ncat does not echo a line to its sender: use at least 2 clients");
		return run_chat();
	} else if (!strcmp(O.mode, "conns")) {
		if (!src_set)
			O.src_addrs = 8;
		if (O.inflight == 64)
			O.inflight = 256;
		return run_conns();
	} else if (!strcmp(O.mode, "startup")) {
		return run_startup();
	} else if (!strcmp(O.mode, "wait")) {
		return run_wait();
	}
	die("unknown mode '%s' (echo, chat, conns, startup, wait, freeport)", O.mode);
}
