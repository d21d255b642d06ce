/*
 * quote.h - untrusted text made safe for a one-line error message.
 */
#ifndef CHATD_QUOTE_H
#define CHATD_QUOTE_H

#include <stddef.h>

/* Copies s into out (n bytes) as it would be written in a config string
 * ("a\nb"): quotes, backslashes and control bytes escaped, so a message
 * stays one printable line whatever s held; long text is cut short with
 * "...".  Returns out, for use as a printf argument. */
const char *quote(const char *s, char *out, size_t n);

#endif
