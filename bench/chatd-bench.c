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
 * chat and conns take --ws PATH: the clients are then WebSocket clients
 * (RFC 6455 upgrade on PATH, each line one masked text frame, each text
 * frame from the server one line), for a websocket listener or a peer.
 *
 * Each measuring run prints one JSON line on stdout and a human summary
 * on stderr.  Exit status: 0 clean, 1 the run found errors (lost,
 * corrupt or unanswered data, failed connections), 2 usage or setup.
 *
 * Latencies go into a log-linear histogram (128 sub-buckets per power of
 * two: under 1 % error), recorded in nanoseconds, reported in µs.
 *
 * This file is the command line and the mode table.  The parts:
 *   bench.h, util.c      options, clock, die, allocation, time budget
 *   hist.[ch]            the latency histogram
 *   json.[ch]            the one JSON line
 *   proc-stat.[ch]       the server's memory, CPU and fds; CPU busy ticks
 *   net.[ch]             connecting many clients, epoll registration
 *   ws.[ch]              the WebSocket upgrade and frames (--ws)
 *   window.[ch]          the phases and measured window of a timed run
 *   mode-MODE.c          one file per mode
 * Built with -D_GNU_SOURCE (Makefile.am): memmem, IP_BIND_ADDRESS_NO_PORT.
 */
#ifndef __linux__
#error "chatd-bench needs Linux (epoll(7), /proc); the benchmark runs on Linux only"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct opts O;

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
"  (concurrent handshakes, default 64), --ws PATH (chat, conns: WebSocket\n"
"  clients upgrading on PATH).  Loopback addresses only.\n"
"Output: one JSON line on stdout, a summary on stderr.\n", f);
}

enum {
	OPT_HOST = 256, OPT_PORT, OPT_CONNS, OPT_SIZE, OPT_PIPE, OPT_DUR, OPT_WARM,
	OPT_CLIENTS, OPT_SENDERS, OPT_NEVER, OPT_WINDOW, OPT_RATE, OPT_FMT,
	OPT_LTMO, OPT_COUNT, OPT_PROTO, OPT_PID, OPT_SRC, OPT_HOLD, OPT_PROBE,
	OPT_EXPECT, OPT_SETTLE, OPT_TIMEOUT, OPT_LABEL, OPT_INFLIGHT, OPT_NRBUF, OPT_WS, OPT_HELP
};

/* The modes: name, entry point, what the command line must give it. */
struct mode {
	const char *name;
	int (*run)(void);
	bool needs_port;		/* --port (and --host) name the server */
	bool takes_command;		/* the arguments after the options */
};

static const struct mode modes[] = {
	{ "echo", run_echo, true, false },
	{ "chat", run_chat, true, false },
	{ "conns", run_conns, true, false },
	{ "startup", run_startup, true, true },
	{ "wait", run_wait, true, false },
	{ "freeport", run_freeport, false, false },
};

static const struct mode *mode_find(const char *name)
{
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
		if (!strcmp(modes[i].name, name))
			return &modes[i];
	return NULL;
}

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
		{ "ws", 1, NULL, OPT_WS },
		{ "help", 0, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 }
	};
	const char *host = "127.0.0.1";

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
			O.senders_set = true;
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
			O.src_set = true;
			break;
		case OPT_HOLD: O.hold = darg("--hold", optarg, 0, 3600); break;
		case OPT_PROBE: O.probe = optarg; break;
		case OPT_EXPECT: O.expect = optarg; break;
		case OPT_SETTLE: O.settle = darg("--settle", optarg, 0, 60); break;
		case OPT_TIMEOUT: O.timeout = darg("--timeout", optarg, 0.1, 600); break;
		case OPT_LABEL: O.label = optarg; break;
		case OPT_INFLIGHT: O.inflight = uarg("--inflight", optarg, 1, 100000); break;
		case OPT_NRBUF: O.nr_rcvbuf = uarg("--nr-rcvbuf", optarg, 0, 1u << 30); break;
		case OPT_WS:
			if (optarg[0] != '/')
				die("--ws: a path beginning with /, not '%s'", optarg);
			O.ws_path = optarg;
			break;
		case OPT_HELP: usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	const struct mode *m = mode_find(O.mode);
	if (!m)
		die("unknown mode '%s' (echo, chat, conns, startup, wait, freeport)", O.mode);
	if (m->takes_command)
		O.cmd = argv + optind;
	else if (optind < argc)
		die("unexpected argument '%s'", argv[optind]);

	if (m->needs_port) {
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
	}
	return m->run();
}
