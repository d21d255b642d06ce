/*
 * main.c - options, the start-up order, signals, and the main loop.
 *
 * Start-up: read the config, bind or adopt every listener, detach (-d),
 * write the pidfile, drop privileges, then report readiness.  Signals
 * arrive as loop events: TERM/INT shut down gracefully (a second one
 * exits at once), HUP reloads, USR1 logs statistics.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "activation.h"
#ifdef HAVE_CLUSTER
#include "cluster.h"
#endif
#include "config.h"
#include "daemonize.h"
#include "fault.h"
#include "log.h"
#include "metrics-figures.h"
#include "notify.h"
#include "privdrop.h"
#include "selector.h"
#include "server.h"
#ifdef HAVE_TLS
#include "tls.h"
#endif

/* Exit statuses, as sysexits(3) numbers them (not every libc has it). */
#define EXIT_CLEAN 0		/* EX_OK */
#define EXIT_USAGE 64		/* EX_USAGE */
#define EXIT_OS_ERROR 71	/* EX_OSERR: cannot bind, ... */
#define EXIT_CONFIG_ERROR EX_CONFIG_ERR	/* 78, EX_CONFIG */
#define DEFAULT_CONFIG SYSCONFDIR "/chatd.conf"
#define DEFAULT_PIDFILE RUNSTATEDIR "/chatd.pid"

struct options {
	const char *config;
	const char *pidfile;
	int explicit_config;
	int detach;
	int test_only;
	int verbose;
};

static struct server server;
static char *active_pidfile;	/* own copy: a reload frees the config */
static struct sel_timer *manager_timer;

/* Started with 0, 1 or 2 closed, our own sockets would land there and
 * log lines could end up in a client's connection. */
