/*
 * framer.c - line framing with a cap, over bytes that may contain NUL.
 */
#include "autoconfig.h"

#include <string.h>

#include "framer.h"

static size_t without_cr(const char *s, size_t n)
{
	return (n > 0 && s[n - 1] == '\r') ? n - 1 : n;
}

enum frame_result framer_next(struct framer *f, const char *data, size_t len,
    const char **line, size_t *linelen, size_t *consumed)
{
	size_t skipped = 0;
	const char *lf;

	if (f->discarding) {
		lf = memchr(data, '\n', len);
		if (lf == NULL) {
			*consumed = len;
			return FRAME_NEED_MORE;
		}
		f->discarding = false;
		skipped = (size_t)(lf - data) + 1;
		data += skipped;
		len -= skipped;
	}
	lf = memchr(data, '\n', len);
	if (lf != NULL) {
		size_t n = without_cr(data, (size_t)(lf - data));

		*consumed = skipped + (size_t)(lf - data) + 1;
		if (n > f->max_line)
			return FRAME_TOOLONG;
		*line = data;
		*linelen = n;
		return FRAME_LINE;
	}
	/* No LF yet: only a trailing CR may still be dropped, so anything
	 * beyond max_line + 1 bytes can never become a valid line. */
	if (len > f->max_line + 1 ||
	    (len == f->max_line + 1 && data[len - 1] != '\r')) {
		f->discarding = true;
		*consumed = skipped + len;
		return FRAME_TOOLONG;
	}
	*consumed = skipped;
	return FRAME_NEED_MORE;
}

enum frame_result framer_finish(struct framer *f, const char *data, size_t len,
    const char **line, size_t *linelen)
{
	size_t n;

	if (f->discarding || len == 0)
		return FRAME_NEED_MORE;
	n = without_cr(data, len);
	if (n > f->max_line)
		return FRAME_TOOLONG;
	*line = data;
	*linelen = n;
	return FRAME_LINE;
}
