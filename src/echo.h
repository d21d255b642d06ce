/*
 * echo.h - the echo protocol (RFC 862) over TCP, unix sockets and UDP.
 */
#ifndef CHATD_ECHO_H
#define CHATD_ECHO_H

#include "proto.h"

extern const struct proto_ops echo_ops;

#endif
