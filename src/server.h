/*
 * server.h - the daemon as a whole: config, listeners, the connection
 * pool, and the loop hook that decides what outlives a loop iteration.
 */
#ifndef CHATD_SERVER_H
#define CHATD_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "conn.h"
#include "listener.h"
#include "selector.h"

enum server_state { SERVER_RUNNING, SERVER_STOPPING };

struct cluster;

struct server {
	struct selector *sel;
	struct config *cfg;
	char *config_path;		/* own copy; NULL: built-in defaults */
	struct listener *listeners;
	struct conn_pool pool;
	struct listener_owner owner;	/* what every listener may ask */
	struct sel_timer *shutdown_timer;
	struct cluster *cluster;	/* NULL: not clustered (SPEC 18) */
	enum server_state state;
	int exit_code;
	int verbose;
	bool detached;
};

/* Takes cfg and sets up the pool and the before-wait hook on s->sel; no
 * sockets. */
int server_init(struct server *, struct config *cfg);
/* server_init, then binds or adopts every listener of cfg.  Returns 0, or -1 after logging
 * (the caller exits with EX_OSERR). */
int server_start(struct server *, struct config *cfg);
void server_stop_graceful(struct server *);
void server_free(struct server *);
/* Replaces the config with cfg, all or nothing: every new socket is
 * bound (and every certificate loaded) before anything changes.  Takes
 * cfg on success; returns -1 (cfg still the caller's) after logging. */
int server_apply_config(struct server *, struct config *cfg);
void server_log_stats(struct server *);
/* Loads every listener's certificate and key as a start or reload
 * would (chatd -t).  Returns -1 with one "FILE:LINE: ..." line per
 * failing listener in err. */
int server_check_tls(const struct config *cfg, char *err, size_t errlen);
/* Gives the unix sockets chatd created to the user it drops to. */
void server_chown_sockets(struct server *, uid_t uid, gid_t gid);

#endif
