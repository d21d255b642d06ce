/*
 * config.c - chatd.conf (libconfig syntax) into a validated struct: the
 * entry points, the listeners, and the rules that involve more than one
 * key.  Reading and @include are config-read.c's, typed access and the
 * error list config-get.c's, the keys themselves config-schema.c's.
 *
 * Everything here is pure: no logging, no exits.  Every error of a file
 * comes back, one "FILE:LINE: message" line each, so chatd -t, start-up
 * and SIGHUP reload can all report them the same way.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-int.h"
#include "quote.h"

/* ------------------------------------------------------------------ */
/* Listeners                                                           */
/* ------------------------------------------------------------------ */

/* Zeroes l and sets the defaults of protocol's keys. */
static int listener_defaults(struct listener_conf *l, enum protocol protocol)
{
	memset(l, 0, sizeof(*l));
	l->protocol = protocol;
	return schema_defaults(config_listener_keys, PROTO_BIT(protocol), l);
}

/* Rules that involve more than one key of the listener. */
static int check_combination(struct ctx *c, const config_setting_t *g,
    const struct listener_conf *l)
{
	const config_setting_t *s;
	int errors = 0;

	if (l->protocol != PROTO_ECHO && l->addr.socktype == SOCK_DGRAM)
		errors += fail(c, config_setting_get_member(g, "bind"),
		    "udp: binds are for echo listeners only") < 0;
	if (l->mode != -1 && l->addr.ss.ss_family != AF_UNIX)
		errors += fail(c, config_setting_get_member(g, "mode"),
		    "'mode' applies only to unix: binds") < 0;
	if (l->reuseport && l->addr.ss.ss_family == AF_UNIX)
		errors += fail(c, config_setting_get_member(g, "reuseport"),
		    "'reuseport' applies only to TCP and UDP binds") < 0;
	if (l->tls != NULL && l->addr.socktype == SOCK_DGRAM)
		errors += fail(c, config_setting_get_member(g, "tls"),
		    "'tls' does not apply to udp: binds") < 0;
	/* Only the protocols with a room have lines. */
	if ((l->protocol == PROTO_CHAT || l->protocol == PROTO_WEBSOCKET) &&
	    l->max_line >= l->max_queue) {
		if ((s = config_setting_get_member(g, "max_line")) == NULL)
			s = config_setting_get_member(g, "max_queue");
		errors += fail(c, s, "'max_line' (%zu) must be less than "
		    "'max_queue' (%zu)", l->max_line, l->max_queue) < 0;
	}
	return errors;
}

/* The setting of a required key, or NULL after reporting its absence. */
static const config_setting_t *require(struct ctx *c,
    const config_setting_t *g, const char *key, const char *name)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (s != NULL)
		return s;
	if (name != NULL)
		report(c, g, "listener \"%s\" is missing '%s'", name, key);
	else
		report(c, g, "listener is missing '%s'", key);
	return NULL;
}

/* The keys everything else depends on.  Returns the number of errors;
 * l->name and l->bind stay NULL unless theirs was valid. */
static int parse_early(struct ctx *c, const config_setting_t *g,
    struct listener_conf *l, bool *proto_ok)
{
	static const char *const early[] = { "name", "protocol", "bind" };
	const config_setting_t *s;
	int errors = 0;
	size_t i;

	*proto_ok = false;
	for (i = 0; i < sizeof(early) / sizeof(early[0]); i++) {
		if ((s = require(c, g, early[i], l->name)) == NULL) {
			errors++;
			continue;
		}
		if (schema_parse(c, schema_find(config_listener_keys, early[i]),
		    s, l) < 0)
			errors++;
		else if (i == 1)
			*proto_ok = true;
	}
	return errors;
}

static int parse_listener(struct ctx *c, const config_setting_t *g,
    struct listener_conf *l)
{
	struct listener_conf early;
	const char *file;
	bool proto_ok;
	long line;
	int errors;

	if (!config_setting_is_group(g))
		return fail(c, g, "each listener must be a group { ... }") < 0;
	memset(&early, 0, sizeof(early));
	errors = parse_early(c, g, &early, &proto_ok);
	/* The defaults depend on the protocol; the early keys are kept. */
	if (listener_defaults(l, proto_ok ? early.protocol : PROTO_CHAT) < 0) {
		listener_conf_clear(&early);
		return fail(c, g, "out of memory") < 0;
	}
	l->name = early.name;
	l->bind = early.bind;
	l->addr = early.addr;
	where(c, g, &file, &line);
	l->line = (int)line;
	/* With an unknown protocol, keys are checked for their type only. */
	errors += schema_apply(c, config_listener_keys, g,
	    proto_ok ? PROTO_BIT(l->protocol) : PROTO_ALL, l);
	if (l->room == NULL && l->name != NULL &&
	    (l->room = strdup(l->name)) == NULL)
		errors += fail(c, g, "out of memory") < 0;
	/* Only keys that were read are compared: a default standing in
	 * for a bad value would make up a second error. */
	if (proto_ok && l->bind != NULL)
		errors += check_combination(c, g, l);
	return errors;
}

