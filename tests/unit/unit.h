/*
 * unit.h - the smallest test harness that reports well: CHECK records a
 * failure with file, line and expression and keeps going; the program
 * exits non-zero if any check failed (Automake's plain test protocol).
 */
#ifndef CHATD_UNIT_H
#define CHATD_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_failures;
static int unit_checks;

#define CHECK(expr) do { \
	unit_checks++; \
	if (!(expr)) { \
		unit_failures++; \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
	} \
} while (0)

#define CHECK_STR(got, want) do { \
	const char *g_ = (got), *w_ = (want); \
	unit_checks++; \
	if (g_ == NULL || strcmp(g_, w_) != 0) { \
		unit_failures++; \
		fprintf(stderr, "%s:%d: %s is \"%s\", want \"%s\"\n", __FILE__, \
		    __LINE__, #got, g_ ? g_ : "(null)", w_); \
	} \
} while (0)

#define CHECK_MEM(got, gotlen, want, wantlen) do { \
	unit_checks++; \
	if ((gotlen) != (wantlen) || memcmp((got), (want), (wantlen)) != 0) { \
		unit_failures++; \
		fprintf(stderr, "%s:%d: %s (%zu bytes) differs from %s (%zu bytes)\n", \
		    __FILE__, __LINE__, #got, (size_t)(gotlen), #want, (size_t)(wantlen)); \
	} \
} while (0)

#define RUN(fn) do { fn(); } while (0)

static inline int unit_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, unit_checks, unit_failures);
	return unit_failures ? 1 : 0;
}

#endif
