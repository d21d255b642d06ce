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

#include "chat.h"
#include "conn.h"
#include "echo.h"
#include "listener.h"
#include "log.h"

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
	const struct server *s = l->srv;

	return (s->cfg->max_connections > 0 && s->nconns >= s->cfg->max_connections) ||
	    (l->conf.max_clients > 0 && l->nclients >= l->conf.max_clients);
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

static int bind_socket(const struct addr *a, int backlog)
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

static int open_socket(struct listener *l)
{
	struct addr v4;
	int fd = bind_socket(&l->conf.addr, l->conf.backlog);

	if (fd == -1 && l->conf.addr.any_dualstack &&
	    (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
		addr_ipv4_fallback(&l->conf.addr, &v4);
		fd = bind_socket(&v4, l->conf.backlog);
	}
	if (fd == -1)
		return -1;
	if (l->conf.addr.ss.ss_family == AF_UNIX) {
		const struct sockaddr_un *sun = (const struct sockaddr_un *)&l->conf.addr.ss;

		l->unlink_on_close = true;
		if (l->conf.mode >= 0 && chmod(sun->sun_path, (mode_t)l->conf.mode) == -1)
			log_warn("%s: chmod %s", l->conf.name, sun->sun_path);
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
	if (selector_mod(l->srv->sel, l->fd, SEL_READ) == -1)
		log_warn("%s: cannot resume accepting", l->conf.name);
}

static void pause_accept(struct listener *l, int err)
{
	log_msg(LOG_WARNING, "%s: accept: %s; pausing %d ms", l->conf.name,
	    strerror(err), BACKOFF_MS);
	l->paused = true;
	selector_mod(l->srv->sel, l->fd, 0);
	selector_timer_arm(l->backoff, BACKOFF_MS);
}

static void reject_full(struct listener *l, int fd)
{
	static const char full[] = "* error: server full\r\n";

	l->stats.rejected++;
	if (l->conf.protocol == PROTO_CHAT)
		(void)send(fd, full, sizeof(full) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
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
		echo_datagrams(l);
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
		if (listener_full(l) || l->srv->state != SERVER_RUNNING) {
			reject_full(l, fd);
			continue;
		}
		/* accept() always sets the family; the analyzer cannot see it. */
		tune_socket(fd, peer.ss_family);	/* NOLINT(clang-analyzer-core.CallAndMessage) */
		c = conn_new(l, fd, (struct sockaddr *)&peer, len);
		if (c == NULL) {
			log_warn("%s: cannot take a new client", l->conf.name);
			close(fd);
			continue;
		}
		log_client(LOG_INFO, l->conf.name, c->name, "connected");
		l->ops->open(c);
	}
}

/* ---- life cycle ---------------------------------------------------- */

struct listener *listener_open(struct server *s, const struct listener_conf *conf, int fd)
{
	struct listener *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		log_warn("%s: out of memory", conf->name);
		return NULL;
	}
	l->srv = s;
	listener_conf_copy(&l->conf, conf);
	l->ops = conf->protocol == PROTO_CHAT ? &chat_ops : &echo_ops;
	l->inherited = fd >= 0;
	l->fd = fd >= 0 ? fd : open_socket(l);
	if (l->fd == -1) {
		log_warn("%s: cannot listen on %s", conf->name, conf->bind);
		goto fail;
	}
	if (l->inherited && set_flags(l->fd) == -1)
		log_warn("%s: cannot make inherited socket non-blocking", conf->name);
	l->backoff = selector_timer_new(s->sel, resume_accept, l);
	if (conf->protocol == PROTO_CHAT)
		l->room = chat_room_get(s, conf->room);
	if (l->backoff == NULL || (conf->protocol == PROTO_CHAT && l->room == NULL) ||
	    selector_add(s->sel, l->fd, SEL_READ, accept_ready, l) == -1) {
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
	selector_del(l->srv->sel, l->fd);
	/* An activated socket belongs to the service manager: close, never
	 * shutdown(2) it, and leave its path alone. */
	close(l->fd);
	l->fd = -1;
	if (l->unlink_on_close)
		unlink(((const struct sockaddr_un *)&l->conf.addr.ss)->sun_path);
	selector_timer_disarm(l->backoff);
}

void listener_free(struct listener *l)
{
	struct listener **pp;

	if (l == NULL)
		return;
	for (pp = &l->srv->listeners; *pp != NULL; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	if (l->room != NULL)
		chat_room_put(l->srv, l->room);
	selector_timer_free(l->backoff);
	listener_conf_clear(&l->conf);
	free(l);
}

void listener_update(struct listener *l, const struct listener_conf *conf)
{
	struct listener_conf old = l->conf;

	if (l->room != NULL && strcmp(old.room, conf->room) != 0) {
		/* Clients already connected stay in the room they joined. */
		struct room *r = chat_room_get(l->srv, conf->room);

		if (r == NULL) {
			log_warnx("%s: out of memory; keeping room %s", old.name, old.room);
			return;
		}
		chat_room_put(l->srv, l->room);
		l->room = r;
	}
	listener_conf_copy(&l->conf, conf);
	if (l->conf.backlog != old.backlog && l->conf.addr.socktype == SOCK_STREAM &&
	    listen(l->fd, l->conf.backlog) == -1)
		log_warn("%s: cannot change the backlog", l->conf.name);
	if (l->unlink_on_close && l->conf.mode >= 0 && l->conf.mode != old.mode &&
	    chmod(((const struct sockaddr_un *)&l->conf.addr.ss)->sun_path,
	    (mode_t)l->conf.mode) == -1)
		log_warn("%s: chmod", l->conf.name);
	if (l->conf.idle_timeout > 0)
		server_arm_sweep(l->srv);
	listener_conf_clear(&old);
}
