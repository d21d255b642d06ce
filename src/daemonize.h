/*
 * daemonize.h - detaching for SysV/BSD rc (-d) and the pidfile (-p).
 */
#ifndef CHATD_DAEMONIZE_H
#define CHATD_DAEMONIZE_H

/* Double fork and setsid.  Returns 0 in the daemon, -1 on failure (in
 * the original process).  The original process waits until the daemon
 * calls daemonize_report() and exits with that status, so "chatd -d"
 * returns only once the daemon is ready (or has failed). */
int daemonize(void);
/* Tells the waiting original process how start-up ended; once only.  On
 * success the daemon also changes to / and puts stdio on /dev/null. */
void daemonize_report(int status);

/* Creates path with our pid.  A pidfile naming a live process is refused
 * (-1, logged); a stale one is replaced. */
int pidfile_write(const char *path);
/* Removes path if it still names us. */
void pidfile_remove(const char *path);

#endif
