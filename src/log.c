/*
 * log.c - log lines to stderr, syslog(3), the journal or a file.
 *
 * stderr gets a timestamp when it is a terminal and a "<N>" priority
 * prefix when it is the journal's stream (JOURNAL_STREAM names its
 * device:inode), so levels survive either way.  Every call preserves
 * errno.  Write failures are ignored: a full disk must not stop serving.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-journal.h>
#endif

#include "log.h"

#define LINE_MAX_LOG 2048

static enum log_target target = LOG_TARGET_STDERR;
static int level = LOG_INFO;
static int stderr_is_tty;
static int stderr_is_journal;
static FILE *logfile;
static char *logfile_path;
static int syslog_open;

static int clamp_level(int lvl)
{
	return lvl > LOG_DEBUG ? LOG_DEBUG : lvl;
}

static int journal_stream_is_stderr(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	/* Out of range only if the manager lied; then it just does not match. */
	/* NOLINTNEXTLINE(cert-err34-c) */
	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init_early(int verbose)
{
	target = LOG_TARGET_STDERR;
	level = clamp_level(LOG_INFO + verbose);
	stderr_is_tty = isatty(STDERR_FILENO);
	stderr_is_journal = journal_stream_is_stderr();
}

int log_get_level(void)
{
	return level;
}

static int open_file(const char *path)
{
	FILE *f = fopen(path, "ae");

	if (f == NULL)
		return -1;
	setvbuf(f, NULL, _IOLBF, 0);
	if (logfile != NULL)
		fclose(logfile);
	logfile = f;
	return 0;
}

static enum log_target resolve_auto(int detached)
{
	if (detached)
		return LOG_TARGET_SYSLOG;
#ifdef HAVE_LIBSYSTEMD
	if (stderr_is_journal || getenv("INVOCATION_ID") != NULL)
		return LOG_TARGET_JOURNAL;
#endif
	return LOG_TARGET_STDERR;
}

int log_configure(const struct log_conf *lc, int detached, int verbose)
{
	enum log_target t = lc->target == LOG_TARGET_AUTO ? resolve_auto(detached) : lc->target;

#ifndef HAVE_LIBSYSTEMD
	if (t == LOG_TARGET_JOURNAL) {
		/* The journal reads stderr and syslog too; syslog keeps levels. */
		t = LOG_TARGET_SYSLOG;
	}
#endif
	if (t == LOG_TARGET_FILE) {
		if (open_file(lc->file) == -1) {
			log_warn("cannot open log file %s", lc->file);
			return -1;
		}
		free(logfile_path);
		logfile_path = strdup(lc->file);
	} else if (logfile != NULL) {
		fclose(logfile);
		logfile = NULL;
	}
	if (syslog_open) {
		closelog();
		syslog_open = 0;
	}
	if (t == LOG_TARGET_SYSLOG) {
		openlog("chatd", LOG_PID | LOG_NDELAY, lc->facility);
		syslog_open = 1;
	}
	target = t;
	level = clamp_level(lc->level + verbose);
	return 0;
}

void log_reopen(void)
{
	if (target == LOG_TARGET_FILE && logfile_path != NULL &&
	    open_file(logfile_path) == -1)
		log_warn("cannot reopen log file %s", logfile_path);
}

void log_close(void)
{
	if (logfile != NULL)
		fclose(logfile);
	logfile = NULL;
	free(logfile_path);
	logfile_path = NULL;
	if (syslog_open)
		closelog();
	syslog_open = 0;
}

static const char *prio_name(int prio)
{
	static const char *const names[] = {
		"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"
	};

	return names[prio & 7];
}

static void timestamp(char *buf, size_t n)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
}

static void emit(int prio, const char *line, const char *listener, const char *peer)
{
	char ts[32];

	switch (target) {
	case LOG_TARGET_SYSLOG:
		syslog(prio, "%s", line);
		return;
#ifdef HAVE_LIBSYSTEMD
	case LOG_TARGET_JOURNAL:
		if (listener != NULL)
			sd_journal_send("MESSAGE=%s", line, "PRIORITY=%d", prio,
			    "SYSLOG_IDENTIFIER=chatd", "CHATD_LISTENER=%s", listener,
			    "CHATD_PEER=%s", peer, NULL);
		else
			sd_journal_send("MESSAGE=%s", line, "PRIORITY=%d", prio,
			    "SYSLOG_IDENTIFIER=chatd", NULL);
		return;
#else
	case LOG_TARGET_JOURNAL:
		(void)listener;
		(void)peer;
		break;
#endif
	case LOG_TARGET_FILE:
		if (logfile != NULL) {
			timestamp(ts, sizeof(ts));
			fprintf(logfile, "%s chatd[%ld]: %s: %s\n", ts, (long)getpid(),
			    prio_name(prio), line);
			return;
		}
		break;
	default:
		break;
	}
	if (stderr_is_journal)
		fprintf(stderr, "<%d>%s\n", prio, line);
	else if (stderr_is_tty) {
		timestamp(ts, sizeof(ts));
		fprintf(stderr, "%s chatd: %s\n", ts, line);
	} else
		fprintf(stderr, "chatd: %s\n", line);
}

void log_vmsg(int prio, const char *fmt, va_list ap)
{
	char line[LINE_MAX_LOG];
	int saved = errno;

	if (prio > level) {
		errno = saved;
		return;
	}
	vsnprintf(line, sizeof(line), fmt, ap);
	emit(prio, line, NULL, NULL);
	errno = saved;
}

void log_client(int prio, const char *listener, const char *peer, const char *fmt, ...)
{
	char line[LINE_MAX_LOG];
	int saved = errno, n;
	va_list ap;

	if (prio > level)
		return;
	n = snprintf(line, sizeof(line), "%s: %s ", listener, peer);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	emit(prio, line, listener, peer);
	errno = saved;
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap);
	va_end(ap);
}

/* Appends ": strerror(errno)" to fmt, as OpenBSD's log_warn does. */
static void log_errno(int prio, const char *fmt, va_list ap)
{
	char with[LINE_MAX_LOG];
	int saved = errno;

	snprintf(with, sizeof(with), "%s: %s", fmt, strerror(saved));
	errno = saved;
	log_vmsg(prio, with, ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_errno(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_INFO, fmt, ap);
	va_end(ap);
}

void log_notice(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_NOTICE, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

const char *log_escape(const char *s, size_t len, char *buf, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < len && o + 5 < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
			buf[o++] = (char)ch;
			continue;
		}
		buf[o++] = '\\';
		buf[o++] = 'x';
		buf[o++] = hex[ch >> 4];
		buf[o++] = hex[ch & 15];
	}
	if (n > 0)
		buf[o < n ? o : n - 1] = '\0';
	return buf;
}
