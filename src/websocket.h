/*
 * websocket.h - the websocket protocol (SPEC 16): an HTTP/1.1 listener
 * serving static files, whose upgraded clients are chat members.
 */
#ifndef CHATD_WEBSOCKET_H
#define CHATD_WEBSOCKET_H

#include "proto.h"

extern const struct proto_ops websocket_ops;

#endif
