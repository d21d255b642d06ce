/*
 * config.c - read chatd.conf (libconfig syntax) into a validated struct.
 *
 * Everything here is pure: no logging, no exits.  Errors come back as one
 * line, "FILE:LINE: message", so chatd -t, start-up and SIGHUP reload can
 * all report them the same way.
 *
 * @include is expanded here rather than by libconfig.  libconfig 1.5
 * resolves every include against one directory (config_set_include_dir),
 * and even prefixes absolute paths with it; SPEC 14 wants paths relative
 * to the directory of the including file, and absolute paths must work.
 * The expansion keeps a map from lines of the combined text back to
 * (file, line), so every message still names the file the text came from.
 */
#include "autoconfig.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include <libconfig.h>

#include "config.h"
#include "quote.h"

#define FILE_MAX	(16u << 20)	/* per file: no config is this big */
#define TOTAL_MAX	(64u << 20)	/* after @include expansion */
#define INCLUDE_DEPTH	10		/* as libconfig's own limit */
#define SECONDS_MAX	31536000.0	/* a year: keeps timer arithmetic sane */
#define NAME_MAX_LEN	32

#define DEFAULT_BACKLOG		511
#define DEFAULT_MAX_LINE	1024
#define DEFAULT_MAX_QUEUE	((size_t)256 * 1024)
#define MAX_QUEUE_MIN		1024
#define MAX_QUEUE_MAX		(1024LL * 1024 * 1024)
#define MAX_LINE_MAX		(1024LL * 1024)

#if defined(__GNUC__)
#define PRINTF_LIKE(a, b) __attribute__((format(printf, a, b)))
#else
#define PRINTF_LIKE(a, b)
#endif

/* ------------------------------------------------------------------ */
/* Reading files                                                       */
/* ------------------------------------------------------------------ */

/* Reads a whole file.  Returns NULL with a reason in *why.  A config
 * file is small; the cap keeps "@include /dev/zero" from eating memory
 * and the NUL check keeps libconfig (which sees a C string) from
 * silently ignoring whatever follows a NUL byte. */
