/*
 * fail-strdup.c - an LD_PRELOAD shim for regress.bats: the Nth strdup()
 * of the string $FAIL_STRDUP_ARG fails with ENOMEM ($FAIL_STRDUP_NTH,
 * default 1), every other call behaves as usual.  It reaches one
 * allocation exactly, which random fault injection cannot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

char *strdup(const char *s)
{
	static int seen;
	const char *arg = getenv("FAIL_STRDUP_ARG"), *nth = getenv("FAIL_STRDUP_NTH");
	size_t n = strlen(s) + 1;
	char *p;

	if (arg != NULL && strcmp(s, arg) == 0 && ++seen == (nth ? atoi(nth) : 1)) {
		errno = ENOMEM;
		return NULL;
	}
	p = malloc(n);
	if (p != NULL)
		memcpy(p, s, n);
	return p;
}
