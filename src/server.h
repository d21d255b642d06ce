/*
 * server.h - the daemon's state: config, listeners, rooms, connections,
 * and the loop hooks that tie them together.
 */
#ifndef CHATD_SERVER_H
#define CHATD_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "selector.h"

struct listener;
struct conn;
struct room;

struct stats {
	uint64_t accepted;
	uint64_t rejected;
	uint64_t messages;	/* chat lines delivered to a room / echo reads */
	uint64_t bytes_in;
	uint64_t bytes_out;
};

enum server_state { SERVER_RUNNING, SERVER_STOPPING };

struct server {
	struct selector *sel;
	struct config *cfg;
	char *config_path;		/* own copy; NULL: built-in defaults */
	struct listener *listeners;
	struct room *rooms;
	unsigned nconns;
	unsigned nclosing;		/* closing: flushing, then lingering */
	uint32_t unix_counter;
	struct conn *flush_list;	/* output queued since the last wait */
	struct conn *graveyard;		/* closed, freed after dispatch */
	struct sel_timer *sweep_timer;
	bool sweep_armed;
	struct sel_timer *shutdown_timer;
	enum server_state state;
	int exit_code;
	int verbose;
	bool detached;
};

/* Takes cfg and sets up timers and the flush hook on s->sel; no sockets. */
int server_init(struct server *, struct config *cfg);
/* server_init, then binds or adopts every listener of cfg.  Returns 0, or -1 after logging
 * (the caller exits with EX_OSERR). */
int server_start(struct server *, struct config *cfg);
void server_stop_graceful(struct server *);
void server_free(struct server *);
/* Replaces the config with cfg: listeners added/removed, limits applied.
 * Takes ownership of cfg on success. */
int server_apply_config(struct server *, struct config *cfg);
void server_log_stats(struct server *);
/* Gives the unix sockets chatd created to the user it drops to. */
void server_chown_sockets(struct server *, uid_t uid, gid_t gid);
/* Called by connections when they close, to end a graceful shutdown once
 * the last one is gone. */
void server_conn_gone(struct server *);
void server_arm_sweep(struct server *);

#endif
