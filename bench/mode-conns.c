/*
 * mode-conns.c - chatd-bench conns: K idle connections from several
 * 127.0.0.x source addresses, each proven served by one round trip; the
 * server's VmRSS before and after, bytes per connection.  With --ws PATH
 * they are WebSocket connections (upgraded first; the probe, without its
 * line end, goes as one text frame).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bench.h"
#include "json.h"
#include "net.h"
#include "proc-stat.h"
#include "ws.h"

int run_conns(void)
{
	if (!O.src_set)
		O.src_addrs = 8;
	if (O.inflight == 64)
		O.inflight = 256;
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
	unsigned up = 0;
	if (!O.ws_path) {
		up = connect_all(fds, K, O.src_addrs, O.inflight, O.timeout, false);
	} else {
		/* as clients that upgrade once connected: --inflight at a time
		 * connect and upgrade, so the server never holds more request
		 * heads than that */
		if (O.proto_echo)
			die("--ws: with --proto chat only");
		for (unsigned off = 0; off < K; off += O.inflight) {
			unsigned m = K - off < O.inflight ? K - off : O.inflight;
			connect_all(fds + off, m, O.src_addrs, O.inflight, O.timeout, false);
			up += ws_upgrade_all(fds + off, m, O.inflight, O.timeout);
		}
	}
	double connect_s = (double)(now_ns() - t0) / 1e9;

	int ep = epoll_create1(EPOLL_CLOEXEC);
	const char *probe = O.probe ? O.probe : (O.proto_echo ? "x" : "/bench-ping\r\n");
	const char *expect = O.expect ? O.expect : (O.proto_echo ? "x" : "* error");
	size_t plen = strlen(probe), elen = strlen(expect);
	char wprobe[256 + WS_MAX_HDR];
	if (O.ws_path) {
		size_t tl = plen;
		while (tl && (probe[tl - 1] == '\n' || probe[tl - 1] == '\r'))
			tl--;
		if (tl > 256)
			die("--probe: at most 256 bytes with --ws");
		plen = ws_frame(wprobe, 1, probe, tl);
		probe = wprobe;
	}
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
	jstart(O.mode, O.label);
	jopen("params");
	jstr("host", O.host);
	jint("port", O.port);
	juint("count", K);
	jstr("proto", O.proto_echo ? "echo" : O.ws_path ? "websocket" : "chat");
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
