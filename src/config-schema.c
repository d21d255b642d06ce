/*
 * config-schema.c - every key of chatd.conf is one row of a table here
 * (name, type, the protocols that take it, default, bounds, doc), in the
 * spirit of tmux's options-table.c; config-get.c applies a table to a
 * group.  Adding a key is adding a row; a key a protocol does not take
 * is refused there, naming the protocols that do.  Values with rules of
 * their own (an address, an octal mode, the tls and cluster groups) have
 * their parser here, next to their row.
 *
 * Rules that involve several keys (max_line below max_queue, mode only
 * on unix: binds, ...) are not a row's business; config.c has them.
 */
#include "autoconfig.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config-int.h"
#include "quote.h"

#define MAX_QUEUE_MIN		1024
#define MAX_QUEUE_MAX		(1024LL * 1024 * 1024)
#define MAX_LINE_MAX		(1024LL * 1024)

#define RATE_MAX		1000000LL	/* lines per second */
#define BURST_MAX		1000000LL
#define TOKEN_MAX_LEN		64	/* cluster node and prefix */
#define URL_PATH_MAX		1024

#define CHAT		PROTO_BIT(PROTO_CHAT)
#define ECHO		PROTO_BIT(PROTO_ECHO)
#define WEBSOCKET	PROTO_BIT(PROTO_WEBSOCKET)
#define METRICS		PROTO_BIT(PROTO_METRICS)
#define ROOMS		(CHAT | WEBSOCKET)	/* the protocols with a room */
#define ANY		PROTO_ALL

#define FIELD(type, member)	offsetof(type, member)
#define LFIELD(member)		FIELD(struct listener_conf, member)
#define GFIELD(member)		FIELD(struct config, member)

/* The field a row points at, in the struct being filled. */
#define AT(obj, k, type)	((type *)(void *)((char *)(obj) + (k)->offset))

/* ------------------------------------------------------------------ */
/* Values that are more than a type                                    */
/* ------------------------------------------------------------------ */

static const struct keyword log_levels[] = {
	{ "err", LOG_ERR }, { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
	{ "info", LOG_INFO }, { "debug", LOG_DEBUG }, { NULL, 0 }
};

static const struct keyword log_facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER }, { "auth", LOG_AUTH },
#ifdef LOG_AUTHPRIV
	{ "authpriv", LOG_AUTHPRIV },
#endif
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 }, { NULL, 0 }
};

static const struct keyword log_targets[] = {
	{ "auto", LOG_TARGET_AUTO }, { "stderr", LOG_TARGET_STDERR },
	{ "syslog", LOG_TARGET_SYSLOG }, { "journal", LOG_TARGET_JOURNAL },
	{ NULL, 0 }
};

/* The names protocol = "..." takes, in enum protocol's order. */
const char *const config_protocol_names[PROTO_COUNT] = {
	"chat", "echo", "websocket", "metrics"
};

static int parse_log_target(struct ctx *c, const config_setting_t *s, void *obj)
{
	static const char choices[] =
	    "auto, stderr, syslog, journal or \"file:/absolute/path\"";
	struct log_conf *log = obj;
	const char *v;
	char q[256];
	int t;

	if (s == NULL) {
		log->target = LOG_TARGET_AUTO;
		return 0;
	}
	if (get_string(c, s, &v) < 0)
		return -1;
	if (strncmp(v, "file:", 5) != 0) {
		if (get_keyword(c, s, log_targets, choices, &t) < 0)
			return -1;
		log->target = (enum log_target)t;
		return 0;
	}
	/* The daemon changes directory to / when it detaches; a relative
	 * log file would then move. */
	if (v[5] != '/')
		return fail(c, s, "log file must be an absolute path: \"%s\"",
		    quote(v, q, sizeof(q)));
	free(log->file);
	if ((log->file = strdup(v + 5)) == NULL)
		return fail(c, s, "out of memory");
	log->target = LOG_TARGET_FILE;
	return 0;
}

