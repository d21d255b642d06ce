/*
 * tls-bench.c - the TLS client of chatd's benchmark (bench/, issue 12).
 *
 * One thread, one epoll loop, non-blocking sockets and OpenSSL client
 * connections to one loopback TLS listener (chatd's own, or nginx stream
 * / stunnel terminating TLS in front of a plain echo).  Modes:
 *
 *   handshake  C connections at a time, each: TCP connect, a full TLS
 *              handshake (no session reuse; TLS 1.3 and X25519 unless
 *              told otherwise), one round trip of M bytes, close_notify,
 *              close; then the next.  Handshakes/s, handshake and cycle
 *              time percentiles.
 *   idle       K TLS connections, each proven served by one round trip,
 *              then held idle; the server's VmRSS before and after,
 *              bytes per idle TLS connection.
 *   echo       N TLS connections, one M-byte message in flight on each,
 *              every byte checked; messages/s, MB/s, round-trip
 *              percentiles.
 *   chat       C clients in one chat room (a listener with announce =
 *              false, rate = 0), every one sending 64-byte lines in a
 *              closed loop: the next when its own line has come back;
 *              deliveries/s (lines received by all clients), own-line
 *              round-trip percentiles.  --plain runs the same client
 *              without TLS, for the plaintext figure it is compared with.
 *
 * The server must send back every byte it gets (protocol = "echo"),
 * except in chat mode (protocol = "chat").  Output: one JSON line on stdout (the same shape
 * as chatd-bench's, so run-bench.sh reads both), a summary on stderr.
 * Exit status: 0 clean, 1 the run found errors, 2 usage or setup.
 *
 * It shares chatd-bench's helpers (util.c, json.c, hist.c, proc-stat.c,
 * window.c) and is built only when configure found OpenSSL 3.
 */
#ifndef __linux__
#error "tls-bench needs Linux (epoll(7), /proc); the benchmark runs on Linux only"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bench.h"
#include "hist.h"
#include "json.h"
#include "proc-stat.h"
#include "window.h"

struct opts O;			/* the part the shared helpers read */

enum tmode { M_HANDSHAKE, M_IDLE, M_ECHO, M_CHAT };

static struct {
	enum tmode mode;
	unsigned conns, size, count, inflight, version;
	double duration, warmup, hold, timeout;
	const char *groups, *label, *name;
	bool plain;			/* chat: no TLS */
} T = {
	.conns = 16, .size = 64, .count = 2000, .inflight = 64, .version = 13,
	.duration = 5, .warmup = 1, .hold = 1, .timeout = 30, .groups = "X25519",
	.label = "server",
};

enum cstate { C_FREE, C_HANDSHAKE, C_WRITE, C_READ, C_IDLE, C_CLOSED };

struct tconn {
	int fd;
	SSL *ssl;
	enum cstate st;
	uint32_t events;		/* epoll interest now registered */
	uint64_t t_start, t_sent;	/* connect started, message written */
	uint64_t seq;			/* messages done on this connection */
	unsigned got;			/* bytes of the reply so far */
	unsigned char *msg;		/* what was sent (size bytes) */
	char id[5];			/* chat: this client's 4 digits */
	unsigned llen;			/* chat: bytes of a partial line */
	char line[256];
};

static struct {
	int ep;
	SSL_CTX *ctx;
	struct tconn *c;
	unsigned n;
	enum phase phase;
	struct window w;
	struct hist hs, cycle, rtt;
	uint64_t handshakes, msgs, errors, started, verified, deliveries;
	bool chat_go;			/* chat: clients may send */
	unsigned live, proven, lost;
	char err[200];
} S;

static void usage(FILE *f)
{
	fputs(
"usage: tls-bench MODE --port P [options]\n"
"  handshake [--conns C (at a time, default 16)] [--size M] [--duration S]\n"
"            [--warmup S]\n"
"  idle      --server-pid PID [--count K (default 2000)] [--inflight N]\n"
"            [--hold S]\n"
"  echo      [--conns N] [--size M] [--duration S] [--warmup S]\n"
"  chat      [--conns C (clients, default 500)] [--duration S] [--warmup S]\n"
"            [--plain]\n"
"common: --host H (loopback), --label NAME, --server-pid PID, --timeout S,\n"
"  --tls 1.2|1.3 (default 1.3), --groups LIST (default X25519).\n"
"The server must echo what it gets.  One JSON line on stdout.\n", f);
}

