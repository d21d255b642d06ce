/*
 * fiu-count.c - counts the failures libfiu injects, per failure point.
 *
 * A preload for tests/fault-inject.sh, put in LD_PRELOAD before fiu-run's
 * libraries: it wraps fiu_fail(), which both the fiu_posix_preload
 * wrappers (libc/mm/malloc, posix/io/rw/read, ...) and chatd's own points
 * (chatd/..., src/fault.h) call, and forwards to libfiu's.  At exit it
 * writes "COUNT NAME" lines to $FIU_COUNT_FILE.  Not part of chatd.
 *
 * It must not allocate: it runs inside the malloc wrapper.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POINTS 64

static struct {
	const char *name;
	unsigned long count;
} points[POINTS];
static int npoints;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int (*real_fail)(const char *);

int fiu_fail(const char *name);

int fiu_fail(const char *name)
{
	int r;

	if (real_fail == NULL)
		real_fail = (int (*)(const char *))dlsym(RTLD_NEXT, "fiu_fail");
	if (real_fail == NULL || (r = real_fail(name)) == 0)
		return 0;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < npoints; i++)
		if (strcmp(points[i].name, name) == 0) {
			points[i].count++;
			pthread_mutex_unlock(&lock);
			return r;
		}
	if (npoints < POINTS) {
		points[npoints].name = name;	/* names are string literals */
		points[npoints++].count = 1;
	}
	pthread_mutex_unlock(&lock);
	return r;
}

__attribute__((destructor)) static void report(void)
{
	const char *path = getenv("FIU_COUNT_FILE");
	char line[256];
	int fd;

	if (path == NULL || (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		return;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < npoints; i++) {
		int n = snprintf(line, sizeof(line), "%lu %s\n", points[i].count, points[i].name);

		if (n > 0 && write(fd, line, (size_t)n) != n)
			break;
	}
	pthread_mutex_unlock(&lock);
	close(fd);
}
