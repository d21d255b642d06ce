/*
 * ws.h - chatd-bench as a WebSocket client (--ws PATH): the RFC 6455
 * upgrade of connections connect_all opened, masked text frames out,
 * the server's frames in.
 */
#ifndef CHATD_BENCH_WS_H
#define CHATD_BENCH_WS_H

#include <stddef.h>
#include <stdint.h>

#define WS_MAX_HDR 14		/* 2 + 8 length + 4 mask */

/* Upgrades the connected sockets fds[0..n-1] (-1 entries skipped) on
 * O.ws_path, at most inflight at a time; a socket that does not get 101
 * is closed and set to -1 (the reason in connect_err).  Only the response
 * head is consumed: frames after it stay in the socket.  Returns how many
 * were upgraded. */
unsigned ws_upgrade_all(int *fds, unsigned n, unsigned inflight, double timeout);

/* Writes one masked frame (FIN, opcode op) of p[0..len) to out, which has
 * room for len + WS_MAX_HDR bytes; returns its length. */
size_t ws_frame(char *out, unsigned op, const char *p, size_t len);

/* One frame at p[0..n): returns its total length and sets *op, *payload
 * (unmasked in place when the frame was masked) and *plen; 0 when the
 * frame is not complete yet. */
size_t ws_parse(char *p, size_t n, unsigned *op, char **payload, size_t *plen);

#endif
