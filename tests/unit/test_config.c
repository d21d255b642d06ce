/*
 * test_config.c - chatd.conf loading: every key's default and range,
 * every validation error with its exact "FILE:LINE:" prefix, @include
 * resolution, missing files, and the sample etc/chatd.conf.
 */
#include "autoconfig.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"

/* A valid listener line to append when a test is about something else. */
#define CHAT_LISTENER \
	"listeners = ( { name = \"chat\"; protocol = \"chat\"; " \
	"bind = \"127.0.0.1:1234\"; } );\n"

static char tmpdir[256];
static char created[32][PATH_MAX];
static int ncreated;

static struct config *parse(const char *text)
{
	char err[2048] = "";
	struct config *cfg = config_parse_string(text, "t.conf", err, sizeof(err));

	if (cfg == NULL)
		fprintf(stderr, "unexpected error: %s\n", err);
	CHECK(cfg != NULL);
	return cfg;
}

/* text must fail with exactly want. */
static void expect_error(const char *text, const char *want)
{
	char err[2048] = "";
	struct config *cfg = config_parse_string(text, "t.conf", err, sizeof(err));

	CHECK(cfg == NULL);
	CHECK_STR(err, want);
	config_free(cfg);
}

/* One listener whose body starts on line 4 of t.conf; the group's
 * opening brace is on line 3. */
static void expect_listener_error(const char *body, const char *want)
{
	char text[2048];

	snprintf(text, sizeof(text), "# test\nlisteners = (\n  {\n%s\n  }\n);\n",
	    body);
	expect_error(text, want);
}

/* One valid listener plus extra keys; returns the parsed config. */
static struct config *parse_listener(const char *body)
{
	char text[2048];

	snprintf(text, sizeof(text), "listeners = ( {\n%s\n} );\n", body);
	return parse(text);
}

static void test_global_defaults(void)
{
	struct config *cfg = parse(CHAT_LISTENER);

	if (cfg == NULL)
		return;
	CHECK_STR(cfg->path, "t.conf");
	CHECK(cfg->user == NULL);
	CHECK(cfg->group == NULL);
	CHECK(cfg->pidfile == NULL);
	CHECK(cfg->shutdown_timeout == 5.0);
	CHECK(cfg->max_connections == 10000);
	CHECK(cfg->log.target == LOG_TARGET_AUTO);
	CHECK(cfg->log.file == NULL);
	CHECK(cfg->log.level == LOG_INFO);
	CHECK(cfg->log.facility == LOG_DAEMON);
	CHECK(cfg->nlisteners == 1);
	config_free(cfg);
}

static void test_listener_defaults(void)
{
	struct config *cfg = parse(
	    "listeners = (\n"
	    "  { name = \"chat\"; protocol = \"chat\"; bind = \"127.0.0.1:1234\"; },\n"
	    "  { name = \"echo\"; protocol = \"echo\"; bind = \"127.0.0.1:9001\"; }\n"
	    ");\n");
	const struct listener_conf *l;

	if (cfg == NULL)
		return;
	CHECK(cfg->nlisteners == 2);
	l = &cfg->listeners[0];
	CHECK_STR(l->name, "chat");
	CHECK(l->protocol == PROTO_CHAT);
	CHECK_STR(l->bind, "127.0.0.1:1234");
	CHECK(l->addr.ss.ss_family == AF_INET);
	CHECK(l->backlog == 511);
	CHECK(l->max_clients == 0);
	CHECK(l->idle_timeout == 0);
	CHECK_STR(l->room, "chat");
	CHECK(l->max_line == 1024);
	CHECK(l->max_queue == 262144);
	CHECK(l->motd == NULL);
	CHECK(l->announce);
	CHECK(l->mode == -1);
	CHECK(l->line == 2);

	l = &cfg->listeners[1];
	CHECK_STR(l->name, "echo");
	CHECK(l->protocol == PROTO_ECHO);
	CHECK(l->max_queue == 262144);
	CHECK(l->backlog == 511);
	CHECK(l->line == 3);

	CHECK(config_find_listener(cfg, "echo") == &cfg->listeners[1]);
	CHECK(config_find_listener(cfg, "chat") == &cfg->listeners[0]);
	CHECK(config_find_listener(cfg, "nope") == NULL);
	config_free(cfg);
}

static void test_builtin_default(void)
{
	struct config *cfg = config_default();
	const struct listener_conf *chat, *echo;
	char err[128];
	struct addr a;

	CHECK(cfg != NULL);
	if (cfg == NULL)
		return;
	CHECK(cfg->path == NULL);
	CHECK(cfg->nlisteners == 2);
	CHECK(cfg->shutdown_timeout == 5.0);
	CHECK(cfg->max_connections == 10000);
	CHECK(cfg->log.target == LOG_TARGET_AUTO);
	CHECK(cfg->log.level == LOG_INFO);
	CHECK(cfg->log.facility == LOG_DAEMON);
	chat = config_find_listener(cfg, "chat");
	echo = config_find_listener(cfg, "echo");
	CHECK(chat != NULL && echo != NULL);
	if (chat == NULL || echo == NULL) {
		config_free(cfg);
		return;
	}
	CHECK(chat->protocol == PROTO_CHAT);
	CHECK_STR(chat->bind, "127.0.0.1:1234");
	CHECK(addr_parse("127.0.0.1:1234", &a, err, sizeof(err)) == 0);
	CHECK(addr_equal(&chat->addr, &a));
	CHECK_STR(chat->room, "chat");
	CHECK(chat->max_line == 1024 && chat->max_queue == 262144);
	CHECK(chat->announce && chat->mode == -1 && chat->backlog == 511);
	CHECK(echo->protocol == PROTO_ECHO);
	CHECK_STR(echo->bind, "127.0.0.1:9001");
	CHECK(addr_parse("127.0.0.1:9001", &a, err, sizeof(err)) == 0);
	CHECK(addr_equal(&echo->addr, &a));
	config_free(cfg);
}

static void test_all_keys(void)
{
	struct config *cfg = parse(
	    "user = \"chatd\";\n"
	    "group = \"nogroup\";\n"
	    "pidfile = \"/run/chatd.pid\";\n"
	    "shutdown_timeout = 2.5;\n"
	    "max_connections = 100;\n"
	    "log = { target = \"file:/var/log/chatd.log\"; level = \"debug\";\n"
	    "        facility = \"local3\"; };\n"
	    "listeners = (\n"
	    "  { name = \"c.1_x-y\"; protocol = \"chat\"; bind = \"unix:/run/c.sock\";\n"
	    "    backlog = 16; max_clients = 50; idle_timeout = 300;\n"
	    "    room = \"lobby\"; max_line = 512; max_queue = 4096;\n"
	    "    motd = \"hello\\nworld\"; announce = false; mode = \"0660\"; },\n"
	    "  { name = \"e\"; protocol = \"echo\"; bind = \"udp:[::1]:7\";\n"
	    "    max_queue = 1024; idle_timeout = 0.25; }\n"
	    ");\n");
	const struct listener_conf *l;

	if (cfg == NULL)
		return;
	CHECK_STR(cfg->user, "chatd");
	CHECK_STR(cfg->group, "nogroup");
	CHECK_STR(cfg->pidfile, "/run/chatd.pid");
	CHECK(cfg->shutdown_timeout == 2.5);
	CHECK(cfg->max_connections == 100);
	CHECK(cfg->log.target == LOG_TARGET_FILE);
	CHECK_STR(cfg->log.file, "/var/log/chatd.log");
	CHECK(cfg->log.level == LOG_DEBUG);
	CHECK(cfg->log.facility == LOG_LOCAL3);

	l = &cfg->listeners[0];
	CHECK_STR(l->name, "c.1_x-y");
	CHECK(l->addr.ss.ss_family == AF_UNIX);
	CHECK(l->backlog == 16);
	CHECK(l->max_clients == 50);
	CHECK(l->idle_timeout == 300.0);
	CHECK_STR(l->room, "lobby");
	CHECK(l->max_line == 512);
	CHECK(l->max_queue == 4096);
	CHECK_STR(l->motd, "hello\nworld");
	CHECK(!l->announce);
	CHECK(l->mode == 0660);
	CHECK(l->line == 9);

	l = &cfg->listeners[1];
	CHECK(l->protocol == PROTO_ECHO);
	CHECK(l->addr.socktype == SOCK_DGRAM);
	CHECK(l->max_queue == 1024);
	CHECK(l->idle_timeout == 0.25);
	CHECK_STR(l->room, "e");	/* unused for echo, but never NULL */
	config_free(cfg);
}

