/*
 * mode-freeport.c - chatd-bench freeport: prints a TCP port that is free
 * on 127.0.0.1 (for scripts).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

int run_freeport(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof sa;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		die("freeport: %s", strerror(errno));
	printf("%u\n", ntohs(sa.sin_port));
	close(fd);
	return 0;
}