static const struct key log_keys[] = {
	{ .name = "target", .type = KEY_CUSTOM, .parse = parse_log_target,
	  .doc = "auto, stderr, syslog, journal or \"file:/absolute/path\"" },
	{ .name = "level", .type = KEY_KEYWORD,
	  .offset = FIELD(struct log_conf, level), .def = LOG_INFO,
	  .keywords = log_levels,
	  .choices_text = "err, warning, notice, info or debug",
	  .doc = "least important messages logged" },
	{ .name = "facility", .type = KEY_KEYWORD,
	  .offset = FIELD(struct log_conf, facility), .def = LOG_DAEMON,
	  .keywords = log_facilities,
	  .choices_text = "daemon, user, auth, authpriv or local0 to local7",
	  .doc = "syslog facility" },
	{ .name = NULL }
};

static int parse_log(struct ctx *c, const config_setting_t *g, void *obj)
{
	struct config *cfg = obj;

	if (g == NULL)
		return schema_defaults(log_keys, PROTO_ALL, &cfg->log);
	if (!config_setting_is_group(g))
		return fail(c, g, "'log' must be a group: log = { ... };");
	return schema_apply(c, log_keys, g, PROTO_ALL, &cfg->log) > 0 ? -1 : 0;
}

static int parse_pidfile(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct config *cfg = obj;
	char *v;

	if (s == NULL)
		return 0;
	if (get_nonempty(c, s, &v) < 0)
		return -1;
	free(cfg->pidfile);
	cfg->pidfile = v;
	/* Written after chdir("/") when detached. */
	if (v[0] != '/')
		return fail(c, s, "'pidfile' must be an absolute path");
	return 0;
}

static int parse_protocol(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct listener_conf *l = obj;
	const char *v;

	if (s == NULL)
		return 0;
	if (get_string(c, s, &v) < 0)
		return -1;
	for (int p = 0; p < PROTO_COUNT; p++) {
		if (strcmp(v, config_protocol_names[p]) == 0) {
			l->protocol = (enum protocol)p;
			return 0;
		}
	}
	return fail(c, s, "'protocol' must be \"chat\", \"echo\", "
	    "\"websocket\" or \"metrics\"");
}

static int parse_bind(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct listener_conf *l = obj;
	char reason[256];
	const char *v;

	if (s == NULL)
		return 0;
	if (get_string(c, s, &v) < 0)
		return -1;
	if (addr_parse(v, &l->addr, reason, sizeof(reason)) < 0)
		return fail(c, s, "%s", reason);
	if ((l->bind = strdup(v)) == NULL)
		return fail(c, s, "out of memory");
	return 0;
}

/* Permission bits as the string "0660": libconfig has no octal
 * integers, and 0660 written as a number would silently mean 660. */
static int parse_mode(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct listener_conf *l = obj;
	const char *v;
	size_t n;

	if (s == NULL) {
		l->mode = -1;
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(c, s, "'mode' must be an octal string such as \"0660\"");
	v = config_setting_get_string(s);
	n = strlen(v);
	if (n == 0 || n > 4 || strspn(v, "01234567") != n)
		return fail(c, s, "'mode' must be an octal string such as \"0660\"");
	l->mode = (int)strtol(v, NULL, 8);
	return 0;
}

/* The URL path of the WebSocket endpoint: "/" and printable ASCII. */
static int parse_url_path(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct listener_conf *l = obj;
	const char *v;
	size_t i, n;

	if (s == NULL)
		return (l->path = strdup("/chat")) != NULL ? 0 : -1;
	if (get_string(c, s, &v) < 0)
		return -1;
	n = strlen(v);
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f)
			break;
	if (v[0] != '/' || i < n || n > URL_PATH_MAX)
		return fail(c, s, "'path' must be a URL path such as \"/chat\"");
	free(l->path);
	if ((l->path = strdup(v)) == NULL)
		return fail(c, s, "out of memory");
	return 0;
}

#if defined(HAVE_TLS) || defined(HAVE_CLUSTER)
/* Missing required keys of a group, each reported at the group. */
static int require_all(struct ctx *c, const struct key *k,
    const config_setting_t *g, const char *group)
{
	int errors = 0;

	for (; k->name != NULL; k++)
		if ((k->flags & KEY_REQUIRED) &&
		    config_setting_get_member(g, k->name) == NULL)
			errors += fail(c, g, "'%s' is missing '%s'", group,
			    k->name) < 0;
	return errors;
}
#endif

