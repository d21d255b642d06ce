/*
 * config-schema.c - every key of chatd.conf is one row of a table here
 * (name, type, the protocols that take it, default, bounds, doc), in the
 * spirit of tmux's options-table.c, and one walker applies a table to a
 * group.  Adding a key is adding a row; a key a protocol does not take
 * is refused by the walker, naming the protocols that do.
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

#include "config-int.h"
#include "quote.h"

#define MAX_QUEUE_MIN		1024
#define MAX_QUEUE_MAX		(1024LL * 1024 * 1024)
#define MAX_LINE_MAX		(1024LL * 1024)

#define CHAT		PROTO_BIT(PROTO_CHAT)
#define ECHO		PROTO_BIT(PROTO_ECHO)
#define ANY		(CHAT | ECHO)

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
static const char *const protocol_names[PROTO_COUNT] = {
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
	/* Only the protocols that are built so far. */
	for (int p = PROTO_CHAT; p <= PROTO_ECHO; p++) {
		if (strcmp(v, protocol_names[p]) == 0) {
			l->protocol = (enum protocol)p;
			return 0;
		}
	}
	return fail(c, s, "'protocol' must be \"chat\" or \"echo\"");
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
	{ .name = NULL }
};

const struct key config_listener_keys[] = {
	{ .name = "name", .type = KEY_NAME, .protocols = ANY,
	  .offset = LFIELD(name), .flags = KEY_REQUIRED | KEY_EARLY,
	  .choices_text = "listener name",
	  .doc = "unique name of the listener" },
	{ .name = "protocol", .type = KEY_CUSTOM, .protocols = ANY,
	  .flags = KEY_REQUIRED | KEY_EARLY, .parse = parse_protocol,
	  .doc = "chat or echo" },
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
	{ .name = "room", .type = KEY_NAME, .protocols = CHAT,
	  .offset = LFIELD(room), .choices_text = "room",
	  .doc = "room of the listener's clients (default: its name)" },
	{ .name = "max_line", .type = KEY_SIZE, .protocols = CHAT,
	  .offset = LFIELD(max_line), .def = 1024, .min = 1, .max = MAX_LINE_MAX,
	  .doc = "bytes of a line without CR/LF" },
	{ .name = "motd", .type = KEY_STRING, .protocols = CHAT,
	  .offset = LFIELD(motd), .flags = KEY_EMPTY_NONE,
	  .doc = "lines sent to each newcomer" },
	{ .name = "announce", .type = KEY_BOOL, .protocols = CHAT,
	  .offset = LFIELD(announce), .def = 1,
	  .doc = "join and leave notices" },
	{ .name = "mode", .type = KEY_CUSTOM, .protocols = ANY,
	  .parse = parse_mode,
	  .doc = "permission bits of a unix: socket, an octal string" },
	{ .name = NULL }
};

/* ------------------------------------------------------------------ */
/* Applying a table                                                    */
/* ------------------------------------------------------------------ */