static void test_log_keywords(void)
{
	static const struct { const char *text; int level; } levels[] = {
		{ "err", LOG_ERR }, { "warning", LOG_WARNING },
		{ "notice", LOG_NOTICE }, { "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
	};
	static const struct { const char *text; int facility; } facilities[] = {
		{ "daemon", LOG_DAEMON }, { "user", LOG_USER },
		{ "auth", LOG_AUTH }, { "authpriv", LOG_AUTHPRIV },
		{ "local0", LOG_LOCAL0 }, { "local7", LOG_LOCAL7 },
	};
	static const struct { const char *text; enum log_target t; } targets[] = {
		{ "auto", LOG_TARGET_AUTO }, { "stderr", LOG_TARGET_STDERR },
		{ "syslog", LOG_TARGET_SYSLOG }, { "journal", LOG_TARGET_JOURNAL },
	};
	char text[512];
	struct config *cfg;
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		snprintf(text, sizeof(text), "log = { level = \"%s\"; };\n"
		    CHAT_LISTENER, levels[i].text);
		if ((cfg = parse(text)) != NULL)
			CHECK(cfg->log.level == levels[i].level);
		config_free(cfg);
	}
	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++) {
		snprintf(text, sizeof(text), "log = { facility = \"%s\"; };\n"
		    CHAT_LISTENER, facilities[i].text);
		if ((cfg = parse(text)) != NULL)
			CHECK(cfg->log.facility == facilities[i].facility);
		config_free(cfg);
	}
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		snprintf(text, sizeof(text), "log = { target = \"%s\"; };\n"
		    CHAT_LISTENER, targets[i].text);
		if ((cfg = parse(text)) != NULL) {
			CHECK(cfg->log.target == targets[i].t);
			CHECK(cfg->log.file == NULL);
		}
		config_free(cfg);
	}
}

/* Durations take integers and floats; sizes only integers. */
static void test_number_types(void)
{
	struct config *cfg;

	cfg = parse("shutdown_timeout = 0;\n" CHAT_LISTENER);
	if (cfg != NULL)
		CHECK(cfg->shutdown_timeout == 0.0);
	config_free(cfg);
	cfg = parse("shutdown_timeout = 10;\n" CHAT_LISTENER);
	if (cfg != NULL)
		CHECK(cfg->shutdown_timeout == 10.0);
	config_free(cfg);
	cfg = parse("shutdown_timeout = 0.5;\n" CHAT_LISTENER);
	if (cfg != NULL)
		CHECK(cfg->shutdown_timeout == 0.5);
	config_free(cfg);
	cfg = parse("shutdown_timeout = 31536000;\n" CHAT_LISTENER);
	config_free(cfg);
	/* 64-bit and hex integers are integers too. */
	cfg = parse("max_connections = 20L;\n" CHAT_LISTENER);
	if (cfg != NULL)
		CHECK(cfg->max_connections == 20);
	config_free(cfg);
	cfg = parse_listener("name = \"x\"; protocol = \"echo\"; "
	    "bind = \"1.2.3.4:5\"; max_queue = 0x400; idle_timeout = 7;");
	if (cfg != NULL) {
		CHECK(cfg->listeners[0].max_queue == 1024);
		CHECK(cfg->listeners[0].idle_timeout == 7.0);
	}
	config_free(cfg);

	expect_error("shutdown_timeout = \"5\";\n" CHAT_LISTENER,
	    "t.conf:1: 'shutdown_timeout' must be a number of seconds");
	expect_error("shutdown_timeout = true;\n" CHAT_LISTENER,
	    "t.conf:1: 'shutdown_timeout' must be a number of seconds");
	expect_error("\nshutdown_timeout = -1;\n" CHAT_LISTENER,
	    "t.conf:2: 'shutdown_timeout' must be between 0 and 31536000 seconds");
	expect_error("shutdown_timeout = -0.5;\n" CHAT_LISTENER,
	    "t.conf:1: 'shutdown_timeout' must be between 0 and 31536000 seconds");
	expect_error("shutdown_timeout = 1e999;\n" CHAT_LISTENER,
	    "t.conf:1: 'shutdown_timeout' must be between 0 and 31536000 seconds");
	expect_error("shutdown_timeout = 31536001;\n" CHAT_LISTENER,
	    "t.conf:1: 'shutdown_timeout' must be between 0 and 31536000 seconds");
	expect_error("max_connections = 10.0;\n" CHAT_LISTENER,
	    "t.conf:1: 'max_connections' must be an integer");
	expect_error("max_connections = \"10\";\n" CHAT_LISTENER,
	    "t.conf:1: 'max_connections' must be an integer");
	expect_error("max_connections = 0;\n" CHAT_LISTENER,
	    "t.conf:1: 'max_connections' must be between 1 and 2147483647");
	expect_error("max_connections = 5000000000;\n" CHAT_LISTENER,
	    "t.conf:1: 'max_connections' must be between 1 and 2147483647");
	/* libconfig 1.5 would wrap these to small in-range values. */
	expect_error("max_connections = 4294967297;\n" CHAT_LISTENER,
	    "t.conf:1: 'max_connections' must be between 1 and 2147483647");
	expect_error("max_connections = 2147483648;\n" CHAT_LISTENER,
	    "t.conf:1: 'max_connections' must be between 1 and 2147483647");
	expect_error("max_connections = 0x100000001;\n" CHAT_LISTENER,
	    "t.conf:1: 'max_connections' must be between 1 and 2147483647");
	expect_error("max_connections = 0x80000000;\n" CHAT_LISTENER,
	    "t.conf:1: 'max_connections' must be between 1 and 2147483647");
	expect_error("max_connections = 99999999999999999999999;\n" CHAT_LISTENER,
	    "t.conf:1: 'max_connections' must be between 1 and 2147483647");
	expect_error("max_connections = -4294967295;\n" CHAT_LISTENER,
	    "t.conf:1: 'max_connections' must be between 1 and 2147483647");
	expect_error("max_connections = 00000000000000000000004294967297;\n"
	    CHAT_LISTENER,
	    "t.conf:1: 'max_connections' must be between 1 and 2147483647");
	cfg = parse("max_connections = 2147483647;\n" CHAT_LISTENER);
	if (cfg != NULL)
		CHECK(cfg->max_connections == 2147483647u);
	config_free(cfg);
	cfg = parse("max_connections = 0x7fffffff;\n" CHAT_LISTENER);
	if (cfg != NULL)
		CHECK(cfg->max_connections == 2147483647u);
	config_free(cfg);
	cfg = parse("max_connections = 000000000000000000007;\n" CHAT_LISTENER);
	if (cfg != NULL)
		CHECK(cfg->max_connections == 7);
	config_free(cfg);
	/* Digits inside names, strings and floats are not integers. */
	cfg = parse("# 5000000000\nshutdown_timeout = 1.5000000000;\n"
	    "listeners = ( { name = \"a5000000000\"; protocol = \"chat\";\n"
	    "  bind = \"127.0.0.1:1\"; motd = \"5000000000\"; } );\n");
	if (cfg != NULL) {
		CHECK(cfg->shutdown_timeout == 1.5);
		CHECK_STR(cfg->listeners[0].name, "a5000000000");
		CHECK_STR(cfg->listeners[0].motd, "5000000000");
	}
	config_free(cfg);
	expect_error("shutdown_timeout = 5000000000.0;\n" CHAT_LISTENER,
	    "t.conf:1: 'shutdown_timeout' must be between 0 and 31536000 seconds");
	expect_error("shutdown_timeout = 5000000000;\n" CHAT_LISTENER,
	    "t.conf:1: 'shutdown_timeout' must be between 0 and 31536000 seconds");
}