/* ---- tls = { ... } ------------------------------------------------- */

#ifdef HAVE_TLS
static const struct keyword tls_versions[] = {
	{ "1.2", 12 }, { "1.3", 13 }, { NULL, 0 }
};

#define TFIELD(member)		FIELD(struct tls_conf, member)

static const struct key tls_keys[] = {
	{ .name = "cert", .type = KEY_NONEMPTY, .offset = TFIELD(cert),
	  .flags = KEY_REQUIRED,
	  .doc = "PEM certificate (and chain), or credential:NAME" },
	{ .name = "key", .type = KEY_NONEMPTY, .offset = TFIELD(key),
	  .flags = KEY_REQUIRED,
	  .doc = "PEM private key, or credential:NAME" },
	{ .name = "ca", .type = KEY_NONEMPTY, .offset = TFIELD(ca),
	  .doc = "PEM bundle: clients must present a certificate it signed" },
	{ .name = "min_version", .type = KEY_KEYWORD,
	  .offset = TFIELD(min_version), .def = 12, .keywords = tls_versions,
	  .choices_text = "\"1.2\" or \"1.3\"",
	  .doc = "oldest TLS version accepted" },
	{ .name = "ciphers", .type = KEY_NONEMPTY, .offset = TFIELD(ciphers),
	  .doc = "OpenSSL cipher list for TLS 1.2" },
	{ .name = "ciphersuites", .type = KEY_NONEMPTY,
	  .offset = TFIELD(ciphersuites),
	  .doc = "OpenSSL ciphersuites for TLS 1.3" },
	{ .name = "handshake_timeout", .type = KEY_SECONDS,
	  .offset = TFIELD(handshake_timeout), .def = 10.0,
	  .flags = KEY_POSITIVE,
	  .doc = "seconds a client has to finish the handshake" },
	{ .name = NULL }
};

static void tls_conf_free(struct tls_conf *t)
{
	if (t == NULL)
		return;
	free(t->cert);
	free(t->key);
	free(t->ca);
	free(t->ciphers);
	free(t->ciphersuites);
	free(t->file);
	free(t);
}

/* A relative cert, key or ca path is relative to the directory of the
 * file that names it (and that one to the working directory at start):
 * made absolute now, since -d changes directory before the files are
 * read and a reload reads them again.  credential:NAME stays as it is. */
static int absolute_tls_path(char **path, const char *file)
{
	char cwd[PATH_MAX], *abs;
	const char *slash;
	int dirlen = 0;
	size_t n;

	if (*path == NULL || (*path)[0] == '/' || strncmp(*path, "credential:", 11) == 0)
		return 0;
	cwd[0] = '\0';
	slash = file != NULL ? strrchr(file, '/') : NULL;
	if (slash != NULL)
		dirlen = (int)(slash - file);
	if ((slash == NULL || file[0] != '/') && getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	n = strlen(cwd) + (size_t)dirlen + strlen(*path) + 3;
	if ((abs = malloc(n)) == NULL)
		return -1;
	if (slash != NULL && file[0] == '/')
		snprintf(abs, n, "%.*s/%s", dirlen, file, *path);
	else if (slash != NULL)
		snprintf(abs, n, "%s/%.*s/%s", cwd, dirlen, file, *path);
	else
		snprintf(abs, n, "%s/%s", cwd, *path);
	free(*path);
	*path = abs;
	return 0;
}

static int tls_group(struct ctx *c, const config_setting_t *g,
    struct listener_conf *l)
{
	struct tls_conf *t;
	const char *file;
	long line;
	int errors;

	if (!config_setting_is_group(g))
		return fail(c, g, "'tls' must be a group: tls = { ... };");
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    schema_defaults(tls_keys, PROTO_ALL, t) < 0) {
		tls_conf_free(t);
		return fail(c, g, "out of memory");
	}
	where(c, g, &file, &line);
	t->line = (int)line;
	if (file != NULL && (t->file = strdup(file)) == NULL) {
		tls_conf_free(t);
		return fail(c, g, "out of memory");
	}
	errors = require_all(c, tls_keys, g, "tls");
	errors += schema_apply(c, tls_keys, g, PROTO_ALL, t);
	if (absolute_tls_path(&t->cert, t->file) == -1 ||
	    absolute_tls_path(&t->key, t->file) == -1 ||
	    absolute_tls_path(&t->ca, t->file) == -1)
		errors += fail(c, g, "tls: cannot make the paths absolute") < 0;
	tls_conf_free(l->tls);
	l->tls = t;		/* freed with the listener, even after errors */
	return errors > 0 ? -1 : 0;
}
#endif /* HAVE_TLS */

