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
	if (q->ring != q->inline_ring)
		free(q->ring);
	q->ring = NULL;
	q->cap = 0;
	q->head = 0;
}

static int outq_grow(struct outq *q)
{
	uint32_t cap;
	struct msg **r;

	if (q->cap == 0) {
		q->ring = q->inline_ring;
		q->cap = OUTQ_INLINE;
		q->head = 0;
		return 0;
	}
	cap = q->cap < OUTQ_MIN ? OUTQ_MIN : q->cap * 2;
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

int outq_push(struct outq *q, struct msg *m)
{
	if (q->count == q->cap && outq_grow(q) == -1)
		return -1;
	q->ring[(q->head + q->count) & (q->cap - 1)] = msg_ref(m);
	q->count++;
	q->bytes += m->len;
	return 0;
}

static void outq_drop_head(struct outq *q)
{
	msg_unref(q->ring[q->head]);
	q->head = (q->head + 1) & (q->cap - 1);
	q->count--;
	q->first_off = 0;
}

/* Releases what the written bytes fully cover. */
static void outq_advance(struct outq *q, size_t n)
{
	q->bytes -= n;
	while (n > 0) {
		struct msg *m = q->ring[q->head];
		size_t left = m->len - q->first_off;

		if (n < left) {
			q->first_off += (uint32_t)n;
			return;
		}
		n -= left;
		outq_drop_head(q);
	}
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
		int n = 0;
		ssize_t w;

		for (uint32_t i = 0; i < q->count && n < OUTQ_IOV; i++, n++) {
			struct msg *m = q->ring[(q->head + i) & (q->cap - 1)];
			size_t off = i == 0 ? q->first_off : 0;

			iov[n].iov_base = m->data + off;
			iov[n].iov_len = m->len - off;
		}
		w = wv(arg, iov, n);
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