static void test_global_errors(void)
{
	expect_error("foo = 1;\n" CHAT_LISTENER, "t.conf:1: unknown key 'foo'");
	expect_error(CHAT_LISTENER "\n\nListeners = ();\n",
	    "t.conf:4: unknown key 'Listeners'");
	expect_error("user = 0;\n" CHAT_LISTENER, "t.conf:1: 'user' must be a string");
	expect_error("user = \"\";\n" CHAT_LISTENER,
	    "t.conf:1: 'user' must not be empty");
	expect_error("group = [\"a\"];\n" CHAT_LISTENER,
	    "t.conf:1: 'group' must be a string");
	expect_error("group = \"\";\n" CHAT_LISTENER,
	    "t.conf:1: 'group' must not be empty");
	expect_error("pidfile = \"chatd.pid\";\n" CHAT_LISTENER,
	    "t.conf:1: 'pidfile' must be an absolute path");
	expect_error("pidfile = 1;\n" CHAT_LISTENER,
	    "t.conf:1: 'pidfile' must be a string");

	expect_error("log = \"stderr\";\n" CHAT_LISTENER,
	    "t.conf:1: 'log' must be a group: log = { ... };");
	expect_error("log = {\n  target = \"stderr\";\n  colour = true;\n};\n"
	    CHAT_LISTENER, "t.conf:3: unknown key 'colour'");
	expect_error("log = { target = \"console\"; };\n" CHAT_LISTENER,
	    "t.conf:1: 'target' must be auto, stderr, syslog, journal or "
	    "\"file:/absolute/path\"");
	expect_error("log = { target = \"file:chatd.log\"; };\n" CHAT_LISTENER,
	    "t.conf:1: log file must be an absolute path: \"file:chatd.log\"");
	expect_error("log = { target = \"file:\\r\"; };\n" CHAT_LISTENER,
	    "t.conf:1: log file must be an absolute path: \"file:\\x0d\"");
	expect_error("log = { target = \"file:\"; };\n" CHAT_LISTENER,
	    "t.conf:1: log file must be an absolute path: \"file:\"");
	expect_error("log = { target = 1; };\n" CHAT_LISTENER,
	    "t.conf:1: 'target' must be a string");
	expect_error("log = { level = \"error\"; };\n" CHAT_LISTENER,
	    "t.conf:1: 'level' must be err, warning, notice, info or debug");
	expect_error("log = { level = \"INFO\"; };\n" CHAT_LISTENER,
	    "t.conf:1: 'level' must be err, warning, notice, info or debug");
	expect_error("log = { facility = \"local8\"; };\n" CHAT_LISTENER,
	    "t.conf:1: 'facility' must be daemon, user, auth, authpriv or "
	    "local0 to local7");

	expect_error("", "t.conf: no listeners defined");
	expect_error("user = \"x\";\n", "t.conf: no listeners defined");
	expect_error("\nlisteners = ();\n", "t.conf:2: no listeners defined");
	expect_error("listeners = { name = \"x\"; };\n",
	    "t.conf:1: 'listeners' must be a list: listeners = ( { ... }, ... );");
	expect_error("listeners = [ 1 ];\n",
	    "t.conf:1: 'listeners' must be a list: listeners = ( { ... }, ... );");
	expect_error("listeners = (\n \"chat\" );\n",
	    "t.conf:2: each listener must be a group { ... }");
}

static void test_syntax_errors(void)
{
	expect_error("user = \"x\"\n\nmax_connections = ;\n",
	    "t.conf:3: syntax error");
	expect_error("a = 1;\nb = 2;\na = 3;\n", "t.conf:3: duplicate setting name");
	/* A missing comma between listeners.  (An unterminated string is
	 * not tested here: libconfig 1.5 leaks its token, which would fail
	 * sanitizer and valgrind runs; the fuzzer covers it.) */
	expect_error("user = \"x\";\nlisteners = (\n  { name = \"a\"; }\n"
	    "  { name = \"b\"; }\n);\n", "t.conf:4: syntax error");
	/* A comment or string that looks like a directive is not one. */
	expect_error("/*\n@include \"nonexistent\"\n*/\nfoo = 1;\n",
	    "t.conf:4: unknown key 'foo'\nt.conf: no listeners defined");
	expect_error("motd = \"\n@include \\\"nonexistent\\\"\n\";\nfoo = 1;\n",
	    "t.conf:1: unknown key 'motd'\nt.conf:4: unknown key 'foo'\n"
	    "t.conf: no listeners defined");
	expect_error("# @include \"nonexistent\"\nfoo = 1;\n",
	    "t.conf:2: unknown key 'foo'\nt.conf: no listeners defined");
	/* libconfig only takes @include at the start of a line. */
	expect_error("a = 1; @include \"nonexistent\"\n", "t.conf:1: syntax error");
	expect_error("@include \"unterminated\n", "t.conf:1: unterminated @include path");
	expect_error("@include \"\"\n", "t.conf:1: empty @include path");
}

static void test_listener_keys(void)
{
	struct config *cfg;

	expect_listener_error("name = \"x\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";\n"
	    "    colour = \"red\";", "t.conf:5: unknown key 'colour'");
	expect_listener_error("protocol = \"chat\"; bind = \"1.2.3.4:5\";",
	    "t.conf:3: listener is missing 'name'");
	expect_listener_error("name = \"x\"; bind = \"1.2.3.4:5\";",
	    "t.conf:3: listener \"x\" is missing 'protocol'");
	expect_listener_error("name = \"x\"; protocol = \"echo\";",
	    "t.conf:3: listener \"x\" is missing 'bind'");
	expect_listener_error("name = 1; protocol = \"echo\"; bind = \"1.2.3.4:5\";",
	    "t.conf:4: 'name' must be a string");
	expect_listener_error("name = \"\"; protocol = \"echo\"; bind = \"1.2.3.4:5\";",
	    "t.conf:4: invalid listener name \"\": use 1-32 characters of "
	    "A-Z a-z 0-9 _ . -");
	expect_listener_error("name = \"a b\"; protocol = \"echo\"; bind = \"1.2.3.4:5\";",
	    "t.conf:4: invalid listener name \"a b\": use 1-32 characters of "
	    "A-Z a-z 0-9 _ . -");
	expect_listener_error("name = \"abcdefghijklmnopqrstuvwxyz0123456\";\n"
	    "protocol = \"echo\"; bind = \"1.2.3.4:5\";",
	    "t.conf:4: invalid listener name \"abcdefghijklmnopqrstuvwxyz0123456\": "
	    "use 1-32 characters of A-Z a-z 0-9 _ . -");
	cfg = parse_listener("name = \"abcdefghijklmnopqrstuvwxyz012345\";"
	    "protocol = \"echo\"; bind = \"1.2.3.4:5\";");
	config_free(cfg);
	expect_listener_error("name = \"x\";\nprotocol = \"irc\"; bind = \"1.2.3.4:5\";",
	    "t.conf:5: 'protocol' must be \"chat\", \"echo\", \"websocket\" or \"metrics\"");
	expect_listener_error("name = \"x\"; protocol = \"echo\";\n\nbind = \"x:5\";",
	    "t.conf:6: invalid address \"x:5\": host must be a numeric IPv4 "
	    "address or localhost (no DNS)");
	expect_listener_error("name = \"x\"; protocol = \"echo\"; bind = \"1.2.3.4:0\";",
	    "t.conf:4: invalid address \"1.2.3.4:0\": port must be 1-65535");
	/* Control characters never split a message over lines. */
	expect_listener_error("name = \"x\"; protocol = \"echo\"; bind = \"a\\nb\\x01\\\"\";",
	    "t.conf:4: invalid address \"a\\nb\\x01\\\"\": expected HOST:PORT, "
	    "[V6]:PORT, *:PORT or unix:PATH");
	expect_listener_error("name = \"a\\tb\"; protocol = \"echo\"; bind = \"1.2.3.4:5\";",
	    "t.conf:4: invalid listener name \"a\\x09b\": use 1-32 characters of "
	    "A-Z a-z 0-9 _ . -");
	expect_listener_error("name = \"x\"; protocol = \"echo\"; bind = 1234;",
	    "t.conf:4: 'bind' must be a string");
}

