/*
 * daemonize.c - detaching from the terminal and the pidfile.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "daemonize.h"
#include "log.h"

/* Write end of the pipe the original process waits on, in the daemon. */
static int report_fd = -1;

static void wait_for_daemon(int fd)
{
	unsigned char status = 71;	/* EX_OSERR if the daemon died silently */
	ssize_t n;

	do
		n = read(fd, &status, 1);
	while (n == -1 && errno == EINTR);
	_exit(n == 1 ? status : 71);
}

int daemonize(void)
{
	int fds[2];
	pid_t pid;

	if (pipe(fds) == -1)
		return -1;
	pid = fork();
	if (pid == -1)
		return -1;
	if (pid > 0) {
		close(fds[1]);
		wait_for_daemon(fds[0]);
	}
	close(fds[0]);
	report_fd = fds[1];
	(void)fcntl(report_fd, F_SETFD, FD_CLOEXEC);
	if (setsid() == -1)
		return -1;
	/* The second fork makes sure we can never reacquire a terminal. */
	pid = fork();
	if (pid == -1)
		return -1;
	if (pid > 0)
		_exit(0);
	umask(022);
	return 0;
}

/* Start-up went well: let go of the terminal and the directory we were
 * started in.  Until now errors could still reach the terminal, and
 * relative paths in the command line and configuration still worked. */
static int detach_stdio(void)
{
	int fd;

	if (chdir("/") == -1)
		return -1;
	fd = open("/dev/null", O_RDWR);
	if (fd == -1)
		return -1;
	/* A daemon still holding the terminal must not carry on silently. */
	if (dup2(fd, STDIN_FILENO) == -1 || dup2(fd, STDOUT_FILENO) == -1 ||
	    dup2(fd, STDERR_FILENO) == -1) {
		close(fd);
		return -1;
	}
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

void daemonize_report(int status)
{
	unsigned char b;

	if (report_fd == -1)
		return;
	if (status == 0 && detach_stdio() == -1) {
		log_warn("cannot detach from the terminal");
		status = 71;
	}
	b = (unsigned char)status;
	if (write(report_fd, &b, 1) != 1)
		log_debug("the starting process went away before start-up ended");
	close(report_fd);
	report_fd = -1;
}

static pid_t read_pid(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	long v;

	if (fd == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	v = strtol(buf, NULL, 10);
	return v > 0 ? (pid_t)v : 0;
}

int pidfile_write(const char *path)
{
	char buf[32];
	pid_t old = read_pid(path);
	int fd, len;

	if (old > 0 && old != getpid() && (kill(old, 0) == 0 || errno == EPERM)) {
		log_warnx("pidfile %s: chatd is already running as pid %ld", path, (long)old);
		return -1;
	}
	if (old > 0)
		unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd == -1) {
		log_warn("pidfile %s", path);
		return -1;
	}
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)len) != len) {
		log_warn("pidfile %s", path);
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

void pidfile_remove(const char *path)
{
	if (path == NULL || read_pid(path) != getpid() || unlink(path) == 0)
		return;
	/* After dropping root the directory may not be ours: the next
	 * start replaces the stale file, so this is not worth a warning. */
	if (errno == EACCES || errno == EPERM)
		log_debug("cannot remove pidfile %s: %s", path, strerror(errno));
	else
		log_warn("cannot remove pidfile %s", path);
}
