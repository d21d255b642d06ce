/*
 * fuzz_config.c - libFuzzer target for the configuration loader: the
 * @include expander, libconfig itself and every validation rule.
 *
 * Each input is parsed in a scratch directory holding two small files
 * to include, so relative @include paths are exercised the same way on
 * every machine and never read the developer's own files.  The working
 * directory is restored after each input: libFuzzer's corpus and crash
 * paths are relative to it.
 */
#include "autoconfig.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libconfig 1.5 leaks the pending token when a syntax error follows it
 * ("a = { \"x\"; };"); that is its bug, not ours.  Only allocations made
 * inside libconfig are ignored: chatd copies everything it keeps, so
 * every allocation of its own is still checked. */
const char *__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

static char scratch[] = "/tmp/fuzz_config.XXXXXX";

static void put_file(const char *name, const char *text)
{
	char path[sizeof(scratch) + 32];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", scratch, name);
	if ((fp = fopen(path, "w")) == NULL)

		abort();
	fputs(text, fp);
	fclose(fp);
}

static void remove_scratch(void)
{
	char path[sizeof(scratch) + 32];

	snprintf(path, sizeof(path), "%s/listener.conf", scratch);
	unlink(path);
	snprintf(path, sizeof(path), "%s/globals.conf", scratch);
	unlink(path);
	rmdir(scratch);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (mkdtemp(scratch) == NULL)
		abort();
	atexit(remove_scratch);
	put_file("listener.conf",
	    "{ name = \"inc\"; protocol = \"echo\"; bind = \"127.0.0.1:7\"; }");
	put_file("globals.conf", "max_connections = 10;\nlog = { level = \"debug\"; };\n");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CONFIG_ERR_MAX];
	char *text = malloc(size + 1);
	struct config *cfg;
	size_t i;
	int cwd;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	if ((cwd = open(".", O_RDONLY | O_DIRECTORY)) < 0 || chdir(scratch) != 0)
		abort();
	cfg = config_parse_string(text, "fuzz.conf", err, sizeof(err));
	if (fchdir(cwd) != 0)
		abort();
	close(cwd);
	if (cfg == NULL) {
		/* Every failure explains itself: one printable line per
		 * error, none empty, no final newline. */
		if (err[0] == '\0' || err[strlen(err) - 1] == '\n' ||
		    strstr(err, "\n\n") != NULL)
			abort();
		for (i = 0; err[i] != '\0'; i++)
			if (err[i] != '\n' && ((unsigned char)err[i] < 0x20 ||
			    err[i] == 0x7f))
				abort();
	} else {
		/* Whatever was accepted is complete and within its limits. */
		if (cfg->nlisteners == 0)
			abort();
		for (i = 0; i < cfg->nlisteners; i++) {
			const struct listener_conf *l = &cfg->listeners[i];

			if (l->name == NULL || l->room == NULL || l->bind == NULL ||
			    config_find_listener(cfg, l->name) != l ||
			    l->max_queue < 1024 || l->backlog < 1 ||
			    (l->protocol == PROTO_CHAT && l->max_line >= l->max_queue) ||
			    ((l->protocol == PROTO_CHAT ||
			    l->protocol == PROTO_WEBSOCKET) &&
			    (!(l->rate >= 0) || l->burst < 1)) ||
			    (l->protocol == PROTO_WEBSOCKET &&
			    (l->path == NULL || l->path[0] != '/' || l->www == NULL)) ||
			    (l->tls != NULL && (l->tls->cert == NULL ||
			    l->tls->key == NULL || l->addr.socktype == SOCK_DGRAM)))
				abort();
		}
		if (cfg->cluster != NULL && (cfg->cluster->redis == NULL ||
		    cfg->cluster->node == NULL || cfg->cluster->prefix == NULL ||
		    !(cfg->cluster->presence_ttl > 0)))
			abort();
		config_free(cfg);
	}
	free(text);
	return 0;
}
