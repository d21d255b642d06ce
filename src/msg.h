/*
 * msg.h - reference-counted messages and per-client output queues.
 *
 * A chat line is formatted once and the same msg is queued to every
 * recipient; a queue holds pointers, and writev(2) sends many queued
 * messages in one call.  Nothing is copied or allocated per recipient.
 */
#ifndef CHATD_MSG_H
#define CHATD_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct msg {
	uint32_t refs;
	uint32_t len;
	struct msg *twin;	/* the same line for another framing, or NULL */
	char data[];
};

/* A message of exactly len bytes, to be filled by the caller; refs = 1. */
struct msg *msg_new(size_t len);
/* Concatenates the parts and appends CRLF: one allocation per line. */
struct msg *msg_build(const struct iovec *parts, int nparts);
/* "* " + printf-formatted text + CRLF. */
struct msg *msg_notice(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static inline struct msg *msg_ref(struct msg *m) { m->refs++; return m; }
void msg_unref(struct msg *);
/* m in another framing (a WebSocket frame), built by make on first use
 * and kept with m, so a line shared by N recipients is framed once.
 * Freed with m; NULL if make failed. */
struct msg *msg_twin(struct msg *m, struct msg *(*make)(const struct msg *));

#define OUTQ_INLINE 2

/* A ring of message pointers.  A few fit inline, so a client that gets
 * lines one at a time never allocates; a burst moves to a heap ring,
 * which is given back once the queue drains.  The size of the ring given
 * back is remembered: a room's bursts are alike, so the next one gets a
 * ring of that size at once instead of doubling up to it again. */
struct outq {
	struct msg **ring;	/* inline_ring or the heap; NULL when unused */
	struct msg *inline_ring[OUTQ_INLINE];
	uint32_t head, count, cap;	/* cap: a power of two, 0 when unused */
	uint32_t first_off;	/* bytes of ring[head] already written */
	uint32_t cap_hint;	/* the last heap ring's size, 0 if none yet */
	size_t bytes;		/* unsent bytes in the queue */
};

/* The rare path of outq_push: makes room for one more message. */
int outq_grow(struct outq *);

/* Queues m and takes a new reference.  Inline: this runs once per
 * recipient of every line, and the call would cost as much as the push. */
static inline int outq_push(struct outq *q, struct msg *m)
{
	if (q->count == q->cap && outq_grow(q) == -1)
		return -1;
	q->ring[(q->head + q->count) & (q->cap - 1)] = msg_ref(m);
	q->count++;
	q->bytes += m->len;
	return 0;
}

/* Writes as much as the socket takes.  Returns bytes written (0 when the
 * socket is full), or -1 with errno on a write error. */
ssize_t outq_flush(struct outq *, int fd);
/* The same through a writev(2)-like function (a transport). */
typedef ssize_t outq_writev_fn(void *arg, const struct iovec *, int);
ssize_t outq_flush_with(struct outq *, outq_writev_fn *, void *arg);
void outq_clear(struct outq *);

#endif
