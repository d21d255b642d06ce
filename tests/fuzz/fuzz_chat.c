/*
 * fuzz_chat.c - libFuzzer target for the chat protocol as a whole: the
 * framer, the command parser, nicknames, rooms and output queues, fed
 * through the real connection code over socketpairs.
 *
 * Input: byte 0 picks max_line, byte 1 the chunk size, byte 2 which of
 * the two clients speaks first; the rest is what they send, the clients
 * taking turns per chunk.  Each run ends with EOF from both and every
 * connection closed and freed; a client count that does not return to
 * zero aborts, and LeakSanitizer sees any message or queue leaked.
 */
#include "autoconfig.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn.h"
#include "listener.h"
#include "log.h"
#include "proto.h"
#include "server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void drain(int fd)
{
	char buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		continue;
}

static struct conn *client(struct listener *l, int *peer)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1)
		abort();
	*peer = sv[1];
	return conn_new(&l->ep, sv[0], (struct sockaddr *)&sun, sizeof(sun));
}

/* One server and listener for the whole run: only clients are made per
 * input, which keeps the target fast enough for millions of runs. */
static struct server srv;
static struct listener *lst;

static void setup_once(void)
{
	struct config *cfg;
	int lfd;

	signal(SIGPIPE, SIG_IGN);
	log_init_early(-10);	/* quiet */
	srv.sel = selector_new();
	cfg = config_default();
	cfg->listeners[0].max_queue = 1 << 16;
	cfg->listeners[0].motd = strdup("hello\nthere");
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (srv.sel == NULL || lfd == -1 || server_init(&srv, cfg) == -1)
		abort();
	/* An unbound socket stands in for an adopted listener: no port. */
	lst = listener_open(&srv.pool, &srv.owner, &cfg->listeners[0], lfd, true, NULL);
	if (lst == NULL)
		abort();
	srv.listeners = lst;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conn *c[2];
	int peer[2];
	size_t step, pos;

	if (size < 3)
		return 0;
	if (lst == NULL)
		setup_once();
	lst->conf.max_line = (size_t)data[0] % 200 + 1;
	lst->conf.rate = 0;	/* flood control is time-driven: not here */
	step = (size_t)data[1] % 64 + 1;
	c[0] = client(lst, &peer[0]);
	c[1] = client(lst, &peer[1]);
	if (c[0] == NULL || c[1] == NULL)
		abort();
	lst->ep.proto->open(c[0]);
	lst->ep.proto->open(c[1]);
	data += 3;
	size -= 3;
	for (pos = 0; pos < size; pos += step) {
		size_t n = size - pos < step ? size - pos : step;
		struct conn *who = c[(pos / step + data[-1]) % 2];

		if (!(who->flags & (CONN_CLOSED | CONN_CLOSING | CONN_READ_EOF)))
			lst->ep.proto->input(who, (const char *)data + pos, n);
		conn_flush_all(&srv.pool);
		drain(peer[0]);
		drain(peer[1]);
	}
	for (int i = 0; i < 2; i++)
		if (!(c[i]->flags & (CONN_CLOSED | CONN_READ_EOF))) {
			c[i]->flags |= CONN_READ_EOF;
			lst->ep.proto->eof(c[i]);
		}
	conn_flush_all(&srv.pool);
	for (int i = 0; i < 2; i++)
		conn_close(c[i], CLOSE_CLIENT, "end of input");
	conn_free_closed(&srv.pool);
	if (lst->ep.nclients != 0 || srv.pool.nconns != 0)
		abort();
	close(peer[0]);
	close(peer[1]);
	return 0;
}