static const char *ssl_reason(void)
{
	static char buf[160];
	unsigned long e = ERR_get_error();
	if (!e)
		return errno ? strerror(errno) : "unexpected end of stream";
	ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	return buf;
}

static void set_events(struct tconn *c, uint32_t ev)
{
	if (c->events == ev)
		return;
	struct epoll_event e = { .events = ev, .data.u32 = (uint32_t)(c - S.c) };
	if (epoll_ctl(S.ep, EPOLL_CTL_MOD, c->fd, &e) < 0)
		die("epoll_ctl: %s", strerror(errno));
	c->events = ev;
}

/* Frees the connection's slot (close_notify first when clean). */
static void conn_close(struct tconn *c, bool clean)
{
	if (c->ssl) {
		if (clean)
			SSL_shutdown(c->ssl);	/* sends close_notify, does not wait */
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->st = C_FREE;
	S.live--;
}

static void conn_fail(struct tconn *c, const char *what, const char *why)
{
	if (!S.err[0])
		snprintf(S.err, sizeof S.err, "connection %ld: %s: %s",
		    (long)(c - S.c), what, why);
	if (c->st == C_IDLE)
		S.proven--;
	if (S.phase == P_MEASURE || T.mode != M_HANDSHAKE)
		S.errors++;
	S.lost++;
	conn_close(c, false);
}

/* Starts a TCP connection and a client SSL in slot c. */
static bool conn_start(struct tconn *c, uint64_t now)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(S.err, sizeof S.err, "socket: %s", strerror(errno));
		return false;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&O.dst, sizeof O.dst) < 0 && errno != EINPROGRESS) {
		snprintf(S.err, sizeof S.err, "connect: %s", strerror(errno));
		close(fd);
		return false;
	}
	SSL *ssl = NULL;
	if (!T.plain) {
		ssl = SSL_new(S.ctx);
		if (!ssl || SSL_set_fd(ssl, fd) != 1)
			die("SSL_new: %s", ssl_reason());
		SSL_set_connect_state(ssl);
	}
	c->fd = fd;
	c->ssl = ssl;
	c->llen = 0;
	c->st = C_HANDSHAKE;
	c->t_start = now;
	c->got = 0;
	c->events = EPOLLOUT;
	struct epoll_event e = { .events = EPOLLOUT, .data.u32 = (uint32_t)(c - S.c) };
	if (epoll_ctl(S.ep, EPOLL_CTL_ADD, fd, &e) < 0)
		die("epoll_ctl: %s", strerror(errno));
	S.live++;
	S.started++;
	return true;
}

/* The message number seq of connection i: size bytes that differ from
 * one message and one connection to the next. */
static void fill_msg(struct tconn *c)
{
	uint32_t x = (uint32_t)((c - S.c) * 2654435761u) ^ (uint32_t)(c->seq * 40503u) ^ 0x9e3779b9u;
	for (unsigned i = 0; i < T.size; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		c->msg[i] = (unsigned char)('!' + x % 90);
	}
}

/* SSL_get_error to epoll interest; false when the connection failed. */
static bool want(struct tconn *c, int r, const char *what)
{
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		set_events(c, EPOLLIN);
		return true;
	case SSL_ERROR_WANT_WRITE:
		set_events(c, EPOLLOUT);
		return true;
	case SSL_ERROR_ZERO_RETURN:
		conn_fail(c, what, "closed by the server (close_notify)");
		return false;
	default:
		conn_fail(c, what, ssl_reason());
		return false;
	}
}

static void step(struct tconn *c, uint64_t now);

