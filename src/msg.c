/*
 * msg.c - shared messages and the queues that point at them.
 */
#include "autoconfig.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "fault.h"
#include "msg.h"

#define OUTQ_MIN 8		/* heap ring; a power of two: indexes are masked */
#if defined(IOV_MAX) && IOV_MAX < 256
#define OUTQ_IOV IOV_MAX
#else
#define OUTQ_IOV 256		/* messages per writev(2) */
#endif
#define OUTQ_HINT_MAX 4096	/* remembered ring: 32 KiB of pointers at most */
#define NOTICE_MAX 2048

struct msg *msg_new(size_t len)
{
	struct msg *m;

	if (len > UINT32_MAX - sizeof(*m))
		return NULL;
	FAULT_RETURN("chatd/mm/msg", NULL, ENOMEM);
	m = malloc(sizeof(*m) + len);
	if (m == NULL)
		return NULL;
	m->refs = 1;
	m->len = (uint32_t)len;
	m->twin = NULL;
	return m;
}

struct msg *msg_build(const struct iovec *parts, int nparts)
{
	size_t len = 2;
	struct msg *m;
	char *p;

	for (int i = 0; i < nparts; i++)
		len += parts[i].iov_len;
	m = msg_new(len);
	if (m == NULL)
		return NULL;
	p = m->data;
	for (int i = 0; i < nparts; i++) {
		if (parts[i].iov_len > 0)
			memcpy(p, parts[i].iov_base, parts[i].iov_len);
		p += parts[i].iov_len;
	}
	p[0] = '\r';
	p[1] = '\n';
	return m;
}

struct msg *msg_notice(const char *fmt, ...)
{
	char text[NOTICE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	if ((size_t)n >= sizeof(text))
		n = sizeof(text) - 1;
	return msg_build((struct iovec[]){ { "* ", 2 }, { text, (size_t)n } }, 2);
}

void msg_unref(struct msg *m)
{
	if (m != NULL && --m->refs == 0) {
		msg_unref(m->twin);
		free(m);
	}
}

struct msg *msg_twin(struct msg *m, struct msg *(*make)(const struct msg *))
{
	if (m->twin == NULL)
		m->twin = make(m);
	return m->twin;
}

static void outq_release_ring(struct outq *q)
{
	if (q->ring != q->inline_ring && q->ring != NULL) {
		/* Kept small enough to stay out of mmap(2) territory: one
		 * huge burst must not make every later one allocate that much. */
		q->cap_hint = q->cap < OUTQ_HINT_MAX ? q->cap : OUTQ_HINT_MAX;
		free(q->ring);
	}
	q->ring = NULL;
	q->cap = 0;
	q->head = 0;
}

int outq_grow(struct outq *q)
{
	uint32_t cap;
	struct msg **r;

	/* The inline slots first even with a hint: a client that gets one
	 * line at a time between bursts must not allocate for each. */
	if (q->cap == 0) {
		q->ring = q->inline_ring;
		q->cap = OUTQ_INLINE;
		q->head = 0;
		return 0;
	}
	cap = q->cap < OUTQ_MIN ? OUTQ_MIN : q->cap * 2;
	if (cap < q->cap_hint)
		cap = q->cap_hint;	/* a power of two: it was a cap */
	/* An array of pointers: the element size is a pointer's. */
	r = malloc((size_t)cap * sizeof(*r));	/* NOLINT(bugprone-sizeof-expression) */
	if (r == NULL)
		return -1;
	/* Unroll the ring into the new array so head starts at 0. */
	for (uint32_t i = 0; i < q->count; i++)
		r[i] = q->ring[(q->head + i) & (q->cap - 1)];
	if (q->ring != q->inline_ring)
		free(q->ring);
	q->ring = r;
	q->cap = cap;
	q->head = 0;
	return 0;
}

static void outq_drop_head(struct outq *q)
{
	msg_unref(q->ring[q->head]);
	q->head = (q->head + 1) & (q->cap - 1);
	q->count--;
	q->first_off = 0;
}

/* Releases what the written bytes fully cover, in one pass: the ring
 * indexes live in registers and are stored back once. */
static void outq_advance(struct outq *q, size_t n)
{
	uint32_t head = q->head, count = q->count, mask = q->cap - 1;

	q->bytes -= n;
	n += q->first_off;	/* counted from the start of ring[head] */
	while (n > 0) {
		struct msg *m = q->ring[head];

		if (n < m->len)
			break;
		n -= m->len;
		msg_unref(m);
		head = (head + 1) & mask;
		count--;
	}
	q->head = head;
	q->count = count;
	q->first_off = (uint32_t)n;	/* less than ring[head]'s length */
}

static int fill_run(struct iovec *iov, struct msg *const *r, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		iov[i].iov_base = r[i]->data;
		iov[i].iov_len = r[i]->len;
	}
	return (int)n;
}

/* Points iov at up to max queued messages, oldest first; returns how
 * many.  The ring is at most two contiguous runs (head to the end of the
 * array, then its start), so no index is masked per message. */
static int outq_fill_iov(const struct outq *q, struct iovec *iov, int max)
{
	uint32_t n = q->count < (uint32_t)max ? q->count : (uint32_t)max;
	uint32_t first = q->cap - q->head;
	int k;

	if (first > n)
		first = n;
	k = fill_run(iov, q->ring + q->head, first);
	k += fill_run(iov + k, q->ring, n - first);
	iov[0].iov_base = (char *)iov[0].iov_base + q->first_off;
	iov[0].iov_len -= q->first_off;
	return k;
}

static ssize_t fd_writev(void *arg, const struct iovec *iov, int n)
{
	return writev(*(const int *)arg, iov, n);
}

ssize_t outq_flush(struct outq *q, int fd)
{
	return outq_flush_with(q, fd_writev, &fd);
}

ssize_t outq_flush_with(struct outq *q, outq_writev_fn *wv, void *arg)
{
	struct iovec iov[OUTQ_IOV];
	ssize_t total = 0;

	while (q->count > 0) {
		int n = outq_fill_iov(q, iov, OUTQ_IOV);
		ssize_t w = wv(arg, iov, n);

		if (w == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return total;
			if (errno == EINTR)
				continue;
			return -1;
		}
		outq_advance(q, (size_t)w);
		total += w;
		if (q->count > 0 && n < OUTQ_IOV)
			break;	/* short write: the socket buffer is full */
	}
	/* A drained burst gives its heap ring back: most connections are
	 * idle most of the time. */
	if (q->count == 0)
		outq_release_ring(q);
	return total;
}

void outq_clear(struct outq *q)
{
	while (q->count > 0)
		outq_drop_head(q);
	outq_release_ring(q);
	q->first_off = 0;
	q->bytes = 0;
}
