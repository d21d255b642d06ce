/*
 * server.c - the daemon as a whole: starting listeners (bound or
 * adopted), applying a reloaded config, graceful shutdown and statistics.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "activation.h"
#include "chat.h"
#include "conn.h"
#include "listener.h"
#include "log.h"
#include "notify.h"
#include "server.h"

#define SWEEP_MS 250

static void before_wait(struct selector *sel, void *arg)
{
	struct server *s = arg;

	(void)sel;
	conn_flush_all(s);
	conn_bury(s);
}

static void sweep(struct selector *sel, void *arg)
{
	struct server *s = arg;

	(void)sel;
	if (conn_sweep(s))
		selector_timer_arm(s->sweep_timer, SWEEP_MS);
	else
		s->sweep_armed = false;
}

void server_arm_sweep(struct server *s)
{
	if (s->sweep_armed)
		return;
	s->sweep_armed = true;
	selector_timer_arm(s->sweep_timer, SWEEP_MS);
}

static void append_listener(struct server *s, struct listener *l)
{
	struct listener **pp = &s->listeners;

	while (*pp != NULL)
		pp = &(*pp)->next;
	*pp = l;
}

static struct listener *find_open_listener(struct server *s, const char *name)
{
	for (struct listener *l = s->listeners; l != NULL; l = l->next)
		if (l->fd != -1 && strcmp(l->conf.name, name) == 0)
			return l;
	return NULL;
}

static void log_listening(const struct listener *l)
{
	log_notice("%s: %s listener on %s%s", l->conf.name,
	    l->conf.protocol == PROTO_CHAT ? "chat" : "echo", l->conf.bind,
	    l->inherited ? " (socket passed in)" : "");
}

int server_init(struct server *s, struct config *cfg)
{
	s->cfg = cfg;
	s->state = SERVER_RUNNING;
	s->sweep_timer = selector_timer_new(s->sel, sweep, s);
	if (s->sweep_timer == NULL)
		return -1;
	selector_before_wait(s->sel, before_wait, s);
	return 0;
}

int server_start(struct server *s, struct config *cfg)
{
	if (server_init(s, cfg) == -1 || activation_collect() == -1)
		return -1;
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		const struct listener_conf *lc = &cfg->listeners[i];
		int fd = activation_take(lc);
		struct listener *l;

		if (fd == ACTIVATION_MISMATCH)
			return -1;
		l = listener_open(s, lc, fd);
		if (l == NULL)
			return -1;
		append_listener(s, l);
	}
	activation_close_unused();
	for (struct listener *l = s->listeners; l != NULL; l = l->next)
		log_listening(l);
	return 0;
}

/* ---- reload -------------------------------------------------------- */

static bool same_socket(const struct listener *l, const struct listener_conf *lc)
{
	return l->conf.protocol == lc->protocol && addr_equal(&l->conf.addr, &lc->addr);
}

static bool address_wanted(const struct config *cfg, const struct addr *a)
{
	for (size_t i = 0; i < cfg->nlisteners; i++)
		if (addr_equal(&cfg->listeners[i].addr, a))
			return true;
	return false;
}

/* A listener that goes away or changes, and whose address the new
 * config gives to a listener (renamed, swapped), must let go of it
 * before anything is bound. */
static void release_wanted_addresses(struct server *s, const struct config *cfg)
{
	for (struct listener *l = s->listeners; l != NULL; l = l->next) {
		const struct listener_conf *lc;

		if (l->fd == -1)
			continue;
		lc = config_find_listener(cfg, l->conf.name);
		if (lc != NULL && same_socket(l, lc))
			continue;
		if (address_wanted(cfg, &l->conf.addr)) {
			log_notice("%s: closing; its address %s moves to another listener",
			    l->conf.name, l->conf.bind);
			listener_close(l);
		}
	}
}

/* Opens, updates or replaces the listener for lc. */
static void apply_listener(struct server *s, const struct listener_conf *lc)
{
	struct listener *old = find_open_listener(s, lc->name), *l;

	if (old != NULL && same_socket(old, lc)) {
		listener_update(old, lc);
		return;
	}
	/* A changed listener keeps serving until its replacement is up. */
	l = listener_open(s, lc, -1);
	if (l == NULL) {
		log_msg(LOG_ERR, "%s: not (re)started; fix the configuration and reload",
		    lc->name);
		return;
	}
	if (old != NULL) {
		log_notice("%s: address or protocol changed", lc->name);
		listener_close(old);
	}
	append_listener(s, l);
	log_listening(l);
}

