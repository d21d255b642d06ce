# helpers.bash - shared by every chatd bats file: free ports, starting the
# daemon under a hard timeout with readiness by connect(), stopping it and
# failing the test when it crashed or a sanitizer spoke, and the scripted
# client (tests/tclient.py).
#
# Environment (set by `make check`, defaults for running bats by hand):
#   CHATD_BIN       the daemon (default: $CHATD_BUILDDIR/src/chatd)
#   CHATD_SRCDIR    source tree; CHATD_BUILDDIR build tree
#   PYTHON3         python interpreter for tclient.py
#   CHATD_WRAPPER   optional command prepended to the daemon, e.g.
#                   "valgrind --error-exitcode=99 --leak-check=full";
#                   readiness and client timeouts grow when it is set
#   CHATD_EXEC_PREFIX  per-test prefix (prlimit, systemd-socket-activate)

bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

: "${CHATD_SRCDIR:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)}"
: "${CHATD_BUILDDIR:=$CHATD_SRCDIR}"
: "${CHATD_BIN:=$CHATD_BUILDDIR/src/chatd}"
: "${PYTHON3:=python3}"
export CHATD_BIN CHATD_SRCDIR CHATD_BUILDDIR PYTHON3
TCLIENT=$BATS_TEST_DIRNAME/tclient.py
TDATA=$BATS_TEST_DIRNAME/data

# GNU timeout(1); gtimeout where coreutils come with a g prefix (macOS, BSD).
TIMEOUT_CMD=$(command -v timeout || command -v gtimeout || echo timeout)

if [[ -n ${CHATD_WRAPPER:-} ]]; then
	READY_TIMEOUT=60 CLIENT_TIMEOUT=30 HARD_TIMEOUT=300
else
	READY_TIMEOUT=10 CLIENT_TIMEOUT=5 HARD_TIMEOUT=60
fi

# tclient [ARGS]: the scripted client, script on stdin.
tclient() {
	"$PYTHON3" "$TCLIENT" -t "$CLIENT_TIMEOUT" "$@"
}

# chatd_cmd ARGS: run the daemon binary (under CHATD_WRAPPER) in the
# foreground with a hard timeout; for `run chatd_cmd -t -c FILE`.
chatd_cmd() {
	"$TIMEOUT_CMD" -k 5 "$HARD_TIMEOUT" ${CHATD_WRAPPER:-} "$CHATD_BIN" "$@" 3>&-
}

# free_ports N: prints N distinct TCP ports (also free for UDP) on
# 127.0.0.1, chosen at random below the ephemeral range so that no
# client's local port can take one before the daemon binds it.
free_ports() {
	"$PYTHON3" - "$1" <<'EOF'
import random, socket, sys
try:
    low = int(open('/proc/sys/net/ipv4/ip_local_port_range').read().split()[0])
except OSError:
    low = 32768
held, rng = [], random.SystemRandom()
while len(held) < int(sys.argv[1]):
    port = rng.randrange(10000, max(10001, low))
    try:
        t = socket.socket(); t.bind(('127.0.0.1', port))
        u = socket.socket(type=socket.SOCK_DGRAM); u.bind(('127.0.0.1', port))
    except OSError:
        continue
    held.append((port, t, u))
print(' '.join(str(p) for p, _, _ in held))
EOF
}

# use_ports N: exports P1 .. PN, free ports.
use_ports() {
	local i=1 p
	for p in $(free_ports "$1"); do
		export "P$i=$p"
		i=$((i + 1))
	done
}