/* Each limit, just outside and just inside its range. */
static void test_listener_limits(void)
{
	static const char *const cases[][2] = {
		{ "backlog = 0;", "'backlog' must be between 1 and 65535" },
		{ "backlog = 65536;", "'backlog' must be between 1 and 65535" },
		{ "backlog = 1.0;", "'backlog' must be an integer" },
		{ "max_clients = -1;", "'max_clients' must be between 0 and 2147483647" },
		{ "max_clients = \"5\";", "'max_clients' must be an integer" },
		{ "idle_timeout = -1;", "'idle_timeout' must be between 0 and 31536000 seconds" },
		{ "idle_timeout = \"1m\";", "'idle_timeout' must be a number of seconds" },
		{ "max_queue = 1023;", "'max_queue' must be between 1024 and 1073741824" },
		{ "max_queue = 1073741825;", "'max_queue' must be between 1024 and 1073741824" },
		{ "max_queue = 256.0;", "'max_queue' must be an integer" },
		{ "max_line = 0;", "'max_line' must be between 1 and 1048576" },
		{ "max_line = 1048577;", "'max_line' must be between 1 and 1048576" },
		{ "max_line = 1e3;", "'max_line' must be an integer" },
		{ "announce = 1;", "'announce' must be true or false" },
		{ "announce = \"yes\";", "'announce' must be true or false" },
		{ "motd = [\"a\"];", "'motd' must be a string" },
		{ "room = \"a/b\";", "invalid room \"a/b\": use 1-32 characters of A-Z a-z 0-9 _ . -" },
		{ "room = \"\";", "invalid room \"\": use 1-32 characters of A-Z a-z 0-9 _ . -" },
		{ "room = 1;", "'room' must be a string" },
	};
	char body[512], want[512];
	struct config *cfg;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body), "name = \"x\"; protocol = \"chat\"; "
		    "bind = \"1.2.3.4:5\";\n%s", cases[i][0]);
		snprintf(want, sizeof(want), "t.conf:5: %s", cases[i][1]);
		expect_listener_error(body, want);
	}

	cfg = parse_listener("name = \"x\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";"
	    "backlog = 1; max_clients = 0; max_line = 1; max_queue = 1024;");
	if (cfg != NULL) {
		CHECK(cfg->listeners[0].backlog == 1);
		CHECK(cfg->listeners[0].max_line == 1);
		CHECK(cfg->listeners[0].max_queue == 1024);
	}
	config_free(cfg);
	cfg = parse_listener("name = \"x\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";"
	    "backlog = 65535; max_line = 1048576; max_queue = 1073741824;"
	    "max_clients = 2147483647; motd = \"\";");
	if (cfg != NULL) {
		CHECK(cfg->listeners[0].backlog == 65535);
		CHECK(cfg->listeners[0].max_line == 1048576);
		CHECK(cfg->listeners[0].max_queue == 1073741824);
		CHECK(cfg->listeners[0].max_clients == 2147483647u);
		CHECK(cfg->listeners[0].motd == NULL);	/* empty = none */
	}
	config_free(cfg);
}

static void test_listener_combinations(void)
{
	static const char *const chat_only[] = {
		"room = \"r\";", "max_line = 100;", "motd = \"hi\";", "announce = true;"
	};
	static const char *const names[] = { "room", "max_line", "motd", "announce" };
	char body[512], want[512];
	struct config *cfg;
	size_t i;

	for (i = 0; i < 4; i++) {
		snprintf(body, sizeof(body), "name = \"e\"; protocol = \"echo\"; "
		    "bind = \"1.2.3.4:5\";\n\n%s", chat_only[i]);
		snprintf(want, sizeof(want),
		    "t.conf:6: '%s' applies only to chat and websocket listeners",
		    names[i]);
		expect_listener_error(body, want);
	}
	expect_listener_error("name = \"c\"; protocol = \"chat\";\n"
	    "bind = \"udp:1.2.3.4:5\";",
	    "t.conf:5: udp: binds are for echo listeners only");
	expect_listener_error("name = \"c\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";\n"
	    "mode = \"0660\";", "t.conf:5: 'mode' applies only to unix: binds");
	expect_listener_error("name = \"c\"; protocol = \"chat\"; bind = \"unix:/x\";\n"
	    "mode = 0660;", "t.conf:5: 'mode' must be an octal string such as \"0660\"");
	expect_listener_error("name = \"c\"; protocol = \"chat\"; bind = \"unix:/x\";\n"
	    "mode = \"0680\";", "t.conf:5: 'mode' must be an octal string such as \"0660\"");
	expect_listener_error("name = \"c\"; protocol = \"chat\"; bind = \"unix:/x\";\n"
	    "mode = \"10660\";", "t.conf:5: 'mode' must be an octal string such as \"0660\"");
	expect_listener_error("name = \"c\"; protocol = \"chat\"; bind = \"unix:/x\";\n"
	    "mode = \"\";", "t.conf:5: 'mode' must be an octal string such as \"0660\"");
	expect_listener_error("name = \"c\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";\n"
	    "max_queue = 2048;\nmax_line = 2048;",
	    "t.conf:6: 'max_line' (2048) must be less than 'max_queue' (2048)");
	/* Only max_queue set: the default max_line is compared with it. */
	expect_listener_error("name = \"c\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";\n"
	    "max_queue = 1024;",
	    "t.conf:5: 'max_line' (1024) must be less than 'max_queue' (1024)");
	/* Only max_line set: compared with the default max_queue. */
	expect_listener_error("name = \"c\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";\n"
	    "max_line = 1048576;",
	    "t.conf:5: 'max_line' (1048576) must be less than 'max_queue' (262144)");

	/* Echo has no max_line: a small max_queue is fine; mode on unix. */
	cfg = parse_listener("name = \"e\"; protocol = \"echo\"; bind = \"unix:/x\";"
	    "max_queue = 1024; mode = \"600\";");
	if (cfg != NULL)
		CHECK(cfg->listeners[0].mode == 0600);
	config_free(cfg);
	cfg = parse_listener("name = \"c\"; protocol = \"chat\"; bind = \"unix:/x\";"
	    "mode = \"0\";");
	if (cfg != NULL)
		CHECK(cfg->listeners[0].mode == 0);
	config_free(cfg);
}

static void test_duplicates(void)
{
	struct config *cfg;

	expect_error("listeners = (\n"
	    "  { name = \"a\"; protocol = \"chat\"; bind = \"127.0.0.1:1\"; },\n"
	    "  { protocol = \"chat\";\n"
	    "    name = \"a\"; bind = \"127.0.0.1:2\"; }\n"
	    ");\n",
	    "t.conf:4: duplicate listener name \"a\" (first defined at t.conf:2)");
	expect_error("listeners = (\n"
	    "  { name = \"a\"; protocol = \"chat\"; bind = \"127.0.0.1:1\"; },\n"
	    "  { name = \"b\"; protocol = \"echo\";\n"
	    "    bind = \"localhost:1\"; }\n"
	    ");\n",
	    "t.conf:4: bind address \"localhost:1\" is already used by listener \"a\"");
	expect_error("listeners = (\n"
	    "  { name = \"a\"; protocol = \"chat\"; bind = \"unix:/run/x\"; },\n"
	    "  { name = \"b\"; protocol = \"echo\"; bind = \"1.2.3.4:5\"; },\n"
	    "  { name = \"c\"; protocol = \"echo\"; bind = \"unix:/run/x\"; }\n"
	    ");\n",
	    "t.conf:4: bind address \"unix:/run/x\" is already used by listener \"a\"");
	expect_error("listeners = (\n"
	    "  { name = \"a\"; protocol = \"chat\"; bind = \"*:1\"; },\n"
	    "  { name = \"b\"; protocol = \"echo\"; bind = \"[::]:1\"; }\n"
	    ");\n",
	    "t.conf:3: bind address \"[::]:1\" is already used by listener \"a\"");

	/* Same port over TCP and UDP, or over IPv4 and IPv6: different. */
	cfg = parse("listeners = (\n"
	    "  { name = \"a\"; protocol = \"echo\"; bind = \"127.0.0.1:9001\"; },\n"
	    "  { name = \"b\"; protocol = \"echo\"; bind = \"udp:127.0.0.1:9001\"; },\n"
	    "  { name = \"c\"; protocol = \"chat\"; bind = \"[::1]:9001\"; room = \"a\"; },\n"
	    "  { name = \"d\"; protocol = \"chat\"; bind = \"127.0.0.1:1\"; room = \"a\"; }\n"
	    ");\n");
	if (cfg != NULL) {
		CHECK(cfg->nlisteners == 4);
		CHECK_STR(cfg->listeners[2].room, "a");
		CHECK_STR(cfg->listeners[3].room, "a");
	}
	config_free(cfg);
}

