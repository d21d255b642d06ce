/*
 * config-get.c - the error list, typed access to settings, and applying
 * the schema's rows (config-schema.c) to a group of settings.
 *
 * Nothing here logs or exits.  Errors are collected, not returned one at
 * a time: an administrator fixing a file wants every mistake in it at
 * once (as OpenBSD's parse.y counts errors and goes on), and chatd -t,
 * start-up and SIGHUP reload print the same list.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-int.h"
#include "quote.h"

#define NAME_MAX_LEN	32

/* The field a row points at, in the struct being filled. */
#define AT(obj, k, type)	((type *)(void *)((char *)(obj) + (k)->offset))

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

/* A number that may have a fraction (rate = 0.5), written either way. */
int get_number(struct ctx *c, const config_setting_t *s, double min,
    double max, double *out)
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
		return fail(c, s, "'%s' must be a number", config_setting_name(s));
	}
	if (!(v >= min && v <= max))	/* also catches NaN */
		return fail(c, s, "'%s' must be between %.15g and %.15g",
		    config_setting_name(s), min, max);
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

/* ------------------------------------------------------------------ */
/* Applying a table                                                    */
/* ------------------------------------------------------------------ */

const struct key *schema_find(const struct key *k, const char *name)
{
	for (; k->name != NULL; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

const char *schema_protocol_names(unsigned protocols, char *buf, size_t n)
{
	int p, left = 0;

	for (p = 0; p < PROTO_COUNT; p++)
		left += (protocols & PROTO_BIT(p)) != 0;
	buf[0] = '\0';
	for (p = 0; p < PROTO_COUNT; p++) {
		if (!(protocols & PROTO_BIT(p)))
			continue;
		left--;
		snprintf(buf + strlen(buf), n - strlen(buf), "%s%s",
		    config_protocol_names[p], left > 1 ? ", " : left == 1 ? " and " : "");
	}
	return buf;
}

static int set_string(char **field, const char *v)
{
	char *copy = NULL;

	if (v != NULL && (copy = strdup(v)) == NULL)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}

int schema_defaults(const struct key *k, unsigned protocols, void *obj)
{
	for (; k->name != NULL; k++) {
		if (k->protocols != 0 && !(k->protocols & protocols))
			continue;
		switch (k->type) {
		case KEY_STRING:
		case KEY_NONEMPTY:
		case KEY_NAME:
			if (k->def_str != NULL &&
			    set_string(AT(obj, k, char *), k->def_str) < 0)
				return -1;
			break;
		case KEY_INT:
		case KEY_KEYWORD:
			*AT(obj, k, int) = (int)k->def;
			break;
		case KEY_UINT:
			*AT(obj, k, unsigned) = (unsigned)k->def;
			break;
		case KEY_SIZE:
			*AT(obj, k, size_t) = (size_t)k->def;
			break;
		case KEY_SECONDS:
		case KEY_NUMBER:
			*AT(obj, k, double) = k->def;
			break;
		case KEY_STRLIST:
			break;	/* NULL: none */
		case KEY_BOOL:
			*AT(obj, k, bool) = k->def != 0;
			break;
		case KEY_CUSTOM:
			if (k->parse(NULL, NULL, obj) < 0)
				return -1;
			break;
		}
	}
	return 0;
}

static int parse_string(struct ctx *c, const struct key *k,
    const config_setting_t *s, void *obj)
{
	const char *v;
	char *copy;
	int rc;

	switch (k->type) {
	case KEY_NAME:
		rc = get_name(c, s, k->choices_text, &copy);
		break;
	case KEY_NONEMPTY:
		rc = get_nonempty(c, s, &copy);
		break;
	default:
		if (get_string(c, s, &v) < 0)
			return -1;
		if ((k->flags & KEY_EMPTY_NONE) && v[0] == '\0')
			v = NULL;
		if (set_string(AT(obj, k, char *), v) < 0)
			return fail(c, s, "out of memory");
		return 0;
	}
	if (rc < 0)
		return -1;
	free(*AT(obj, k, char *));
	*AT(obj, k, char *) = copy;
	return 0;
}

static int parse_seconds(struct ctx *c, const struct key *k,
    const config_setting_t *s, double *out)
{
	double v;

	if (get_seconds(c, s, &v) < 0)
		return -1;
	if ((k->flags & KEY_POSITIVE) && v == 0)
		return fail(c, s, "'%s' must be more than 0 seconds", k->name);
	*out = v;
	return 0;
}

static void free_strlist(char **list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; list[i] != NULL; i++)
		free(list[i]);
	free(list);
}

/* A list or an array of non-empty strings, kept NULL-terminated. */
static int parse_strlist(struct ctx *c, const config_setting_t *s,
    char ***field)
{
	int i, n;
	char **list;

	if (!config_setting_is_aggregate(s) || config_setting_is_group(s))
		return fail(c, s, "'%s' must be a list of strings: [ \"...\", ... ]",
		    config_setting_name(s));
	n = config_setting_length(s);
	if (n <= 0)
		return fail(c, s, "'%s' must not be empty", config_setting_name(s));
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING ||
		    config_setting_get_string(e)[0] == '\0')
			return fail(c, e, "'%s' must be a list of non-empty strings",
			    config_setting_name(s));
	}
	if ((list = calloc((size_t)n + 1, sizeof(*list))) == NULL)
		return fail(c, s, "out of memory");
	for (i = 0; i < n; i++) {
		list[i] = strdup(config_setting_get_string(
		    config_setting_get_elem(s, (unsigned)i)));
		if (list[i] == NULL) {
			free_strlist(list);
			return fail(c, s, "out of memory");
		}
	}
	free_strlist(*field);
	*field = list;
	return 0;
}