static char *read_file(const char *path, bool regular_only, size_t *lenp,
    const char **why)
{
	FILE *fp = fopen(path, "r");
	struct stat st;
	char *buf = NULL, *nbuf;
	size_t len = 0, cap = 0, n;

	*why = NULL;
	if (fp == NULL) {
		*why = strerror(errno);
		return NULL;
	}
	if (fstat(fileno(fp), &st) < 0)
		*why = strerror(errno);
	else if (S_ISDIR(st.st_mode))
		*why = strerror(EISDIR);
	else if (regular_only && !S_ISREG(st.st_mode))
		*why = "not a regular file";
	while (*why == NULL) {
		if (len + 1 >= cap) {
			cap = cap ? cap * 2 : 4096;
			if ((nbuf = realloc(buf, cap)) == NULL) {
				*why = strerror(ENOMEM);
				break;
			}
			buf = nbuf;
		}
		n = fread(buf + len, 1, cap - len - 1, fp);
		len += n;
		if (len > FILE_MAX)
			*why = strerror(EFBIG);
		else if (n == 0 && ferror(fp))
			*why = strerror(errno ? errno : EIO);
		else if (n == 0)
			break;
	}
	fclose(fp);
	/* buf is NULL only with *why set; the analyzer assumes strerror() can
	 * return NULL. */
	/* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
	if (*why == NULL && memchr(buf, '\0', len) != NULL)
		*why = "contains a NUL byte";
	if (*why != NULL) {
		free(buf);
		return NULL;
	}
	if (buf == NULL && (buf = malloc(1)) == NULL) {
		*why = strerror(ENOMEM);
		return NULL;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* The last line of defence for "one line": a file name with a control
 * character in it must not split a message either. */
static void printable(char *msg, size_t n)
{
	for (; n > 0 && *msg != '\0'; msg++, n--)
		if ((unsigned char)*msg < 0x20 || *msg == 0x7f)
			*msg = '?';
}

/* "a/b/c.conf" -> "a/b/", "c.conf" -> "": a prefix to join paths to. */
static char *dir_prefix(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) + 1 : 0;
	char *dir = malloc(n + 1);

	if (dir != NULL) {
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	return dir;
}

static char *join_path(const char *dir, const char *path)
{
	size_t dl = path[0] == '/' ? 0 : strlen(dir);
	size_t pl = strlen(path);
	char *s = malloc(dl + pl + 1);

	if (s != NULL) {
		memcpy(s, dir, dl);
		memcpy(s + dl, path, pl + 1);
	}
	return s;
}

/* ------------------------------------------------------------------ */
/* @include expansion                                                  */
/* ------------------------------------------------------------------ */

/* Where a run of lines of the combined text came from. */
struct segment {
	long out_line;		/* first line of the run in the combined text */
	long line;		/* its line in file */
	const char *file;
};

/* The lexer states of libconfig's scanner that matter for finding
 * @include: it is only recognised at the start of a line in code. */
enum lex { LEX_CODE, LEX_STRING, LEX_ESCAPE, LEX_LINE_COMMENT, LEX_COMMENT };

struct source {
	char *text;		/* the combined text, NUL-terminated */
	size_t len, cap;
	long out_line;		/* line the end of text is on */
	struct segment *seg;
	size_t nseg, segcap;
	char **files;		/* names of included files, owned */
	size_t nfiles;
	enum lex state;
	char *err;
	size_t errlen;
};

/* src_fail() and fail() report an error and evaluate to -1.  They are
 * macros so that the compiler sees the -1, and knows that a getter
 * which failed has not left its output unset by accident. */
#define src_fail(...)	(src_report(__VA_ARGS__), -1)
#define fail(...)	(report(__VA_ARGS__), -1)

static void src_report(struct source *src, const char *file, long line,
    const char *fmt, ...) PRINTF_LIKE(4, 5);

static void src_report(struct source *src, const char *file, long line,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (src->errlen > 0)
		snprintf(src->err, src->errlen, "%s:%ld: %s", file, line, msg);
}

static int src_reserve(struct source *src, size_t more)
{
	char *nt;
	size_t ncap;

	if (src->len + more + 1 <= src->cap)
		return 0;
	ncap = src->cap ? src->cap : 4096;
	while (ncap < src->len + more + 1)
		ncap *= 2;
	if ((nt = realloc(src->text, ncap)) == NULL)
		return -1;
	src->text = nt;
	src->cap = ncap;
	return 0;
}

static int src_segment(struct source *src, long out_line, const char *file,
    long line)
{
	struct segment *ns;
	size_t ncap;

	if (src->nseg == src->segcap) {
		ncap = src->segcap ? src->segcap * 2 : 16;
		if ((ns = realloc(src->seg, ncap * sizeof(*ns))) == NULL)
			return -1;
		src->seg = ns;
		src->segcap = ncap;
	}
	src->seg[src->nseg].out_line = out_line;
	src->seg[src->nseg].line = line;
	src->seg[src->nseg].file = file;
	src->nseg++;
	return 0;
}

/* Keeps an included file's name alive for messages until the end. */
static const char *src_keep_name(struct source *src, char *name)
{
	char **nf = realloc(src->files, (src->nfiles + 1) * sizeof(*nf));

	if (nf == NULL)
		return NULL;
	src->files = nf;
	src->files[src->nfiles++] = name;
	return name;
}

static void src_free(struct source *src)
{
	size_t i;

	for (i = 0; i < src->nfiles; i++)
		free(src->files[i]);
	free(src->files);
	free(src->seg);
	free(src->text);
}

/* Maps a line of the combined text back to its file and line. */
static void src_where(const struct source *src, long out_line,
    const char **file, long *line)
{
	size_t lo = 0, hi = src->nseg;

	/* The last segment starting at or before out_line. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (src->seg[mid].out_line <= out_line)
			lo = mid;
		else
			hi = mid;
	}
	*file = src->seg[lo].file;
	*line = src->seg[lo].line + (out_line - src->seg[lo].out_line);
}

/* Advances the lexer over the character at t[0] (t[1] is lookahead or
 * NUL) and returns how many characters belong to the token: 2 for the
 * comment delimiters, else 1. */
static size_t lex_step(enum lex *st, const char *t)
{
	switch (*st) {
	case LEX_CODE:
		if (t[0] == '"')
			*st = LEX_STRING;
		else if (t[0] == '#' || (t[0] == '/' && t[1] == '/'))
			*st = LEX_LINE_COMMENT;
		else if (t[0] == '/' && t[1] == '*')
			return *st = LEX_COMMENT, 2;
		break;
	case LEX_STRING:
		if (t[0] == '\\')
			*st = LEX_ESCAPE;
		else if (t[0] == '"')
			*st = LEX_CODE;
		break;
	case LEX_ESCAPE:
		*st = LEX_STRING;
		break;
	case LEX_LINE_COMMENT:
		if (t[0] == '\n')
			*st = LEX_CODE;
		break;
	case LEX_COMMENT:
		if (t[0] == '*' && t[1] == '/')
			return *st = LEX_CODE, 2;
		break;
	}
	return 1;
}

/* True when a digit string (no sign, no leading zeros) is above limit,
 * a digit string of the same form. */
static bool digits_above(const char *d, size_t n, const char *limit)
{
	size_t ln = strlen(limit);

	return n > ln || (n == ln && strncmp(d, limit, n) > 0);
}

/* libconfig 1.5 reads an integer literal beyond 32 bits by silently
 * wrapping it: "max_queue = 5000000000;" would arrive as 705032704.
 * Returns the length of such a literal at t (0 for anything else), so
 * the caller can mark it 64-bit with a trailing L; libconfig then keeps
 * its value and the range checks report it.  prev is the character
 * before t, to tell a literal from the tail of a name. */
static size_t wide_integer(const char *t, char prev)
{
	const char *d;
	size_t i = 0, j, z;
	bool hex;

	if (prev != '\0' && strchr("-+.*_", prev) != NULL)
		return 0;
	if ((prev >= '0' && prev <= '9') || (prev >= 'A' && prev <= 'Z') ||
	    (prev >= 'a' && prev <= 'z'))
		return 0;
	if (t[0] == '-' || t[0] == '+')
		i = 1;
	hex = i == 0 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X');
	if (hex)
		i = 2;
	j = i + strspn(t + i, hex ? "0123456789abcdefABCDEF" : "0123456789");
	if (j == i)
		return 0;
	/* A float, an explicit 64-bit literal or garbage: leave it. */
	if (t[j] != '\0' && strchr(".eELl_xX*", t[j]) != NULL)
		return 0;
	z = i;
	while (t[z] == '0' && z + 1 < j)
		z++;
	d = t + z;
	if (hex)
		return (j - z > 8 || (j - z == 8 && strchr("89abcdefABCDEF", *d)))
		    ? j : 0;
	return digits_above(d, j - z, t[0] == '-' ? "2147483648" :
	    "2147483647") ? j : 0;
}

/* Matches libconfig's ^[ \t]*@include[ \t]+" at t.  Returns the length
 * up to and including the opening quote, or 0. */
static size_t match_include(const char *t)
{
	size_t i = strspn(t, " \t"), ws;

	if (strncmp(t + i, "@include", 8) != 0)
		return 0;
	i += 8;
	ws = strspn(t + i, " \t");
	if (ws == 0 || t[i + ws] != '"')
		return 0;
	return i + ws + 1;
}

/* Reads the quoted include path starting after the opening quote, with
 * libconfig's two escapes (\\ and \").  Returns the characters consumed
 * including the closing quote, or 0 if the line ends first. */
static size_t include_path(const char *t, char *out, size_t outlen, bool *toolong)
{
	size_t i = 0, o = 0;

	*toolong = false;
	for (; t[i] != '\0' && t[i] != '\n' && t[i] != '"'; i++) {
		if (t[i] == '\\' && (t[i + 1] == '\\' || t[i + 1] == '"'))
			i++;
		if (o + 1 < outlen)
			out[o++] = t[i];
		else
			*toolong = true;
	}
	out[o] = '\0';
	return t[i] == '"' ? i + 1 : 0;
}

static int expand(struct source *src, const char *file, const char *dir,
    const char *text, int depth);

/* Splices the file named by an @include directive into the output. */
static int expand_include(struct source *src, const char *file,
    const char *dir, long line, const char *path, int depth)
{
	char *full, *subdir, *text, q[256];
	const char *why, *name;
	size_t len;
	int rc;

	if (path[0] == '\0')
		return src_fail(src, file, line, "empty @include path");
	if (depth >= INCLUDE_DEPTH)
		return src_fail(src, file, line,
		    "@include nested more than %d deep", INCLUDE_DEPTH);
	full = join_path(dir, path);
	if (full == NULL || (name = src_keep_name(src, full)) == NULL) {
		free(full);
		return src_fail(src, file, line, "out of memory");
	}
	if ((text = read_file(name, true, &len, &why)) == NULL)
		return src_fail(src, file, line,
		    "cannot open include file \"%s\": %s",
		    quote(name, q, sizeof(q)), why);
	subdir = dir_prefix(name);
	if (subdir == NULL)
		rc = src_fail(src, file, line, "out of memory");
	else if (src->len + len > TOTAL_MAX)
		rc = src_fail(src, file, line,
		    "configuration too large with its includes");
	else
		rc = expand(src, name, subdir, text, depth + 1);
	free(subdir);
	free(text);
	return rc;
}

/* After an included file, the rest of the directive's line continues
 * the output line, which belongs to the including file again unless
 * the included text ended without a newline; then the including file
 * takes over at its next line. */
static int resume_segment(struct source *src, const char *file, long line)
{
	if (src->len == 0 || src->text[src->len - 1] == '\n')
		return src_segment(src, src->out_line, file, line);
	return src_segment(src, src->out_line + 1, file, line + 1);
}

static bool only_comment_follows(const char *t)
{
	while (*t == ' ' || *t == '\t' || *t == '\r')
		t++;
	return *t == '\0' || *t == '\n' || *t == '#' || (t[0] == '/' && t[1] == '/');
}

/* Handles the directive whose opening (up to the quote) has been
 * matched; t is the path that follows.  Sets *used to the characters
 * of t consumed, closing quote included. */
static int splice_include(struct source *src, const char *file,
    const char *dir, long line, const char *t, int depth, size_t *used)
{
	char path[PATH_MAX];
	bool toolong;

	if ((*used = include_path(t, path, sizeof(path), &toolong)) == 0)
		return src_fail(src, file, line, "unterminated @include path");
	if (toolong)
		return src_fail(src, file, line, "@include path too long");
	/* What follows the directive would start a line of the combined
	 * text, where libconfig would act on a second @include itself (and
	 * exit(2) from its scanner on a directory).  Only a comment may
	 * follow, as in the files libconfig's own syntax describes. */
	if (!only_comment_follows(t + *used))
		return src_fail(src, file, line,
		    "only a comment may follow an @include directive on its line");
	if (expand_include(src, file, dir, line, path, depth) < 0)
		return -1;
	if (resume_segment(src, file, line) < 0)
		return src_fail(src, file, line, "out of memory");
	return 0;
}

/* Appends n characters of t, and an L when wide; returns the number of
 * newlines among them, or -1 when out of memory. */
static long emit(struct source *src, const char *t, size_t n, bool wide)
{
	long newlines = 0;
	size_t k;

	if (src_reserve(src, n + 1) < 0)
		return -1;
	for (k = 0; k < n; k++) {
		src->text[src->len++] = t[k];
		newlines += t[k] == '\n';
	}
	if (wide)
		src->text[src->len++] = 'L';
	src->out_line += newlines;
	return newlines;
}

/* Copies text into the combined output, replacing each @include
 * directive by the included file; relative include paths are joined to
 * dir, the directory of file.  The rest of the directive's line stays
 * in the output, so the lines of the file keep their numbers. */
static int expand(struct source *src, const char *file, const char *dir,
    const char *text, int depth)
{
	long line = 1, newlines;
	bool bol = true, wide;
	size_t i = 0, n, used;

	if (src_segment(src, src->out_line, file, line) < 0)
		return src_fail(src, file, line, "out of memory");
	while (text[i] != '\0') {
		if (bol && src->state == LEX_CODE && (n = match_include(text + i))) {
			if (splice_include(src, file, dir, line, text + i + n,
			    depth, &used) < 0)
				return -1;
			i += n + used;
			bol = false;
			continue;
		}
		n = 0;
		if (src->state == LEX_CODE)
			n = wide_integer(text + i, (char)(i > 0 ? text[i - 1] : '\0'));
		wide = n > 0;
		if (!wide)
			n = lex_step(&src->state, text + i);
		if ((newlines = emit(src, text + i, n, wide)) < 0)
			return src_fail(src, file, line, "out of memory");
		line += newlines;
		i += n;
		bol = text[i - 1] == '\n';
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Error reporting and typed access to settings                        */
/* ------------------------------------------------------------------ */

struct ctx {
	const struct source *src;
	char *err;
	size_t errlen;
};

static void where(const struct ctx *c, const config_setting_t *s,
    const char **file, long *line)
{
	src_where(c->src, s ? (long)config_setting_source_line(s) : 1L,
	    file, line);
}

static void report(const struct ctx *c, const config_setting_t *s,
    const char *fmt, ...) PRINTF_LIKE(3, 4);

static void report(const struct ctx *c, const config_setting_t *s,
    const char *fmt, ...)
{
	char msg[512];
	const char *file;
	long line;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	where(c, s, &file, &line);
	if (c->errlen > 0)
		snprintf(c->err, c->errlen, "%s:%ld: %s", file, line, msg);
}

/* Unknown keys are errors: a typo must not silently mean "default". */
static int check_keys(const struct ctx *c, const config_setting_t *group,
    const char *const *keys)
{
	int i, n = config_setting_length(group);
	size_t k;

	for (i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);

		for (k = 0; keys[k] != NULL; k++)
			if (strcmp(keys[k], name) == 0)
				break;
		if (keys[k] == NULL)
			return fail(c, s, "unknown key '%s'", name);
	}
	return 0;
}

static int get_string(const struct ctx *c, const config_setting_t *s,
    const char **out)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(c, s, "'%s' must be a string", config_setting_name(s));
	*out = config_setting_get_string(s);
	return 0;
}

static int get_nonempty(const struct ctx *c, const config_setting_t *s,
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

static int get_int(const struct ctx *c, const config_setting_t *s,
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
static int get_seconds(const struct ctx *c, const config_setting_t *s,
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

static int get_bool(const struct ctx *c, const config_setting_t *s, bool *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail(c, s, "'%s' must be true or false", config_setting_name(s));
	*out = config_setting_get_bool(s) != 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Global settings and the log section                                 */
/* ------------------------------------------------------------------ */

struct keyword {
	const char *name;
	int value;
};

static const struct keyword log_levels[] = {
	{ "err", LOG_ERR }, { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
	{ "info", LOG_INFO }, { "debug", LOG_DEBUG }, { NULL, 0 }
};

static const struct keyword log_facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER }, { "auth", LOG_AUTH },
#ifdef LOG_AUTHPRIV
	{ "authpriv", LOG_AUTHPRIV },
#endif
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 }, { NULL, 0 }
};

static const struct keyword log_targets[] = {
	{ "auto", LOG_TARGET_AUTO }, { "stderr", LOG_TARGET_STDERR },
	{ "syslog", LOG_TARGET_SYSLOG }, { "journal", LOG_TARGET_JOURNAL },
	{ NULL, 0 }
};

static int get_keyword(const struct ctx *c, const config_setting_t *s,
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

static int parse_log_target(const struct ctx *c, const config_setting_t *s,
    struct log_conf *log)
{
	static const char choices[] =
	    "auto, stderr, syslog, journal or \"file:/absolute/path\"";
	const char *v;
	char q[256];
	int t;

	if (get_string(c, s, &v) < 0)
		return -1;
	if (strncmp(v, "file:", 5) != 0) {
		if (get_keyword(c, s, log_targets, choices, &t) < 0)
			return -1;
		log->target = (enum log_target)t;
		return 0;
	}
	/* The daemon changes directory to / when it detaches; a relative
	 * log file would then move. */
	if (v[5] != '/')
		return fail(c, s, "log file must be an absolute path: \"%s\"",
		    quote(v, q, sizeof(q)));
	if ((log->file = strdup(v + 5)) == NULL)
		return fail(c, s, "out of memory");
	log->target = LOG_TARGET_FILE;
	return 0;
}

static int parse_log(const struct ctx *c, const config_setting_t *g,
    struct log_conf *log)
{
	static const char *const keys[] = { "target", "level", "facility", NULL };
	const config_setting_t *s;

	if (!config_setting_is_group(g))
		return fail(c, g, "'log' must be a group: log = { ... };");
	if (check_keys(c, g, keys) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "target")) != NULL &&
	    parse_log_target(c, s, log) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "level")) != NULL &&
	    get_keyword(c, s, log_levels,
	    "err, warning, notice, info or debug", &log->level) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "facility")) != NULL &&
	    get_keyword(c, s, log_facilities,
	    "daemon, user, auth, authpriv or local0 to local7", &log->facility) < 0)
		return -1;
	return 0;
}