# sockdir: exports SOCKDIR, a directory for unix sockets with a short path
# (sun_path holds about 100 bytes).
sockdir() {
	if [[ -z ${SOCKDIR:-} ]]; then
		if (( ${#BATS_TEST_TMPDIR} < 70 )); then
			SOCKDIR=$BATS_TEST_TMPDIR
		else
			SOCKDIR=$(mktemp -d /tmp/chatd-bats.XXXXXX)
			SOCKDIR_OWNED=1
		fi
	fi
	export SOCKDIR
}

# bind_addrs FILE: the stream addresses a config binds (for readiness).
bind_addrs() {
	sed -n 's/.*bind[[:space:]]*[=:][[:space:]]*"\([^"]*\)".*/\1/p' "$1" |
		grep -v '^udp:' | sed 's/^\*:/127.0.0.1:/'
}

# start_chatd CONF_TEXT [ARGS]: writes the config to
# $BATS_TEST_TMPDIR/chatd.conf and starts the daemon on it.
start_chatd() {
	local conf=$BATS_TEST_TMPDIR/chatd.conf
	printf '%s\n' "$1" >"$conf"
	shift
	start_chatd_file "$conf" "$@"
}

# start_chatd_file FILE [ARGS]: starts "$CHATD_BIN" -c FILE ARGS in the
# background under `timeout`, sets CHATD_PID (the daemon itself),
# CHATD_CONF and CHATD_LOG (its stderr), and returns once every stream
# listener in FILE (or in $CHATD_READY, space-separated addresses) accepts
# connections.  $CHATD_NAME (default chatd) names the stderr and stdout
# files, for tests that run more than one daemon (cluster.bats).
start_chatd_file() {
	CHATD_CONF=$1
	shift
	CHATD_LOG=$BATS_TEST_TMPDIR/${CHATD_NAME:-chatd}.stderr
	: >"$CHATD_LOG"
	"$TIMEOUT_CMD" -k 5 "$HARD_TIMEOUT" ${CHATD_EXEC_PREFIX:-} ${CHATD_WRAPPER:-} \
		"$CHATD_BIN" -c "$CHATD_CONF" "$@" \
		</dev/null >"$BATS_TEST_TMPDIR/${CHATD_NAME:-chatd}.stdout" 2>"$CHATD_LOG" 3>&- &
	CHATD_TIMEOUT_PID=$!
	CHATD_PID=
	local i
	for ((i = 0; i < 500; i++)); do
		CHATD_PID=$(pgrep -P "$CHATD_TIMEOUT_PID" | head -n 1)
		[[ -n $CHATD_PID ]] && break
		kill -0 "$CHATD_TIMEOUT_PID" 2>/dev/null || break
		sleep 0.01
	done
	export CHATD_PID CHATD_CONF CHATD_LOG
	if [[ -z $CHATD_PID ]]; then
		wait_chatd 1
		fail "chatd exited at once (status $CHATD_STATUS)"
	fi
	local addrs=${CHATD_READY:-$(bind_addrs "$CHATD_CONF")}
	if [[ -n $addrs ]] && ! "$PYTHON3" "$TCLIENT" -t "$READY_TIMEOUT" \
		--pid "$CHATD_PID" --wait-listen $addrs; then
		fail "chatd did not become ready on: $addrs"
	fi
}

# wait_chatd [SECONDS]: waits (default 10 s, longer under a wrapper) for the
# daemon to exit, kills it after that, and sets CHATD_STATUS.
wait_chatd() {
	local secs=${1:-10} start=$SECONDS
	[[ -n ${CHATD_WRAPPER:-} ]] && secs=$((secs * 6))
	CHATD_STATUS=
	[[ -n ${CHATD_TIMEOUT_PID:-} ]] || return 0
	while [[ -n $CHATD_PID ]] && kill -0 "$CHATD_PID" 2>/dev/null &&
		((SECONDS - start < secs)); do
		sleep 0.02
	done
	if [[ -n $CHATD_PID ]] && kill -0 "$CHATD_PID" 2>/dev/null; then
		echo "# chatd still running after $secs s: killing it" >&2
		kill -KILL "$CHATD_PID" 2>/dev/null
	fi
	CHATD_STATUS=0
	wait "$CHATD_TIMEOUT_PID" || CHATD_STATUS=$?
	CHATD_TIMEOUT_PID=
}

# check_chatd_log: fails when the daemon's stderr shows a sanitizer or
# valgrind report.
check_chatd_log() {
	[[ -n ${CHATD_LOG:-} && -f $CHATD_LOG ]] || return 0
	if grep -Eq 'ERROR: (Address|Leak|Memory|Thread|UndefinedBehavior)Sanitizer|runtime error:|ERROR SUMMARY: [1-9]|definitely lost: [1-9]|definitely lost in loss record|^==[0-9]+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|Mismatched free)' "$CHATD_LOG"; then
		fail "chatd reported memory errors (see its stderr)"
	fi
}

# stop_chatd: SIGTERM, wait, and fail unless it exited 0 and clean.
stop_chatd() {
	[[ -n ${CHATD_TIMEOUT_PID:-} ]] || { check_chatd_log; return; }
	kill -TERM "$CHATD_PID" 2>/dev/null
	wait_chatd 10
	check_chatd_log
	if ((CHATD_STATUS != 0)); then
		((CHATD_STATUS > 128)) &&
			fail "chatd died of signal $((CHATD_STATUS - 128)) (status $CHATD_STATUS)"
		fail "chatd exited with status $CHATD_STATUS after SIGTERM"
	fi
}

# show_chatd_log: the end of the daemon's stderr, shown with a failure.
show_chatd_log() {
	[[ -n ${CHATD_LOG:-} && -s $CHATD_LOG ]] || return 0
	echo "# --- chatd stderr (last 60 lines of $CHATD_LOG) ---"
	tail -n 60 "$CHATD_LOG" | sed 's/^/# /'
}

# pid_alive PID: the process exists and is not a zombie (a detached daemon
# is reaped by whoever adopted it, maybe late).
pid_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	[[ ! -r /proc/$1/stat ]] || [[ $(cut -d' ' -f3 "/proc/$1/stat") != Z ]]
}

# assert_chatd_alive: the daemon is still running.
assert_chatd_alive() {
	kill -0 "$CHATD_PID" 2>/dev/null || fail "chatd (pid $CHATD_PID) is not running"
}

# proc_status_kb FIELD: a "VmRSS:"-style field of /proc/PID/status in KiB.
proc_status_kb() {
	awk -v f="$1:" '$1 == f { print $2 }' "/proc/$CHATD_PID/status"
}

# wait_log REGEX [SECONDS]: polls the daemon's stderr for an extended regex.
wait_log() {
	local secs=${2:-$CLIENT_TIMEOUT} start=$SECONDS
	until grep -Eq -- "$1" "$CHATD_LOG"; do
		((SECONDS - start < secs)) || fail "no log line matching '$1' within $secs s"
		sleep 0.02
	done
}

# reload_to CONF_TEXT: replaces the running daemon's config file at once
# (a rename, so the daemon never reads half a file).
reload_to() {
	printf '%s\n' "$1" >"$CHATD_CONF.new"
	mv "$CHATD_CONF.new" "$CHATD_CONF"
}

# wait_gone PID: polls (10 s at most) until PID, not our child, has exited.
wait_gone() {
	local start=$SECONDS
	while pid_alive "$1"; do
		((SECONDS - start < 10)) || fail "pid $1 did not exit"
		sleep 0.02
	done
}

# detached_teardown: a daemon started with -d is not our child; kill it
# by the pid the test stored in DETACHED_PID, then the usual teardown.
detached_teardown() {
	if [[ -n ${DETACHED_PID:-} ]] && pid_alive "$DETACHED_PID"; then
		kill -KILL "$DETACHED_PID"
	fi
	chatd_teardown
}

# chatd_teardown: stops the daemon (failing the test if it crashed) and
# shows its stderr; the default teardown, for files that add their own.
chatd_teardown() {
	local rc=0
	stop_chatd || rc=$?
	show_chatd_log >&2
	if [[ -n ${SOCKDIR_OWNED:-} ]]; then rm -rf "$SOCKDIR"; fi
	return $rc
}

# The default teardown, unless the file defines its own.  bats defines an
# empty teardown of its own (bats-core/test_functions.bash) before it reads
# the file, so ask where the current one comes from, not whether there is one.
shopt -s extdebug
_chatd_td=$(declare -F teardown)
shopt -u extdebug
if [[ -z $_chatd_td || $_chatd_td == *bats-core/test_functions.bash ]]; then
	teardown() {
		chatd_teardown
	}
fi
unset _chatd_td
