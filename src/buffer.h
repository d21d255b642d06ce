/*
 * buffer.h - a pure byte buffer: no descriptors, no policy.  Storage is
 * allocated on first use and released when the buffer empties, so an idle
 * connection costs no buffer memory at all.
 */
#ifndef CHATD_BUFFER_H
#define CHATD_BUFFER_H

#include <stddef.h>
#include <stdint.h>

struct buffer {
	char *data;
	uint32_t off;		/* first unconsumed byte */
	uint32_t len;		/* unconsumed bytes */
	uint32_t cap;
};

#define BUFFER_INIT { NULL, 0, 0, 0 }

static inline size_t buffer_len(const struct buffer *b) { return b->len; }
static inline const char *buffer_data(const struct buffer *b)
{
	return b->data != NULL ? b->data + b->off : "";
}

int buffer_append(struct buffer *, const void *, size_t);
/* Returns room for at least want bytes at the end (growing as needed) and
 * stores the usable size in *avail; then buffer_commit() what was filled. */
char *buffer_reserve(struct buffer *, size_t want, size_t *avail);
void buffer_commit(struct buffer *, size_t n);
void buffer_consume(struct buffer *, size_t n);
void buffer_free(struct buffer *);

#endif