const struct key *schema_find(const struct key *k, const char *name)
{
	for (; k->name != NULL; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

const char *schema_protocol_names(unsigned protocols, char *buf, size_t n)
{
	int p, left = 0;

	for (p = 0; p < PROTO_COUNT; p++)
		left += (protocols & PROTO_BIT(p)) != 0;
	buf[0] = '\0';
	for (p = 0; p < PROTO_COUNT; p++) {
		if (!(protocols & PROTO_BIT(p)))
			continue;
		left--;
		snprintf(buf + strlen(buf), n - strlen(buf), "%s%s",
		    protocol_names[p], left > 1 ? ", " : left == 1 ? " and " : "");
	}
	return buf;
}

static int set_string(char **field, const char *v)
{
	char *copy = NULL;

	if (v != NULL && (copy = strdup(v)) == NULL)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}

int schema_defaults(const struct key *k, unsigned protocols, void *obj)
{
	for (; k->name != NULL; k++) {
		if (k->protocols != 0 && !(k->protocols & protocols))
			continue;
		switch (k->type) {
		case KEY_STRING:
		case KEY_NONEMPTY:
		case KEY_NAME:
			if (k->def_str != NULL &&
			    set_string(AT(obj, k, char *), k->def_str) < 0)
				return -1;
			break;
		case KEY_INT:
		case KEY_KEYWORD:
			*AT(obj, k, int) = (int)k->def;
			break;
		case KEY_UINT:
			*AT(obj, k, unsigned) = (unsigned)k->def;
			break;
		case KEY_SIZE:
			*AT(obj, k, size_t) = (size_t)k->def;
			break;
		case KEY_SECONDS:
			*AT(obj, k, double) = k->def;
			break;
		case KEY_BOOL:
			*AT(obj, k, bool) = k->def != 0;
			break;
		case KEY_CUSTOM:
			if (k->parse(NULL, NULL, obj) < 0)
				return -1;
			break;
		}
	}
	return 0;
}

static int parse_string(struct ctx *c, const struct key *k,
    const config_setting_t *s, void *obj)
{
	const char *v;
	char *copy;
	int rc;

	switch (k->type) {
	case KEY_NAME:
		rc = get_name(c, s, k->choices_text, &copy);
		break;
	case KEY_NONEMPTY:
		rc = get_nonempty(c, s, &copy);
		break;
	default:
		if (get_string(c, s, &v) < 0)
			return -1;
		if ((k->flags & KEY_EMPTY_NONE) && v[0] == '\0')
			v = NULL;
		if (set_string(AT(obj, k, char *), v) < 0)
			return fail(c, s, "out of memory");
		return 0;
	}
	if (rc < 0)
		return -1;
	free(*AT(obj, k, char *));
	*AT(obj, k, char *) = copy;
	return 0;
}

int schema_parse(struct ctx *c, const struct key *k, const config_setting_t *s,
    void *obj)
{
	long long v;
	int kw;

	switch (k->type) {
	case KEY_STRING:
	case KEY_NONEMPTY:
	case KEY_NAME:
		return parse_string(c, k, s, obj);
	case KEY_INT:
		if (get_int(c, s, k->min, k->max, &v) < 0)
			return -1;
		*AT(obj, k, int) = (int)v;
		return 0;
	case KEY_UINT:
		if (get_int(c, s, k->min, k->max, &v) < 0)
			return -1;
		*AT(obj, k, unsigned) = (unsigned)v;
		return 0;
	case KEY_SIZE:
		if (get_int(c, s, k->min, k->max, &v) < 0)
			return -1;
		*AT(obj, k, size_t) = (size_t)v;
		return 0;
	case KEY_SECONDS:
		return get_seconds(c, s, AT(obj, k, double));
	case KEY_BOOL:
		return get_bool(c, s, AT(obj, k, bool));
	case KEY_KEYWORD:
		if (get_keyword(c, s, k->keywords, k->choices_text, &kw) < 0)
			return -1;
		*AT(obj, k, int) = kw;
		return 0;
	case KEY_CUSTOM:
		return k->parse(c, s, obj);
	}
	return fail(c, s, "internal error: key '%s' has no type", k->name);
}

int schema_apply(struct ctx *c, const struct key *table,
    const config_setting_t *group, unsigned protocols, void *obj)
{
	int i, n = config_setting_length(group), errors = 0;
	char names[128];

	for (i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		const struct key *k = schema_find(table, name);

		if (k == NULL) {
			/* A typo must not silently mean "default". */
			errors += fail(c, s, "unknown key '%s'", name) < 0;
			continue;
		}
		if (k->flags & KEY_EARLY)
			continue;
		if (k->protocols != 0 && !(k->protocols & protocols)) {
			errors += fail(c, s, "'%s' applies only to %s listeners",
			    name, schema_protocol_names(k->protocols, names,
			    sizeof(names))) < 0;
			continue;
		}
		errors += schema_parse(c, k, s, obj) < 0;
	}
	return errors;
}
