/*
 * mode-startup.c - chatd-bench startup: starts a server command, times
 * until its port accepts a connection, reads its idle RSS, times its
 * exit after SIGTERM.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "json.h"
#include "net.h"
#include "proc-stat.h"

int run_startup(void)
{
	if (!O.cmd || !O.cmd[0])
		die("startup needs a command after --");
	if (try_connect())
		die("port %d already accepts connections before the server starts", O.port);
	set_budget(O.timeout + O.settle + 10);
	uint64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		execvp(O.cmd[0], O.cmd);
		fprintf(stderr, "chatd-bench: %s: %s\n", O.cmd[0], strerror(errno));
		_exit(127);
	}
	alarm_child = pid;
	uint64_t deadline = t0 + (uint64_t)(O.timeout * 1e9), t_ready = 0;
	int status = 0;
	bool exited = false;
	while (now_ns() < deadline) {
		if (try_connect()) {
			t_ready = now_ns();
			break;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			exited = true;
			break;
		}
		sleep_ns(200000);
	}
	struct srv idle = { 0 };
	uint64_t t_stop = 0, t_term = 0;
	if (t_ready) {
		sleep_ns((uint64_t)(O.settle * 1e9));
		srv_sample(pid, &idle);
	}
	if (!exited) {
		t_term = now_ns();
		kill(pid, SIGTERM);
		uint64_t kd = t_term + 5 * NS;
		while (waitpid(pid, &status, WNOHANG) != pid) {
			if (now_ns() >= kd) {
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				break;
			}
			sleep_ns(200000);
		}
		t_stop = now_ns();
	}
	alarm_child = 0;
	bool ok = t_ready != 0;
	jstart(O.mode, O.label);
	jopen("params");
	jint("port", O.port);
	jdbl("settle", O.settle, 3);
	jstr("command", O.cmd[0]);
	jclose();
	jopen("results");
	jbool("ok", ok);
	jdbl("ready_ms", ok ? (double)(t_ready - t0) / 1e6 : -1, 3);
	jint("idle_rss_kb", idle.rss_kb);
	jint("idle_hwm_kb", idle.hwm_kb);
	jint("idle_fds", idle.fds);
	jdbl("stop_ms", t_term ? (double)(t_stop - t_term) / 1e6 : -1, 3);
	jint("exit_status", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	jend();
	fprintf(stderr, "startup %s: ready after %.2f ms, idle RSS %ld kB, stopped %.2f ms "
	    "after SIGTERM\n", O.label, ok ? (double)(t_ready - t0) / 1e6 : -1.0,
	    idle.rss_kb, t_term ? (double)(t_stop - t_term) / 1e6 : -1.0);
	return ok ? 0 : 1;
}
