/*
 * listener.c - binding or adopting a listening socket and accepting on it.
 *
 * accept4() runs in a loop until EAGAIN (bounded, for fairness).  When the
 * process runs out of descriptors the listener stops polling for a while
 * instead of spinning on a backlog it cannot drain.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn.h"
#include "fault.h"
#include "listener.h"
#include "log.h"
#include "proto.h"
#include "proto-registry.h"
#ifdef HAVE_TLS
#include "tls.h"
#endif

#define ACCEPT_BATCH 256
#define BACKOFF_MS 250

static int set_flags(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static bool listener_full(const struct listener *l)
{
	unsigned max = l->owner->max_connections;

	return (max > 0 && l->ep.pool->nconns >= max) ||
	    (l->conf.max_clients > 0 && l->ep.nclients >= l->conf.max_clients);
}

/* ---- binding ------------------------------------------------------- */

/* A unix socket path left behind by a dead daemon is removed; one that
 * still answers belongs to somebody else and is left alone. */
static void remove_stale_unix(const struct sockaddr_un *sun, socklen_t len)
{
	struct stat st;
	int fd;

	if (lstat(sun->sun_path, &st) == -1 || !S_ISSOCK(st.st_mode))
		return;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd == -1)
		return;
	if (connect(fd, (const struct sockaddr *)sun, len) == -1 && errno == ECONNREFUSED)
		unlink(sun->sun_path);
	close(fd);
}

static int bind_socket(const struct addr *a, int backlog, bool reuseport)
{
	int fd, on = 1, off = 0;
	int family = a->ss.ss_family;

	fd = socket(family, a->socktype, 0);
	if (fd == -1)
		return -1;
	if (set_flags(fd) == -1)
		goto fail;
	if (family != AF_UNIX)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
#ifdef SO_REUSEPORT
	/* Several chatd processes share the port (one per core). */
	if (reuseport && family != AF_UNIX &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1)
		goto fail;
#else
	if (reuseport) {
		errno = ENOTSUP;
		goto fail;
	}
#endif
	if (family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
		    a->any_dualstack ? &off : &on, sizeof(on));
	if (family == AF_UNIX)
		remove_stale_unix((const struct sockaddr_un *)&a->ss, a->len);
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1)
		goto fail;
	if (a->socktype == SOCK_STREAM && listen(fd, backlog) == -1)
		goto fail;
	return fd;
fail:
	{
		int saved = errno;

		close(fd);
		errno = saved;
	}
	return -1;
}

int listener_bind(const struct listener_conf *conf, bool *created_unix)
{
	struct addr v4;
	int fd = bind_socket(&conf->addr, conf->backlog, conf->reuseport);

	*created_unix = false;
	if (fd == -1 && conf->addr.any_dualstack &&
	    (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
		addr_ipv4_fallback(&conf->addr, &v4);
		fd = bind_socket(&v4, conf->backlog, conf->reuseport);
	}
	if (fd == -1)
		return -1;
	if (conf->addr.ss.ss_family == AF_UNIX) {
		const struct sockaddr_un *sun = (const struct sockaddr_un *)&conf->addr.ss;

		*created_unix = true;
		if (conf->mode >= 0 && chmod(sun->sun_path, (mode_t)conf->mode) == -1)
			log_warn("%s: chmod %s", conf->name, sun->sun_path);
	}
	return fd;
}

void listener_chown(struct listener *l, uid_t uid, gid_t gid)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&l->conf.addr.ss;

	if (l->fd == -1 || !l->unlink_on_close)
		return;
	if (chown(sun->sun_path, uid, gid) == -1)
		log_warn("%s: chown %s", l->conf.name, sun->sun_path);
}

/* ---- accepting ----------------------------------------------------- */

static void resume_accept(struct selector *sel, void *arg)
{
	struct listener *l = arg;

	(void)sel;
	if (l->fd == -1 || !l->paused)
		return;
	l->paused = false;
	if (selector_mod(l->ep.pool->sel, l->fd, SEL_READ) == -1)
		log_warn("%s: cannot resume accepting", l->conf.name);
}