/* Every error of a file is reported, one FILE:LINE line each, in the
 * order they were found; a syntax error ends the reading. */
static void test_many_errors(void)
{
	expect_error("max_connections = 0;\n"			/* 1 */
	    "listeners = (\n"					/* 2 */
	    "  { name = \"a\"; protocol = \"chat\";\n"		/* 3 */
	    "    bind = \"127.0.0.1:1\"; backlog = 0; },\n"	/* 4 */
	    "  { name = \"b\"; protocol = \"echo\";\n"		/* 5 */
	    "    bind = \"127.0.0.1:2\"; colour = 1; }\n"		/* 6 */
	    ");\n",
	    "t.conf:1: 'max_connections' must be between 1 and 2147483647\n"
	    "t.conf:4: 'backlog' must be between 1 and 65535\n"
	    "t.conf:6: unknown key 'colour'");
	/* Several in one listener, and one across listeners. */
	expect_error("listeners = (\n"
	    "  { name = \"a\"; protocol = \"chat\"; bind = \"127.0.0.1:1\";\n"
	    "    room = \"x y\"; announce = 1; },\n"
	    "  { name = \"a\"; protocol = \"irc\"; bind = \"127.0.0.1:1\"; }\n"
	    ");\n",
	    "t.conf:3: invalid room \"x y\": use 1-32 characters of A-Z a-z 0-9 _ . -\n"
	    "t.conf:3: 'announce' must be true or false\n"
	    "t.conf:4: 'protocol' must be \"chat\", \"echo\", \"websocket\" or \"metrics\"\n"
	    "t.conf:4: duplicate listener name \"a\" (first defined at t.conf:2)\n"
	    "t.conf:4: bind address \"127.0.0.1:1\" is already used by listener \"a\"");
	/* A listener without its required keys: each is named. */
	expect_listener_error("backlog = 1;",
	    "t.conf:3: listener is missing 'name'\n"
	    "t.conf:3: listener is missing 'protocol'\n"
	    "t.conf:3: listener is missing 'bind'");
	/* libconfig stops at the first syntax error. */
	expect_error("foo = 1;\nbar = ;\nbaz = ;\n", "t.conf:2: syntax error");
}

/* Many errors: the list stops at a line that would not fit, it never
 * ends in half a line. */
static void test_many_errors_truncated(void)
{
	char text[8192], err[100];
	struct config *cfg;
	size_t i, lines = 1;

	text[0] = '\0';
	for (i = 0; i < 50; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		    "k%zu = 1;\n", i);
	cfg = config_parse_string(text, "t.conf", err, sizeof(err));
	CHECK(cfg == NULL);
	for (i = 0; err[i] != '\0'; i++)
		lines += err[i] == '\n';
	CHECK(lines == 3);	/* 26 bytes each: 3 fit in 100, a 4th would not */
	CHECK(strncmp(err, "t.conf:1: unknown key 'k0'\nt.conf:2: ", 37) == 0);
	CHECK(err[strlen(err) - 1] == '\'');
	config_free(cfg);
}

/* ---- Part II keys --------------------------------------------------- */

#define WS_LISTENER(extra) \
	"listeners = ( { name = \"w\"; protocol = \"websocket\"; " \
	"bind = \"127.0.0.1:8080\";\n" extra "\n} );\n"

static void test_flood_keys(void)
{
	struct config *cfg;
	const struct listener_conf *l;

	cfg = parse(CHAT_LISTENER);
	if (cfg != NULL) {
		l = &cfg->listeners[0];
		CHECK(l->rate == 10.0 && l->burst == 20 && l->flood_timeout == 0);
		CHECK(!l->reuseport && l->tls == NULL);
		/* websocket's keys are not set for chat */
		CHECK(l->path == NULL && l->www == NULL && l->origins == NULL);
		CHECK(cfg->cluster == NULL);
	}
	config_free(cfg);
	cfg = config_default();
	CHECK(cfg != NULL);
	if (cfg != NULL)
		CHECK(cfg->listeners[0].rate == 10.0 && cfg->listeners[0].burst == 20);
	config_free(cfg);

	cfg = parse_listener("name = \"c\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";"
	    "rate = 0.5; burst = 1; flood_timeout = 2.5; reuseport = true;");
	if (cfg != NULL) {
		l = &cfg->listeners[0];
		CHECK(l->rate == 0.5 && l->burst == 1 && l->flood_timeout == 2.5);
		CHECK(l->reuseport);
	}
	config_free(cfg);
	cfg = parse_listener("name = \"c\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";"
	    "rate = 0; burst = 1000000;");
	if (cfg != NULL)
		CHECK(cfg->listeners[0].rate == 0 && cfg->listeners[0].burst == 1000000);
	config_free(cfg);
	cfg = parse_listener("name = \"e\"; protocol = \"echo\"; "
	    "bind = \"udp:1.2.3.4:5\"; reuseport = true;");
	if (cfg != NULL)
		CHECK(cfg->listeners[0].reuseport);
	config_free(cfg);

	expect_listener_error("name = \"c\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";\n"
	    "rate = -1;", "t.conf:5: 'rate' must be between 0 and 1000000");
	expect_listener_error("name = \"c\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";\n"
	    "rate = \"10\";", "t.conf:5: 'rate' must be a number");
	expect_listener_error("name = \"c\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";\n"
	    "burst = 0;", "t.conf:5: 'burst' must be between 1 and 1000000");
	expect_listener_error("name = \"c\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";\n"
	    "burst = 2.0;", "t.conf:5: 'burst' must be an integer");
	expect_listener_error("name = \"c\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";\n"
	    "flood_timeout = -1;",
	    "t.conf:5: 'flood_timeout' must be between 0 and 31536000 seconds");
	expect_listener_error("name = \"c\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";\n"
	    "reuseport = 1;", "t.conf:5: 'reuseport' must be true or false");
	expect_listener_error("name = \"c\"; protocol = \"chat\"; bind = \"unix:/x\";\n"
	    "reuseport = true;",
	    "t.conf:5: 'reuseport' applies only to TCP and UDP binds");
	expect_listener_error("name = \"e\"; protocol = \"echo\"; bind = \"1.2.3.4:5\";\n"
	    "rate = 5;\nburst = 5;\nflood_timeout = 1;",
	    "t.conf:5: 'rate' applies only to chat and websocket listeners\n"
	    "t.conf:6: 'burst' applies only to chat and websocket listeners\n"
	    "t.conf:7: 'flood_timeout' applies only to chat and websocket listeners");
}

