/*
 * framer.h - splits a byte stream into lines with a length cap.
 *
 * A line ends at LF; a CR just before it is dropped.  A line longer than
 * max_line bytes (without CR/LF) is reported once as FRAME_TOOLONG and the
 * rest of it, up to its LF, is swallowed, however it arrives in pieces.
 */
#ifndef CHATD_FRAMER_H
#define CHATD_FRAMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum frame_result {
	FRAME_NEED_MORE,	/* keep data[consumed..len) and wait for more */
	FRAME_LINE,		/* a complete line in *line, *linelen */
	FRAME_TOOLONG		/* an over-long line began; its bytes are consumed */
};

struct framer {
	uint32_t max_line;
	bool discarding;	/* inside an over-long line, until its LF */
};

/* Scans data[0..len).  Always sets *consumed: the bytes the caller must
 * drop from the front of its input (a line, or skipped bytes). */
enum frame_result framer_next(struct framer *, const char *data, size_t len,
    const char **line, size_t *linelen, size_t *consumed);

/* At end of input: the unterminated rest, if any, as a final line. */
enum frame_result framer_finish(struct framer *, const char *data, size_t len,
    const char **line, size_t *linelen);

#endif
