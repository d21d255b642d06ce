/*
 * activation.c - adopting sockets from systemd (LISTEN_FDS, with names
 * from LISTEN_FDNAMES) or launchd (Sockets keys).  Each inherited socket
 * is checked against the listener's kind before it is used.  A name may
 * come with several sockets (a launchd key with IPv4 and IPv6, a socket
 * unit with two ListenStream=): activation_take_more hands out the rest.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif
#ifdef HAVE_LAUNCHD
#include <launch.h>
#endif

#include "activation.h"
#include "log.h"

#define MAX_INHERITED 64
#define SD_FIRST_FD 3

struct inherited {
	int fd;
	char *name;	/* NULL or "unknown" when the manager gave none */
	bool taken;
};

static struct inherited fds[MAX_INHERITED];
static size_t nfds;

#ifdef HAVE_LAUNCHD
/* Sockets keys already asked of launchd (each once: its answer is in fds). */
static char *asked[MAX_INHERITED];
static size_t nasked;
#endif

static void add_inherited(int fd, const char *name)
{
	if (nfds == MAX_INHERITED) {
		log_warnx("activation: more than %d sockets passed in; closing fd %d",
		    MAX_INHERITED, fd);
		close(fd);
		return;
	}
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	fds[nfds].fd = fd;
	fds[nfds].name = name != NULL ? strdup(name) : NULL;
	fds[nfds].taken = false;
	nfds++;
}

