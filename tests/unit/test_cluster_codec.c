/* test_cluster_codec.c - the cross-node payload: round trips, binary
 * bytes, every truncation and every bad length refused. */
#include "autoconfig.h"

#include <stdlib.h>

#include "cluster-codec.h"
#include "unit.h"

static void round_trip(void)
{
	static const char text[] = "hi\0there\xff\r\n";
	struct cluster_event ev = {
		.kind = CEV_MESSAGE, .flags = CEV_ANNOUNCE,
		.node = "node-a", .nodelen = 6, .name = "alice", .namelen = 5,
		.text = text, .textlen = sizeof(text) - 1,
	}, out;
	char buf[256];
	size_t n = cev_size(&ev);

	CHECK(n == CEV_HEADER + 6 + 5 + sizeof(text) - 1);
	CHECK(cev_encode(&ev, buf) == n);
	CHECK(cev_decode(buf, n, &out) == 0);
	CHECK(out.kind == CEV_MESSAGE);
	CHECK(out.flags == CEV_ANNOUNCE);
	CHECK_MEM(out.node, out.nodelen, "node-a", 6);
	CHECK_MEM(out.name, out.namelen, "alice", 5);
	CHECK_MEM(out.text, out.textlen, text, sizeof(text) - 1);
}

static void empty_text(void)
{
	struct cluster_event ev = { .kind = CEV_JOIN, .node = "n", .nodelen = 1,
		.name = "127.0.0.1:5000", .namelen = 14 }, out;
	char buf[64];
	size_t n = cev_encode(&ev, buf);

	CHECK(cev_decode(buf, n, &out) == 0);
	CHECK(out.kind == CEV_JOIN && out.textlen == 0);
	CHECK_MEM(out.name, out.namelen, "127.0.0.1:5000", 14);
}

static void out_of_range_not_encoded(void)
{
	char big[300];
	struct cluster_event ev = { .kind = CEV_ME, .node = "n", .nodelen = 1,
		.name = big, .namelen = 256 };

	memset(big, 'x', sizeof(big));
	CHECK(cev_size(&ev) == 0);
	ev.namelen = 0;
	CHECK(cev_size(&ev) == 0);
	ev.namelen = 1;
	ev.nodelen = 0;
	CHECK(cev_size(&ev) == 0);
	ev.nodelen = 1;
	ev.kind = 0;
	CHECK(cev_size(&ev) == 0);
	ev.kind = CEV_KIND_MAX + 1;
	CHECK(cev_size(&ev) == 0);
	ev.kind = CEV_NICK;
	CHECK(cev_size(&ev) > 0);
}

static void malformed_refused(void)
{
	struct cluster_event ev = { .kind = CEV_NICK, .node = "nd", .nodelen = 2,
		.name = "old", .namelen = 3, .text = "new", .textlen = 3 }, out;
	char buf[64], bad[64];
	size_t n = cev_encode(&ev, buf);

	/* Every prefix is too short; one byte more is too long. */
	for (size_t i = 0; i < n; i++)
		CHECK(cev_decode(buf, i, &out) == -1);
	memcpy(bad, buf, n);
	bad[n] = 'x';
	CHECK(cev_decode(bad, n + 1, &out) == -1);
	memcpy(bad, buf, n);
	bad[0] = 2;			/* version */
	CHECK(cev_decode(bad, n, &out) == -1);
	memcpy(bad, buf, n);
	bad[1] = 9;			/* kind */
	CHECK(cev_decode(bad, n, &out) == -1);
	memcpy(bad, buf, n);
	bad[3] = 0;			/* node length 0 */
	CHECK(cev_decode(bad, n, &out) == -1);
	memcpy(bad, buf, n);
	bad[3] = 60;			/* node longer than the payload */
	CHECK(cev_decode(bad, n, &out) == -1);
	memcpy(bad, buf, n);
	bad[n - 4] = 0x7f;		/* text length huge */
	CHECK(cev_decode(bad, n, &out) == -1);
	CHECK(cev_decode(buf, n, &out) == 0);
	CHECK_MEM(out.text, out.textlen, "new", 3);
}

static void large_text(void)
{
	size_t tl = 100000;
	char *text = malloc(tl), *buf;
	struct cluster_event ev = { .kind = CEV_MESSAGE, .node = "n", .nodelen = 1,
		.name = "a", .namelen = 1, .textlen = tl }, out;

	if (text == NULL || (buf = malloc(tl + 64)) == NULL) {
		free(text);
		CHECK(!"out of memory");
		return;
	}
	for (size_t i = 0; i < tl; i++)
		text[i] = (char)i;
	ev.text = text;
	CHECK(cev_decode(buf, cev_encode(&ev, buf), &out) == 0);
	CHECK_MEM(out.text, out.textlen, text, tl);
	free(text);
	free(buf);
}

int main(void)
{
	RUN(round_trip);
	RUN(empty_text);
	RUN(out_of_range_not_encoded);
	RUN(malformed_refused);
	RUN(large_text);
	return unit_done("test_cluster_codec");
}
