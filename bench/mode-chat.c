/*
 * mode-chat.c - chatd-bench chat: C clients in one room, S of them
 * sending self-identifying lines; closed loop (a line is done when every
 * reading client has it) or a fixed rate; deliveries/s, end-to-end
 * latency, exact loss per (receiver, sender), order violations, lines
 * that are not what was sent; optional clients that never read.  With
 * --ws PATH the clients are WebSocket clients: each line goes out as one
 * masked text frame (without its LF), each text frame in is one line.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "hist.h"
#include "json.h"
#include "net.h"
#include "window.h"
#include "ws.h"

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

/* Sends one line p[0..len) ending in LF: as it is, or with --ws as one
 * text frame without the LF. */
static void cli_line(struct chat *ch, struct cli *c, const char *p, size_t len)
{
	if (!O.ws_path) {
		cli_write(ch, c, p, len);
		return;
	}
	char f[1100 + WS_MAX_HDR];
	cli_write(ch, c, f, ws_frame(f, 1, p, len - 1));
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
	cli_line(ch, &ch->c[s->cli], line, ch->payload_len + 1);
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
		while (O.ws_path) {		/* frames: each text frame is a line */
			unsigned op;
			char *pl;
			size_t plen, fl = ws_parse(buf + pos, end - pos, &op, &pl, &plen);
			if (fl == 0)
				break;
			pos += fl;
			if (op == 1 || op == 0) {
				chat_line(ch, r, pl, plen, now);
			} else if (op == 9) {
				char f[125 + WS_MAX_HDR];
				cli_write(ch, r, f, ws_frame(f, 10, pl, plen > 125 ? 125 : plen));
			} else if (op == 8) {
				cli_kill(ch, r, "close frame from the server");
			} else if (op != 10) {
				ch->other_lines++;
			}
			if (r->dead)
				return;
		}
		for (; !O.ws_path;) {
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
	jstart(O.mode, O.label);
	jopen("results");
	jbool("ok", false);
	jstr("error", error);
	juint(key, v);
	jend();
	return 2;
}

int run_chat(void)
{
	if (!O.senders_set)
		O.senders = O.clients;
	if (O.senders > O.clients)
		die("--senders %u is more than --clients %u", O.senders, O.clients);
	if (O.size < HDR_LEN + 2 || O.size > 1000)
		die("chat --size: from %u to 1000 bytes (a line and its LF)", HDR_LEN + 2);
	if (O.ws_path && O.fmt == FMT_NCAT)
		die("--ws: ncat speaks no WebSocket");
	if (O.fmt == FMT_NCAT && O.clients < 2)
		die("ncat does not echo a line to its sender: use at least 2 clients");
	digits_init();

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
	if (O.ws_path) {
		unsigned wup = ws_upgrade_all(fds, ch->nall, infl, O.timeout);
		if (wup < ch->nall) {
			fprintf(stderr, "chatd-bench: chat: only %u of %u clients upgraded to "
			    "WebSocket: %s\n", wup, ch->nall, connect_err);
			return chat_fail("upgrade failed", "upgraded", wup);
		}
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
			cli_line(ch, &ch->c[0], p, (size_t)n);
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

	jstart(O.mode, O.label);
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
	jstr("ws", O.ws_path ? O.ws_path : "");
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
