/*
 * proto-registry.h - the one place a configured protocol is looked up.
 * Apart from proto.h (the interface every layer may see), so that the
 * connection layer does not depend on the protocols it serves.
 */
#ifndef CHATD_PROTO_REGISTRY_H
#define CHATD_PROTO_REGISTRY_H

#include "config.h"
#include "proto.h"

/* The table for a configured protocol; NULL if not built in. */
const struct proto_ops *proto_find(enum protocol);

#endif
