/*
 * test_figures.c - the Prometheus rendering of metrics-figures.c on
 * figures made up here: escaped label values, a HELP and a TYPE before
 * every family's samples, process families left out without /proc, the
 * hook's families appended.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "metrics-figures.h"
#include "unit.h"

static int hook(struct buffer *out, void *arg)
{
	return figures_printf(out, "# HELP chatd_test_total %s\n# TYPE chatd_test_total counter\n"
	    "chatd_test_total 7\n", (const char *)arg);
}

/* The text rendered into a NUL-terminated string (freed by the caller). */
static char *render(const struct figures *f)
{
	struct buffer out = BUFFER_INIT;
	char *s;

	CHECK(figures_prometheus(f, &out) == 0);
	s = malloc(buffer_len(&out) + 1);
	memcpy(s, buffer_data(&out), buffer_len(&out));
	s[buffer_len(&out)] = '\0';
	buffer_free(&out);
	return s;
}

static void test_escaping_and_families(void)
{
	struct fig_listener l = { .name = "a\"b\\c\nd", .protocol = "chat", .connections = 3 };
	struct fig_room r = { .name = "lob\"by", .members = 2, .deliveries = 5 };
	struct figures f = { .nlisteners = 1, .listeners = &l, .nrooms = 1, .rooms = &r };
	char *s, *line, *save;
	char last_type[128] = "";

	l.stats.rejected[REJECT_FULL] = 4;
	l.stats.closed[CLOSE_SLOW] = 1;
	s = render(&f);
	CHECK(strstr(s, "chatd_connections{listener=\"a\\\"b\\\\c\\nd\",protocol=\"chat\"} 3\n") != NULL);
	CHECK(strstr(s, "reason=\"full\"} 4\n") != NULL);
	CHECK(strstr(s, "reason=\"slow_consumer\"} 1\n") != NULL);
	CHECK(strstr(s, "chatd_room_members{room=\"lob\\\"by\"} 2\n") != NULL);
	CHECK(strstr(s, "chatd_deliveries_total{room=\"lob\\\"by\"} 5\n") != NULL);
	CHECK(strstr(s, "process_") == NULL);	/* have_process is false */
	CHECK(s[strlen(s) - 1] == '\n');
	/* every sample belongs to the family whose TYPE came last */
	for (line = strtok_r(s, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# TYPE ", 7) == 0) {
			size_t n = strcspn(line + 7, " ");

			memcpy(last_type, line + 7, n);
			last_type[n] = '\0';
		} else if (line[0] != '#')
			CHECK(strncmp(line, last_type, strlen(last_type)) == 0 &&
			    strchr("{ ", line[strlen(last_type)]) != NULL);
	}
	free(s);
}

static void test_hook(void)
{
	struct figures f = { 0 };
	char *s;

	figures_set_hook(hook, "from a hook");
	s = render(&f);
	CHECK(strstr(s, "# HELP chatd_test_total from a hook\n") != NULL);
	CHECK(strstr(s, "\nchatd_test_total 7\n") != NULL);
	free(s);
	figures_set_hook(NULL, NULL);
	s = render(&f);
	CHECK(strstr(s, "chatd_test_total") == NULL);
	free(s);
}

int main(void)
{
	RUN(test_escaping_and_families);
	RUN(test_hook);
	return unit_done("test_figures");
}
