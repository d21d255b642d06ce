/*
 * fuzz_framer.c - libFuzzer target for the line framer.  The first byte
 * picks max_line, the second the chunk size; the rest is the stream.
 * Invariants: every line fits max_line, holds no LF, ends in no CR, and
 * a too-long line never yields part of itself as a line.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "framer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *line, size_t n, size_t max_line)
{
	if (n > max_line || memchr(line, '\n', n) != NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct framer f;
	char *pending;
	size_t plen = 0, step;

	if (size < 2)
		return 0;
	f.max_line = (size_t)data[0] % 64 + 1;
	f.discarding = false;
	step = (size_t)data[1] % 17 + 1;
	data += 2;
	size -= 2;
	pending = malloc(size + 1);
	if (pending == NULL)
		return 0;
	for (size_t pos = 0; pos < size; pos += step) {
		size_t n = size - pos < step ? size - pos : step;

		memcpy(pending + plen, data + pos, n);
		plen += n;
		for (;;) {
			const char *line;
			size_t linelen, used;
			enum frame_result r = framer_next(&f, pending, plen, &line,
			    &linelen, &used);

			if (used > plen)
				abort();
			if (r == FRAME_LINE)
				check_line(line, linelen, f.max_line);
			memmove(pending, pending + used, plen - used);
			plen -= used;
			if (r == FRAME_NEED_MORE)
				break;
		}
		/* Bounded memory: what is kept can never exceed one line. */
		if (plen > f.max_line + 1)
			abort();
	}
	{
		const char *line;
		size_t linelen;

		if (framer_finish(&f, pending, plen, &line, &linelen) == FRAME_LINE)
			check_line(line, linelen, f.max_line);
	}
	free(pending);
	return 0;
}