static int parse_tls(struct ctx *c, const config_setting_t *g, void *obj)
{
	if (g == NULL)
		return 0;	/* plaintext */
#ifdef HAVE_TLS
	return tls_group(c, g, obj);
#else
	(void)obj;
	return fail(c, g, "tls: this chatd was built without TLS support");
#endif
}

/* ---- cluster = { ... } --------------------------------------------- */

#ifdef HAVE_CLUSTER
/* A name that goes into Redis channel and key names. */
static int parse_token(struct ctx *c, const config_setting_t *s,
    const char *what, char **field)
{
	const char *v;
	char q[128];
	size_t n;

	if (get_string(c, s, &v) < 0)
		return -1;
	n = strlen(v);
	if (n < 1 || n > TOKEN_MAX_LEN || strspn(v,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.:-") != n)
		return fail(c, s, "invalid %s \"%s\": use 1-%d characters of "
		    "A-Z a-z 0-9 _ . : -", what, quote(v, q, sizeof(q)),
		    TOKEN_MAX_LEN);
	free(*field);
	if ((*field = strdup(v)) == NULL)
		return fail(c, s, "out of memory");
	return 0;
}

static int parse_node(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct cluster_conf *cl = obj;
	char host[256];

	if (s != NULL)
		return parse_token(c, s, "node", &cl->node);
	/* The host name, as SPEC 18 says; an unnamed host is "localhost". */
	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	return (cl->node = strdup(host)) != NULL ? 0 : -1;
}

static int parse_prefix(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct cluster_conf *cl = obj;

	if (s != NULL)
		return parse_token(c, s, "prefix", &cl->prefix);
	return (cl->prefix = strdup("chatd")) != NULL ? 0 : -1;
}

/* "HOST:PORT" ([V6]:PORT too) or "unix:PATH"; the host is resolved by
 * the cluster code, not here (no DNS while reading the file). */
static bool valid_redis(const char *v)
{
	const char *colon = strrchr(v, ':'), *p;
	long port;
	char *end;

	if (strncmp(v, "unix:", 5) == 0)
		return v[5] != '\0';
	if (colon == NULL || colon == v || colon[1] == '\0')
		return false;
	for (p = v; p < colon; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	if (v[0] == '[' && colon[-1] != ']')
		return false;
	if (v[0] != '[' && memchr(v, ':', (size_t)(colon - v)) != NULL)
		return false;	/* a bare IPv6 address: brackets needed */
	port = strtol(colon + 1, &end, 10);
	return *end == '\0' && colon[1] >= '0' && colon[1] <= '9' &&
	    port >= 1 && port <= 65535;
}

static int parse_redis(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct cluster_conf *cl = obj;
	const char *v;

	if (s == NULL)
		return 0;
	if (get_string(c, s, &v) < 0)
		return -1;
	if (!valid_redis(v))
		return fail(c, s, "'redis' must be \"HOST:PORT\" or \"unix:PATH\"");
	free(cl->redis);
	if ((cl->redis = strdup(v)) == NULL)
		return fail(c, s, "out of memory");
	return 0;
}

#define CFIELD(member)		FIELD(struct cluster_conf, member)

static const struct key cluster_keys[] = {
	{ .name = "redis", .type = KEY_CUSTOM, .flags = KEY_REQUIRED,
	  .parse = parse_redis, .doc = "\"HOST:PORT\" or \"unix:PATH\" of Redis" },
	{ .name = "node", .type = KEY_CUSTOM, .parse = parse_node,
	  .doc = "this node's name (default: the host name)" },
	{ .name = "prefix", .type = KEY_CUSTOM, .parse = parse_prefix,
	  .doc = "Redis names start with it; nodes of one prefix are a cluster" },
	{ .name = "password", .type = KEY_NONEMPTY, .offset = CFIELD(password),
	  .doc = "Redis AUTH password, or credential:NAME" },
	{ .name = "presence_ttl", .type = KEY_SECONDS,
	  .offset = CFIELD(presence_ttl), .def = 15.0, .flags = KEY_POSITIVE,
	  .doc = "seconds before a silent node's members leave" },
	{ .name = NULL }
};

static int cluster_group(struct ctx *c, const config_setting_t *g,
    struct config *cfg)
{
	struct cluster_conf *cl;
	const char *file;
	long line;
	int errors;

	if (!config_setting_is_group(g))
		return fail(c, g, "'cluster' must be a group: cluster = { ... };");
	if ((cl = calloc(1, sizeof(*cl))) == NULL ||
	    schema_defaults(cluster_keys, PROTO_ALL, cl) < 0) {
		config_cluster_free(cl);
		return fail(c, g, "out of memory");
	}
	where(c, g, &file, &line);
	cl->line = (int)line;
	errors = require_all(c, cluster_keys, g, "cluster");
	errors += schema_apply(c, cluster_keys, g, PROTO_ALL, cl);
	config_cluster_free(cfg->cluster);
	cfg->cluster = cl;
	return errors > 0 ? -1 : 0;
}
#endif /* HAVE_CLUSTER */

void config_cluster_free(struct cluster_conf *cl)
{
	if (cl == NULL)
		return;
	free(cl->redis);
	free(cl->node);
	free(cl->prefix);
	free(cl->password);
	free(cl);
}

static int parse_cluster(struct ctx *c, const config_setting_t *g, void *obj)
{
	if (g == NULL)
		return 0;	/* not clustered */
#ifdef HAVE_CLUSTER
	return cluster_group(c, g, obj);
#else
	(void)obj;
	return fail(c, g, "cluster: this chatd was built without cluster support");
#endif
}

/* ------------------------------------------------------------------ */
/* The tables                                                          */
/* ------------------------------------------------------------------ */

const struct key config_global_keys[] = {
	{ .name = "user", .type = KEY_NONEMPTY, .offset = GFIELD(user),
	  .doc = "user to run as after binding, when started as root" },
	{ .name = "group", .type = KEY_NONEMPTY, .offset = GFIELD(group),
	  .doc = "group to run as (default: the user's)" },
	{ .name = "pidfile", .type = KEY_CUSTOM, .parse = parse_pidfile,
	  .doc = "absolute path of the pid file" },
	{ .name = "shutdown_timeout", .type = KEY_SECONDS,
	  .offset = GFIELD(shutdown_timeout), .def = 5.0,
	  .doc = "seconds to flush clients on SIGTERM" },
	{ .name = "max_connections", .type = KEY_UINT,
	  .offset = GFIELD(max_connections), .def = 10000, .min = 1, .max = INT_MAX,
	  .doc = "connections across all listeners" },
	{ .name = "log", .type = KEY_CUSTOM, .parse = parse_log,
	  .doc = "log = { target; level; facility; }" },
	{ .name = "listeners", .type = KEY_CUSTOM, .flags = KEY_REQUIRED,
	  .parse = config_parse_listeners,
	  .doc = "listeners = ( { ... }, ... )" },
	{ .name = "cluster", .type = KEY_CUSTOM, .parse = parse_cluster,
	  .doc = "cluster = { redis; node; prefix; password; presence_ttl; }" },
	{ .name = NULL }
};

const struct key config_listener_keys[] = {
	{ .name = "name", .type = KEY_NAME, .protocols = ANY,
	  .offset = LFIELD(name), .flags = KEY_REQUIRED | KEY_EARLY,
	  .choices_text = "listener name",
	  .doc = "unique name of the listener" },
	{ .name = "protocol", .type = KEY_CUSTOM, .protocols = ANY,
	  .flags = KEY_REQUIRED | KEY_EARLY, .parse = parse_protocol,
	  .doc = "chat, echo, websocket or metrics" },
	{ .name = "bind", .type = KEY_CUSTOM, .protocols = ANY,
	  .flags = KEY_REQUIRED | KEY_EARLY, .parse = parse_bind,
	  .doc = "HOST:PORT, [V6]:PORT, *:PORT, unix:PATH or udp:HOST:PORT" },
	{ .name = "backlog", .type = KEY_INT, .protocols = ANY,
	  .offset = LFIELD(backlog), .def = 511, .min = 1, .max = 65535,
	  .doc = "listen(2) backlog" },
	{ .name = "max_clients", .type = KEY_UINT, .protocols = ANY,
	  .offset = LFIELD(max_clients), .def = 0, .min = 0, .max = INT_MAX,
	  .doc = "clients of this listener; 0: only max_connections applies" },
	{ .name = "idle_timeout", .type = KEY_SECONDS, .protocols = ANY,
	  .offset = LFIELD(idle_timeout), .def = 0,
	  .doc = "seconds without input before closing; 0: never" },
	{ .name = "max_queue", .type = KEY_SIZE, .protocols = ANY,
	  .offset = LFIELD(max_queue), .def = 256 * 1024,
	  .min = MAX_QUEUE_MIN, .max = MAX_QUEUE_MAX,
	  .doc = "bytes of unsent output per client before it is dropped" },
	{ .name = "room", .type = KEY_NAME, .protocols = ROOMS,
	  .offset = LFIELD(room), .choices_text = "room",
	  .doc = "room of the listener's clients (default: its name)" },
	{ .name = "max_line", .type = KEY_SIZE, .protocols = ROOMS,
	  .offset = LFIELD(max_line), .def = 1024, .min = 1, .max = MAX_LINE_MAX,
	  .doc = "bytes of a line without CR/LF" },
	{ .name = "motd", .type = KEY_STRING, .protocols = ROOMS,
	  .offset = LFIELD(motd), .flags = KEY_EMPTY_NONE,
	  .doc = "lines sent to each newcomer" },
	{ .name = "announce", .type = KEY_BOOL, .protocols = ROOMS,
	  .offset = LFIELD(announce), .def = 1,
	  .doc = "join and leave notices" },
	{ .name = "mode", .type = KEY_CUSTOM, .protocols = ANY,
	  .parse = parse_mode,
	  .doc = "permission bits of a unix: socket, an octal string" },
	{ .name = "reuseport", .type = KEY_BOOL, .protocols = ANY,
	  .offset = LFIELD(reuseport), .def = 0,
	  .doc = "SO_REUSEPORT: processes share the port (TCP and UDP)" },
	{ .name = "tls", .type = KEY_CUSTOM, .protocols = ANY,
	  .parse = parse_tls,
	  .doc = "tls = { cert; key; ca; min_version; ciphers; ... } (not udp:)" },
	/* flood control (SPEC 19) */
	{ .name = "rate", .type = KEY_NUMBER, .protocols = ROOMS,
	  .offset = LFIELD(rate), .def = 10, .min = 0, .max = RATE_MAX,
	  .doc = "lines per second a client may send; 0: unlimited" },
	{ .name = "burst", .type = KEY_UINT, .protocols = ROOMS,
	  .offset = LFIELD(burst), .def = 20, .min = 1, .max = BURST_MAX,
	  .doc = "lines a client may send at once above rate" },
	{ .name = "flood_timeout", .type = KEY_SECONDS, .protocols = ROOMS,
	  .offset = LFIELD(flood_timeout), .def = 0,
	  .doc = "seconds held back before \"* error: flooding\"; 0: never" },
	/* websocket (SPEC 16) */
	{ .name = "path", .type = KEY_CUSTOM, .protocols = WEBSOCKET,
	  .parse = parse_url_path,
	  .doc = "URL path of the WebSocket endpoint (default \"/chat\")" },
	{ .name = "www", .type = KEY_STRING, .protocols = WEBSOCKET,
	  .offset = LFIELD(www), .def_str = DATADIR "/chatd/www",
	  .doc = "directory of static files; \"\": none" },
	{ .name = "origins", .type = KEY_STRLIST, .protocols = WEBSOCKET,
	  .offset = LFIELD(origins),
	  .doc = "allowed Origin values (default: any)" },
	{ .name = "ping_interval", .type = KEY_SECONDS, .protocols = WEBSOCKET,
	  .offset = LFIELD(ping_interval), .def = 30,
	  .doc = "seconds between pings; 0: none" },
	{ .name = NULL }
};
