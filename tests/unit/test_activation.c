/*
 * test_activation.c - the launchd path of activation.c, built here with
 * HAVE_LAUNCHD against a stub launch_activate_socket(3): one Sockets key
 * holding an IPv4 and an IPv6 socket gives both to its listener, each
 * key is asked once, unknown keys give nothing, wrong kinds are refused
 * and sockets nobody took are closed.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <launch.h>	/* tests/unit/stub/launch.h */

#include "activation.h"
#include "addr.h"
#include "config.h"
#include "log.h"
#include "unit.h"

/* ---- the stub ------------------------------------------------------ */

static const char *stub_key;	/* the only Sockets key launchd "has" */
static int stub_fds[4];
static size_t stub_n;
static int stub_calls;

int launch_activate_socket(const char *name, int **fds, size_t *cnt)
{
	stub_calls++;
	if (stub_key == NULL || strcmp(name, stub_key) != 0)
		return ENOENT;
	*fds = malloc(stub_n * sizeof(int));
	if (*fds == NULL)
		return ENOMEM;
	memcpy(*fds, stub_fds, stub_n * sizeof(int));
	*cnt = stub_n;
	return 0;
}

/* ---- helpers ------------------------------------------------------- */

/* A socket of the given family and type on loopback, port chosen by the
 * kernel, listening when it is a stream socket; -1 when the family is
 * not available here. */
static int loopback_socket(int family, int type)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	const struct sockaddr *sa = (const struct sockaddr *)&sin;
	socklen_t len = sizeof(sin);
	int fd = socket(family, type, 0);

	if (fd == -1)
		return -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin6.sin6_addr = in6addr_loopback;
	if (family == AF_INET6) {
		sa = (const struct sockaddr *)&sin6;
		len = sizeof(sin6);
	}
	if (bind(fd, sa, len) == -1 || (type == SOCK_STREAM && listen(fd, 8) == -1)) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static void listener(struct listener_conf *lc, const char *name, const char *bind)
{
	char err[256];

	memset(lc, 0, sizeof(*lc));
	lc->name = (char *)name;
	lc->bind = (char *)bind;
	CHECK(addr_parse(bind, &lc->addr, err, sizeof(err)) == 0);
}

static void stub_reset(const char *key)
{
	stub_key = key;
	stub_n = 0;
	stub_calls = 0;
}

/* ---- tests --------------------------------------------------------- */

static void one_key_two_families_both_served(void)
{
	struct listener_conf lc;
	int v4 = loopback_socket(AF_INET, SOCK_STREAM);
	int v6 = loopback_socket(AF_INET6, SOCK_STREAM);

	if (v6 == -1)	/* no IPv6 here: two IPv4 sockets stand in */
		v6 = loopback_socket(AF_INET, SOCK_STREAM);
	CHECK(v4 != -1 && v6 != -1);
	stub_reset("chat");
	stub_fds[stub_n++] = v4;
	stub_fds[stub_n++] = v6;
	listener(&lc, "chat", "127.0.0.1:1234");
	CHECK(activation_collect() == 0);
	CHECK(activation_take(&lc) == v4);
	CHECK(activation_take_more(&lc) == v6);
	CHECK(activation_take_more(&lc) == ACTIVATION_NONE);
	CHECK(stub_calls == 1);
	/* Passed in, they get close-on-exec. */
	CHECK((fcntl(v4, F_GETFD) & FD_CLOEXEC) && (fcntl(v6, F_GETFD) & FD_CLOEXEC));
	activation_close_unused();
	CHECK(is_open(v4) && is_open(v6));
	close(v4);
	close(v6);
}

static void unknown_key_gives_nothing(void)
{
	struct listener_conf lc;

	stub_reset("chat");
	listener(&lc, "echo", "127.0.0.1:9001");
	CHECK(activation_collect() == 0);
	CHECK(activation_take(&lc) == ACTIVATION_NONE);
	CHECK(activation_take_more(&lc) == ACTIVATION_NONE);
	CHECK(stub_calls == 1);
	activation_close_unused();
}

static void wrong_kind_is_refused(void)
{
	struct listener_conf lc;
	int d = loopback_socket(AF_INET, SOCK_DGRAM);

	CHECK(d != -1);
	stub_reset("chat");
	stub_fds[stub_n++] = d;
	listener(&lc, "chat", "127.0.0.1:1234");
	CHECK(activation_collect() == 0);
	CHECK(activation_take(&lc) == ACTIVATION_MISMATCH);
	activation_close_unused();
	close(d);
}

static void leftovers_are_closed(void)
{
	struct listener_conf lc;
	int a = loopback_socket(AF_INET, SOCK_STREAM);
	int b = loopback_socket(AF_INET, SOCK_STREAM);

	CHECK(a != -1 && b != -1);
	stub_reset("chat");
	stub_fds[stub_n++] = a;
	stub_fds[stub_n++] = b;
	listener(&lc, "chat", "127.0.0.1:1234");
	CHECK(activation_collect() == 0);
	CHECK(activation_take(&lc) == a);
	/* The caller did not ask for the rest: it is logged and closed. */
	activation_close_unused();
	CHECK(is_open(a));
	CHECK(!is_open(b));
	close(a);
}

int main(void)
{
	log_init_early(0);
	RUN(one_key_two_families_both_served);
	RUN(unknown_key_gives_nothing);
	RUN(wrong_kind_is_refused);
	RUN(leftovers_are_closed);
	return unit_done("test_activation");
}