static int parse_globals(const struct ctx *c, const config_setting_t *root,
    struct config *cfg)
{
	const config_setting_t *s;
	long long v;

	if ((s = config_setting_get_member(root, "user")) != NULL &&
	    get_nonempty(c, s, &cfg->user) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "group")) != NULL &&
	    get_nonempty(c, s, &cfg->group) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "pidfile")) != NULL) {
		if (get_nonempty(c, s, &cfg->pidfile) < 0)
			return -1;
		/* Written after chdir("/") when detached. */
		if (cfg->pidfile[0] != '/')
			return fail(c, s, "'pidfile' must be an absolute path");
	}
	if ((s = config_setting_get_member(root, "shutdown_timeout")) != NULL &&
	    get_seconds(c, s, &cfg->shutdown_timeout) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "max_connections")) != NULL) {
		if (get_int(c, s, 1, INT_MAX, &v) < 0)
			return -1;
		cfg->max_connections = (unsigned)v;
	}
	if ((s = config_setting_get_member(root, "log")) != NULL &&
	    parse_log(c, s, &cfg->log) < 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Listeners                                                           */
/* ------------------------------------------------------------------ */

/* Listener names and rooms appear in logs, socket-activation names and
 * launchd keys: a conservative character set keeps them safe there. */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= NAME_MAX_LEN && strspn(s,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-") == n;
}

static void listener_defaults(struct listener_conf *l)
{
	memset(l, 0, sizeof(*l));
	l->protocol = PROTO_CHAT;
	l->backlog = DEFAULT_BACKLOG;
	l->max_line = DEFAULT_MAX_LINE;
	l->max_queue = DEFAULT_MAX_QUEUE;
	l->announce = true;
	l->mode = -1;
}

static int parse_name(const struct ctx *c, const config_setting_t *s,
    const char *what, char **out)
{
	const char *v;
	char q[128];

	if (get_string(c, s, &v) < 0)
		return -1;
	if (!valid_name(v))
		return fail(c, s, "invalid %s \"%s\": use 1-%d characters of "
		    "A-Z a-z 0-9 _ . -", what, quote(v, q, sizeof(q)),
		    NAME_MAX_LEN);
	if ((*out = strdup(v)) == NULL)
		return fail(c, s, "out of memory");
	return 0;
}

static int parse_protocol(const struct ctx *c, const config_setting_t *s,
    enum protocol *out)
{
	const char *v;

	if (get_string(c, s, &v) < 0)
		return -1;
	if (strcmp(v, "chat") == 0)
		*out = PROTO_CHAT;
	else if (strcmp(v, "echo") == 0)
		*out = PROTO_ECHO;
	else
		return fail(c, s, "'protocol' must be \"chat\" or \"echo\"");
	return 0;
}

static int parse_bind(const struct ctx *c, const config_setting_t *s,
    struct listener_conf *l)
{
	char reason[256];
	const char *v;

	if (get_string(c, s, &v) < 0)
		return -1;
	if (addr_parse(v, &l->addr, reason, sizeof(reason)) < 0)
		return fail(c, s, "%s", reason);
	if ((l->bind = strdup(v)) == NULL)
		return fail(c, s, "out of memory");
	return 0;
}

/* Permission bits as the string "0660": libconfig has no octal
 * integers, and 0660 written as a number would silently mean 660. */
static int parse_mode(const struct ctx *c, const config_setting_t *s, int *out)
{
	const char *v;
	size_t n;

	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(c, s, "'mode' must be an octal string such as \"0660\"");
	v = config_setting_get_string(s);
	n = strlen(v);
	if (n == 0 || n > 4 || strspn(v, "01234567") != n)
		return fail(c, s, "'mode' must be an octal string such as \"0660\"");
	*out = (int)strtol(v, NULL, 8);
	return 0;
}

static int parse_limits(const struct ctx *c, const config_setting_t *g,
    struct listener_conf *l)
{
	const config_setting_t *s;
	long long v;

	if ((s = config_setting_get_member(g, "backlog")) != NULL) {
		if (get_int(c, s, 1, 65535, &v) < 0)
			return -1;
		l->backlog = (int)v;
	}
	if ((s = config_setting_get_member(g, "max_clients")) != NULL) {
		if (get_int(c, s, 0, INT_MAX, &v) < 0)
			return -1;
		l->max_clients = (unsigned)v;
	}
	if ((s = config_setting_get_member(g, "idle_timeout")) != NULL &&
	    get_seconds(c, s, &l->idle_timeout) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "max_queue")) != NULL) {
		if (get_int(c, s, MAX_QUEUE_MIN, MAX_QUEUE_MAX, &v) < 0)
			return -1;
		l->max_queue = (size_t)v;
	}
	if ((s = config_setting_get_member(g, "max_line")) != NULL) {
		if (get_int(c, s, 1, MAX_LINE_MAX, &v) < 0)
			return -1;
		l->max_line = (size_t)v;
	}
	if ((s = config_setting_get_member(g, "mode")) != NULL &&
	    parse_mode(c, s, &l->mode) < 0)
		return -1;
	return 0;
}

