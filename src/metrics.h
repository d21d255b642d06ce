/*
 * metrics.h - protocol = "metrics" (SPEC 17): GET /metrics in the
 * Prometheus text format, GET /healthz, one request per connection.
 */
#ifndef CHATD_METRICS_H
#define CHATD_METRICS_H

#include "proto.h"

extern const struct proto_ops metrics_ops;

#endif
