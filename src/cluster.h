/*
 * cluster.h - rooms across chatd nodes over Redis pub/sub (SPEC 18).
 *
 * One publish and one subscribe connection to cluster.redis.  Local
 * events become one PUBLISH each on PREFIX:room:NAME; a node subscribes
 * to the rooms it serves.  Presence is a sorted set per room,
 * PREFIX:presence:ROOM, of "NODE\nNAME" scored by expiry (ms since the
 * epoch), refreshed by a heartbeat; a nickname is claimed atomically in
 * that set.  Redis trouble never blocks or breaks local chat.
 */
#ifndef CHATD_CLUSTER_H
#define CHATD_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "relay.h"

struct selector;
struct cluster;

/* Where remote events go (the server points these at chat). */
struct cluster_sink {
	void (*event)(const char *room, enum relay_kind, bool announce,
	    const char *node, const char *name, size_t namelen,
	    const char *text, size_t textlen);
	void (*nick_result)(void *token, bool granted);
};

struct cluster_stats {
	uint64_t published;	/* PUBLISH sent */
	uint64_t received;	/* remote events delivered */
	uint64_t dropped_down;	/* not sent: Redis unavailable */
	uint64_t dropped_full;	/* not sent: queue toward Redis full */
	uint64_t bad_payloads;
	uint64_t reconnects;
	bool up;		/* both links connected */
};

/* Resolves password "credential:NAME" and starts connecting; NULL with
 * a message in err (bad address, unreadable credential). */
struct cluster *cluster_new(struct selector *, const struct cluster_conf *,
    const struct cluster_sink *, char *err, size_t errlen);
void cluster_free(struct cluster *);
const struct relay *cluster_relay(struct cluster *);
const struct cluster_stats *cluster_stats(const struct cluster *);
/* True when a reload with conf needs a new cluster (another Redis,
 * node, prefix, password or ttl). */
bool cluster_conf_changed(const struct cluster *, const struct cluster_conf *);
const char *cluster_library_version(void);

#endif