static int parse_chat_keys(const struct ctx *c, const config_setting_t *g,
    struct listener_conf *l)
{
	const config_setting_t *s;
	const char *v;

	if ((s = config_setting_get_member(g, "room")) != NULL &&
	    parse_name(c, s, "room", &l->room) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "motd")) != NULL) {
		if (get_string(c, s, &v) < 0)
			return -1;
		/* An empty motd is no motd, not one empty notice line. */
		if (v[0] != '\0' && (l->motd = strdup(v)) == NULL)
			return fail(c, s, "out of memory");
	}
	if ((s = config_setting_get_member(g, "announce")) != NULL &&
	    get_bool(c, s, &l->announce) < 0)
		return -1;
	return 0;
}

/* Rules that involve more than one key of the listener. */
static int check_combination(const struct ctx *c, const config_setting_t *g,
    const struct listener_conf *l)
{
	static const char *const chat_only[] = {
		"room", "max_line", "motd", "announce", NULL
	};
	const config_setting_t *s;
	size_t i;

	if (l->protocol == PROTO_ECHO) {
		for (i = 0; chat_only[i] != NULL; i++)
			if ((s = config_setting_get_member(g, chat_only[i])) != NULL)
				return fail(c, s, "'%s' applies only to chat "
				    "listeners", chat_only[i]);
	}
	if (l->protocol == PROTO_CHAT && l->addr.socktype == SOCK_DGRAM)
		return fail(c, config_setting_get_member(g, "bind"),
		    "udp: binds are for echo listeners only");
	if (l->mode != -1 && l->addr.ss.ss_family != AF_UNIX)
		return fail(c, config_setting_get_member(g, "mode"),
		    "'mode' applies only to unix: binds");
	if (l->protocol == PROTO_CHAT && l->max_line >= l->max_queue) {
		if ((s = config_setting_get_member(g, "max_line")) == NULL)
			s = config_setting_get_member(g, "max_queue");
		return fail(c, s, "'max_line' (%zu) must be less than "
		    "'max_queue' (%zu)", l->max_line, l->max_queue);
	}
	return 0;
}