/* Two listeners must differ in name and in address; the second one
 * defined is the one reported, pointing at the first. */
static int check_unique(struct ctx *c, const config_setting_t *list,
    const struct config *cfg, size_t n)
{
	const config_setting_t *g = config_setting_get_elem(list, (unsigned)n);
	const struct listener_conf *l = &cfg->listeners[n];
	const char *file;
	char q[256];
	long line;
	size_t i;
	int errors = 0;

	for (i = 0; i < n; i++) {
		const struct listener_conf *o = &cfg->listeners[i];

		if (l->name != NULL && o->name != NULL &&
		    strcmp(o->name, l->name) == 0) {
			where(c, config_setting_get_elem(list, (unsigned)i),
			    &file, &line);
			errors += fail(c, config_setting_get_member(g, "name"),
			    "duplicate listener name \"%s\" (first defined "
			    "at %s:%ld)", l->name, file, line) < 0;
			break;
		}
	}
	for (i = 0; i < n; i++) {
		const struct listener_conf *o = &cfg->listeners[i];

		if (l->bind != NULL && o->bind != NULL &&
		    addr_equal(&o->addr, &l->addr)) {
			errors += fail(c, config_setting_get_member(g, "bind"),
			    "bind address \"%s\" is already used by listener "
			    "\"%s\"", quote(l->bind, q, sizeof(q)),
			    o->name != NULL ? o->name : "?") < 0;
			break;
		}
	}
	return errors;
}

int config_parse_listeners(struct ctx *c, const config_setting_t *list,
    void *obj)
{
	struct config *cfg = obj;
	size_t i, n;
	int errors = 0;

	if (list == NULL)
		return 0;	/* no default; build() reports the absence */
	if (!config_setting_is_list(list))
		return fail(c, list, "'listeners' must be a list: "
		    "listeners = ( { ... }, ... );");
	n = (size_t)config_setting_length(list);
	if (n == 0)
		return fail(c, list, "no listeners defined");
	if ((cfg->listeners = calloc(n, sizeof(*cfg->listeners))) == NULL)
		return fail(c, list, "out of memory");
	for (i = 0; i < n; i++) {
		cfg->nlisteners = i + 1;
		errors += parse_listener(c, config_setting_get_elem(list,
		    (unsigned)i), &cfg->listeners[i]);
		errors += check_unique(c, list, cfg, i);
	}
	return errors > 0 ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */
/* ------------------------------------------------------------------ */

static struct config *config_new(const char *path)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL)
		return NULL;
	if (schema_defaults(config_global_keys, PROTO_ALL, cfg) < 0 ||
	    (path != NULL && (cfg->path = strdup(path)) == NULL)) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

static struct config *build(struct ctx *c, const config_t *lc,
    const char *path)
{
	const config_setting_t *root = config_root_setting(lc);
	struct config *cfg = config_new(path);

	if (cfg == NULL) {
		errs_add(c->errs, path, 0, "out of memory");
		return NULL;
	}
	schema_apply(c, config_global_keys, root, PROTO_ALL, cfg);
	if (config_setting_get_member(root, "listeners") == NULL)
		errs_add(c->errs, path, 0, "no listeners defined");
	if (c->errs->count > 0) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

static void libconfig_error(const struct source *src, const config_t *lc,
    struct errs *errs)
{
	const char *file;
	long line;

	source_where(src, config_error_line(lc), &file, &line);
	/* Only set if libconfig opened a file itself, which expansion
	 * should have made impossible; trust it if it did. */
	if (config_error_file(lc) != NULL) {
		file = config_error_file(lc);
		line = config_error_line(lc);
	}
	errs_add(errs, file, line, "%s",
	    config_error_text(lc) ? config_error_text(lc) : "parse error");
}

/* text is the top file's content; name is what messages call it and
 * dir what its relative @include paths are joined to. */
static struct config *parse_text(const char *text, const char *name,
    const char *dir, struct errs *errs)
{
	struct config *cfg = NULL;
	struct source src;
	struct ctx c;
	config_t lc;

	memset(&src, 0, sizeof(src));
	src.errs = errs;
	if (source_expand(&src, name, dir, text) == 0) {
		/* A syntax error ends the reading: libconfig stops at the
		 * first one, and what follows it has no meaning. */
		config_init(&lc);
		if (config_read_string(&lc, src.text) != CONFIG_TRUE) {
			libconfig_error(&src, &lc, errs);
		} else {
			c.src = &src;
			c.errs = errs;
			cfg = build(&c, &lc, name);
		}
		config_destroy(&lc);
	}
	source_free(&src);
	return cfg;
}

struct config *config_load(const char *path, char *err, size_t errlen)
{
	struct config *cfg = NULL;
	struct errs errs;
	const char *why;
	char *text, *dir;
	size_t len;

	errs_init(&errs, err, errlen);
	if ((text = cfg_read_file(path, false, &len, &why)) == NULL) {
		errs_add(&errs, path, 0, "cannot read: %s", why);
		return NULL;
	}
	if ((dir = cfg_dir_prefix(path)) != NULL)
		cfg = parse_text(text, path, dir, &errs);
	else
		errs_add(&errs, path, 0, "out of memory");
	free(dir);
	free(text);
	return cfg;
}

struct config *config_parse_string(const char *text, const char *name,
    char *err, size_t errlen)
{
	struct errs errs;

	errs_init(&errs, err, errlen);
	return parse_text(text, name != NULL ? name : "(string)", "", &errs);
}

static int default_listener(struct listener_conf *l, const char *name,
    enum protocol proto, const char *bind)
{
	char err[128];

	if (listener_defaults(l, proto) < 0)
		return -1;
	l->name = strdup(name);
	l->room = strdup(name);
	l->bind = strdup(bind);
	if (l->name == NULL || l->room == NULL || l->bind == NULL)
		return -1;
	return addr_parse(bind, &l->addr, err, sizeof(err));
}

struct config *config_default(void)
{
	struct config *cfg = config_new(NULL);

	if (cfg == NULL)
		return NULL;
	cfg->listeners = calloc(2, sizeof(*cfg->listeners));
	if (cfg->listeners == NULL) {
		config_free(cfg);
		return NULL;
	}
	cfg->nlisteners = 2;
	if (default_listener(&cfg->listeners[0], "chat", PROTO_CHAT,
	    "127.0.0.1:1234") < 0 ||
	    default_listener(&cfg->listeners[1], "echo", PROTO_ECHO,
	    "127.0.0.1:9001") < 0) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

void config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; cfg->listeners != NULL && i < cfg->nlisteners; i++)
		listener_conf_clear(&cfg->listeners[i]);
	free(cfg->listeners);
	config_cluster_free(cfg->cluster);
	free(cfg->log.file);
	free(cfg->user);
	free(cfg->group);
	free(cfg->pidfile);
	free(cfg->path);
	free(cfg);
}