int schema_parse(struct ctx *c, const struct key *k, const config_setting_t *s,
    void *obj)
{
	long long v;
	int kw;

	switch (k->type) {
	case KEY_STRING:
	case KEY_NONEMPTY:
	case KEY_NAME:
		return parse_string(c, k, s, obj);
	case KEY_INT:
		if (get_int(c, s, k->min, k->max, &v) < 0)
			return -1;
		*AT(obj, k, int) = (int)v;
		return 0;
	case KEY_UINT:
		if (get_int(c, s, k->min, k->max, &v) < 0)
			return -1;
		*AT(obj, k, unsigned) = (unsigned)v;
		return 0;
	case KEY_SIZE:
		if (get_int(c, s, k->min, k->max, &v) < 0)
			return -1;
		*AT(obj, k, size_t) = (size_t)v;
		return 0;
	case KEY_SECONDS:
		return parse_seconds(c, k, s, AT(obj, k, double));
	case KEY_NUMBER:
		return get_number(c, s, (double)k->min, (double)k->max,
		    AT(obj, k, double));
	case KEY_STRLIST:
		return parse_strlist(c, s, AT(obj, k, char **));
	case KEY_BOOL:
		return get_bool(c, s, AT(obj, k, bool));
	case KEY_KEYWORD:
		if (get_keyword(c, s, k->keywords, k->choices_text, &kw) < 0)
			return -1;
		*AT(obj, k, int) = kw;
		return 0;
	case KEY_CUSTOM:
		return k->parse(c, s, obj);
	}
	return fail(c, s, "internal error: key '%s' has no type", k->name);
}

int schema_apply(struct ctx *c, const struct key *table,
    const config_setting_t *group, unsigned protocols, void *obj)
{
	int i, n = config_setting_length(group), errors = 0;
	char names[128];

	for (i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		const struct key *k = schema_find(table, name);

		if (k == NULL) {
			/* A typo must not silently mean "default". */
			errors += fail(c, s, "unknown key '%s'", name) < 0;
			continue;
		}
		if (k->flags & KEY_EARLY)
			continue;
		if (k->protocols != 0 && !(k->protocols & protocols)) {
			errors += fail(c, s, "'%s' applies only to %s listeners",
			    name, schema_protocol_names(k->protocols, names,
			    sizeof(names))) < 0;
			continue;
		}
		errors += schema_parse(c, k, s, obj) < 0;
	}
	return errors;
}
