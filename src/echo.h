/*
 * echo.h - the echo protocol (RFC 862) over TCP, unix sockets and UDP.
 */
#ifndef CHATD_ECHO_H
#define CHATD_ECHO_H

#include "listener.h"

extern const struct proto_ops echo_ops;

/* Answers every datagram waiting on a UDP echo socket. */
void echo_datagrams(struct listener *);

#endif