static void test_websocket_keys(void)
{
	struct config *cfg;
	const struct listener_conf *l;

	cfg = parse(WS_LISTENER(""));
	if (cfg != NULL) {
		l = &cfg->listeners[0];
		CHECK(l->protocol == PROTO_WEBSOCKET);
		CHECK_STR(l->room, "w");
		CHECK_STR(l->path, "/chat");
		CHECK_STR(l->www, DATADIR "/chatd/www");
		CHECK(l->origins == NULL);
		CHECK(l->ping_interval == 30.0);
		CHECK(l->max_line == 1024 && l->max_queue == 262144 && l->announce);
		CHECK(l->rate == 10.0 && l->burst == 20);
	}
	config_free(cfg);
	cfg = parse(WS_LISTENER("path = \"/ws/chat\"; www = \"\"; "
	    "origins = [\"https://a.example\", \"http://b.example:8080\"]; "
	    "ping_interval = 0; room = \"lobby\"; motd = \"hi\"; announce = false; "
	    "max_line = 100; max_queue = 2048; max_clients = 5; idle_timeout = 60; "
	    "rate = 1.5; burst = 3; flood_timeout = 9; reuseport = true;"));
	if (cfg != NULL) {
		struct listener_conf copy;

		l = &cfg->listeners[0];
		CHECK_STR(l->path, "/ws/chat");
		CHECK_STR(l->www, "");
		CHECK(l->origins != NULL);
		if (l->origins != NULL) {
			CHECK_STR(l->origins[0], "https://a.example");
			CHECK_STR(l->origins[1], "http://b.example:8080");
			CHECK(l->origins[2] == NULL);
		}
		CHECK(l->ping_interval == 0);
		CHECK_STR(l->room, "lobby");
		CHECK_STR(l->motd, "hi");
		CHECK(!l->announce && l->max_line == 100 && l->max_queue == 2048);
		CHECK(l->max_clients == 5 && l->idle_timeout == 60);
		CHECK(l->rate == 1.5 && l->burst == 3 && l->flood_timeout == 9);
		/* A listener keeps a deep copy across reloads. */
		CHECK(listener_conf_copy(&copy, l) == 0);
		CHECK(copy.origins != l->origins && copy.path != l->path);
		if (copy.origins != NULL)
			CHECK_STR(copy.origins[1], "http://b.example:8080");
		listener_conf_clear(&copy);
	}
	config_free(cfg);
	/* A list in ( ) works as well as an array in [ ]. */
	cfg = parse(WS_LISTENER("origins = ( \"https://a.example\" );"));
	if (cfg != NULL && cfg->listeners[0].origins != NULL)
		CHECK_STR(cfg->listeners[0].origins[0], "https://a.example");
	config_free(cfg);
	cfg = parse("listeners = ( { name = \"w\"; protocol = \"websocket\"; "
	    "bind = \"unix:/run/w.sock\"; mode = \"0660\"; } );\n");
	config_free(cfg);

	expect_error(WS_LISTENER("path = \"chat\";"),
	    "t.conf:2: 'path' must be a URL path such as \"/chat\"");
	expect_error(WS_LISTENER("path = \"/a b\";"),
	    "t.conf:2: 'path' must be a URL path such as \"/chat\"");
	expect_error(WS_LISTENER("www = 1;"), "t.conf:2: 'www' must be a string");
	expect_error(WS_LISTENER("origins = \"https://a.example\";"),
	    "t.conf:2: 'origins' must be a list of strings: [ \"...\", ... ]");
	expect_error(WS_LISTENER("origins = [];"), "t.conf:2: 'origins' must not be empty");
	expect_error(WS_LISTENER("origins = [ \"\" ];"),
	    "t.conf:2: 'origins' must be a list of non-empty strings");
	expect_error(WS_LISTENER("origins = ( \"a\",\n 1 );"),
	    "t.conf:3: 'origins' must be a list of non-empty strings");
	expect_error(WS_LISTENER("ping_interval = -1;"),
	    "t.conf:2: 'ping_interval' must be between 0 and 31536000 seconds");
	expect_error(WS_LISTENER("max_line = 4096; max_queue = 4096;"),
	    "t.conf:2: 'max_line' (4096) must be less than 'max_queue' (4096)");
	expect_error("listeners = ( { name = \"w\"; protocol = \"websocket\";\n"
	    "bind = \"udp:127.0.0.1:1\"; } );\n",
	    "t.conf:2: udp: binds are for echo listeners only");
	/* websocket's own keys, on other protocols */
	expect_listener_error("name = \"c\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";\n"
	    "path = \"/x\";\nwww = \"\";\norigins = [\"a\"];\nping_interval = 1;",
	    "t.conf:5: 'path' applies only to websocket listeners\n"
	    "t.conf:6: 'www' applies only to websocket listeners\n"
	    "t.conf:7: 'origins' applies only to websocket listeners\n"
	    "t.conf:8: 'ping_interval' applies only to websocket listeners");
}

static void test_metrics_keys(void)
{
	struct config *cfg;

	cfg = parse("listeners = (\n"
	    "  { name = \"m\"; protocol = \"metrics\"; bind = \"127.0.0.1:9100\";\n"
	    "    max_queue = 65536; max_clients = 4; idle_timeout = 10; },\n"
	    "  { name = \"m2\"; protocol = \"metrics\"; bind = \"unix:/run/m.sock\"; }\n"
	    ");\n");
	if (cfg != NULL) {
		const struct listener_conf *l = &cfg->listeners[0];

		CHECK(l->protocol == PROTO_METRICS);
		CHECK(l->max_queue == 65536 && l->max_clients == 4);
		CHECK(l->idle_timeout == 10);
		CHECK(cfg->listeners[1].protocol == PROTO_METRICS);
	}
	config_free(cfg);
	expect_listener_error("name = \"m\"; protocol = \"metrics\"; bind = \"1.2.3.4:5\";\n"
	    "room = \"r\";\nmax_line = 10;\nrate = 1;\npath = \"/\";",
	    "t.conf:5: 'room' applies only to chat and websocket listeners\n"
	    "t.conf:6: 'max_line' applies only to chat and websocket listeners\n"
	    "t.conf:7: 'rate' applies only to chat and websocket listeners\n"
	    "t.conf:8: 'path' applies only to websocket listeners");
	expect_listener_error("name = \"m\"; protocol = \"metrics\";\n"
	    "bind = \"udp:1.2.3.4:5\";",
	    "t.conf:5: udp: binds are for echo listeners only");
}

#define TLS_GROUP "tls = { cert = \"/c.pem\"; key = \"/k.pem\"; };"

static void test_tls_keys(void)
{
#ifdef HAVE_TLS
	struct config *cfg;
	const struct listener_conf *l;

	cfg = parse_listener("name = \"c\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";\n"
	    TLS_GROUP);
	if (cfg != NULL) {
		l = &cfg->listeners[0];
		CHECK(l->tls != NULL);
		if (l->tls != NULL) {
			CHECK_STR(l->tls->cert, "/c.pem");
			CHECK_STR(l->tls->key, "/k.pem");
			CHECK(l->tls->ca == NULL && l->tls->ciphers == NULL &&
			    l->tls->ciphersuites == NULL);
			CHECK(l->tls->min_version == 12);
			CHECK(l->tls->handshake_timeout == 10.0);
			CHECK(l->tls->line == 3);
		}
	}
	config_free(cfg);
	cfg = parse("listeners = (\n"
	    "  { name = \"e\"; protocol = \"echo\"; bind = \"1.2.3.4:5\";\n"
	    "    tls = { cert = \"credential:cert\"; key = \"credential:key\";\n"
	    "            ca = \"/ca.pem\"; min_version = \"1.3\";\n"
	    "            ciphers = \"HIGH\"; ciphersuites = \"TLS_AES_256_GCM_SHA384\";\n"
	    "            handshake_timeout = 2.5; }; },\n"
	    "  { name = \"w\"; protocol = \"websocket\"; bind = \"1.2.3.4:6\"; " TLS_GROUP " },\n"
	    "  { name = \"m\"; protocol = \"metrics\"; bind = \"unix:/m\"; " TLS_GROUP " }\n"
	    ");\n");
	if (cfg != NULL) {
		struct listener_conf copy;

		l = &cfg->listeners[0];
		CHECK(l->tls != NULL);
		if (l->tls != NULL) {
			CHECK_STR(l->tls->cert, "credential:cert");
			CHECK_STR(l->tls->ca, "/ca.pem");
			CHECK(l->tls->min_version == 13);
			CHECK_STR(l->tls->ciphers, "HIGH");
			CHECK_STR(l->tls->ciphersuites, "TLS_AES_256_GCM_SHA384");
			CHECK(l->tls->handshake_timeout == 2.5);
			CHECK(l->tls->line == 3);
		}
		CHECK(cfg->listeners[1].tls != NULL && cfg->listeners[2].tls != NULL);
		CHECK(listener_conf_copy(&copy, l) == 0);
		CHECK(copy.tls != NULL && copy.tls != l->tls);
		if (copy.tls != NULL)
			CHECK_STR(copy.tls->ca, "/ca.pem");
		listener_conf_clear(&copy);
	}
	config_free(cfg);

	expect_listener_error("name = \"c\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";\n"
	    "tls = { ca = \"/ca.pem\"; };",
	    "t.conf:5: 'tls' is missing 'cert'\nt.conf:5: 'tls' is missing 'key'");
	expect_listener_error("name = \"c\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";\n"
	    "tls = { cert = \"/c\"; key = \"/k\";\n min_version = \"1.1\";\n"
	    " handshake_timeout = 0; colour = 1; };",
	    "t.conf:6: 'min_version' must be \"1.2\" or \"1.3\"\n"
	    "t.conf:7: 'handshake_timeout' must be more than 0 seconds\n"
	    "t.conf:7: unknown key 'colour'");
	expect_listener_error("name = \"c\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";\n"
	    "tls = \"/c.pem\";", "t.conf:5: 'tls' must be a group: tls = { ... };");
	expect_listener_error("name = \"c\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";\n"
	    "tls = { cert = \"\"; key = 1; };",
	    "t.conf:5: 'cert' must not be empty\nt.conf:5: 'key' must be a string");
	expect_listener_error("name = \"e\"; protocol = \"echo\"; bind = \"udp:1.2.3.4:5\";\n"
	    TLS_GROUP, "t.conf:5: 'tls' does not apply to udp: binds");
#else
	expect_listener_error("name = \"c\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";\n"
	    TLS_GROUP, "t.conf:5: tls: this chatd was built without TLS support");
	expect_listener_error("name = \"c\"; protocol = \"chat\"; bind = \"1.2.3.4:5\";\n"
	    "tls = { };", "t.conf:5: tls: this chatd was built without TLS support");
#endif
}