/* One completed round trip on c. */
static void round_trip_done(struct tconn *c, uint64_t now)
{
	c->seq++;
	switch (T.mode) {
	case M_HANDSHAKE:
		if (S.phase == P_MEASURE) {
			S.handshakes++;
			hist_add(&S.cycle, now - c->t_start);
		}
		conn_close(c, true);
		if (S.phase <= P_MEASURE && conn_start(c, now))
			step(c, now);
		return;
	case M_IDLE:
		c->st = C_IDLE;
		S.proven++;
		set_events(c, EPOLLIN | EPOLLRDHUP);
		return;
	case M_ECHO:
		if (S.phase == P_MEASURE) {
			S.msgs++;
			hist_add(&S.rtt, now - c->t_sent);
		}
		if (S.phase <= P_MEASURE) {
			c->st = C_WRITE;
			step(c, now);
		} else {
			c->st = C_IDLE;
			set_events(c, EPOLLIN | EPOLLRDHUP);
		}
		return;
	case M_CHAT:
		return;		/* chat_step does its own */
	}
}

/* Drives connection c as far as it goes without blocking. */
static void step(struct tconn *c, uint64_t now)
{
	static unsigned char buf[16384];
	for (;;) {
		int r;
		switch (c->st) {
		case C_HANDSHAKE:
			r = SSL_do_handshake(c->ssl);
			if (r != 1) {
				want(c, r, "handshake");
				return;
			}
			if (S.phase == P_MEASURE || T.mode != M_HANDSHAKE)
				hist_add(&S.hs, now - c->t_start);
			c->st = C_WRITE;
			break;
		case C_WRITE:
			fill_msg(c);
			c->t_sent = now;
			c->got = 0;
			c->st = C_READ;
			r = SSL_write(c->ssl, c->msg, (int)T.size);
			if (r <= 0) {
				/* the same buffer and length again on WANT_* */
				c->st = C_WRITE;
				if (SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_WRITE) {
					set_events(c, EPOLLOUT);
					return;
				}
				want(c, r, "write");
				return;
			}
			if ((unsigned)r != T.size) {
				conn_fail(c, "write", "short SSL_write");
				return;
			}
			set_events(c, EPOLLIN);
			break;
		case C_READ:
			r = SSL_read(c->ssl, buf, (int)sizeof buf);
			if (r <= 0) {
				want(c, r, "read");
				return;
			}
			if (c->got + (unsigned)r > T.size) {
				conn_fail(c, "read", "more bytes came back than were sent");
				return;
			}
			if (memcmp(buf, c->msg + c->got, (size_t)r) != 0) {
				conn_fail(c, "read", "the echo differs from what was sent");
				return;
			}
			c->got += (unsigned)r;
			S.verified += (unsigned)r;
			if (c->got == T.size) {
				round_trip_done(c, now);
				return;
			}
			break;
		case C_IDLE:
			/* nothing should come; a close or an error loses it */
			r = SSL_read(c->ssl, buf, (int)sizeof buf);
			if (r > 0)
				continue;
			if (SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ) {
				set_events(c, EPOLLIN | EPOLLRDHUP);
				return;
			}
			want(c, r, "idle");
			return;
		case C_FREE:
		case C_CLOSED:
			return;
		}
	}
}

/* chat: reads (TLS or plain) without blocking: > 0 bytes, 0 after
 * setting the interest that waits, -1 when the connection failed. */
static int chat_read(struct tconn *c, unsigned char *buf, int len)
{
	if (T.plain) {
		ssize_t n = read(c->fd, buf, (size_t)len);
		if (n > 0)
			return (int)n;
		if (n < 0 && errno == EAGAIN)
			return 0;
		conn_fail(c, "read", n == 0 ? "closed by the server" : strerror(errno));
		return -1;
	}
	int r = SSL_read(c->ssl, buf, len);
	if (r > 0)
		return r;
	return want(c, r, "read") ? 0 : -1;
}