static void keep_stdio_taken(void)
{
	int fd;

	do
		fd = open("/dev/null", O_RDWR);
	while (fd != -1 && fd <= STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: chatd [-dhtVv] [-c file] [-p pidfile]\n");
}

static void version(void)
{
	printf("chatd %s\n", PACKAGE_VERSION);
	printf("selector: %s\n", selector_backend_name());
	printf("activation: %s\n", activation_features());
#ifdef HAVE_LIBSYSTEMD
	printf("systemd: yes (sd_notify, journal, socket activation names)\n");
#else
	printf("systemd: no (LISTEN_FDS and sd_notify spoken directly; no journal)\n");
#endif
#ifdef HAVE_LAUNCHD
	printf("launchd: yes\n");
#else
	printf("launchd: no\n");
#endif
#ifdef HAVE_CLUSTER
	printf("cluster: %s\n", cluster_library_version());
#else
	printf("cluster: no\n");
#endif
#ifdef HAVE_TLS
	printf("tls: %s\n", tls_library_version());
#else
	printf("tls: no\n");
#endif
	printf("fault injection: %s\n", FAULT_BUILD ? "yes (libfiu failure points chatd/*)" : "no");
	printf("config: %s\n", DEFAULT_CONFIG);
}

static int parse_options(int argc, char **argv, struct options *o)
{
	int ch;

	memset(o, 0, sizeof(*o));
	o->config = DEFAULT_CONFIG;
	while ((ch = getopt(argc, argv, "c:dhp:tVv")) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			o->explicit_config = 1;
			break;
		case 'd':
			o->detach = 1;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_CLEAN);
		case 'p':
			o->pidfile = optarg;
			break;
		case 't':
			o->test_only = 1;
			break;
		case 'V':
			version();
			exit(EXIT_CLEAN);
		case 'v':
			o->verbose++;
			break;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "chatd: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	return 0;
}

/* The default file may be absent (built-in defaults serve); a file
 * named with -c must exist. */
static struct config *load_config(const struct options *o, char *err, size_t errlen)
{
	if (!o->explicit_config && access(o->config, F_OK) == -1 && errno == ENOENT)
		return config_default();
	return config_load(o->config, err, errlen);
}

/* ---- signals ------------------------------------------------------- */

static void on_terminate(struct selector *sel, int signo, void *arg)
{
	struct server *s = arg;

	(void)sel;
	if (s->state == SERVER_STOPPING) {
		log_notice("second %s: exiting now", strsignal(signo));
		pidfile_remove(active_pidfile);
		_exit(1);
	}
	log_notice("%s: shutting down gracefully", strsignal(signo));
	notify_stopping();
	server_stop_graceful(s);
}

static void on_reload(struct selector *sel, int signo, void *arg)
{
	struct server *s = arg;
	char err[CONFIG_ERR_MAX], *line, *next;
	struct config *cfg;

	(void)sel;
	(void)signo;
	if (s->state != SERVER_RUNNING)
		return;
	notify_reloading();
	log_reopen();
	cfg = s->config_path != NULL ? config_load(s->config_path, err, sizeof(err)) :
	    config_default();
	if (cfg == NULL) {
		/* One log line per error of the file. */
		for (line = err; line != NULL; line = next) {
			if ((next = strchr(line, '\n')) != NULL)
				*next++ = '\0';
			log_msg(LOG_ERR, "reload failed, keeping the running "
			    "configuration: %s", line);
		}
		figures_reloaded(false);
		notify_reload_failed(s->pool.nconns);
		return;
	}
	/* All or nothing: a socket that cannot be bound or a certificate that
	 * does not load keeps the whole running configuration. */
	if (server_apply_config(s, cfg) == -1) {
		log_msg(LOG_ERR, "reload failed, keeping the running configuration");
		config_free(cfg);
		figures_reloaded(false);
		notify_reload_failed(s->pool.nconns);
		return;
	}
	if (log_configure(&s->cfg->log, s->detached, s->verbose) == -1)
		log_warnx("keeping the previous log target");
	figures_reloaded(true);
	log_notice("configuration reloaded from %s",
	    s->config_path ? s->config_path : "built-in defaults");
	notify_ready(s->pool.nconns);
}

static void on_stats(struct selector *sel, int signo, void *arg)
{
	(void)sel;
	(void)signo;
	server_log_stats(arg);
	notify_status(((struct server *)arg)->pool.nconns);
}

#define STATUS_MS 5000

/* How often to talk to the service manager: half the watchdog period
 * when there is one, else often enough to keep STATUS= current. */
static long manager_period_ms(void)
{
	long wd = notify_watchdog_ms();

	return wd > 0 && wd / 2 < STATUS_MS ? wd / 2 : STATUS_MS;
}

static void on_manager_tick(struct selector *sel, void *arg)
{
	static unsigned last = (unsigned)-1;
	struct server *s = arg;

	(void)sel;
	if (notify_watchdog_ms() > 0)
		notify_watchdog();
	if (s->pool.nconns != last && s->state == SERVER_RUNNING) {
		notify_status(s->pool.nconns);
		last = s->pool.nconns;
	}
	selector_timer_arm(manager_timer, manager_period_ms());
}

static int setup_signals(struct server *s)
{
	signal(SIGPIPE, SIG_IGN);
	return selector_signal(s->sel, SIGTERM, on_terminate, s) |
	    selector_signal(s->sel, SIGINT, on_terminate, s) |
	    selector_signal(s->sel, SIGHUP, on_reload, s) |
	    selector_signal(s->sel, SIGUSR1, on_stats, s);
}

/* ---- start-up ------------------------------------------------------ */

/* Connections are descriptors: take the whole hard limit we are allowed. */
static void raise_fd_limit(unsigned want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)want + 32)
		log_msg(LOG_WARNING, "max_connections is %u but only %llu descriptors are "
		    "allowed; accept will back off when they run out", want,
		    (unsigned long long)rl.rlim_cur);
}

/* An absolute copy of path: -d changes directory to / before the pidfile
 * is removed or the configuration re-read. */
static char *absolute(const char *path)
{
	char cwd[4096], *abs;
	size_t n;

	if (path == NULL)
		return NULL;
	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return strdup(path);
	n = strlen(cwd) + strlen(path) + 2;
	abs = malloc(n);
	if (abs != NULL)
		snprintf(abs, n, "%s/%s", cwd, path);
	return abs;
}

