/*
 * server.c - the daemon as a whole: starting listeners (bound or
 * adopted), applying a reloaded config all or nothing, graceful shutdown
 * and statistics.  What outlives a loop iteration is decided here, in
 * the before-wait hook: closed connections and listeners are freed, and
 * a graceful shutdown ends once the last connection is gone.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "activation.h"
#include "chat.h"
#include "conn.h"
#include "listener.h"
#include "log.h"
#include "metrics-figures.h"
#include "proto.h"
#include "server.h"
#ifdef HAVE_TLS
#include "tls.h"
#endif
#ifdef HAVE_CLUSTER
#include "cluster.h"
#endif

#define FLUSH_MIN_MS 10000	/* a closing client's least time to take its output */

static void free_unused_listeners(struct server *s)
{
	struct listener **pp = &s->listeners, *l;

	/* Listeners closed by a reload live until their last client left. */
	while ((l = *pp) != NULL)
		if (l->fd == -1 && l->ep.nclients == 0 && s->state == SERVER_RUNNING) {
			*pp = l->next;
			listener_free(l);
		} else
			pp = &l->next;
}

/* Connections a graceful shutdown waits for: not those of listeners
 * that serve through it (metrics). */
static unsigned draining(const struct server *s)
{
	unsigned n = s->pool.nconns;

	for (const struct listener *l = s->listeners; l != NULL; l = l->next)
		if (l->ep.proto->serves_shutdown)
			n -= l->ep.nclients;
	return n;
}

static void before_wait(struct selector *sel, void *arg)
{
	struct server *s = arg;

	conn_flush_all(&s->pool);
	conn_free_closed(&s->pool);
	free_unused_listeners(s);
	if (s->state == SERVER_STOPPING && draining(s) == 0)
		selector_stop(sel);
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
	log_notice("%s: %s%s listener on %s%s", l->conf.name, listener_protocol_name(l),
	    l->tls != NULL ? " (TLS)" : "", l->conf.bind,
	    l->inherited ? " (socket passed in)" : "");
}

static void apply_limits(struct server *s)
{
	int64_t ms = (int64_t)(s->cfg->shutdown_timeout * 1000.0);

	s->owner.max_connections = s->cfg->max_connections;
	/* During a shutdown the shutdown_timeout is the bound that counts. */
	s->pool.close_bound_ms = ms > FLUSH_MIN_MS ? ms : FLUSH_MIN_MS;
}

int server_init(struct server *s, struct config *cfg)
{
	s->cfg = cfg;
	s->state = SERVER_RUNNING;
	s->owner.accepting = true;
	figures_started();
	if (conn_pool_init(&s->pool, s->sel) == -1)
		return -1;
	apply_limits(s);
	selector_before_wait(s->sel, before_wait, s);
	return 0;
}

/* The TLS context for lc, or NULL for plaintext; -1 in *failed after
 * logging when its files do not load. */
static struct tls_ctx *prepare_tls(const struct listener_conf *lc, bool *failed)
{
	*failed = false;
	if (lc->tls == NULL)
		return NULL;
#ifdef HAVE_TLS
	{
		char err[512];
		struct tls_ctx *t = tls_ctx_new(lc->tls, lc->name, err, sizeof(err));

		if (t == NULL) {
			log_msg(LOG_ERR, "%s", err);
			*failed = true;
		}
		return t;
	}
#else
	*failed = true;
	return NULL;
#endif
}

int server_check_tls(const struct config *cfg, char *err, size_t errlen)
{
	if (errlen > 0)
		err[0] = '\0';
#ifdef HAVE_TLS
	size_t used = 0;
	int bad = 0;

	for (size_t i = 0; i < cfg->nlisteners; i++) {
		const struct listener_conf *lc = &cfg->listeners[i];
		char one[1024];
		struct tls_ctx *t;
		int n;

		if (lc->tls == NULL)
			continue;
		t = tls_ctx_new(lc->tls, lc->name, one, sizeof(one));
		if (t != NULL) {
			tls_ctx_free(t);
			continue;
		}
		bad = -1;
		n = snprintf(err + used, errlen - used, "%s%s", used > 0 ? "\n" : "", one);
		if (n > 0 && (size_t)n < errlen - used)
			used += (size_t)n;
	}
	return bad;
#else
	/* Without TLS a tls group is already a config error. */
	(void)cfg;
	return 0;
#endif
}

static void drop_tls(struct tls_ctx *t)
{
#ifdef HAVE_TLS
	tls_ctx_free(t);
#else
	(void)t;
#endif
}

/* ---- the cluster (SPEC 18) ---------------------------------------- */

#ifdef HAVE_CLUSTER
/* Remote events go to chat; chat sees only the relay. */
static const struct cluster_sink chat_sink = { chat_remote_event, chat_nick_claimed };
#endif

/* Before the listeners: their rooms open on the relay as they come.
 * Redis need not be there: the cluster keeps trying. */