/* chat: the next line of c, "~IIII:SEQ:xxx...\n", size bytes */
static void chat_send(struct tconn *c, uint64_t now)
{
	int n = snprintf((char *)c->msg, T.size, "~%s:%08" PRIu64 ":", c->id, c->seq);
	memset(c->msg + n, 'x', T.size - (unsigned)n - 1);
	c->msg[T.size - 1] = '\n';
	c->t_sent = now;
	c->st = C_WRITE;
	int r;
	if (T.plain) {
		ssize_t w = write(c->fd, c->msg, T.size);
		if (w < 0 && errno == EAGAIN) {
			set_events(c, EPOLLIN | EPOLLOUT);
			return;
		}
		r = (int)w;
		if (w <= 0) {
			conn_fail(c, "write", w < 0 ? strerror(errno) : "write returned 0");
			return;
		}
	} else {
		r = SSL_write(c->ssl, c->msg, (int)T.size);
		if (r <= 0) {
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
				set_events(c, EPOLLIN | EPOLLOUT);
				return;
			}
			want(c, r, "write");
			return;
		}
	}
	if ((unsigned)r != T.size) {
		conn_fail(c, "write", "short write");
		return;
	}
	c->st = C_READ;
	set_events(c, EPOLLIN);
}

/* chat: one whole line that c received */
static void chat_line(struct tconn *c, const char *l, size_t n, uint64_t now)
{
	if (S.phase == P_MEASURE)
		S.deliveries++;
	if (c->st != C_READ)
		return;
	const char *t = memchr(l, '~', n);
	if (t && (size_t)(l + n - t) > 5 && !memcmp(t + 1, c->id, 4) && t[5] == ':') {
		if (S.phase == P_MEASURE) {
			S.msgs++;
			hist_add(&S.rtt, now - c->t_sent);
		}
		c->seq++;
		c->st = C_IDLE;
	}
}

static void chat_step(struct tconn *c, uint64_t now)
{
	static unsigned char buf[65536];
	if (c->st == C_HANDSHAKE) {
		if (T.plain) {
			struct sockaddr_in a;
			socklen_t al = sizeof a;
			if (getpeername(c->fd, (struct sockaddr *)&a, &al) < 0) {
				int err = 0;
				socklen_t el = sizeof err;
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
				if (err) {
					conn_fail(c, "connect", strerror(err));
					return;
				}
				set_events(c, EPOLLOUT);
				return;
			}
		} else {
			int r = SSL_do_handshake(c->ssl);
			if (r != 1) {
				want(c, r, "handshake");
				return;
			}
			hist_add(&S.hs, now - c->t_start);
		}
		c->st = C_IDLE;
		set_events(c, EPOLLIN);
	}
	if (c->st == C_WRITE) {
		chat_send(c, now);
		if (c->st == C_FREE || c->st == C_WRITE)
			return;
	}
	for (;;) {
		int n = chat_read(c, buf, (int)sizeof buf);
		if (n < 0)
			return;
		if (n == 0)
			break;
		const unsigned char *p = buf, *end = buf + n;
		while (p < end) {
			const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl) {
				size_t k = (size_t)(end - p);
				if (c->llen + k > sizeof c->line)
					k = sizeof c->line - c->llen;	/* an overlong line: cut */
				memcpy(c->line + c->llen, p, k);
				c->llen += (unsigned)k;
				break;
			}
			if (c->llen) {
				size_t k = (size_t)(nl - p);
				if (c->llen + k > sizeof c->line)
					k = sizeof c->line - c->llen;
				memcpy(c->line + c->llen, p, k);
				chat_line(c, c->line, c->llen + k, now);
				c->llen = 0;
			} else {
				chat_line(c, (const char *)p, (size_t)(nl - p), now);
			}
			p = nl + 1;
		}
		if (n < (int)sizeof buf && T.plain)
			break;
	}
	if (c->st == C_IDLE && S.chat_go && S.phase <= P_MEASURE)
		chat_send(c, now);
}

static void loop_once(int tmo)
{
	struct epoll_event evs[MAXEV];
	int k = epoll_wait(S.ep, evs, MAXEV, tmo);
	if (k < 0 && errno != EINTR)
		die("epoll_wait: %s", strerror(errno));
	uint64_t now = now_ns();
	for (int j = 0; j < k; j++) {
		struct tconn *c = &S.c[evs[j].data.u32];
		if (c->st != C_FREE) {
			if (T.mode == M_CHAT)
				chat_step(c, now);
			else
				step(c, now);
		}
	}
}

