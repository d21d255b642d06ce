/*
 * json.c - the one JSON line of a run: appends with the separators and
 * string escapes JSON needs; output beyond the buffer is cut off.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "json.h"

static char jb[32768];
static size_t jl;
static int jdepth;
static bool jfirst[8];

void japp(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (jl < sizeof jb) {
		int n = vsnprintf(jb + jl, sizeof jb - jl, fmt, ap);
		if (n > 0)
			jl += (size_t)n < sizeof jb - jl ? (size_t)n : sizeof jb - jl - 1;
	}
	va_end(ap);
}

static void jesc(const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			japp("\\%c", ch);
		else if (ch < 0x20)
			japp("\\u%04x", ch);
		else
			japp("%c", ch);
	}
}

void jsep(const char *key)
{
	if (!jfirst[jdepth])
		japp(",");
	jfirst[jdepth] = false;
	if (key) {
		japp("\"");
		jesc(key);
		japp("\":");
	}
}

void jopen(const char *key)
{
	if (key || jdepth > 0)
		jsep(key);
	japp("{");
	jfirst[++jdepth] = true;
}

void jclose(void)
{
	japp("}");
	jdepth--;
}

void jstr(const char *key, const char *v)
{
	jsep(key);
	if (!v) {
		japp("null");
		return;
	}
	japp("\"");
	jesc(v);
	japp("\"");
}

void juint(const char *key, uint64_t v)
{
	jsep(key);
	japp("%" PRIu64, v);
}

void jint(const char *key, long long v)
{
	jsep(key);
	japp("%lld", v);
}

void jdbl(const char *key, double v, int prec)
{
	jsep(key);
	if (v != v || v > 1e300 || v < -1e300)
		japp("null");
	else
		japp("%.*f", prec, v);
}

void jbool(const char *key, bool v)
{
	jsep(key);
	japp(v ? "true" : "false");
}

void jstart(const char *mode, const char *label)
{
	jl = 0;
	jb[0] = 0;
	jdepth = 0;
	jfirst[0] = true;
	jopen(NULL);
	jstr("mode", mode);
	jstr("label", label);
}

void jend(void)
{
	while (jdepth > 0)
		jclose();
	fputs(jb, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}
