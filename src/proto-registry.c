/*
 * proto-registry.c - the protocol registry: the one place that maps a configured
 * protocol to its table.
 */
#include "autoconfig.h"

#include "chat.h"
#include "echo.h"
#include "metrics.h"
#include "proto-registry.h"
#include "websocket.h"

static const struct proto_ops *const registry[PROTO_COUNT] = {
	[PROTO_CHAT] = &chat_ops,
	[PROTO_ECHO] = &echo_ops,
	[PROTO_METRICS] = &metrics_ops,
	[PROTO_WEBSOCKET] = &websocket_ops,
};

const struct proto_ops *proto_find(enum protocol p)
{
	return (unsigned)p < PROTO_COUNT ? registry[p] : NULL;
}
