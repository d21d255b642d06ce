/*
 * config-int.h - what the files of the configuration loader share, and
 * nothing else includes:
 *
 *   config-read.c    reading files and expanding @include, with the map
 *                    from lines of the combined text back to FILE:LINE
 *   config-get.c     the error list, typed access to settings, and
 *                    applying a table of keys to a group
 *   config-schema.c  one table row per key, and the keys' own value rules
 *   config.c         listeners, rules across keys, the public entry points
 */
#ifndef CHATD_CONFIG_INT_H
#define CHATD_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <libconfig.h>

#include "config.h"

#if defined(__GNUC__)
#define PRINTF_LIKE(a, b) __attribute__((format(printf, a, b)))
#else
#define PRINTF_LIKE(a, b)
#endif

#define SECONDS_MAX	31536000.0	/* a year: keeps timer arithmetic sane */

/* ---- errors (config-get.c) ----------------------------------------- */

/* Every error found, one "FILE:LINE: message" line each, in the
 * caller's buffer; lines are separated by '\n'.  The first line is cut
 * short if the buffer is that small; a later line that does not fit
 * whole is left out (and counted), never cut. */
struct errs {
	char *buf;
	size_t size;
	size_t used;
	unsigned count;
};

void errs_init(struct errs *, char *buf, size_t size);

/* line < 1: "FILE: message" (the whole file, or no line to blame). */
void errs_add(struct errs *, const char *file, long line,
    const char *fmt, ...) PRINTF_LIKE(4, 5);

/* ---- the combined text (config-read.c) ------------------------------ */

struct segment;

struct source {
	char *text;		/* the combined text, NUL-terminated */
	size_t len, cap;
	long out_line;		/* line the end of text is on */
	struct segment *seg;
	size_t nseg, segcap;
	char **files;		/* names of included files, owned */
	size_t nfiles;
	int state;		/* the lexer's (enum lex in config-read.c) */
	struct errs *errs;
};

/* Reads a whole file (regular_only: refuse devices and FIFOs).  Returns
 * NULL with a reason in *why. */
char *cfg_read_file(const char *path, bool regular_only, size_t *lenp,
    const char **why);

/* "a/b/c.conf" -> "a/b/", "c.conf" -> "". */
char *cfg_dir_prefix(const char *path);

/* Expands text (the file name, its directory for relative @include
 * paths) into src, which must be zeroed.  Returns 0, or -1 with the
 * error in src->errs; release src with source_free() either way. */
int source_expand(struct source *src, const char *name, const char *dir,
    const char *text);
void source_free(struct source *);

/* Maps a line of the combined text back to its file and line. */
void source_where(const struct source *, long out_line, const char **file,
    long *line);

/* ---- typed access (config-get.c) ------------------------------------ */

struct ctx {
	const struct source *src;
	struct errs *errs;
};

void where(const struct ctx *, const config_setting_t *, const char **file,
    long *line);

void report(struct ctx *, const config_setting_t *, const char *fmt, ...)
    PRINTF_LIKE(3, 4);

/* fail() reports and evaluates to -1.  A macro so that the compiler
 * sees the -1, and knows that a getter which failed has not left its
 * output unset by accident. */
#define fail(...)	(report(__VA_ARGS__), -1)

struct keyword {
	const char *name;
	int value;
};

int get_string(struct ctx *, const config_setting_t *, const char **out);
int get_nonempty(struct ctx *, const config_setting_t *, char **out);
int get_int(struct ctx *, const config_setting_t *, long long min,
    long long max, long long *out);
int get_seconds(struct ctx *, const config_setting_t *, double *out);
int get_number(struct ctx *, const config_setting_t *, double min,
    double max, double *out);
int get_bool(struct ctx *, const config_setting_t *, bool *out);
int get_keyword(struct ctx *, const config_setting_t *,
    const struct keyword *, const char *choices, int *out);
bool config_valid_name(const char *);
int get_name(struct ctx *, const config_setting_t *, const char *what,
    char **out);

/* ---- the schema (config-schema.c; applied by config-get.c) ---------- */

#define PROTO_BIT(p)	(1u << (p))
#define PROTO_ALL	((1u << PROTO_COUNT) - 1)

enum key_type {
	KEY_STRING,	/* char *; "" kept unless KEY_EMPTY_NONE */
	KEY_NONEMPTY,	/* char *, must not be empty */
	KEY_NAME,	/* char *, [A-Za-z0-9_.-]{1,32}; what = .choices_text */
	KEY_INT,	/* int, min..max */
	KEY_UINT,	/* unsigned, min..max */
	KEY_SIZE,	/* size_t, min..max */
	KEY_SECONDS,	/* double, 0..SECONDS_MAX, an integer or a float */
	KEY_NUMBER,	/* double, min..max, an integer or a float */
	KEY_STRLIST,	/* char **, NULL-terminated; a non-empty list of strings */
	KEY_BOOL,	/* bool */
	KEY_KEYWORD,	/* int, one of .keywords */
	KEY_CUSTOM,	/* .parse does it all, and sets the default */
};

#define KEY_REQUIRED	0x1u	/* checked by the caller, in its words */
#define KEY_EMPTY_NONE	0x2u	/* KEY_STRING: "" stores NULL */
#define KEY_EARLY	0x4u	/* parsed before the others (name, protocol, bind) */
#define KEY_POSITIVE	0x8u	/* KEY_SECONDS: 0 is not allowed */

struct key {
	const char *name;
	enum key_type type;
	unsigned protocols;	/* listener keys: PROTO_BITs that take it */
	size_t offset;		/* of the field in the struct being filled */
	unsigned flags;
	double def;		/* numeric default */
	const char *def_str;	/* string default (copied), NULL: none */
	long long min, max;	/* integer bounds */
	const struct keyword *keywords;
	const char *choices_text;	/* KEY_KEYWORD: "a, b or c"; KEY_NAME: what */
	/* KEY_CUSTOM: parse s into obj; s == NULL sets the default. */
	int (*parse)(struct ctx *, const config_setting_t *s, void *obj);
	const char *doc;
};

extern const char *const config_protocol_names[PROTO_COUNT];
extern const struct key config_global_keys[];
extern const struct key config_listener_keys[];

const struct key *schema_find(const struct key *table, const char *name);

/* Sets the default of every row of table that applies to protocols
 * (PROTO_ALL outside listeners).  Returns -1 when out of memory. */
int schema_defaults(const struct key *table, unsigned protocols, void *obj);

/* Parses one setting by its row into obj. */
int schema_parse(struct ctx *, const struct key *, const config_setting_t *,
    void *obj);

/* Parses every member of group by table into obj: unknown keys and
 * keys of another protocol are errors; rows flagged KEY_EARLY are
 * skipped (the caller has done them).  Returns the number of errors. */
int schema_apply(struct ctx *, const struct key *table,
    const config_setting_t *group, unsigned protocols, void *obj);

/* "chat", "chat and websocket", "chat, echo and websocket". */
const char *schema_protocol_names(unsigned protocols, char *buf, size_t n);

void config_cluster_free(struct cluster_conf *);

/* Custom parsers the schema's rows point at (config.c). */
int config_parse_listeners(struct ctx *, const config_setting_t *, void *cfg);

#endif
