/*
 * daemonize.h - detaching for SysV/BSD rc (-d) and the pidfile (-p).
 */
#ifndef CHATD_DAEMONIZE_H
#define CHATD_DAEMONIZE_H

/* Double fork, setsid, chdir /, stdio to /dev/null.  Returns 0 in the
 * daemon, -1 on failure (in the original process). */
int daemonize(void);

/* Creates path with our pid.  A pidfile naming a live process is refused
 * (-1, logged); a stale one is replaced. */
int pidfile_write(const char *path);
/* Removes path if it still names us. */
void pidfile_remove(const char *path);

#endif
