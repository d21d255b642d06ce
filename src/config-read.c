/*
 * config-read.c - chatd.conf's text: reading files and expanding @include.
 *
 * @include is expanded here rather than by libconfig.  libconfig 1.5
 * resolves every include against one directory (config_set_include_dir),
 * and even prefixes absolute paths with it; SPEC 14 wants paths relative
 * to the directory of the including file, and absolute paths must work.
 * The expansion keeps a map from lines of the combined text back to
 * (file, line), so every message still names the file the text came from.
 *
 * An error here ends the reading: the text after a missing include or an
 * unterminated directive would only produce errors that are not real.
 */
#include "autoconfig.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config-int.h"
#include "quote.h"

#define FILE_MAX	(16u << 20)	/* per file: no config is this big */
#define TOTAL_MAX	(64u << 20)	/* after @include expansion */
#define INCLUDE_DEPTH	10		/* as libconfig's own limit */

/* ------------------------------------------------------------------ */
/* Reading files                                                       */
/* ------------------------------------------------------------------ */
/* Reads a whole file.  Returns NULL with a reason in *why.  A config
 * file is small; the cap keeps "@include /dev/zero" from eating memory
 * and the NUL check keeps libconfig (which sees a C string) from
 * silently ignoring whatever follows a NUL byte. */
char *cfg_read_file(const char *path, bool regular_only, size_t *lenp,
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

/* "a/b/c.conf" -> "a/b/", "c.conf" -> "": a prefix to join paths to. */
char *cfg_dir_prefix(const char *path)
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

/* src_fail() reports an error and evaluates to -1 (see fail()). */
#define src_fail(src, file, line, ...) \
	(errs_add((src)->errs, file, line, __VA_ARGS__), -1)

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

void source_free(struct source *src)
{
	size_t i;

	for (i = 0; i < src->nfiles; i++)
		free(src->files[i]);
	free(src->files);
	free(src->seg);
	free(src->text);
}

/* Maps a line of the combined text back to its file and line. */
void source_where(const struct source *src, long out_line,
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
	if ((text = cfg_read_file(name, true, &len, &why)) == NULL)
		return src_fail(src, file, line,
		    "cannot open include file \"%s\": %s",
		    quote(name, q, sizeof(q)), why);
	subdir = cfg_dir_prefix(name);
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
		if (bol && src->state == (int)LEX_CODE && (n = match_include(text + i))) {
			if (splice_include(src, file, dir, line, text + i + n,
			    depth, &used) < 0)
				return -1;
			i += n + used;
			bol = false;
			continue;
		}
		n = 0;
		if (src->state == (int)LEX_CODE)
			n = wide_integer(text + i, (char)(i > 0 ? text[i - 1] : '\0'));
		wide = n > 0;
		if (!wide) {
			enum lex st = (enum lex)src->state;

			n = lex_step(&st, text + i);
			src->state = (int)st;
		}
		if ((newlines = emit(src, text + i, n, wide)) < 0)
			return src_fail(src, file, line, "out of memory");
		line += newlines;
		i += n;
		bol = text[i - 1] == '\n';
	}
	return 0;
}

int source_expand(struct source *src, const char *name, const char *dir,
    const char *text)
{
	src->out_line = 1;
	src->state = (int)LEX_CODE;
	if (expand(src, name, dir, text, 0) < 0)
		return -1;
	if (src_reserve(src, 0) < 0)
		return src_fail(src, name, 0, "out of memory");
	src->text[src->len] = '\0';
	return 0;
}