#ifdef HAVE_LIBSYSTEMD
static int collect_systemd(void)
{
	char **names = NULL;
	int n = sd_listen_fds_with_names(1, &names);

	if (n < 0) {
		log_warnx("activation: LISTEN_FDS: %s", strerror(-n));
		return -1;
	}
	for (int i = 0; i < n; i++)
		add_inherited(SD_FIRST_FD + i, names != NULL ? names[i] : NULL);
	if (names != NULL) {
		for (int i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
	return 0;
}
#else
/* The LISTEN_FDS protocol is small and documented: read it directly
 * when libsystemd is not there. */
static int collect_systemd(void)
{
	const char *pid = getenv("LISTEN_PID"), *count = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	char *end;
	long n;

	if (pid == NULL || count == NULL || strtol(pid, NULL, 10) != (long)getpid())
		return 0;
	n = strtol(count, &end, 10);
	if (*end != '\0' || n < 0 || n > MAX_INHERITED) {
		log_warnx("activation: invalid LISTEN_FDS=%s", count);
		return -1;
	}
	for (long i = 0; i < n; i++) {
		char name[256] = "";

		if (names != NULL) {
			size_t len = strcspn(names, ":");

			if (len < sizeof(name)) {
				memcpy(name, names, len);
				name[len] = '\0';
			}
			names = names[len] == ':' ? names + len + 1 : names + len;
		}
		add_inherited(SD_FIRST_FD + (int)i, name[0] ? name : NULL);
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return 0;
}
#endif

#ifdef HAVE_LAUNCHD
static bool launchd_asked(const char *name)
{
	for (size_t i = 0; i < nasked; i++)
		if (strcmp(asked[i], name) == 0)
			return true;
	return false;
}

/* launchd answers per Sockets key, so it is asked for each listener's
 * name when that listener is set up.  One key may hold several sockets
 * (the IPv4 and IPv6 sockets of one SockServiceName, for a start): all
 * join the table under that name, for activation_take and
 * activation_take_more to hand out. */
static int collect_launchd(const char *name)
{
	int *lfds = NULL, rc;
	size_t n = 0;

	if (launchd_asked(name) || nasked == MAX_INHERITED)
		return 0;
	if ((asked[nasked] = strdup(name)) == NULL) {
		log_warn("activation");
		return -1;
	}
	nasked++;
	rc = launch_activate_socket(name, &lfds, &n);
	if (rc == ESRCH || rc == ENOENT)
		return 0;	/* not under launchd, or no such Sockets key */
	if (rc != 0) {
		log_warnx("activation: launch_activate_socket(%s): %s", name, strerror(rc));
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		add_inherited(lfds[i], name);
	free(lfds);
	return 0;
}
#endif

int activation_collect(void)
{
	return collect_systemd();
}

static bool is_ip(int family)
{
	return family == AF_INET || family == AF_INET6;
}

static bool socket_matches(int fd, const struct listener_conf *lc, bool by_addr)
{
	/* Zeroed so that nothing getsockname() leaves unwritten is ever
	 * read (clang-tidy cannot see it set ss_family). */
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss), tlen;
	int type = 0, listening = 0;

	tlen = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return false;
	/* Passed by name, an IPv6 socket may serve a listener whose bind is
	 * IPv4 and the other way round: the manager decides the addresses
	 * (launchd puts both families under one Sockets key). */
	if (type != lc->addr.socktype || (ss.ss_family != lc->addr.ss.ss_family &&
	    (by_addr || !is_ip(ss.ss_family) || !is_ip(lc->addr.ss.ss_family)))) {
		if (!by_addr)
			log_msg(LOG_ERR, "%s: the socket passed in is %s %s, but bind = \"%s\"",
			    lc->name, ss.ss_family == AF_UNIX ? "a unix" :
			    ss.ss_family == AF_INET6 ? "an IPv6" : "an IPv4",
			    type == SOCK_DGRAM ? "datagram socket" : "stream socket",
			    lc->bind);
		return false;
	}
	if (type == SOCK_STREAM) {
#ifdef SO_ACCEPTCONN
		tlen = sizeof(listening);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &tlen) == 0 &&
		    !listening) {
			if (!by_addr)
				log_msg(LOG_ERR, "%s: the socket passed in is not listening",
				    lc->name);
			return false;
		}
#endif
	}
	if (by_addr) {
		struct addr a = { .len = len, .socktype = type };

		memcpy(&a.ss, &ss, sizeof(ss));
		return addr_equal(&a, &lc->addr);
	}
	return true;
}

/* The next socket passed under lc's name, ACTIVATION_MISMATCH if it is
 * of the wrong kind, or ACTIVATION_NONE. */
static int take_by_name(const struct listener_conf *lc)
{
	for (size_t i = 0; i < nfds; i++)
		if (!fds[i].taken && fds[i].name != NULL && strcmp(fds[i].name, lc->name) == 0) {
			fds[i].taken = true;
			return socket_matches(fds[i].fd, lc, false) ? fds[i].fd :
			    ACTIVATION_MISMATCH;
		}
	return ACTIVATION_NONE;
}

int activation_take(const struct listener_conf *lc)
{
	int fd;

#ifdef HAVE_LAUNCHD
	if (collect_launchd(lc->name) == -1)
		return ACTIVATION_MISMATCH;
#endif
	fd = take_by_name(lc);
	if (fd != ACTIVATION_NONE)
		return fd;
	for (size_t i = 0; i < nfds; i++)
		if (!fds[i].taken && socket_matches(fds[i].fd, lc, true)) {
			fds[i].taken = true;
			return fds[i].fd;
		}
	return ACTIVATION_NONE;
}

int activation_take_more(const struct listener_conf *lc)
{
	return take_by_name(lc);
}

void activation_close_unused(void)
{
	for (size_t i = 0; i < nfds; i++) {
		if (!fds[i].taken) {
			log_warnx("activation: socket fd %d (%s) matches no listener; closing it",
			    fds[i].fd, fds[i].name ? fds[i].name : "unnamed");
			close(fds[i].fd);
		}
		free(fds[i].name);
	}
	nfds = 0;
#ifdef HAVE_LAUNCHD
	for (size_t i = 0; i < nasked; i++)
		free(asked[i]);
	nasked = 0;
#endif
}

const char *activation_features(void)
{
#if defined(HAVE_LIBSYSTEMD) && defined(HAVE_LAUNCHD)
	return "systemd launchd";
#elif defined(HAVE_LIBSYSTEMD)
	return "systemd";
#elif defined(HAVE_LAUNCHD)
	return "launchd";
#else
	return "none";
#endif
}