static SSL_CTX *client_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		die("SSL_CTX_new: %s", ssl_reason());
	int v = T.version == 12 ? TLS1_2_VERSION : TLS1_3_VERSION;
	if (SSL_CTX_set_min_proto_version(ctx, v) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, v) != 1)
		die("TLS version: %s", ssl_reason());
	if (SSL_CTX_set1_groups_list(ctx, T.groups) != 1)
		die("--groups '%s': %s", T.groups, ssl_reason());
	/* every handshake a full one: no session cache, no tickets kept */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	/* the server's certificate is a throw-away one: not verified here
	 * (its CertificateVerify signature still is, by the handshake) */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* thousands of idle client connections: no record buffers kept */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

static void json_params(void)
{
	jopen("params");
	jstr("host", O.host);
	jint("port", O.port);
	jstr("tls", T.version == 12 ? "1.2" : "1.3");
	jstr("groups", T.groups);
	juint("size", T.size);
	if (T.mode == M_IDLE) {
		juint("count", T.count);
		jdbl("hold", T.hold, 3);
	} else {
		juint("conns", T.conns);
		jdbl("duration", T.duration, 3);
		jdbl("warmup", T.warmup, 3);
	}
	jclose();
}

/* handshake and echo: a timed run with a warm-up and a measured window */
static int run_timed(void)
{
	uint64_t now = now_ns(), t_meas, t_end = 0, t_stop = 0;
	rlim_t lim = raise_nofile();
	if (T.conns + 16 > lim)
		die("--conns %u needs more descriptors than RLIMIT_NOFILE %lu",
		    T.conns, (unsigned long)lim);
	set_budget(T.timeout + T.warmup + T.duration + 15);
	S.phase = P_WARM;
	S.w.t0 = now;

	/* echo: all connections up (and handshaken) before the warm-up, at
	 * most inflight handshakes at a time */
	unsigned started = 0;
	uint64_t deadline = now + (uint64_t)(T.timeout * 1e9);
	for (;;) {
		unsigned pending = 0;
		for (unsigned i = 0; i < started; i++)
			pending += S.c[i].st == C_HANDSHAKE;
		while (started < T.conns && pending < T.inflight) {
			struct tconn *c = &S.c[started++];
			if (!conn_start(c, now))
				die("%s", S.err);
			if (T.mode == M_CHAT) {
				snprintf(c->id, sizeof c->id, "%04u", (unsigned)(c - S.c) % 10000);
				chat_step(c, now);
			} else {
				step(c, now);
			}
			pending += c->st == C_HANDSHAKE;
		}
		if (T.mode == M_HANDSHAKE || (started == T.conns && pending == 0))
			break;
		loop_once(20);
		now = now_ns();
		if (now >= deadline)
			die("%u of %u TLS connections not up after %.0f s", pending + T.conns - started,
			    T.conns, T.timeout);
	}
	if (S.lost)
		die("%u of %u connections failed while connecting: %s", S.lost, T.conns, S.err);
	double connect_s = (double)(now_ns() - S.w.t0) / 1e9;

	now = now_ns();
	if (T.mode == M_CHAT) {
		S.chat_go = true;
		for (unsigned i = 0; i < T.conns; i++)
			if (S.c[i].st == C_IDLE)
				chat_send(&S.c[i], now);
	}
	t_meas = now + (uint64_t)(T.warmup * 1e9);
	while (S.phase != P_DONE) {
		now = now_ns();
		if (S.phase == P_WARM && now >= t_meas) {
			S.phase = P_MEASURE;
			window_open(&S.w, now);
			t_end = now + (uint64_t)(T.duration * 1e9);
		}
		if (S.phase == P_MEASURE && now >= t_end) {
			window_close(&S.w, now);
			S.phase = P_DRAIN;
			t_stop = now + 5 * NS;
		}
		if (S.phase == P_DRAIN) {
			unsigned busy = 0;
			for (unsigned i = 0; i < T.conns; i++)
				busy += S.c[i].st != C_FREE && S.c[i].st != C_IDLE;
			if (busy == 0 || now >= t_stop) {
				if (busy)
					S.errors += busy;	/* unanswered */
				S.phase = P_DONE;
				break;
			}
		}
		int tmo = S.phase == P_WARM ? ms_until(now, t_meas, 100) :
		    S.phase == P_MEASURE ? ms_until(now, t_end, 100) : 50;
		loop_once(tmo);
		/* handshake: a slot a failed connection left free starts again */
		if (T.mode == M_HANDSHAKE && S.phase <= P_MEASURE)
			for (unsigned i = 0; i < T.conns; i++)
				if (S.c[i].st == C_FREE && conn_start(&S.c[i], now_ns()))
					step(&S.c[i], now_ns());
	}
	double secs = window_secs(&S.w);
	bool ok = S.errors == 0;
	jstart(T.name, T.label);
	json_params();
	jopen("results");
	jbool("ok", ok);
	if (T.mode == M_CHAT) {
		double dps = secs > 0 ? (double)S.deliveries / secs : 0;
		jbool("plain", T.plain);
		jdbl("connect_s", connect_s, 3);
		juint("deliveries", S.deliveries);
		jdbl("deliveries_per_s", dps, 1);
		juint("lines", S.msgs);
		jdbl("lat_p50_us", hist_pct_us(&S.rtt, 50), 1);
		jdbl("lat_p99_us", hist_pct_us(&S.rtt, 99), 1);
		fprintf(stderr, "chat %s: %u %s clients, %.1f s: %.0f deliveries/s, %" PRIu64
		    " own lines back (p50 %.0f p99 %.0f us), %" PRIu64 " errors%s%s\n",
		    T.label, T.conns, T.plain ? "plain" : "TLS", secs, dps, S.msgs,
		    hist_pct_us(&S.rtt, 50), hist_pct_us(&S.rtt, 99),
		    S.errors, S.err[0] ? "; first: " : "", S.err);
	} else if (T.mode == M_HANDSHAKE) {
		double hps = secs > 0 ? (double)S.handshakes / secs : 0;
		juint("handshakes", S.handshakes);
		jdbl("handshakes_per_s", hps, 1);
		jdbl("hs_p50_us", hist_pct_us(&S.hs, 50), 1);
		jdbl("hs_p99_us", hist_pct_us(&S.hs, 99), 1);
		jdbl("cycle_p50_us", hist_pct_us(&S.cycle, 50), 1);
		jdbl("cycle_p99_us", hist_pct_us(&S.cycle, 99), 1);
		fprintf(stderr, "handshake %s: %u at a time, TLS %s %s, %.1f s: %.0f handshakes/s "
		    "(handshake p50 %.0f p99 %.0f us, cycle p50 %.0f us), %" PRIu64 " errors%s%s\n",
		    T.label, T.conns, T.version == 12 ? "1.2" : "1.3", T.groups, secs, hps,
		    hist_pct_us(&S.hs, 50), hist_pct_us(&S.hs, 99), hist_pct_us(&S.cycle, 50),
		    S.errors, S.err[0] ? "; first: " : "", S.err);
	} else {
		double mps = secs > 0 ? (double)S.msgs / secs : 0;
		jdbl("connect_s", connect_s, 3);
		juint("msgs", S.msgs);
		jdbl("msgs_per_s", mps, 1);
		jdbl("mb_per_s", mps * T.size / 1e6, 3);
		jdbl("rtt_p50_us", hist_pct_us(&S.rtt, 50), 1);
		jdbl("rtt_p99_us", hist_pct_us(&S.rtt, 99), 1);
		jdbl("rtt_p999_us", hist_pct_us(&S.rtt, 99.9), 1);
		fprintf(stderr, "echo %s: %u TLS %s conns x %u B, %.1f s: %.0f msgs/s, %.2f MB/s, "
		    "rtt p50 %.1f p99 %.1f us; %" PRIu64 " bytes verified, %" PRIu64 " errors%s%s\n",
		    T.label, T.conns, T.version == 12 ? "1.2" : "1.3", T.size, secs, mps,
		    mps * T.size / 1e6, hist_pct_us(&S.rtt, 50), hist_pct_us(&S.rtt, 99),
		    S.verified, S.errors, S.err[0] ? "; first: " : "", S.err);
	}
	juint("bytes_verified", S.verified);
	juint("errors", S.errors);
	if (S.err[0])
		jstr("first_error", S.err);
	json_window(&S.w);
	jend();
	return ok ? 0 : 1;
}

