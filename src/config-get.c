/*
 * config-get.c - the error list, and typed access to settings.
 *
 * Nothing here logs or exits.  Errors are collected, not returned one at
 * a time: an administrator fixing a file wants every mistake in it at
 * once (as OpenBSD's parse.y counts errors and goes on), and chatd -t,
 * start-up and SIGHUP reload print the same list.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config-int.h"
#include "quote.h"

#define NAME_MAX_LEN	32

/* ------------------------------------------------------------------ */
/* The error list                                                      */
/* ------------------------------------------------------------------ */

/* The last line of defence for "one line": a file name with a control
 * character in it must not split a message either. */
static void printable(char *msg, size_t n)
{
	for (; n > 0 && *msg != '\0'; msg++, n--)
		if ((unsigned char)*msg < 0x20 || *msg == 0x7f)
			*msg = '?';
}

void errs_init(struct errs *e, char *buf, size_t size)
{
	e->buf = buf;
	e->size = buf != NULL ? size : 0;
	e->used = 0;
	e->count = 0;
	if (e->size > 0)
		buf[0] = '\0';
}

void errs_add(struct errs *e, const char *file, long line, const char *fmt, ...)
{
	char msg[512], full[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		n = snprintf(full, sizeof(full), "%s:%ld: %s", file, line, msg);
	else
		n = snprintf(full, sizeof(full), "%s: %s", file, msg);
	if (n < 0)
		return;
	printable(full, sizeof(full));
	e->count++;
	if (e->size == 0)
		return;
	if (e->count == 1) {
		snprintf(e->buf, e->size, "%s", full);
		e->used = strlen(e->buf);
	} else if (e->used + 1 + strlen(full) < e->size) {
		e->used += (size_t)snprintf(e->buf + e->used, e->size - e->used,
		    "\n%s", full);
	}
}

/* ------------------------------------------------------------------ */
/* Typed access to settings                                            */
/* ------------------------------------------------------------------ */

void where(const struct ctx *c, const config_setting_t *s,
    const char **file, long *line)
{
	source_where(c->src, s ? (long)config_setting_source_line(s) : 1L,
	    file, line);
}

void report(struct ctx *c, const config_setting_t *s, const char *fmt, ...)
{
	char msg[512];
	const char *file;
	long line;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	where(c, s, &file, &line);
	errs_add(c->errs, file, line, "%s", msg);
}

int get_string(struct ctx *c, const config_setting_t *s,
    const char **out)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(c, s, "'%s' must be a string", config_setting_name(s));
	*out = config_setting_get_string(s);
	return 0;
}

int get_nonempty(struct ctx *c, const config_setting_t *s,
    char **out)
{
	const char *v;

	if (get_string(c, s, &v) < 0)
		return -1;
	if (v[0] == '\0')
		return fail(c, s, "'%s' must not be empty", config_setting_name(s));
	if ((*out = strdup(v)) == NULL)
		return fail(c, s, "out of memory");
	return 0;
}

int get_int(struct ctx *c, const config_setting_t *s,
    long long min, long long max, long long *out)
{
	long long v;

	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return fail(c, s, "'%s' must be an integer", config_setting_name(s));
	v = config_setting_get_int64(s);
	if (v < min || v > max)
		return fail(c, s, "'%s' must be between %lld and %lld",
		    config_setting_name(s), min, max);
	*out = v;
	return 0;
}

/* Durations take 5 as well as 5.0: libconfig types them apart, people
 * do not. */
int get_seconds(struct ctx *c, const config_setting_t *s,
    double *out)
{
	double v;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = (double)config_setting_get_int64(s);
		break;
	case CONFIG_TYPE_FLOAT:
		v = config_setting_get_float(s);
		break;
	default:
		return fail(c, s, "'%s' must be a number of seconds",
		    config_setting_name(s));
	}
	if (!(v >= 0 && v <= SECONDS_MAX))	/* also catches NaN */
		return fail(c, s, "'%s' must be between 0 and %.0f seconds",
		    config_setting_name(s), SECONDS_MAX);
	*out = v;
	return 0;
}

int get_bool(struct ctx *c, const config_setting_t *s, bool *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail(c, s, "'%s' must be true or false", config_setting_name(s));
	*out = config_setting_get_bool(s) != 0;
	return 0;
}

int get_keyword(struct ctx *c, const config_setting_t *s,
    const struct keyword *kw, const char *choices, int *out)
{
	const char *v;

	if (get_string(c, s, &v) < 0)
		return -1;
	for (; kw->name != NULL; kw++) {
		if (strcmp(kw->name, v) == 0) {
			*out = kw->value;
			return 0;
		}
	}
	return fail(c, s, "'%s' must be %s", config_setting_name(s), choices);
}


/* Listener names and rooms appear in logs, socket-activation names and
 * launchd keys: a conservative character set keeps them safe there. */
bool config_valid_name(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= NAME_MAX_LEN && strspn(s,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-") == n;
}

int get_name(struct ctx *c, const config_setting_t *s,
    const char *what, char **out)
{
	const char *v;
	char q[128];

	if (get_string(c, s, &v) < 0)
		return -1;
	if (!config_valid_name(v))
		return fail(c, s, "invalid %s \"%s\": use 1-%d characters of "
		    "A-Z a-z 0-9 _ . -", what, quote(v, q, sizeof(q)),
		    NAME_MAX_LEN);
	if ((*out = strdup(v)) == NULL)
		return fail(c, s, "out of memory");
	return 0;
}
