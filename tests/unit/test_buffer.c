/* test_buffer.c - the byte buffer: lazy storage, growth, consumption. */
#include "autoconfig.h"

#include <stdlib.h>

#include "buffer.h"
#include "unit.h"

static void starts_without_storage(void)
{
	struct buffer b = BUFFER_INIT;

	CHECK(b.data == NULL);
	CHECK(buffer_len(&b) == 0);
	CHECK_STR(buffer_data(&b), "");
	buffer_free(&b);
}

static void append_and_consume(void)
{
	struct buffer b = BUFFER_INIT;

	CHECK(buffer_append(&b, "hello ", 6) == 0);
	CHECK(buffer_append(&b, "world", 5) == 0);
	CHECK_MEM(buffer_data(&b), buffer_len(&b), "hello world", 11);
	buffer_consume(&b, 6);
	CHECK_MEM(buffer_data(&b), buffer_len(&b), "world", 5);
	buffer_consume(&b, 5);
	CHECK(buffer_len(&b) == 0);
	CHECK(b.data == NULL);	/* released once empty */
	buffer_free(&b);
}

static void grows_past_initial_size_and_keeps_bytes(void)
{
	struct buffer b = BUFFER_INIT;
	char chunk[1000];
	size_t total = 0;

	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < sizeof(chunk); i++)
			chunk[i] = (char)((total + i) & 0xff);
		CHECK(buffer_append(&b, chunk, sizeof(chunk)) == 0);
		total += sizeof(chunk);
	}
	CHECK(buffer_len(&b) == total);
	for (size_t i = 0; i < total; i++)
		if ((unsigned char)buffer_data(&b)[i] != (i & 0xff)) {
			CHECK(!"byte mismatch");
			break;
		}
	buffer_free(&b);
}

static void reserve_slides_before_growing(void)
{
	struct buffer b = BUFFER_INIT;
	size_t avail;
	char *p;
	uint32_t cap;

	CHECK(buffer_append(&b, "0123456789", 10) == 0);
	cap = b.cap;
	buffer_consume(&b, 8);
	p = buffer_reserve(&b, cap - 4, &avail);
	CHECK(p != NULL);
	CHECK(avail >= cap - 4);
	CHECK(b.cap == cap);	/* reused by sliding, not grown */
	CHECK_MEM(buffer_data(&b), buffer_len(&b), "89", 2);
	memcpy(p, "ab", 2);
	buffer_commit(&b, 2);
	CHECK_MEM(buffer_data(&b), buffer_len(&b), "89ab", 4);
	buffer_free(&b);
}

static void binary_safe(void)
{
	struct buffer b = BUFFER_INIT;
	const char bin[] = { 0, 1, '\n', 0, (char)0xff };

	CHECK(buffer_append(&b, bin, sizeof(bin)) == 0);
	CHECK_MEM(buffer_data(&b), buffer_len(&b), bin, sizeof(bin));
	buffer_free(&b);
}

int main(void)
{
	RUN(starts_without_storage);
	RUN(append_and_consume);
	RUN(grows_past_initial_size_and_keeps_bytes);
	RUN(reserve_slides_before_growing);
	RUN(binary_safe);
	return unit_done("test_buffer");
}
