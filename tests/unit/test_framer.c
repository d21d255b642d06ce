/* test_framer.c - line framing: CR/LF handling, the max_line cap and
 * its boundary, discarding an over-long line however it is split. */
#include "autoconfig.h"

#include <stdlib.h>

#include "framer.h"
#include "unit.h"

/* Feeds input in chunks of size step and records the events as text:
 * "L:<line>" per line and "T" per too-long line, joined by '|'. */
static void frame_all(size_t max_line, const char *in, size_t len, size_t step,
    char *out, size_t outlen)
{
	struct framer f = { max_line, false };
	char pending[4096];
	size_t plen = 0, o = 0;

	out[0] = '\0';
	for (size_t pos = 0; pos < len; pos += step) {
		size_t n = len - pos < step ? len - pos : step;

		memcpy(pending + plen, in + pos, n);
		plen += n;
		for (;;) {
			const char *line;
			size_t linelen, used;
			enum frame_result r = framer_next(&f, pending, plen, &line, &linelen, &used);

			if (r == FRAME_LINE)
				o += (size_t)snprintf(out + o, outlen - o, "L:%.*s|", (int)linelen, line);
			else if (r == FRAME_TOOLONG)
				o += (size_t)snprintf(out + o, outlen - o, "T|");
			memmove(pending, pending + used, plen - used);
			plen -= used;
			if (r == FRAME_NEED_MORE)
				break;
		}
	}
	{
		const char *line;
		size_t linelen;

		if (framer_finish(&f, pending, plen, &line, &linelen) == FRAME_LINE)
			snprintf(out + o, outlen - o, "E:%.*s|", (int)linelen, line);
	}
}

static void check_all_splits(size_t max_line, const char *in, const char *want)
{
	char got[4096];

	for (size_t step = 1; step <= strlen(in) + 1; step++) {
		frame_all(max_line, in, strlen(in), step, got, sizeof(got));
		if (strcmp(got, want) != 0) {
			fprintf(stderr, "input \"%s\" step %zu:\n", in, step);
			CHECK_STR(got, want);
			return;
		}
	}
	CHECK(1);
}

static void lines_and_crlf(void)
{
	check_all_splits(10, "a\nbc\r\n\nd", "L:a|L:bc|L:|E:d|");
	check_all_splits(10, "x\r\r\n", "L:x\r|");
	check_all_splits(10, "tail\r", "E:tail|");
}

static void boundary_is_max_line_bytes(void)
{
	check_all_splits(5, "12345\n", "L:12345|");
	check_all_splits(5, "12345\r\n", "L:12345|");
	check_all_splits(5, "123456\n", "T|");
	check_all_splits(5, "123456\r\n", "T|");
	check_all_splits(5, "12345", "E:12345|");
	check_all_splits(5, "12345\r", "E:12345|");
}

static void overlong_line_is_swallowed_once(void)
{
	check_all_splits(4, "abcdefghijkl\nok\n", "T|L:ok|");
	check_all_splits(4, "abcdefghijkl", "T|");
	check_all_splits(4, "abcdefgh\nabcdefgh\nz\n", "T|T|L:z|");
}

static void nul_bytes_are_data(void)
{
	struct framer f = { 16, false };
	const char in[] = { 'a', 0, 'b', '\n' };
	const char *line;
	size_t n, used;

	CHECK(framer_next(&f, in, sizeof(in), &line, &n, &used) == FRAME_LINE);
	CHECK_MEM(line, n, "a\0b", 3);
	CHECK(used == 4);
}

int main(void)
{
	RUN(lines_and_crlf);
	RUN(boundary_is_max_line_bytes);
	RUN(overlong_line_is_swallowed_once);
	RUN(nul_bytes_are_data);
	return unit_done("test_framer");
}
