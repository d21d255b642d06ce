/*
 * buffer.c - growable byte buffer with lazy storage.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "fault.h"

#define BUFFER_MIN 512
#define BUFFER_MAX (UINT32_MAX / 2)

void buffer_free(struct buffer *b)
{
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}

char *buffer_reserve(struct buffer *b, size_t want, size_t *avail)
{
	size_t need, cap;
	char *p;

	if (b->off > 0 && b->cap - b->off - b->len < want) {
		/* Slide the live bytes down before growing. */
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
	}
	need = (size_t)b->off + b->len + want;
	if (need > BUFFER_MAX)
		return NULL;
	if (need > b->cap) {
		FAULT_RETURN("chatd/mm/buffer", NULL, ENOMEM);
		cap = b->cap ? b->cap : BUFFER_MIN;
		while (cap < need)
			cap *= 2;
		p = realloc(b->data, cap);
		if (p == NULL)
			return NULL;
		b->data = p;
		b->cap = (uint32_t)cap;
	}
	*avail = b->cap - b->off - b->len;
	return b->data + b->off + b->len;
}

void buffer_commit(struct buffer *b, size_t n)
{
	b->len += (uint32_t)n;
}

int buffer_append(struct buffer *b, const void *src, size_t n)
{
	size_t avail;
	char *dst;

	if (n == 0)
		return 0;
	dst = buffer_reserve(b, n, &avail);
	if (dst == NULL)
		return -1;
	memcpy(dst, src, n);
	buffer_commit(b, n);
	return 0;
}

void buffer_consume(struct buffer *b, size_t n)
{
	if (n >= b->len) {
		buffer_free(b);
		return;
	}
	b->off += (uint32_t)n;
	b->len -= (uint32_t)n;
}
