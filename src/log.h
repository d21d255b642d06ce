/*
 * log.h - one logging API, four targets (stderr, syslog, journal, file).
 *
 * log_warn() and friends append the errno text, the *x variants do not;
 * errno is preserved across every call.  Levels are syslog(3) priorities.
 */
#ifndef CHATD_LOG_H
#define CHATD_LOG_H

#include <stdarg.h>
#include <syslog.h>

#include "config.h"

/* Before the config is read: stderr, level info + verbose. */
void log_init_early(int verbose);
/* Applies a log section; returns 0 or -1 (the old target stays). */
int log_configure(const struct log_conf *, int detached, int verbose);
/* Reopens a file target (SIGHUP). */
void log_reopen(void);
void log_close(void);
int log_get_level(void);

#if defined(__GNUC__)
#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LOG_PRINTF(a, b)
#endif

void log_msg(int prio, const char *fmt, ...) LOG_PRINTF(2, 3);
void log_vmsg(int prio, const char *fmt, va_list ap);
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_notice(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
/* A line about one client: "LISTENER: PEER text" in text targets; the
 * journal also gets CHATD_LISTENER= and CHATD_PEER= fields. */
void log_client(int prio, const char *listener, const char *peer, const char *fmt, ...)
    LOG_PRINTF(4, 5);

/* Copies untrusted text (nicknames, peer data) for a log line, escaping
 * control bytes and non-ASCII as \xNN so a client cannot forge lines. */
const char *log_escape(const char *s, size_t len, char *buf, size_t n);

#endif
