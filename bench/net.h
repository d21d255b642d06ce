/*
 * net.h - connecting to the server under test (O.dst): many
 * non-blocking connections at a bounded number of handshakes, one
 * blocking probe; epoll registration that must not fail.
 */
#ifndef CHATD_BENCH_NET_H
#define CHATD_BENCH_NET_H

#include <stdbool.h>
#include <stdint.h>

extern char connect_err[128];	/* why the last connection failed */
extern int connect_rcvbuf;	/* SO_RCVBUF before connecting, when > 0 */

unsigned connect_all(int *fds, unsigned n, unsigned nsrc, unsigned inflight,
    double timeout, bool greeting);
bool try_connect(void);
void ep_set(int ep, int op, int fd, uint32_t events, uint32_t id);

#endif