static int start_cluster(struct server *s, const struct config *cfg)
{
	if (cfg->cluster == NULL)
		return 0;
#ifdef HAVE_CLUSTER
	{
		char err[512];

		s->cluster = cluster_new(s->sel, cfg->cluster, &chat_sink, err, sizeof(err));
		if (s->cluster == NULL) {
			log_msg(LOG_ERR, "cluster: %s", err);
			return -1;
		}
		chat_set_relay(cluster_relay(s->cluster));
		log_notice("cluster: node %s, prefix %s, redis %s",
		    cfg->cluster->node != NULL ? cfg->cluster->node : "(host name)",
		    cfg->cluster->prefix != NULL ? cfg->cluster->prefix : "chatd",
		    cfg->cluster->redis);
	}
	return 0;
#else
	/* Without cluster support the group is a config error already. */
	(void)s;
	return -1;
#endif
}

/* A reload keeps the running cluster: its settings need a restart. */
static void reload_cluster(const struct server *s, const struct config *cfg)
{
#ifdef HAVE_CLUSTER
	bool changed = s->cluster == NULL ? cfg->cluster != NULL :
	    cfg->cluster == NULL || cluster_conf_changed(s->cluster, cfg->cluster);

	if (changed)
		log_notice("cluster: settings changed; they take effect when chatd is restarted");
#else
	(void)s;
	(void)cfg;
#endif
}

static void stop_cluster(struct server *s)
{
	chat_set_relay(NULL);
#ifdef HAVE_CLUSTER
	cluster_free(s->cluster);
#endif
	s->cluster = NULL;
}

int server_start(struct server *s, struct config *cfg)
{
	if (server_init(s, cfg) == -1 || activation_collect() == -1 ||
	    start_cluster(s, cfg) == -1)
		return -1;
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		const struct listener_conf *lc = &cfg->listeners[i];
		int fd = activation_take(lc);
		struct listener *l;
		struct tls_ctx *tls;
		bool failed;

		if (fd == ACTIVATION_MISMATCH)
			return -1;
		tls = prepare_tls(lc, &failed);
		if (failed) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		l = listener_open(&s->pool, &s->owner, lc, fd, fd >= 0, tls);
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

/* What a reload does with one listener of the new config, decided and
 * prepared (sockets bound, certificates loaded) before anything changes. */
struct plan {
	const struct listener_conf *lc;
	struct listener *keep;		/* same name, same socket: update it */
	struct listener *donor;		/* an old listener whose socket it takes */
	int fd;				/* newly bound, or -1 */
	bool created_unix;
	struct tls_ctx *tls;
};

static bool same_socket(const struct listener *l, const struct listener_conf *lc)
{
	return l->conf.protocol == lc->protocol && addr_equal(&l->conf.addr, &lc->addr);
}

/* An open listener serving a as a socket of the same type: its socket
 * moves to the listener that wants the address (renamed, swapped, or a
 * changed protocol), so the address is never unserved. */
static struct listener *socket_donor(struct server *s, const struct addr *a,
    const struct plan *plans, size_t n)
{
	for (struct listener *l = s->listeners; l != NULL; l = l->next) {
		bool taken = false;

		if (l->fd == -1 || !addr_equal(&l->conf.addr, a) || l->conf.addr.socktype != a->socktype)
			continue;
		for (size_t i = 0; i < n; i++)
			if (plans[i].keep == l || plans[i].donor == l)
				taken = true;
		if (!taken)
			return l;
	}
	return NULL;
}

static void undo_plans(struct plan *plans, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (plans[i].fd != -1) {
			close(plans[i].fd);
			if (plans[i].created_unix)
				unlink(((const struct sockaddr_un *)&plans[i].lc->addr.ss)->sun_path);
		}
		drop_tls(plans[i].tls);
	}
}