int server_apply_config(struct server *s, struct config *cfg)
{
	struct listener *l, *next;

	release_wanted_addresses(s, cfg);
	for (size_t i = 0; i < cfg->nlisteners; i++)
		apply_listener(s, &cfg->listeners[i]);
	for (l = s->listeners; l != NULL; l = next) {
		next = l->next;
		if (l->fd == -1 || config_find_listener(cfg, l->conf.name) != NULL)
			continue;
		log_notice("%s: removed; its %u clients stay until they leave",
		    l->conf.name, l->nclients);
		listener_close(l);
		if (l->nclients == 0)
			listener_free(l);
	}
	config_free(s->cfg);
	s->cfg = cfg;
	return 0;
}

/* ---- shutdown ------------------------------------------------------ */

static void shutdown_expired(struct selector *sel, void *arg)
{
	struct server *s = arg;

	(void)sel;
	log_notice("shutdown_timeout reached; closing %u remaining connections", s->nconns);
	for (struct listener *l = s->listeners; l != NULL; l = l->next)
		while (l->oldest != NULL)
			conn_close(l->oldest, "shutdown timeout");
	selector_stop(s->sel);
}

void server_conn_gone(struct server *s)
{
	if (s->state == SERVER_STOPPING && s->nconns == 0)
		selector_stop(s->sel);
}

void server_stop_graceful(struct server *s)
{
	if (s->state == SERVER_STOPPING)
		return;
	s->state = SERVER_STOPPING;
	log_notice("shutting down: %u connections to close", s->nconns);
	for (struct listener *l = s->listeners; l != NULL; l = l->next) {
		struct conn *c, *next;

		listener_close(l);
		for (c = l->oldest; c != NULL; c = next) {
			next = c->next;
			if (c->flags & (CONN_CLOSING | CONN_CLOSED))
				continue;
			if (l->ops->farewell != NULL)
				l->ops->farewell(c, "server shutting down");
			conn_close_after_flush(c, "server shutting down");
		}
	}
	s->shutdown_timer = selector_timer_new(s->sel, shutdown_expired, s);
	if (s->shutdown_timer == NULL)
		selector_stop(s->sel);
	else
		selector_timer_arm(s->shutdown_timer,
		    (int64_t)(s->cfg->shutdown_timeout * 1000.0));
	server_conn_gone(s);
}

void server_chown_sockets(struct server *s, uid_t uid, gid_t gid)
{
	for (struct listener *l = s->listeners; l != NULL; l = l->next)
		listener_chown(l, uid, gid);
}

/* ---- statistics ---------------------------------------------------- */

void server_log_stats(struct server *s)
{
	log_notice("statistics: %u connections", s->nconns);
	for (struct listener *l = s->listeners; l != NULL; l = l->next)
		log_notice("%s: %u clients, %llu accepted, %llu refused, %llu messages, "
		    "%llu bytes in, %llu bytes out%s", l->conf.name, l->nclients,
		    (unsigned long long)l->stats.accepted,
		    (unsigned long long)l->stats.rejected,
		    (unsigned long long)l->stats.messages,
		    (unsigned long long)l->stats.bytes_in,
		    (unsigned long long)l->stats.bytes_out,
		    l->fd == -1 ? " (closed)" : "");
}

void server_free(struct server *s)
{
	/* Listeners are freed here, not by conn_bury's reload clean-up. */
	s->state = SERVER_STOPPING;
	while (s->listeners != NULL) {
		struct listener *l = s->listeners;

		while (l->oldest != NULL)
			conn_close(l->oldest, "exiting");
		listener_close(l);
		conn_bury(s);
		listener_free(l);
	}
	conn_bury(s);
	selector_timer_free(s->sweep_timer);
	selector_timer_free(s->shutdown_timer);
	config_free(s->cfg);
	s->cfg = NULL;
	free(s->config_path);
	s->config_path = NULL;
}