static int require(const struct ctx *c, const config_setting_t *g,
    const char *key, const char *name, const config_setting_t **out)
{
	*out = config_setting_get_member(g, key);
	if (*out != NULL)
		return 0;
	if (name != NULL)
		return fail(c, g, "listener \"%s\" is missing '%s'", name, key);
	return fail(c, g, "listener is missing '%s'", key);
}

static int parse_listener(const struct ctx *c, const config_setting_t *g,
    struct listener_conf *l)
{
	static const char *const keys[] = {
		"name", "protocol", "bind", "backlog", "max_clients",
		"idle_timeout", "max_queue", "room", "max_line", "motd",
		"announce", "mode", NULL
	};
	const config_setting_t *s;
	const char *file;
	long line;

	if (!config_setting_is_group(g))
		return fail(c, g, "each listener must be a group { ... }");
	where(c, g, &file, &line);
	l->line = (int)line;
	if (check_keys(c, g, keys) < 0 ||
	    require(c, g, "name", NULL, &s) < 0 ||
	    parse_name(c, s, "listener name", &l->name) < 0 ||
	    require(c, g, "protocol", l->name, &s) < 0 ||
	    parse_protocol(c, s, &l->protocol) < 0 ||
	    require(c, g, "bind", l->name, &s) < 0 ||
	    parse_bind(c, s, l) < 0 ||
	    parse_limits(c, g, l) < 0 ||
	    parse_chat_keys(c, g, l) < 0 ||
	    check_combination(c, g, l) < 0)
		return -1;
	if (l->room == NULL && (l->room = strdup(l->name)) == NULL)
		return fail(c, g, "out of memory");
	return 0;
}

