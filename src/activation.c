/*
 * activation.c - adopting sockets from systemd (LISTEN_FDS, with names
 * from LISTEN_FDNAMES) or launchd (Sockets keys).  Each inherited socket
 * is checked against the listener's kind before it is used.
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
/* launchd: one call per listener name happens in activation_take. */
static int launchd_fds(const char *name, int **out, size_t *n)
{
	int rc = launch_activate_socket(name, out, n);

	if (rc == ESRCH || rc == ENOENT)
		return 0;	/* not under launchd, or no such Sockets key */
	if (rc != 0) {
		log_warnx("activation: launch_activate_socket(%s): %s", name, strerror(rc));
		return -1;
	}
	return 0;
}
#endif

int activation_collect(void)
{
	return collect_systemd();
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
	if (type != lc->addr.socktype || ss.ss_family != lc->addr.ss.ss_family) {
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

int activation_take(const struct listener_conf *lc)
{
	size_t i;

#ifdef HAVE_LAUNCHD
	int *lfds = NULL;
	size_t nl = 0;

	if (launchd_fds(lc->name, &lfds, &nl) == -1)
		return ACTIVATION_MISMATCH;
	for (size_t k = 1; k < nl; k++)
		close(lfds[k]);	/* one socket per listener */
	if (nl > 0) {
		int fd = lfds[0];

		free(lfds);
		if (!socket_matches(fd, lc, false)) {
			close(fd);
			return ACTIVATION_MISMATCH;
		}
		return fd;
	}
	free(lfds);
#endif
	for (i = 0; i < nfds; i++)
		if (!fds[i].taken && fds[i].name != NULL && strcmp(fds[i].name, lc->name) == 0) {
			fds[i].taken = true;
			return socket_matches(fds[i].fd, lc, false) ? fds[i].fd :
			    ACTIVATION_MISMATCH;
		}
	for (i = 0; i < nfds; i++)
		if (!fds[i].taken && socket_matches(fds[i].fd, lc, true)) {
			fds[i].taken = true;
			return fds[i].fd;
		}
	return ACTIVATION_NONE;
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