/* The pidfile: -p, else with -d the config's or the default one. */
static int write_pidfile(const struct options *o, const struct config *cfg)
{
	const char *pidfile = o->pidfile;

	if (pidfile == NULL && o->detach)
		pidfile = cfg->pidfile != NULL ? cfg->pidfile : DEFAULT_PIDFILE;
	if (pidfile == NULL)
		return 0;
	active_pidfile = absolute(pidfile);
	if (active_pidfile == NULL)
		log_warn("pidfile %s", pidfile);
	if (active_pidfile == NULL || pidfile_write(active_pidfile) == -1) {
		free(active_pidfile);
		active_pidfile = NULL;
		return -1;
	}
	return 0;
}

/* Watchdog pings and STATUS= updates, only under a service manager. */
static void start_manager_timer(struct server *s)
{
	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	manager_timer = selector_timer_new(s->sel, on_manager_tick, s);
	if (manager_timer != NULL)
		selector_timer_arm(manager_timer, manager_period_ms());
}

static int run(const struct options *o, struct config *cfg)
{
	struct server *s = &server;
	struct privids ids;

	/* Without its path a reload would load the built-in defaults over
	 * the administrator's listeners: better not to start at all. */
	s->config_path = absolute(cfg->path);
	if (cfg->path != NULL && s->config_path == NULL) {
		log_warn("cannot remember the configuration path %s", cfg->path);
		return EXIT_OS_ERROR;
	}
	s->verbose = o->verbose;
	s->detached = o->detach;
	if (log_configure(&cfg->log, o->detach, o->verbose) == -1)
		log_warnx("logging to stderr instead");
	raise_fd_limit(cfg->max_connections);
	/* Detach before the selector exists: kqueue descriptors do not
	 * survive fork(2).  The terminal stays until start-up has ended. */
	if (o->detach && daemonize() == -1) {
		log_warn("cannot detach");
		return EXIT_OS_ERROR;
	}
	s->sel = selector_new();
	if (s->sel == NULL || setup_signals(s) != 0) {
		log_warn("cannot set up the event loop");
		return EXIT_OS_ERROR;
	}
	if (server_start(s, cfg) == -1)
		return EXIT_OS_ERROR;
	if (write_pidfile(o, cfg) == -1)
		return EXIT_OS_ERROR;
	if (privdrop_resolve(cfg->user, cfg->group, &ids) == -1)
		return EXIT_OS_ERROR;
	if (ids.needed)
		server_chown_sockets(s, ids.uid, ids.gid);
	if (privdrop_apply(&ids) == -1)
		return EXIT_OS_ERROR;
	start_manager_timer(s);
	log_notice("chatd %s ready (%s)", PACKAGE_VERSION, selector_backend_name());
	notify_ready(s->pool.nconns);
	daemonize_report(0);
	if (selector_run(s->sel) == -1) {
		log_warn("event loop failed");
		s->exit_code = EXIT_OS_ERROR;
	}
	log_notice("chatd stopped");
	return s->exit_code;
}

int main(int argc, char **argv)
{
	struct options o;
	struct config *cfg;
	char err[CONFIG_ERR_MAX];
	int rc;

	keep_stdio_taken();
	FAULT_INIT();
	if (parse_options(argc, argv, &o) == -1)
		return EXIT_USAGE;
	log_init_early(o.verbose);
	cfg = load_config(&o, err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "%s\n", err);
		return EXIT_CONFIG_ERROR;
	}
	/* A certificate that does not load is a config error, found before
	 * anything is bound (and by -t). */
	if (server_check_tls(cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		config_free(cfg);
		return EXIT_CONFIG_ERROR;
	}
	if (o.test_only) {
		printf("configuration OK\n");
		config_free(cfg);
		return EXIT_CLEAN;
	}
	rc = run(&o, cfg);
	daemonize_report(rc);	/* a start-up failure after detaching */
	pidfile_remove(active_pidfile);
	free(active_pidfile);
	server_free(&server);
	selector_timer_free(manager_timer);
	selector_free(server.sel);
	log_close();
	return rc;
}
