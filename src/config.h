/*
 * config.h - chatd.conf (libconfig syntax) turned into one validated,
 * immutable struct.  Every key is checked; errors read "FILE:LINE: message".
 */
#ifndef CHATD_CONFIG_H
#define CHATD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

#define EX_CONFIG_ERR 78

/* Every protocol the registry (proto.c) knows; the schema's rows say
 * which keys each one takes. */
enum protocol { PROTO_CHAT, PROTO_ECHO, PROTO_WEBSOCKET, PROTO_METRICS, PROTO_COUNT };

/* A listener's tls group (SPEC 15); NULL in listener_conf: plaintext.
 * Paths are as written: "credential:NAME" and relative paths are
 * resolved by tls.c (against $CREDENTIALS_DIRECTORY and the directory of
 * file). */
struct tls_conf {
	char *cert;
	char *key;
	char *ca;		/* NULL: no client certificates */
	int min_version;	/* 12 or 13 */
	char *ciphers;		/* NULL: chatd's default (tls.c) */
	char *ciphersuites;	/* NULL: OpenSSL's default */
	double handshake_timeout;	/* seconds, default 10 */
	char *file;		/* the config file holding the tls group */
	int line;		/* of the tls group, for messages */
};

/* The cluster group (SPEC 18); NULL in config: not clustered. */
struct cluster_conf {
	char *redis;		/* "HOST:PORT" or "unix:PATH" */
	char *node;		/* default: the host name */
	char *prefix;		/* default "chatd" */
	char *password;		/* NULL: none; may be "credential:NAME" */
	double presence_ttl;	/* seconds, default 15 */
	int line;
};

enum log_target {
	LOG_TARGET_AUTO, LOG_TARGET_STDERR, LOG_TARGET_SYSLOG,
	LOG_TARGET_JOURNAL, LOG_TARGET_FILE
};

struct listener_conf {
	char *name;
	enum protocol protocol;
	char *bind;		/* as written, for messages */
	struct addr addr;
	int backlog;		/* default 511 */
	unsigned max_clients;	/* 0: only max_connections applies */
	double idle_timeout;	/* seconds without input; 0: none */
	char *room;		/* chat: defaults to name */
	size_t max_line;	/* chat: bytes without CR/LF, default 1024 */
	size_t max_queue;	/* unsent bytes per client, default 256 KiB */
	char *motd;		/* chat: NULL or text, lines split at LF */
	bool announce;		/* chat: join/leave notices, default true */
	int mode;		/* unix: permission bits, -1: leave as umask made them */
	/* flood control (SPEC 19), chat and websocket */
	double rate;		/* lines per second, default 10; 0: unlimited */
	unsigned burst;		/* default 20 */
	double flood_timeout;	/* seconds held back before "flooding"; 0: never */
	bool reuseport;		/* SO_REUSEPORT (SPEC 18) */
	struct tls_conf *tls;	/* NULL: plaintext */
	/* websocket (SPEC 16) */
	char *path;		/* default "/chat" */
	char *www;		/* static files; "" none; default the installed page */
	char **origins;		/* NULL-terminated; NULL: any Origin */
	double ping_interval;	/* seconds, default 30; 0: none */
	int line;		/* where it was defined, for later messages */
};

struct log_conf {
	enum log_target target;
	char *file;		/* LOG_TARGET_FILE only */
	int level;		/* syslog(3) priority: LOG_ERR .. LOG_DEBUG */
	int facility;		/* syslog(3) facility, default LOG_DAEMON */
};

struct config {
	char *path;		/* NULL for the built-in defaults */
	char *user;
	char *group;
	char *pidfile;
	double shutdown_timeout;	/* default 5.0 */
	unsigned max_connections;	/* default 10000 */
	struct log_conf log;
	struct listener_conf *listeners;
	size_t nlisteners;
	struct cluster_conf *cluster;	/* NULL: not clustered */
};

/* A buffer this big holds the errors of any reasonable file. */
#define CONFIG_ERR_MAX 8192

/* Reads and validates path.  Returns the config, or NULL with every
 * error found in err: one "FILE:LINE: message" (or "FILE: reason") line
 * each, separated by '\n', no final newline.  A syntax error ends the
 * reading of the file, so it is the last line.  A line that does not
 * fit whole in errlen is left out. */
struct config *config_load(const char *path, char *err, size_t errlen);

/* Same for text already in memory; name stands in for the file name and
 * @include paths resolve against the current directory. */
struct config *config_parse_string(const char *text, const char *name,
    char *err, size_t errlen);

/* Built-in defaults: chat on 127.0.0.1:1234, echo on 127.0.0.1:9001. */
struct config *config_default(void);

void config_free(struct config *);

/* Deep copy of one listener's settings (a listener keeps its own across
 * reloads).  Returns -1 when out of memory, leaving dst cleared. */
int listener_conf_copy(struct listener_conf *dst, const struct listener_conf *src);
void listener_conf_clear(struct listener_conf *);

const struct listener_conf *config_find_listener(const struct config *, const char *name);

#endif
