#!/bin/sh
# valgrind.sh - the unit tests, and the daemon of a representative part of
# the bats suite, under valgrind's memcheck; exits 1 on any memory error
# or definite leak, 2 when the tree is not ready.
#
# Run it from the top of a built tree that was NOT configured with
# --enable-sanitizers (valgrind and ASan do not mix):
#   tests/valgrind.sh                    # the default subset, below
#   tests/valgrind.sh tests/echo.bats    # other bats files instead
#
# The default subset: chat.bats, echo.bats and slow.bats (every protocol
# path, backpressure, slow consumers) and the signal tests of
# lifecycle.bats (shutdown, reload, statistics, SIGPIPE), where the
# daemon frees and rebuilds the most.  The bats helpers start the daemon
# through $CHATD_WRAPPER.  valgrind writes to its own log files rather
# than the daemon's stderr, which the tests read; every log is checked
# here, so an error is caught even in a test that expects a non-zero
# exit status.  VALGRIND_KEEP=1 keeps the logs of a clean run too.

srcdir=$(cd "$(dirname "$0")/.." && pwd)
: "${VALGRIND:=valgrind}"
: "${MAKE:=make}"

if [ ! -x src/chatd ] || [ ! -f autoconfig.h ]; then
	echo "valgrind.sh: run it from the top of a built tree (no src/chatd here)" >&2
	exit 2
fi
if ! command -v "$VALGRIND" >/dev/null 2>&1; then
	echo "valgrind.sh: $VALGRIND not found" >&2
	exit 2
fi
if grep -q __asan_init src/chatd; then
	echo "valgrind.sh: src/chatd is built with --enable-sanitizers; use another build" >&2
	exit 2
fi

# Definite leaks are errors; "possibly lost" and "still reachable" are
# not (memory held until exit is freed by exit).  Descriptors are the
# fault tests' business.
opts="--leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --error-exitcode=99 --track-fds=no"
logdir=$(mktemp -d "${TMPDIR:-/tmp}/chatd-valgrind.XXXXXX") || exit 2
status=0

# ---- unit tests ----------------------------------------------------------
units=
for c in "$srcdir"/tests/unit/test_*.c; do
	case $c in
	# Needs a redis-server of its own: tests/cluster.bats runs it.
	*/test_cluster_redis.c) continue ;;
	esac
	units="$units tests/unit/$(basename "$c" .c)"
done
# shellcheck disable=SC2086
"$MAKE" -s $units >/dev/null || { rm -rf "$logdir"; exit 2; }
CHATD_SRCDIR=$srcdir
export CHATD_SRCDIR
for t in $units; do
	name=$(basename "$t")
	# shellcheck disable=SC2086
	if "$VALGRIND" $opts --log-file="$logdir/$name.log" "$t" >"$logdir/$name.out" 2>&1; then
		echo "ok: $t"
	else
		echo "FAIL: $t under valgrind (exit $?)"
		cat "$logdir/$name.out" "$logdir/$name.log"
		status=1
	fi
done

# ---- the daemon, under bats ----------------------------------------------
# %p: one log per process, the children of -d included.
CHATD_WRAPPER="$VALGRIND $opts --log-file=$logdir/chatd.%p.log"
export CHATD_WRAPPER
if [ $# -gt 0 ]; then
	"$srcdir/tests/run-bats.sh" "$@" || status=1
else
	"$srcdir/tests/run-bats.sh" "$srcdir/tests/chat.bats" \
		"$srcdir/tests/echo.bats" "$srcdir/tests/slow.bats" || status=1
	"$srcdir/tests/run-bats.sh" --filter 'SIG' "$srcdir/tests/lifecycle.bats" || status=1
fi

nlogs=0
for log in "$logdir"/chatd.*.log; do
	[ -f "$log" ] || continue
	nlogs=$((nlogs + 1))
	# Without -q every process that exits ends with an ERROR SUMMARY
	# (definite leaks counted in it).  One without it was killed, or is
	# still running because no test stopped it: neither was checked.
	if grep -Eq 'ERROR SUMMARY: [1-9]' "$log"; then
		echo "valgrind.sh: errors in $log:"
		grep -Ev '^==[0-9]+== *$|Memcheck, a memory|Copyright|Using Valgrind|rerun with' \
			"$log" | head -n 100
		status=1
	elif ! grep -q 'ERROR SUMMARY:' "$log"; then
		echo "valgrind.sh: $log: the daemon did not exit by itself (killed, or never stopped):"
		grep 'Command:' "$log"
		status=1
		# Still running (a test that never stopped it): stop it here,
		# if the pid is still that daemon's.
		pid=${log##*/chatd.}
		pid=${pid%.log}
		if grep -q "$logdir" "/proc/$pid/cmdline" 2>/dev/null; then
			kill -TERM "$pid"
		fi
	fi
done
if [ "$nlogs" -eq 0 ]; then
	echo "valgrind.sh: no daemon ran under valgrind: is CHATD_WRAPPER honoured?" >&2
	status=1
fi

if [ "$status" -eq 0 ]; then
	echo "valgrind.sh: clean ($nlogs daemon processes checked)"
	if [ -n "${VALGRIND_KEEP:-}" ]; then
		echo "valgrind.sh: logs in $logdir"
	else
		rm -rf "$logdir"
	fi
else
	echo "valgrind.sh: FAILED; the logs are in $logdir" >&2
fi
exit "$status"