static void test_cluster_keys(void)
{
#ifdef HAVE_CLUSTER
	struct config *cfg;
	char host[256];

	cfg = parse("cluster = { redis = \"127.0.0.1:6379\"; };\n" CHAT_LISTENER);
	if (cfg != NULL) {
		CHECK(cfg->cluster != NULL);
		if (cfg->cluster != NULL) {
			CHECK_STR(cfg->cluster->redis, "127.0.0.1:6379");
			CHECK(gethostname(host, sizeof(host)) == 0);
			host[sizeof(host) - 1] = '\0';
			CHECK_STR(cfg->cluster->node, host);
			CHECK_STR(cfg->cluster->prefix, "chatd");
			CHECK(cfg->cluster->password == NULL);
			CHECK(cfg->cluster->presence_ttl == 15.0);
			CHECK(cfg->cluster->line == 1);
		}
	}
	config_free(cfg);
	cfg = parse("\ncluster = { redis = \"unix:/run/redis.sock\"; node = \"n-1.a:b\";\n"
	    "  prefix = \"x_y\"; password = \"credential:redis\"; presence_ttl = 0.5; };\n"
	    CHAT_LISTENER);
	if (cfg != NULL && cfg->cluster != NULL) {
		CHECK_STR(cfg->cluster->redis, "unix:/run/redis.sock");
		CHECK_STR(cfg->cluster->node, "n-1.a:b");
		CHECK_STR(cfg->cluster->prefix, "x_y");
		CHECK_STR(cfg->cluster->password, "credential:redis");
		CHECK(cfg->cluster->presence_ttl == 0.5);
		CHECK(cfg->cluster->line == 2);
	}
	config_free(cfg);
	cfg = parse("cluster = { redis = \"[::1]:6379\"; };\n" CHAT_LISTENER);
	config_free(cfg);
	cfg = parse("cluster = { redis = \"redis.internal:6380\"; };\n" CHAT_LISTENER);
	config_free(cfg);

	expect_error("cluster = { node = \"a\"; };\n" CHAT_LISTENER,
	    "t.conf:1: 'cluster' is missing 'redis'");
	expect_error("cluster = {\n redis = \"127.0.0.1\";\n prefix = \"a b\";\n"
	    " presence_ttl = 0;\n node = \"\";\n port = 1; };\n" CHAT_LISTENER,
	    "t.conf:2: 'redis' must be \"HOST:PORT\" or \"unix:PATH\"\n"
	    "t.conf:3: invalid prefix \"a b\": use 1-64 characters of A-Z a-z 0-9 _ . : -\n"
	    "t.conf:4: 'presence_ttl' must be more than 0 seconds\n"
	    "t.conf:5: invalid node \"\": use 1-64 characters of A-Z a-z 0-9 _ . : -\n"
	    "t.conf:6: unknown key 'port'");
	{
		static const char *const bad[] = {
			"127.0.0.1:0", "127.0.0.1:65536", ":6379", "unix:",
			"::1:6379", "a b:1", "host:x", "host:", "[::1:6379",
		};
		char text[512];
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(text, sizeof(text), "cluster = { redis = \"%s\"; };\n"
			    CHAT_LISTENER, bad[i]);
			expect_error(text, "t.conf:1: 'redis' must be \"HOST:PORT\" "
			    "or \"unix:PATH\"");
		}
	}
	expect_error("cluster = \"127.0.0.1:6379\";\n" CHAT_LISTENER,
	    "t.conf:1: 'cluster' must be a group: cluster = { ... };");
#else
	expect_error("\ncluster = { redis = \"127.0.0.1:6379\"; };\n" CHAT_LISTENER,
	    "t.conf:2: cluster: this chatd was built without cluster support");
#endif
}

/* ---- files ---------------------------------------------------------- */

static const char *tmp_path(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, PATH_MAX, "%s/%s", tmpdir, rel);
	return p;
}

static void make_dir(const char *rel)
{
	const char *p = tmp_path(rel);

	CHECK(mkdir(p, 0700) == 0);
	if (ncreated < 32)
		snprintf(created[ncreated++], PATH_MAX, "%s", p);
}

static void write_file(const char *rel, const char *text)
{
	const char *p = tmp_path(rel);
	FILE *fp = fopen(p, "w");

	CHECK(fp != NULL);
	if (fp == NULL)
		return;
	fputs(text, fp);
	fclose(fp);
	if (ncreated < 32)
		snprintf(created[ncreated++], PATH_MAX, "%s", p);
}

/* Loads tmpdir/rel and expects it to fail with want, where "@" in want
 * stands for tmpdir. */
static void expect_load_error(const char *rel, const char *want)
{
	char err[1024] = "", full[1024];
	const char *at;
	struct config *cfg = config_load(tmp_path(rel), err, sizeof(err));

	/* Each '@' in want stands for tmpdir; "\\@" is a plain '@'. */
	full[0] = '\0';
	for (; (at = strchr(want, '@')) != NULL; want = at + 1) {
		bool plain = at > want && at[-1] == '\\';
		snprintf(full + strlen(full), sizeof(full) - strlen(full),
		    "%.*s%s", (int)(at - want) - plain, want, plain ? "@" : tmpdir);
	}
	snprintf(full + strlen(full), sizeof(full) - strlen(full), "%s", want);
	CHECK(cfg == NULL);
	CHECK_STR(err, full);
	config_free(cfg);
}

static void test_missing_file(void)
{
	expect_load_error("no-such.conf",
	    "@/no-such.conf: cannot read: No such file or directory");
	expect_load_error("", "@/: cannot read: Is a directory");
	/* Root reads anything; only check permissions as a normal user. */
	if (geteuid() != 0) {
		write_file("secret.conf", CHAT_LISTENER);
		CHECK(chmod(tmp_path("secret.conf"), 0) == 0);
		expect_load_error("secret.conf",
		    "@/secret.conf: cannot read: Permission denied");
	}
}

/* Found by fuzz_config: a second @include after the first on its line
 * reached libconfig, whose scanner exit()ed on a directory.  It must be
 * an ordinary configuration error. */
static void test_text_after_include(void)
{
	write_file("inc-part.conf", CHAT_LISTENER);
	write_file("inc-two.conf", "@include \"inc-part.conf\" @include \"/\"\n");
	expect_load_error("inc-two.conf", "@/inc-two.conf:1: only a comment may "
	    "follow an \\@include directive on its line");
	write_file("inc-comment.conf", "@include \"inc-part.conf\"  # the listener\n");
	{
		char err[256] = "";
		struct config *cfg = config_load(tmp_path("inc-comment.conf"), err, sizeof(err));

		CHECK(cfg != NULL);
		config_free(cfg);
	}
}

