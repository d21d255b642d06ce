/*
 * quote.c - untrusted text made safe for a one-line error message.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "quote.h"

const char *quote(const char *s, char *out, size_t n)
{
	size_t o = 0;
	char esc[5];

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c == '\n')
			snprintf(esc, sizeof(esc), "\\n");
		else if (c < 0x20 || c == 0x7f)
			snprintf(esc, sizeof(esc), "\\x%02x", c);
		else
			snprintf(esc, sizeof(esc), "%c", c);
		if (o + strlen(esc) + 4 > n) {
			memcpy(out + o, "...", 4);
			return out;
		}
		memcpy(out + o, esc, strlen(esc));
		o += strlen(esc);
	}
	out[o] = '\0';
	return out;
}
