/*
 * json.h - one JSON object per run, built in a fixed buffer and printed
 * as one line on stdout: jstart, members (nested with jopen/jclose),
 * jend.  A member's key is NULL inside an array.
 */
#ifndef CHATD_BENCH_JSON_H
#define CHATD_BENCH_JSON_H

#include <stdbool.h>
#include <stdint.h>

/* starts the object with its "mode" and "label" members */
void jstart(const char *mode, const char *label);
/* closes whatever is open and prints the line */
void jend(void);
void jopen(const char *key);
void jclose(void);
void jstr(const char *key, const char *v);	/* v NULL: null */
void juint(const char *key, uint64_t v);
void jint(const char *key, long long v);
void jdbl(const char *key, double v, int prec);	/* NaN, ±huge: null */
void jbool(const char *key, bool v);
/* raw text: jsep writes the comma and the key, japp the value */
void jsep(const char *key);
void japp(const char *fmt, ...);

#endif