static void test_include(void)
{
	char err[1024] = "", text[1024], *abs;
	struct config *cfg;

	make_dir("conf.d");
	write_file("main.conf",
	    "# main\n"						/* 1 */
	    "@include \"conf.d/log.conf\"\n"			/* 2 */
	    "listeners = (\n"					/* 3 */
	    "  @include \"conf.d/chat.conf\"\n"			/* 4 */
	    ");\n"						/* 5 */
	    "max_connections = 5;\n");				/* 6 */
	/* log.conf's own include is relative to conf.d, not to main's
	 * directory: the decoy next to main.conf must not be read. */
	write_file("conf.d/log.conf", "log = { level = \"debug\"; };\n"
	    "@include \"more.conf\"\n");
	write_file("conf.d/more.conf", "shutdown_timeout = 2;\n");
	write_file("more.conf", "bogus = 1;\n");
	/* No final newline: the include's line must still map right. */
	write_file("conf.d/chat.conf",
	    "{ name = \"chat\"; protocol = \"chat\";\n"
	    "  bind = \"127.0.0.1:1234\"; }");

	cfg = config_load(tmp_path("main.conf"), err, sizeof(err));
	CHECK_STR(err, "");
	CHECK(cfg != NULL);
	if (cfg != NULL) {
		CHECK(cfg->log.level == LOG_DEBUG);
		CHECK(cfg->shutdown_timeout == 2.0);
		CHECK(cfg->max_connections == 5);
		CHECK(cfg->nlisteners == 1);
		CHECK(cfg->listeners[0].line == 1);
		CHECK_STR(cfg->path, tmp_path("main.conf"));
	}
	config_free(cfg);

	/* An error in an included file names that file and its line. */
	write_file("conf.d/bad.conf", "\n\n{ name = \"x\"; protocol = \"chat\"; "
	    "bind = \"1.2.3.4:5\"; colour = 1; }\n");
	write_file("bad.conf", "listeners = (\n@include \"conf.d/bad.conf\"\n);\n");
	expect_load_error("bad.conf", "@/conf.d/bad.conf:3: unknown key 'colour'");

	/* Lines after an include keep their numbers. */
	write_file("after.conf", "@include \"conf.d/more.conf\"\n"
	    CHAT_LISTENER "\nfoo = 1;\n");
	expect_load_error("after.conf", "@/after.conf:4: unknown key 'foo'");
	write_file("after2.conf", "listeners = (\n"
	    "@include \"conf.d/chat.conf\"   # no newline at its end\n"
	    ");\nfoo = 1;\n");
	expect_load_error("after2.conf", "@/after2.conf:4: unknown key 'foo'");

	/* A syntax error inside an included file. */
	write_file("conf.d/syntax.conf", "a = 1;\nb = ;\n");
	write_file("syntax.conf", "# x\n@include \"conf.d/syntax.conf\"\n");
	expect_load_error("syntax.conf", "@/conf.d/syntax.conf:2: syntax error");

	write_file("missing.conf", "\n@include \"conf.d/nope.conf\"\n");
	expect_load_error("missing.conf", "@/missing.conf:2: cannot open include "
	    "file \"@/conf.d/nope.conf\": No such file or directory");
	write_file("dir.conf", "@include \"conf.d\"\n");
	expect_load_error("dir.conf", "@/dir.conf:1: cannot open include "
	    "file \"@/conf.d\": Is a directory");
	write_file("loop.conf", CHAT_LISTENER "@include \"loop2.conf\"\n");
	write_file("loop2.conf", "\n@include \"loop.conf\"\n");
	expect_load_error("loop.conf", "@/loop.conf:2: \\@include nested more "
	    "than 10 deep");

	/* Absolute include paths are used as they are. */
	abs = text;
	snprintf(abs, sizeof(text), "@include \"%s\"\n" CHAT_LISTENER,
	    tmp_path("conf.d/more.conf"));
	write_file("abs.conf", abs);
	cfg = config_load(tmp_path("abs.conf"), err, sizeof(err));
	CHECK(cfg != NULL);
	if (cfg != NULL)
		CHECK(cfg->shutdown_timeout == 2.0);
	config_free(cfg);
}

/* A relative config path: includes and messages stay relative to the
 * current directory, joined with the config's own directory. */
static void test_relative_paths(void)
{
	char cwd[PATH_MAX], err[1024] = "";
	struct config *cfg;

	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK(chdir(tmpdir) == 0);
	write_file("conf.d/rel.conf", "@include \"more.conf\"\n" CHAT_LISTENER);
	cfg = config_load("conf.d/rel.conf", err, sizeof(err));
	CHECK_STR(err, "");
	if (cfg != NULL)
		CHECK(cfg->shutdown_timeout == 2.0);
	config_free(cfg);

	write_file("conf.d/relbad.conf", "listeners = (\n@include \"bad.conf\"\n);\n");
	cfg = config_load("conf.d/relbad.conf", err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK_STR(err, "conf.d/bad.conf:3: unknown key 'colour'");

	/* In-memory text: includes resolve against the current directory. */
	cfg = config_parse_string("@include \"conf.d/more.conf\"\n" CHAT_LISTENER,
	    "mem", err, sizeof(err));
	CHECK(cfg != NULL);
	if (cfg != NULL) {
		CHECK(cfg->shutdown_timeout == 2.0);
		CHECK_STR(cfg->path, "mem");
	}
	config_free(cfg);
	cfg = config_parse_string("listeners = (\n@include \"conf.d/bad.conf\"\n);",
	    "mem", err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK_STR(err, "conf.d/bad.conf:3: unknown key 'colour'");
	CHECK(chdir(cwd) == 0);
}

static void test_sample_config(void)
{
	const char *srcdir = getenv("CHATD_SRCDIR");
	char path[PATH_MAX], err[1024] = "";
	struct config *cfg;

	snprintf(path, sizeof(path), "%s/etc/chatd.conf", srcdir ? srcdir : ".");
	if (access(path, R_OK) != 0) {
		fprintf(stderr, "note: %s not found, sample not checked\n", path);
		return;
	}
	cfg = config_load(path, err, sizeof(err));
	CHECK_STR(err, "");
	CHECK(cfg != NULL);
	if (cfg == NULL)
		return;
	CHECK(cfg->nlisteners == 3);
	CHECK(cfg->user == NULL && cfg->group == NULL && cfg->pidfile == NULL);
	if (cfg->nlisteners == 3) {
		CHECK_STR(cfg->listeners[0].name, "chat");
		CHECK_STR(cfg->listeners[0].bind, "127.0.0.1:1234");
		CHECK(cfg->listeners[0].protocol == PROTO_CHAT);
		CHECK_STR(cfg->listeners[1].name, "web");
		CHECK_STR(cfg->listeners[1].bind, "127.0.0.1:8080");
		CHECK(cfg->listeners[1].protocol == PROTO_WEBSOCKET);
		CHECK_STR(cfg->listeners[1].room, "chat");
		CHECK_STR(cfg->listeners[2].name, "echo");
		CHECK_STR(cfg->listeners[2].bind, "127.0.0.1:9001");
		CHECK(cfg->listeners[2].protocol == PROTO_ECHO);
	}
	config_free(cfg);
}

/* Short error buffers truncate, never overrun. */
static void test_error_buffer(void)
{
	char err[16];
	struct config *cfg;

	memset(err, 'z', sizeof(err));
	cfg = config_parse_string("foo = 1;\n", "t.conf", err, 8);
	CHECK(cfg == NULL);
	CHECK_STR(err, "t.conf:");
	CHECK(err[8] == 'z');
	CHECK(config_parse_string("foo = 1;\n", NULL, NULL, 0) == NULL);
	CHECK(config_load("/nonexistent/x", NULL, 0) == NULL);
}

static void cleanup(void)
{
	while (ncreated > 0) {
		const char *p = created[--ncreated];
		/* unlink() of a directory: EISDIR on Linux, EPERM elsewhere. */
		if (unlink(p) != 0 && (errno == EISDIR || errno == EPERM))
			rmdir(p);
	}
	rmdir(tmpdir);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/chatd-test-config-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;	/* automake: hard error */
	}
	RUN(test_global_defaults);
	RUN(test_listener_defaults);
	RUN(test_builtin_default);
	RUN(test_all_keys);
	RUN(test_log_keywords);
	RUN(test_number_types);
	RUN(test_global_errors);
	RUN(test_syntax_errors);
	RUN(test_listener_keys);
	RUN(test_listener_limits);
	RUN(test_listener_combinations);
	RUN(test_duplicates);
	RUN(test_many_errors);
	RUN(test_many_errors_truncated);
	RUN(test_flood_keys);
	RUN(test_websocket_keys);
	RUN(test_metrics_keys);
	RUN(test_tls_keys);
	RUN(test_cluster_keys);
	RUN(test_missing_file);
	RUN(test_include);
	RUN(test_text_after_include);
	RUN(test_relative_paths);
	RUN(test_sample_config);
	RUN(test_error_buffer);
	cleanup();
	return unit_done("test_config");
}
