/* test_cluster_redis.c - two cluster links in one process against a real
 * redis-server on $CHATD_TEST_REDIS_PORT (tests/cluster.bats starts it;
 * run alone: exit 77, skipped).  Events cross, own events do not come
 * back, /who sees the other node, a nickname is claimed once. */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "log.h"
#include "selector.h"
#include "unit.h"

struct seen {
	char room[64], node[64], name[64], text[64];
	int kind, n;
} got[2];
static int which;		/* sink of node a (0) or b (1) */
static int claims[4], nclaims;

static void on_event(int i, const char *room, enum relay_kind kind, bool announce,
    const char *node, const char *name, size_t namelen, const char *text, size_t textlen)
{
	(void)announce;
	snprintf(got[i].room, sizeof(got[i].room), "%s", room);
	snprintf(got[i].node, sizeof(got[i].node), "%s", node);
	snprintf(got[i].name, sizeof(got[i].name), "%.*s", (int)namelen, name);
	snprintf(got[i].text, sizeof(got[i].text), "%.*s", (int)textlen, text ? text : "");
	got[i].kind = (int)kind;
	got[i].n++;
}

static void ev_a(const char *room, enum relay_kind kind, bool announce, const char *node,
    const char *name, size_t nl, const char *text, size_t tl)
{
	on_event(0, room, kind, announce, node, name, nl, text, tl);
}

static void ev_b(const char *room, enum relay_kind kind, bool announce, const char *node,
    const char *name, size_t nl, const char *text, size_t tl)
{
	on_event(1, room, kind, announce, node, name, nl, text, tl);
}

static void nick_result(void *token, bool granted)
{
	claims[(intptr_t)token] = granted ? 1 : -1;
	nclaims++;
}

static const struct cluster_sink sink_a = { ev_a, nick_result }, sink_b = { ev_b, nick_result };

/* Runs the loop until cond or 5 s. */
#define WAIT(sel, cond) do { \
	int64_t until_ = monotonic_ms() + 5000; \
	while (!(cond) && monotonic_ms() < until_) \
		selector_run_once((sel), 20); \
	CHECK(cond); \
} while (0)

static int nmembers;
static char lastmember[64];

static void count_member(void *arg, const char *name, size_t len)
{
	(void)arg;
	nmembers++;
	snprintf(lastmember, sizeof(lastmember), "%.*s", (int)len, name);
}

int main(void)
{
	const char *port = getenv("CHATD_TEST_REDIS_PORT");
	char target[64], err[256];
	struct selector *sel;
	struct cluster *a, *b;
	const struct relay *ra, *rb;
	struct cluster_conf conf = { .prefix = "t", .presence_ttl = 2.0 };

	if (port == NULL) {
		printf("test_cluster_redis: CHATD_TEST_REDIS_PORT not set, skipped\n");
		return 77;
	}
	(void)which;
	log_init_early(0);
	snprintf(target, sizeof(target), "127.0.0.1:%s", port);
	conf.redis = target;
	sel = selector_new();
	conf.node = "a";
	a = cluster_new(sel, &conf, &sink_a, err, sizeof(err));
	conf.node = "b";
	b = cluster_new(sel, &conf, &sink_b, err, sizeof(err));
	if (a == NULL || b == NULL) {
		fprintf(stderr, "cluster_new: %s\n", err);
		return 1;
	}
	ra = cluster_relay(a);
	rb = cluster_relay(b);
	ra->room_open(ra->arg, "lobby");
	rb->room_open(rb->arg, "lobby");
	WAIT(sel, cluster_stats(a)->up && cluster_stats(b)->up);
	/* Subscriptions are confirmed asynchronously: publish until one lands. */
	for (int i = 0; i < 100 && got[1].n == 0; i++) {
		int64_t next = monotonic_ms() + 50;

		ra->publish(ra->arg, "lobby", RELAY_JOIN, true, "alice", 5, NULL, 0);
		while (got[1].n == 0 && monotonic_ms() < next)
			selector_run_once(sel, 10);
	}
	WAIT(sel, got[1].n > 0);
	if (got[1].n == 0)
		fprintf(stderr, "b: up %d received %llu bad %llu; a published %llu\n",
		    cluster_stats(b)->up, (unsigned long long)cluster_stats(b)->received,
		    (unsigned long long)cluster_stats(b)->bad_payloads,
		    (unsigned long long)cluster_stats(a)->published);
	CHECK_STR(got[1].node, "a");
	CHECK_STR(got[1].name, "alice");
	CHECK(got[1].kind == RELAY_JOIN);
	CHECK(got[0].n == 0);		/* never its own */

	got[1].n = 0;
	ra->publish(ra->arg, "lobby", RELAY_MESSAGE, true, "alice", 5, "hello", 5);
	WAIT(sel, got[1].kind == RELAY_MESSAGE);	/* after any repeated joins */
	CHECK_STR(got[1].text, "hello");

	nmembers = 0;
	rb->members(rb->arg, "lobby", count_member, NULL);
	CHECK(nmembers == 1);
	CHECK_STR(lastmember, "alice");

	/* alice (a) takes "Bob"; then "bob" from b is refused. */
	CHECK(ra->nick_claim(ra->arg, "lobby", "alice", "Bob", (void *)(intptr_t)0) == 0); /* NOLINT(performance-no-int-to-ptr) */
	WAIT(sel, nclaims == 1);
	CHECK(claims[0] == 1);
	rb->publish(rb->arg, "lobby", RELAY_JOIN, true, "carol", 5, NULL, 0);
	CHECK(rb->nick_claim(rb->arg, "lobby", "carol", "bob", (void *)(intptr_t)1) == 0); /* NOLINT(performance-no-int-to-ptr) */
	WAIT(sel, nclaims == 2);
	CHECK(claims[1] == -1);
	CHECK(rb->nick_claim(rb->arg, "lobby", "carol", "dave", (void *)(intptr_t)2) == 0); /* NOLINT(performance-no-int-to-ptr) */
	WAIT(sel, nclaims == 3);
	CHECK(claims[2] == 1);

	/* b stops: its members leave a's view within presence_ttl. */
	got[0].n = 0;
	rb->publish(rb->arg, "lobby", RELAY_NICK, true, "carol", 5, "dave", 4);
	WAIT(sel, got[0].n == 1 && got[0].kind == RELAY_NICK);
	cluster_free(b);
	got[0].n = 0;
	{
		int64_t t0 = monotonic_ms();

		WAIT(sel, got[0].n > 0 && got[0].kind == RELAY_LEAVE);
		CHECK_STR(got[0].name, "dave");
		CHECK(monotonic_ms() - t0 <= 2500);
	}
	cluster_free(a);
	selector_free(sel);
	return unit_done("test_cluster_redis");
}
