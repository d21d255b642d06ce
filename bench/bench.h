/*
 * bench.h - what every part of chatd-bench shares: the parsed options,
 * the small helpers (clock, exit on error, allocation, time budget,
 * descriptor limit) and the entry point of each mode.
 */
#ifndef CHATD_BENCH_H
#define CHATD_BENCH_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <arpa/inet.h>

#define NS 1000000000ull
#define MAXEV 1024

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
	bool src_set;			/* --src-addrs given */
	const char *ws_path;		/* --ws PATH: WebSocket clients (chat, conns) */
	/* echo */
	unsigned conns, size, pipeline;
	/* chat */
	unsigned clients, senders, never_read, window, nr_rcvbuf;
	bool senders_set;		/* --senders given */
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

extern struct opts O;

/* util.c */
uint64_t now_ns(void);
double cpu_now(void);
void sleep_ns(uint64_t ns);
void die(const char *fmt, ...);
void *xcalloc(size_t n, size_t sz);
int ms_until(uint64_t now, uint64_t deadline, int cap);
extern pid_t alarm_child;
void set_budget(double seconds);
rlim_t raise_nofile(void);
unsigned uarg(const char *name, const char *v, unsigned lo, unsigned hi);
double darg(const char *name, const char *v, double lo, double hi);

/* one file per mode: each checks its own options, runs, prints its JSON
 * line and returns the exit status */
int run_echo(void);		/* mode-echo.c */
int run_chat(void);		/* mode-chat.c */
int run_conns(void);		/* mode-conns.c */
int run_startup(void);		/* mode-startup.c */
int run_wait(void);		/* mode-wait.c */
int run_freeport(void);		/* mode-freeport.c */

#endif
