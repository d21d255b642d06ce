/*
 * mode-wait.c - chatd-bench wait: waits until a port accepts
 * connections (for scripts); exit status 1 after --timeout.
 */
#include <stdio.h>

#include "bench.h"
#include "net.h"

int run_wait(void)
{
	uint64_t deadline = now_ns() + (uint64_t)(O.timeout * 1e9);
	while (now_ns() < deadline) {
		if (try_connect())
			return 0;
		sleep_ns(2000000);
	}
	fprintf(stderr, "chatd-bench: nothing accepts on %s:%d after %.1f s\n",
	    O.host, O.port, O.timeout);
	return 1;
}