/* idle: K connections proven served, held; the server's RSS growth */
static int run_idle(void)
{
	rlim_t lim = raise_nofile();
	unsigned K = T.count;
	if (K + 16 > lim)
		die("--count %u needs more descriptors than RLIMIT_NOFILE %lu",
		    K, (unsigned long)lim);
	if (O.server_pid <= 0)
		die("idle needs --server-pid to read the server's memory");
	set_budget(2 * T.timeout + T.hold + 10);
	struct srv before, after;
	srv_sample(O.server_pid, &before);
	if (!before.ok)
		die("cannot read /proc/%ld", O.server_pid);

	uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)(T.timeout * 1e9);
	unsigned started = 0;
	while ((started < K || S.proven + S.lost < K) && now_ns() < deadline) {
		uint64_t now = now_ns();
		/* in flight: started and neither proven nor lost */
		while (started < K && started - S.proven - S.lost < T.inflight) {
			struct tconn *c = &S.c[started++];
			if (!conn_start(c, now)) {
				S.lost++;
				continue;
			}
			step(c, now);
		}
		loop_once(20);
	}
	double connect_s = (double)(now_ns() - t0) / 1e9;
	uint64_t hold_end = now_ns() + (uint64_t)(T.hold * 1e9);
	while (now_ns() < hold_end)
		loop_once(ms_until(now_ns(), hold_end, 50));
	srv_sample(O.server_pid, &after);

	double per = S.proven ? (double)(after.rss_kb - before.rss_kb) * 1024.0 / S.proven : 0;
	bool ok = S.proven == K;
	jstart(T.name, T.label);
	json_params();
	jopen("results");
	jbool("ok", ok);
	juint("proven", S.proven);
	juint("lost", S.lost);
	jdbl("connect_s", connect_s, 3);
	jdbl("hs_p50_us", hist_pct_us(&S.hs, 50), 1);
	jint("server_rss_before_kb", before.rss_kb);
	jint("server_rss_after_kb", after.rss_kb);
	jint("server_hwm_kb", after.hwm_kb);
	jint("server_fds_after", after.fds);
	jdbl("bytes_per_conn", per, 1);
	if (S.err[0])
		jstr("first_error", S.err);
	jend();
	fprintf(stderr, "idle %s: %u of %u TLS connections proven served (%.2f s), %u lost; "
	    "server RSS %ld -> %ld kB: %.0f bytes/connection%s%s\n", T.label, S.proven, K,
	    connect_s, S.lost, before.rss_kb, after.rss_kb, per,
	    S.err[0] ? "; first: " : "", S.err);
	return ok ? 0 : 1;
}

