/*
 * conn-internal.h - what conn.c and conn-pool.c share; not for other
 * files.
 */
#ifndef CHATD_CONN_INTERNAL_H
#define CHATD_CONN_INTERNAL_H

#include <stdbool.h>

#include "conn.h"
#include "transport.h"

static inline const struct listener_conf *conf_of(const struct conn *c)
{
	return c->ep->conf;
}

/* Bytes the transport has decoded that the selector will not report. */
static inline bool transport_has_bytes(const struct conn *c)
{
	return c->tr_ops->pending != NULL && c->tr_ops->pending(c) > 0;
}

/* conn.c */
void touch(struct conn *);		/* records input; keeps the idle order */
void list_unlink(struct conn *);
void list_append(struct conn *);
void update_interest(struct conn *);
void conn_read(struct conn *);

/* conn-pool.c */
void arm_sweep(struct conn_pool *);
/* Puts c on the wake list, due at time at (ms). */
void add_wake(struct conn *, int64_t at);
/* The transport holds decoded bytes the selector will not report: gives
 * c a turn at once, unless it is closed or held (the hold's wake-up
 * reads them). */
void wake_for_transport(struct conn *);

#endif