static void pause_accept(struct listener *l, int err)
{
	log_msg(LOG_WARNING, "%s: accept: %s; pausing %d ms", l->conf.name,
	    strerror(err), BACKOFF_MS);
	l->paused = true;
	selector_mod(l->ep.pool->sel, l->fd, 0);
	selector_timer_arm(l->backoff, BACKOFF_MS);
}

static void reject_full(struct listener *l, int fd)
{
	const char *full = l->ep.proto->full_notice;

	l->ep.stats.rejected[l->owner->accepting ? REJECT_FULL : REJECT_SHUTDOWN]++;
	/* Over TLS the notice could not be read before a handshake. */
	if (full != NULL && l->tls == NULL)
		(void)send(fd, full, strlen(full), MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
	log_info("%s: refused a client: server full", l->conf.name);
}

static void tune_socket(int fd, int family)
{
	int on = 1;

	if (family == AF_INET || family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

static int accept_one(struct listener *l, struct sockaddr_storage *peer, socklen_t *len)
{
	int fd;

	*len = sizeof(*peer);
	/* What accept(2) may say about one connection or about resources. */
	FAULT_RETURN("chatd/net/accept", -1, ECONNABORTED, EMFILE, EINTR, ENOBUFS, EPROTO);
#ifdef HAVE_ACCEPT4
	fd = accept4(l->fd, (struct sockaddr *)peer, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
	fd = accept(l->fd, (struct sockaddr *)peer, len);
	if (fd != -1 && set_flags(fd) == -1) {
		close(fd);
		fd = -1;
	}
#endif
	return fd;
}

static void accept_ready(struct selector *sel, int lfd, int events, void *arg)
{
	struct listener *l = arg;

	(void)sel;
	(void)lfd;
	(void)events;
	if (l->conf.addr.socktype == SOCK_DGRAM) {
		if (l->ep.proto->datagram != NULL)
			l->ep.proto->datagram(&l->ep, l->fd);
		return;
	}
	for (int i = 0; i < ACCEPT_BATCH && l->fd != -1; i++) {
		struct sockaddr_storage peer;
		socklen_t len;
		struct conn *c;
		int fd = accept_one(l, &peer, &len);

		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				pause_accept(l, errno);
			else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("%s: accept", l->conf.name);
			return;
		}
		if (listener_full(l) || (!l->owner->accepting && !l->ep.proto->serves_shutdown)) {
			reject_full(l, fd);
			continue;
		}
		/* accept() always sets the family; the analyzer cannot see it. */
		tune_socket(fd, peer.ss_family);	/* NOLINT(clang-analyzer-core.CallAndMessage) */
		c = conn_new(&l->ep, fd, (struct sockaddr *)&peer, len);
		if (c == NULL) {
			log_warn("%s: cannot take a new client", l->conf.name);
			close(fd);
			continue;
		}
		log_client(LOG_INFO, l->conf.name, c->name, "connected");
#ifdef HAVE_TLS
		if (l->tls != NULL && tls_conn_attach(c, l->tls) == -1) {
			conn_close(c, CLOSE_ERROR, "cannot set up TLS");
			continue;
		}
#endif
		conn_start(c);
	}
}

/* ---- life cycle ---------------------------------------------------- */

const char *listener_protocol_name(const struct listener *l)
{
	return l->ep.proto->name;
}

static void drop_tls(struct tls_ctx *tls)
{
#ifdef HAVE_TLS
	tls_ctx_free(tls);
#else
	(void)tls;
#endif
}

struct listener *listener_open(struct conn_pool *pool, const struct listener_owner *owner,
    const struct listener_conf *conf, int fd, bool inherited, struct tls_ctx *tls)
{
	struct listener *l = calloc(1, sizeof(*l));

	if (l == NULL || listener_conf_copy(&l->conf, conf) == -1) {
		log_warn("%s: out of memory", conf->name);
		free(l);
		drop_tls(tls);
		if (fd >= 0 && !inherited)
			close(fd);
		return NULL;
	}
	l->owner = owner;
	l->tls = tls;
	l->ep.conf = &l->conf;
	l->ep.proto = proto_find(conf->protocol);
	l->inherited = inherited;
	l->fd = fd;
	if (l->fd == -1)
		l->fd = listener_bind(&l->conf, &l->unlink_on_close);
	else if (!inherited && l->conf.addr.ss.ss_family == AF_UNIX)
		l->unlink_on_close = true;
	if (l->fd == -1) {
		log_warn("%s: cannot listen on %s", conf->name, conf->bind);
		goto fail;
	}
	if (l->inherited && set_flags(l->fd) == -1)
		log_warn("%s: cannot make inherited socket non-blocking", conf->name);
	conn_pool_add_endpoint(pool, &l->ep);
	l->backoff = selector_timer_new(pool->sel, resume_accept, l);
	if (l->ep.proto == NULL || l->backoff == NULL ||
	    (l->ep.proto->attach != NULL && l->ep.proto->attach(&l->ep, &l->conf) == -1) ||
	    selector_add(pool->sel, l->fd, SEL_READ, accept_ready, l) == -1) {
		log_warn("%s: cannot set up listener", conf->name);
		goto fail;
	}
	return l;
fail:
	listener_close(l);
	listener_free(l);
	return NULL;
}

void listener_close(struct listener *l)
{
	if (l->fd == -1)
		return;
	selector_del(l->ep.pool->sel, l->fd);
	/* An activated socket belongs to the service manager: close, never
	 * shutdown(2) it, and leave its path alone. */
	close(l->fd);
	l->fd = -1;
	if (l->unlink_on_close)
		unlink(((const struct sockaddr_un *)&l->conf.addr.ss)->sun_path);
	selector_timer_disarm(l->backoff);
}

int listener_release_fd(struct listener *l)
{
	int fd = l->fd;

	if (fd == -1)
		return -1;
	selector_del(l->ep.pool->sel, fd);
	l->fd = -1;
	l->unlink_on_close = false;	/* the path goes with the socket */
	selector_timer_disarm(l->backoff);
	return fd;
}

void listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->ep.proto != NULL && l->ep.proto->detach != NULL && l->ep.proto_state != NULL)
		l->ep.proto->detach(&l->ep);
	conn_pool_remove_endpoint(&l->ep);
	selector_timer_free(l->backoff);
	drop_tls(l->tls);
	listener_conf_clear(&l->conf);
	free(l);
}

int listener_update(struct listener *l, const struct listener_conf *conf, struct tls_ctx *tls)
{
	struct listener_conf old = l->conf, fresh;

	if (listener_conf_copy(&fresh, conf) == -1) {
		log_warnx("%s: out of memory; keeping its settings", old.name);
		drop_tls(tls);
		return -1;
	}
	if (l->ep.proto->update != NULL && l->ep.proto->update(&l->ep, &fresh) == -1) {
		listener_conf_clear(&fresh);
		drop_tls(tls);
		return -1;
	}
	l->conf = fresh;
	/* New connections use the new certificate; established ones keep
	 * the context they were made with. */
	drop_tls(l->tls);
	l->tls = tls;
	if (l->conf.backlog != old.backlog && l->conf.addr.socktype == SOCK_STREAM &&
	    listen(l->fd, l->conf.backlog) == -1)
		log_warn("%s: cannot change the backlog", l->conf.name);
	if (l->unlink_on_close && l->conf.mode >= 0 && l->conf.mode != old.mode &&
	    chmod(((const struct sockaddr_un *)&l->conf.addr.ss)->sun_path,
	    (mode_t)l->conf.mode) == -1)
		log_warn("%s: chmod", l->conf.name);
	conn_endpoint_changed(&l->ep);
	listener_conf_clear(&old);
	return 0;
}