enum {
	OPT_HOST = 256, OPT_PORT, OPT_CONNS, OPT_SIZE, OPT_DUR, OPT_WARM, OPT_COUNT,
	OPT_INFLIGHT, OPT_HOLD, OPT_PID, OPT_TIMEOUT, OPT_LABEL, OPT_TLS, OPT_GROUPS,
	OPT_PLAIN, OPT_HELP
};

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "host", 1, NULL, OPT_HOST }, { "port", 1, NULL, OPT_PORT },
		{ "conns", 1, NULL, OPT_CONNS }, { "size", 1, NULL, OPT_SIZE },
		{ "duration", 1, NULL, OPT_DUR }, { "warmup", 1, NULL, OPT_WARM },
		{ "count", 1, NULL, OPT_COUNT }, { "inflight", 1, NULL, OPT_INFLIGHT },
		{ "hold", 1, NULL, OPT_HOLD }, { "server-pid", 1, NULL, OPT_PID },
		{ "timeout", 1, NULL, OPT_TIMEOUT }, { "label", 1, NULL, OPT_LABEL },
		{ "tls", 1, NULL, OPT_TLS }, { "groups", 1, NULL, OPT_GROUPS },
		{ "plain", 0, NULL, OPT_PLAIN },
		{ "help", 0, NULL, OPT_HELP }, { NULL, 0, NULL, 0 }
	};
	const char *host = "127.0.0.1";

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	T.name = argv[1];
	if (!strcmp(T.name, "handshake"))
		T.mode = M_HANDSHAKE;
	else if (!strcmp(T.name, "idle"))
		T.mode = M_IDLE;
	else if (!strcmp(T.name, "echo"))
		T.mode = M_ECHO, T.conns = 1;
	else if (!strcmp(T.name, "chat"))
		T.mode = M_CHAT, T.conns = 500;
	else
		die("unknown mode '%s' (handshake, idle, echo, chat)", T.name);
	optind = 2;
	int opt;
	while ((opt = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		switch (opt) {
		case OPT_HOST: host = optarg; break;
		case OPT_PORT: O.port = (int)uarg("--port", optarg, 1, 65535); break;
		case OPT_CONNS: T.conns = uarg("--conns", optarg, 1, 100000); break;
		case OPT_SIZE: T.size = uarg("--size", optarg, 1, 16384); break;
		case OPT_DUR: T.duration = darg("--duration", optarg, 0.01, 3600); break;
		case OPT_WARM: T.warmup = darg("--warmup", optarg, 0, 600); break;
		case OPT_COUNT: T.count = uarg("--count", optarg, 1, 100000); break;
		case OPT_INFLIGHT: T.inflight = uarg("--inflight", optarg, 1, 100000); break;
		case OPT_HOLD: T.hold = darg("--hold", optarg, 0, 3600); break;
		case OPT_PID: O.server_pid = (long)uarg("--server-pid", optarg, 1, 1u << 30); break;
		case OPT_TIMEOUT: T.timeout = darg("--timeout", optarg, 0.1, 600); break;
		case OPT_LABEL: T.label = optarg; break;
		case OPT_TLS:
			if (!strcmp(optarg, "1.2"))
				T.version = 12;
			else if (!strcmp(optarg, "1.3"))
				T.version = 13;
			else
				die("--tls: 1.2 or 1.3, not '%s'", optarg);
			break;
		case OPT_GROUPS: T.groups = optarg; break;
		case OPT_PLAIN: T.plain = true; break;
		case OPT_HELP: usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc)
		die("unexpected argument '%s'", argv[optind]);
	if (T.plain && T.mode != M_CHAT)
		die("--plain is for chat mode only");
	if (T.mode == M_CHAT && (T.size < 24 || T.conns > 10000))
		die("chat: --size at least 24, at most 10000 clients");
	if (O.port == 0)
		die("--port is required");
	O.dst.sin_family = AF_INET;
	O.dst.sin_port = htons((unsigned short)O.port);
	if (inet_pton(AF_INET, host, &O.dst.sin_addr) != 1)
		die("--host: '%s' is not an IPv4 address", host);
	if ((ntohl(O.dst.sin_addr.s_addr) >> 24) != 127)
		die("--host: %s is not a loopback address; the benchmark stays on 127.0.0.0/8", host);
	snprintf(O.host, sizeof O.host, "%s", host);
	O.mode = T.name;
	O.label = T.label;
	signal(SIGPIPE, SIG_IGN);

	S.n = T.mode == M_IDLE ? T.count : T.conns;
	S.c = xcalloc(S.n, sizeof *S.c);
	unsigned char *msgs = xcalloc(S.n, T.size);
	for (unsigned i = 0; i < S.n; i++) {
		S.c[i].fd = -1;
		S.c[i].msg = msgs + (size_t)i * T.size;
	}
	S.ep = epoll_create1(EPOLL_CLOEXEC);
	if (S.ep < 0)
		die("epoll_create1: %s", strerror(errno));
	S.ctx = client_ctx();
	return T.mode == M_IDLE ? run_idle() : run_timed();
}