static int prepare_plan(struct server *s, struct plan *plans, size_t i)
{
	struct plan *p = &plans[i];
	struct listener *old = find_open_listener(s, p->lc->name);
	bool failed;

	p->fd = -1;
	p->tls = prepare_tls(p->lc, &failed);
	if (failed)
		return -1;
	if (old != NULL && same_socket(old, p->lc)) {
		p->keep = old;
		return 0;
	}
	p->donor = socket_donor(s, &p->lc->addr, plans, i);
	if (p->donor != NULL)
		return 0;
	p->fd = listener_bind(p->lc, &p->created_unix);
	if (p->fd == -1) {
		log_msg(LOG_ERR, "%s: cannot listen on %s: %s", p->lc->name, p->lc->bind,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static void commit_plan(struct server *s, struct plan *p)
{
	struct listener *l, *old;
	bool inherited = false;
	int fd = p->fd;

	if (p->keep != NULL) {
		listener_update(p->keep, p->lc, p->tls);
		return;
	}
	old = find_open_listener(s, p->lc->name);
	if (p->donor != NULL) {
		inherited = p->donor->inherited;
		if (p->donor != old)
			log_notice("%s: its address %s moves to listener %s",
			    p->donor->conf.name, p->donor->conf.bind, p->lc->name);
		fd = listener_release_fd(p->donor);
	}
	l = listener_open(&s->pool, &s->owner, p->lc, fd, inherited, p->tls);
	if (l == NULL) {
		log_msg(LOG_ERR, "%s: not (re)started; fix the configuration and reload",
		    p->lc->name);
		return;
	}
	if (old != NULL && old != l) {
		log_notice("%s: address or protocol changed", p->lc->name);
		listener_close(old);
	}
	append_listener(s, l);
	log_listening(l);
}

static void close_removed(struct server *s, const struct config *cfg)
{
	for (struct listener *l = s->listeners; l != NULL; l = l->next) {
		if (l->fd == -1 || config_find_listener(cfg, l->conf.name) != NULL)
			continue;
		log_notice("%s: removed; its %u clients stay until they leave",
		    l->conf.name, l->ep.nclients);
		listener_close(l);
	}
}

int server_apply_config(struct server *s, struct config *cfg)
{
	struct plan *plans = calloc(cfg->nlisteners + 1, sizeof(*plans));

	if (plans == NULL) {
		log_msg(LOG_ERR, "reload: out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		plans[i].lc = &cfg->listeners[i];
		plans[i].fd = -1;
	}
	for (size_t i = 0; i < cfg->nlisteners; i++)
		if (prepare_plan(s, plans, i) == -1) {
			undo_plans(plans, cfg->nlisteners);
			free(plans);
			return -1;
		}
	for (size_t i = 0; i < cfg->nlisteners; i++)
		commit_plan(s, &plans[i]);
	free(plans);
	close_removed(s, cfg);
	reload_cluster(s, cfg);
	config_free(s->cfg);
	s->cfg = cfg;
	apply_limits(s);
	return 0;
}

/* ---- shutdown ------------------------------------------------------ */

static void close_all(struct server *s, const char *reason)
{
	for (struct listener *l = s->listeners; l != NULL; l = l->next)
		while (l->ep.oldest != NULL)
			conn_close(l->ep.oldest, CLOSE_SHUTDOWN, reason);
}

static void shutdown_expired(struct selector *sel, void *arg)
{
	struct server *s = arg;

	log_notice("shutdown_timeout reached; closing %u remaining connections",
	    s->pool.nconns);
	close_all(s, "shutdown timeout");
	selector_stop(sel);
}

void server_stop_graceful(struct server *s)
{
	if (s->state == SERVER_STOPPING)
		return;
	s->state = SERVER_STOPPING;
	s->owner.accepting = false;
	s->pool.stopping = true;
	daemon_counters.stopping = true;	/* /healthz says 503 */
	log_notice("shutting down: %u connections to close", s->pool.nconns);
	for (struct listener *l = s->listeners; l != NULL; l = l->next) {
		struct conn *c, *next;

		if (l->ep.proto->serves_shutdown)
			continue;
		listener_close(l);
		for (c = l->ep.oldest; c != NULL; c = next) {
			next = c->next;
			if (c->flags & (CONN_CLOSING | CONN_CLOSED))
				continue;
			if (l->ep.proto->farewell != NULL && !(c->flags & CONN_HANDSHAKE))
				l->ep.proto->farewell(c, "server shutting down");
			conn_close_after_flush(c, CLOSE_SHUTDOWN, "server shutting down");
		}
	}
	s->shutdown_timer = selector_timer_new(s->sel, shutdown_expired, s);
	if (s->shutdown_timer == NULL)
		selector_stop(s->sel);
	else
		selector_timer_arm(s->shutdown_timer,
		    (int64_t)(s->cfg->shutdown_timeout * 1000.0));
}

void server_chown_sockets(struct server *s, uid_t uid, gid_t gid)
{
	for (struct listener *l = s->listeners; l != NULL; l = l->next)
		listener_chown(l, uid, gid);
}

/* ---- statistics ---------------------------------------------------- */

/* The same figures a metrics scrape renders (metrics-figures.c). */
void server_log_stats(struct server *s)
{
	struct figures f = { 0 };	/* figures_collect clears it; cppcheck cannot see that */

	if (figures_collect(&f, &s->pool) == -1) {
		log_warnx("statistics: out of memory");
		return;
	}
	figures_log(&f);
	figures_free(&f);
}

void server_free(struct server *s)
{
	s->state = SERVER_STOPPING;
	s->pool.stopping = true;
	close_all(s, "exiting");
	conn_free_closed(&s->pool);
	while (s->listeners != NULL) {
		struct listener *l = s->listeners;

		s->listeners = l->next;
		listener_close(l);
		listener_free(l);
	}
	stop_cluster(s);
	conn_pool_free(&s->pool);
	selector_timer_free(s->shutdown_timer);
	s->shutdown_timer = NULL;
	config_free(s->cfg);
	s->cfg = NULL;
	free(s->config_path);
	s->config_path = NULL;
}
