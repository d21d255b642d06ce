/*
 * mode-echo.c - chatd-bench echo: N connections, request/response (or K
 * messages in flight) of M bytes each; every byte checked against a
 * known pattern; messages/s, MB/s, round-trip percentiles.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bench.h"
#include "hist.h"
#include "json.h"
#include "net.h"
#include "window.h"

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

int run_echo(void)
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
		jstart(O.mode, O.label);
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

	jstart(O.mode, O.label);
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
