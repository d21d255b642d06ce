/* test_msg.c - shared messages and output queues: reference counts,
 * writev batching, partial writes, ring growth and wrap-around. */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "msg.h"
#include "unit.h"

static void build_appends_crlf(void)
{
	struct msg *m = msg_build((struct iovec[]){ { "ab", 2 }, { ": ", 2 }, { "c", 1 } }, 3);

	if (m == NULL) {
		CHECK(!"msg_build failed");
		return;
	}
	CHECK_MEM(m->data, m->len, "ab: c\r\n", 7);
	msg_unref(m);
	m = msg_notice("%s joined", "x");
	if (m == NULL) {
		CHECK(!"msg_notice failed");
		return;
	}
	CHECK_MEM(m->data, m->len, "* x joined\r\n", 12);
	msg_unref(m);
}

static void shared_by_queues(void)
{
	struct outq a = { 0 }, b = { 0 };
	struct msg *m = msg_notice("hi");

	CHECK(outq_push(&a, m) == 0);
	CHECK(outq_push(&b, m) == 0);
	CHECK(m->refs == 3);
	msg_unref(m);
	CHECK(a.bytes == 6 && b.bytes == 6);
	outq_clear(&a);
	CHECK(m->refs == 1);
	outq_clear(&b);
}

static size_t drain(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	while (got < cap && (n = read(fd, buf + got, cap - got)) > 0)
		got += (size_t)n;
	return got;
}

static void flush_preserves_order_over_partial_writes(void)
{
	int sv[2];
	struct outq q = { 0 };
	size_t total = 0, got = 0;
	static char expect[1 << 21], seen[1 << 21];
	int sz = 4096;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
	CHECK(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	for (int i = 0; i < 5000; i++) {
		char text[64];
		int n = snprintf(text, sizeof(text), "line %d %.*s", i, i % 50,
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		struct msg *m = msg_build((struct iovec[]){ { text, (size_t)n } }, 1);

		memcpy(expect + total, m->data, m->len);
		total += m->len;
		CHECK(outq_push(&q, m) == 0);
		msg_unref(m);
	}
	CHECK(q.bytes == total);
	while (q.count > 0) {
		ssize_t w = outq_flush(&q, sv[0]);

		CHECK(w >= 0);
		got += drain(sv[1], seen + got, sizeof(seen) - got);
	}
	got += drain(sv[1], seen + got, sizeof(seen) - got);
	CHECK(q.bytes == 0);
	CHECK_MEM(seen, got, expect, total);
	outq_clear(&q);
	close(sv[0]);
	close(sv[1]);
}

static void flush_reports_errors(void)
{
	int sv[2];
	struct outq q = { 0 };
	struct msg *m = msg_notice("x");

	signal(SIGPIPE, SIG_IGN);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	close(sv[1]);
	outq_push(&q, m);
	msg_unref(m);
	CHECK(outq_flush(&q, sv[0]) == -1);
	CHECK(errno == EPIPE);
	outq_clear(&q);
	close(sv[0]);
}

/* A client that gets lines one by one stays on the inline slots; a
 * burst moves to the heap, in order, and a drained queue keeps no ring. */
static void inline_slots_then_heap(void)
{
	int sv[2];
	struct outq q = { 0 };
	struct msg *m[3];
	char buf[64];
	ssize_t n;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	for (int i = 0; i < 3; i++)
		m[i] = msg_notice("%d", i);
	CHECK(outq_push(&q, m[0]) == 0 && outq_push(&q, m[1]) == 0);
	CHECK(q.ring == q.inline_ring);
	CHECK(outq_push(&q, m[2]) == 0);
	CHECK(q.ring != q.inline_ring && q.cap >= 3);
	CHECK(outq_flush(&q, sv[0]) == 15);
	CHECK(q.ring == NULL && q.count == 0 && q.bytes == 0);
	n = read(sv[1], buf, sizeof(buf));
	CHECK_MEM(buf, (size_t)n, "* 0\r\n* 1\r\n* 2\r\n", 15);
	CHECK(m[0]->refs == 1 && m[2]->refs == 1);
	for (int i = 0; i < 3; i++)
		msg_unref(m[i]);
	close(sv[0]);
	close(sv[1]);
}

/* A transport that takes at most limit bytes per call, like a socket
 * with little room left: every flush ends in a short write. */
struct sink {
	char data[8192];
	size_t len, limit;
};

static ssize_t sink_writev(void *arg, const struct iovec *iov, int n)
{
	struct sink *s = arg;
	size_t room = s->limit, took = 0;

	for (int i = 0; i < n && room > 0; i++) {
		size_t k = iov[i].iov_len < room ? iov[i].iov_len : room;

		memcpy(s->data + s->len + took, iov[i].iov_base, k);
		took += k;
		room -= k;
	}
	s->len += took;
	return (ssize_t)took;
}

static void push_line(struct outq *q, int i, char *expect, size_t *elen)
{
	struct msg *m = msg_notice("%d%.*s", i, i % 7, "abcdefg");

	memcpy(expect + *elen, m->data, m->len);
	*elen += m->len;
	CHECK(outq_push(q, m) == 0);
	msg_unref(m);
}

/* Short writes move the head along while lines keep coming, so the live
 * part of the ring runs over the end of its array and on at its start:
 * the bytes must still come out whole and in order.  Once drained, the
 * ring's size is remembered and the next burst gets it at once. */
static void ring_wraps_and_remembers_its_size(void)
{
	static struct sink s;
	static char expect[8192];
	struct outq q = { 0 };
	size_t elen = 0;
	uint32_t cap;
	bool wrapped = false;
	int i;

	for (i = 0; i < 12; i++)
		push_line(&q, i, expect, &elen);
	cap = q.cap;
	CHECK(cap == 16);
	/* Less than a line at a time, more while the queue is long: it
	 * stays between half full and full, never empty nor growing. */
	for (; i < 200; i++) {
		s.limit = q.count > 12 ? 20 : 7;
		CHECK(outq_flush_with(&q, sink_writev, &s) == (ssize_t)s.limit);
		push_line(&q, i, expect, &elen);
		wrapped |= q.head + q.count > q.cap;
	}
	CHECK(wrapped && q.cap == cap);
	CHECK(q.bytes == elen - s.len);
	s.limit = sizeof(s.data);
	CHECK(outq_flush_with(&q, sink_writev, &s) > 0);
	CHECK(q.count == 0 && q.bytes == 0 && q.ring == NULL);
	CHECK_MEM(s.data, s.len, expect, elen);
	CHECK(q.cap_hint == cap);
	/* The next burst: the inline slots, then the remembered size. */
	for (int k = 0; k < 3; k++)
		push_line(&q, k, expect, &elen);
	CHECK(q.cap == cap);
	outq_clear(&q);
}

int main(void)
{
	RUN(build_appends_crlf);
	RUN(shared_by_queues);
	RUN(flush_preserves_order_over_partial_writes);
	RUN(flush_reports_errors);
	RUN(inline_slots_then_heap);
	RUN(ring_wraps_and_remembers_its_size);
	return unit_done("test_msg");
}