/* Two listeners must differ in name and in address; the second one
 * defined is the one reported, pointing at the first. */
static int check_unique(const struct ctx *c, const config_setting_t *list,
    const struct config *cfg, size_t n)
{
	const config_setting_t *g = config_setting_get_elem(list, (unsigned)n);
	const struct listener_conf *l = &cfg->listeners[n];
	const char *file;
	char q[256];
	long line;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct listener_conf *o = &cfg->listeners[i];

		if (strcmp(o->name, l->name) == 0) {
			where(c, config_setting_get_elem(list, (unsigned)i),
			    &file, &line);
			return fail(c, config_setting_get_member(g, "name"),
			    "duplicate listener name \"%s\" (first defined "
			    "at %s:%ld)", l->name, file, line);
		}
		if (addr_equal(&o->addr, &l->addr))
			return fail(c, config_setting_get_member(g, "bind"),
			    "bind address \"%s\" is already used by listener "
			    "\"%s\"", quote(l->bind, q, sizeof(q)), o->name);
	}
	return 0;
}

static int parse_listeners(const struct ctx *c, const config_setting_t *root,
    struct config *cfg)
{
	const config_setting_t *list = config_setting_get_member(root, "listeners");
	size_t i, n;

	if (list == NULL) {
		if (c->errlen > 0)
			snprintf(c->err, c->errlen, "%s: no listeners defined",
			    c->src->seg[0].file);
		return -1;
	}
	if (!config_setting_is_list(list))
		return fail(c, list, "'listeners' must be a list: "
		    "listeners = ( { ... }, ... );");
	n = (size_t)config_setting_length(list);
	if (n == 0)
		return fail(c, list, "no listeners defined");
	if ((cfg->listeners = calloc(n, sizeof(*cfg->listeners))) == NULL)
		return fail(c, list, "out of memory");
	for (i = 0; i < n; i++) {
		listener_defaults(&cfg->listeners[i]);
		cfg->nlisteners = i + 1;
		if (parse_listener(c, config_setting_get_elem(list, (unsigned)i),
		    &cfg->listeners[i]) < 0 || check_unique(c, list, cfg, i) < 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */
/* ------------------------------------------------------------------ */

static struct config *config_new(const char *path)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL)
		return NULL;
	cfg->shutdown_timeout = 5.0;
	cfg->max_connections = 10000;
	cfg->log.target = LOG_TARGET_AUTO;
	cfg->log.level = LOG_INFO;
	cfg->log.facility = LOG_DAEMON;
	if (path != NULL && (cfg->path = strdup(path)) == NULL) {
		free(cfg);
		return NULL;
	}
	return cfg;
}

static struct config *build(const struct ctx *c, const config_t *lc,
    const char *path)
{
	static const char *const keys[] = {
		"user", "group", "pidfile", "shutdown_timeout",
		"max_connections", "log", "listeners", NULL
	};
	const config_setting_t *root = config_root_setting(lc);
	struct config *cfg = config_new(path);

	if (cfg == NULL) {
		if (c->errlen > 0)
			snprintf(c->err, c->errlen, "%s: out of memory", path);
		return NULL;
	}
	if (check_keys(c, root, keys) < 0 || parse_globals(c, root, cfg) < 0 ||
	    parse_listeners(c, root, cfg) < 0) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

static void libconfig_error(const struct source *src, const config_t *lc,
    char *err, size_t errlen)
{
	const char *file;
	long line;

	src_where(src, config_error_line(lc), &file, &line);
	/* Only set if libconfig opened a file itself, which expansion
	 * should have made impossible; trust it if it did. */
	if (config_error_file(lc) != NULL) {
		file = config_error_file(lc);
		line = config_error_line(lc);
	}
	if (errlen > 0)
		snprintf(err, errlen, "%s:%ld: %s", file, line,
		    config_error_text(lc) ? config_error_text(lc) : "parse error");
}

/* Hands the expanded text to libconfig and validates what it read. */
static struct config *read_and_build(const struct source *src,
    const char *name, char *err, size_t errlen)
{
	struct config *cfg = NULL;
	struct ctx c;
	config_t lc;

	config_init(&lc);
	if (config_read_string(&lc, src->text) != CONFIG_TRUE) {
		libconfig_error(src, &lc, err, errlen);
	} else {
		c.src = src;
		c.err = err;
		c.errlen = errlen;
		cfg = build(&c, &lc, name);
	}
	config_destroy(&lc);
	return cfg;
}

/* text is the top file's content; name is what messages call it and
 * dir what its relative @include paths are joined to. */
static struct config *parse_text(const char *text, const char *name,
    const char *dir, char *err, size_t errlen)
{
	struct source src;
	struct config *cfg = NULL;

	memset(&src, 0, sizeof(src));
	src.out_line = 1;
	src.err = err;
	src.errlen = errlen;
	if (expand(&src, name, dir, text, 0) == 0) {
		if (src_reserve(&src, 0) == 0) {
			src.text[src.len] = '\0';
			cfg = read_and_build(&src, name, err, errlen);
		} else if (errlen > 0) {
			snprintf(err, errlen, "%s: out of memory", name);
		}
	}
	src_free(&src);
	if (cfg == NULL)
		printable(err, errlen);
	return cfg;
}

struct config *config_load(const char *path, char *err, size_t errlen)
{
	struct config *cfg = NULL;
	const char *why;
	char *text, *dir;
	size_t len;

	if ((text = read_file(path, false, &len, &why)) == NULL) {
		if (errlen > 0)
			snprintf(err, errlen, "%s: cannot read: %s", path, why);
		printable(err, errlen);
		return NULL;
	}
	if ((dir = dir_prefix(path)) != NULL)
		cfg = parse_text(text, path, dir, err, errlen);
	else if (errlen > 0)
		snprintf(err, errlen, "%s: out of memory", path);
	if (cfg == NULL)
		printable(err, errlen);
	free(dir);
	free(text);
	return cfg;
}

struct config *config_parse_string(const char *text, const char *name,
    char *err, size_t errlen)
{
	return parse_text(text, name != NULL ? name : "(string)", "", err,
	    errlen);
}

static int default_listener(struct listener_conf *l, const char *name,
    enum protocol proto, const char *bind)
{
	char err[128];

	listener_defaults(l);
	l->protocol = proto;
	l->name = strdup(name);
	l->room = strdup(name);
	l->bind = strdup(bind);
	if (l->name == NULL || l->room == NULL || l->bind == NULL)
		return -1;
	return addr_parse(bind, &l->addr, err, sizeof(err));
}

struct config *config_default(void)
{
	struct config *cfg = config_new(NULL);

	if (cfg == NULL)
		return NULL;
	cfg->listeners = calloc(2, sizeof(*cfg->listeners));
	if (cfg->listeners == NULL) {
		config_free(cfg);
		return NULL;
	}
	cfg->nlisteners = 2;
	if (default_listener(&cfg->listeners[0], "chat", PROTO_CHAT,
	    "127.0.0.1:1234") < 0 ||
	    default_listener(&cfg->listeners[1], "echo", PROTO_ECHO,
	    "127.0.0.1:9001") < 0) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

void config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nlisteners; i++)
		listener_conf_clear(&cfg->listeners[i]);
	free(cfg->listeners);
	if (cfg->cluster != NULL) {
		free(cfg->cluster->redis);
		free(cfg->cluster->node);
		free(cfg->cluster->prefix);
		free(cfg->cluster->password);
		free(cfg->cluster);
	}
	free(cfg->log.file);
	free(cfg->user);
	free(cfg->group);
	free(cfg->pidfile);
	free(cfg->path);
	free(cfg);
}

const struct listener_conf *config_find_listener(const struct config *cfg,
    const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nlisteners; i++)
		if (strcmp(cfg->listeners[i].name, name) == 0)
			return &cfg->listeners[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Copies                                                              */
/* ------------------------------------------------------------------ */

static int dup_into(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	*dst = strdup(src);
	return *dst != NULL ? 0 : -1;
}

int listener_conf_copy(struct listener_conf *dst, const struct listener_conf *src)
{
	*dst = *src;
	dst->name = dst->bind = dst->room = dst->motd = NULL;
	dst->path = dst->www = NULL;
	dst->origins = NULL;
	dst->tls = NULL;
	if (dup_into(&dst->name, src->name) == -1 || dup_into(&dst->bind, src->bind) == -1 ||
	    dup_into(&dst->room, src->room) == -1 || dup_into(&dst->motd, src->motd) == -1 ||
	    dup_into(&dst->path, src->path) == -1 || dup_into(&dst->www, src->www) == -1) {
		listener_conf_clear(dst);
		return -1;
	}
	if (src->origins != NULL) {
		size_t n = 0;

		while (src->origins[n] != NULL)
			n++;
		dst->origins = calloc(n + 1, sizeof(char *));
		if (dst->origins == NULL)
			goto fail;
		for (size_t i = 0; i < n; i++)
			if (dup_into(&dst->origins[i], src->origins[i]) == -1)
				goto fail;
	}
	if (src->tls != NULL) {
		struct tls_conf *t = calloc(1, sizeof(*t));

		if (t == NULL)
			goto fail;
		dst->tls = t;
		*t = *src->tls;
		t->cert = t->key = t->ca = t->ciphers = t->ciphersuites = NULL;
		if (dup_into(&t->cert, src->tls->cert) == -1 ||
		    dup_into(&t->key, src->tls->key) == -1 ||
		    dup_into(&t->ca, src->tls->ca) == -1 ||
		    dup_into(&t->ciphers, src->tls->ciphers) == -1 ||
		    dup_into(&t->ciphersuites, src->tls->ciphersuites) == -1)
			goto fail;
	}
	return 0;
fail:
	listener_conf_clear(dst);
	return -1;
}

void listener_conf_clear(struct listener_conf *c)
{
	free(c->name);
	free(c->bind);
	free(c->room);
	free(c->motd);
	free(c->path);
	free(c->www);
	if (c->origins != NULL) {
		for (size_t i = 0; c->origins[i] != NULL; i++)
			free(c->origins[i]);
		free(c->origins);
	}
	if (c->tls != NULL) {
		free(c->tls->cert);
		free(c->tls->key);
		free(c->tls->ca);
		free(c->tls->ciphers);
		free(c->tls->ciphersuites);
		free(c->tls);
	}
	memset(c, 0, sizeof(*c));
}