const struct listener_conf *config_find_listener(const struct config *cfg,
    const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nlisteners; i++)
		if (strcmp(cfg->listeners[i].name, name) == 0)
			return &cfg->listeners[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Copies                                                              */
/* ------------------------------------------------------------------ */

static int dup_into(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	*dst = strdup(src);
	return *dst != NULL ? 0 : -1;
}

int listener_conf_copy(struct listener_conf *dst, const struct listener_conf *src)
{
	*dst = *src;
	dst->name = dst->bind = dst->room = dst->motd = NULL;
	dst->path = dst->www = NULL;
	dst->origins = NULL;
	dst->tls = NULL;
	if (dup_into(&dst->name, src->name) == -1 || dup_into(&dst->bind, src->bind) == -1 ||
	    dup_into(&dst->room, src->room) == -1 || dup_into(&dst->motd, src->motd) == -1 ||
	    dup_into(&dst->path, src->path) == -1 || dup_into(&dst->www, src->www) == -1) {
		listener_conf_clear(dst);
		return -1;
	}
	if (src->origins != NULL) {
		size_t n = 0;

		while (src->origins[n] != NULL)
			n++;
		dst->origins = calloc(n + 1, sizeof(char *));
		if (dst->origins == NULL)
			goto fail;
		for (size_t i = 0; i < n; i++)
			if (dup_into(&dst->origins[i], src->origins[i]) == -1)
				goto fail;
	}
	if (src->tls != NULL) {
		struct tls_conf *t = calloc(1, sizeof(*t));

		if (t == NULL)
			goto fail;
		dst->tls = t;
		*t = *src->tls;
		t->cert = t->key = t->ca = t->ciphers = t->ciphersuites = t->file = NULL;
		if (dup_into(&t->cert, src->tls->cert) == -1 ||
		    dup_into(&t->key, src->tls->key) == -1 ||
		    dup_into(&t->ca, src->tls->ca) == -1 ||
		    dup_into(&t->ciphers, src->tls->ciphers) == -1 ||
		    dup_into(&t->ciphersuites, src->tls->ciphersuites) == -1 ||
		    dup_into(&t->file, src->tls->file) == -1)
			goto fail;
	}
	return 0;
fail:
	listener_conf_clear(dst);
	return -1;
}

void listener_conf_clear(struct listener_conf *c)
{
	free(c->name);
	free(c->bind);
	free(c->room);
	free(c->motd);
	free(c->path);
	free(c->www);
	if (c->origins != NULL) {
		for (size_t i = 0; c->origins[i] != NULL; i++)
			free(c->origins[i]);
		free(c->origins);
	}
	if (c->tls != NULL) {
		free(c->tls->cert);
		free(c->tls->key);
		free(c->tls->ca);
		free(c->tls->ciphers);
		free(c->tls->ciphersuites);
		free(c->tls->file);
		free(c->tls);
	}
	memset(c, 0, sizeof(*c));
}
