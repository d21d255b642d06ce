#!/usr/bin/env bash
# run-bench.sh - chatd's benchmark: chatd, the bare-loop baselines (echo
# and chat fan-out) and the peers installed on this machine, interleaved over several rounds, server
# pinned to one CPU and the load generator to another; medians and ratios
# into bench/RESULTS.md.
#
# usage: bench/run-bench.sh [CHATD]        (from the build directory, after
#                                           `make bench`; CHATD defaults to
#                                           ./src/chatd)
# environment:
#   ROUNDS=3        interleaved rounds (medians are taken over them)
#   QUICK=1         everything small and short (< 1 minute), a smoke test;
#                   the report goes to stdout unless OUT is set
#   OUT=FILE        where the report goes (default: bench/RESULTS.md in the
#                   source tree; with QUICK=1, stdout)
#   DURATION=S      measured seconds per run (default 5; QUICK 1)
#   WARMUP=S        unmeasured seconds first (default 1; QUICK 0.3)
#   CHAT_DURATION=S measured seconds of the chat runs, with and without
#                   never-readers (default 10; QUICK 2)
#   SKIP="a b"      servers to leave out: chatd baseline fanout socat inetd
#                   seed ncat node (node: the Node.js + ws peer of the
#                   WebSocket section, bench/ws-bench.sh)
#                   nginx stunnel (TLS peers); tls (the whole TLS
#                   section, bench/tls-bench.sh)
#   PYTHON=python3  interpreter for the seed ports
#   SERVER_CPU=1 CLIENT_CPU=0   the CPUs to pin to
#
# Peers are used when installed, skipped otherwise: ncat (Debian "ncat",
# chat mode with --max-conns raised), socat (fork + PIPE echo),
# openbsd-inetd (internal echo; needs port 7 free), python3 (the asyncio
# ports of the seed in bench/).  Every server runs in its own session and
# is stopped by its process group id when its run ends.
#
# The TLS section (issue 12) is bench/tls-bench.sh, run at the end with the
# same ROUNDS, durations and CPUs: bench/tls-bench (built by `make bench`
# when configure found OpenSSL 3) against chatd's TLS listener, nginx
# stream (Debian nginx + libnginx-mod-stream) and stunnel4 terminating TLS
# in front of chatd's plain echo; a missing peer is skipped, saying so.
#
# The server lists are space-separated words, split on purpose:
# shellcheck disable=SC2086
set -u
LC_ALL=C
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
CHATD=${1:-./src/chatd}
BENCH=${CHATD_BENCH:-./bench/chatd-bench}
BASELINE=${BASELINE_ECHO:-./bench/baseline-echo}
FANOUT=${BASELINE_FANOUT:-./bench/baseline-fanout}
[ -x "$BENCH" ] || BENCH=$here/chatd-bench
[ -x "$BASELINE" ] || BASELINE=$here/baseline-echo
[ -x "$FANOUT" ] || FANOUT=$here/baseline-fanout
QUICK=${QUICK:-0}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
SKIP=" ${SKIP:-} "
PYTHON=${PYTHON:-python3}

die() { echo "run-bench: $*" >&2; exit 2; }

for f in "$BENCH" "$BASELINE" "$FANOUT"; do
	[ -x "$f" ] || die "$f not found: run 'make bench' first"
done
[ -x "$CHATD" ] || die "$CHATD not found: build chatd or pass its path"
command -v taskset >/dev/null || die "taskset (util-linux) is needed"
command -v setsid >/dev/null || die "setsid (util-linux) is needed"
case $CHATD in /*) ;; *) CHATD=$(pwd)/$CHATD ;; esac
case $BENCH in /*) ;; *) BENCH=$(pwd)/$BENCH ;; esac
case $BASELINE in /*) ;; *) BASELINE=$(pwd)/$BASELINE ;; esac
case $FANOUT in /*) ;; *) FANOUT=$(pwd)/$FANOUT ;; esac

if [ "$QUICK" = 1 ]; then
	ROUNDS=${ROUNDS:-1}; DUR=${DURATION:-1}; WARM=${WARMUP:-0.3}
	CDUR=${CHAT_DURATION:-2}; ECHO_MANY=100; CHAT_N=50; IDLE_N=1000
	OUT=${OUT:-/dev/stdout}
else
	ROUNDS=${ROUNDS:-3}; DUR=${DURATION:-5}; WARM=${WARMUP:-1}
	CDUR=${CHAT_DURATION:-10}; ECHO_MANY=1000; CHAT_N=500; IDLE_N=15000
	OUT=${OUT:-$here/RESULTS.md}
fi
NR_K=10

# descriptors: 15,000 idle connections need them on both sides
ulimit -n "$(ulimit -Hn)" 2>/dev/null
nofile=$(ulimit -n)
if [ "$nofile" != unlimited ] && [ "$nofile" -lt $((IDLE_N + 100)) ]; then
	IDLE_N=$((nofile - 1000))
	echo "run-bench: RLIMIT_NOFILE is $nofile: idle connections lowered to $IDLE_N" >&2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/chatd-bench.XXXXXX") || die "mktemp failed"
SPID=
cleanup() {
	[ "$BASHPID" = "$$" ] || return 0	# never from a subshell
	stop_server
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

# ---- which servers ---------------------------------------------------
PY=
if command -v "$PYTHON" >/dev/null 2>&1; then
	PY=$("$PYTHON" -c 'import sys; print(sys.executable)' 2>/dev/null)
fi
INETD=/usr/sbin/inetd
have() {
	case $SKIP in *" $1 "*) return 1 ;; esac
	case $1 in
	chatd|baseline|fanout) return 0 ;;
	socat) command -v socat >/dev/null ;;
	ncat) command -v ncat >/dev/null ;;
	seed) [ -n "$PY" ] ;;
	inetd)
		[ -x "$INETD" ] && "$INETD" -h 2>&1 | grep -q -- '-R rate' &&
		    ! "$BENCH" wait --port 7 --timeout 0.2 2>/dev/null ;;
	*) return 1 ;;
	esac
}
pick() { local s out=; for s in "$@"; do have "$s" && out="$out $s"; done; echo $out; }
ECHO_SERVERS=$(pick chatd baseline socat inetd seed)
CHAT_SERVERS=$(pick chatd fanout seed ncat)
IDLE_SERVERS=$(pick chatd chatd-echo seed baseline)
START_SERVERS=$(pick chatd baseline seed)
have chatd && IDLE_SERVERS="chatd chatd-echo $(pick seed baseline)"
skipped=
for s in socat inetd seed ncat; do have "$s" || skipped="$skipped $s"; done

# ---- starting and stopping servers -------------------------------------
freeport() { "$BENCH" freeport; }

chatd_conf() {	# chatd_conf FILE CHATPORT ECHOPORT IDLEPORT (FILE - : stdout)
	if [ "$1" != - ]; then chatd_conf - "$2" "$3" "$4" > "$1"; return; fi
	cat <<EOF
# generated by run-bench.sh (rate = 0: throughput, not flood control, is measured)
max_connections = 19000;
log = { target = "stderr"; level = "warning"; };
listeners = (
  { name = "chat"; protocol = "chat"; bind = "127.0.0.1:$2"; max_queue = 1048576; backlog = 4096; rate = 0; },
  { name = "echo"; protocol = "echo"; bind = "127.0.0.1:$3"; backlog = 4096; },
  { name = "idle"; protocol = "chat"; bind = "127.0.0.1:$4"; announce = false; backlog = 4096; rate = 0; }
);
EOF
}

# launch CMD...: runs CMD pinned to the server CPU in a session of its own
launch() {
	echo "server: taskset -c $SERVER_CPU $*" >> "$tmp/server.log"
	LAST_SERVER_CMD="taskset -c $SERVER_CPU $*"
	setsid taskset -c "$SERVER_CPU" "$@" >> "$tmp/server.log" 2>&1 &
	SPID=$!
}

# running PID: true while PID exists and is not a zombie
running() {
	local st
	st=$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# stop_server: SIGTERM to the server's process group, SIGKILL after 5 s
stop_server() {
	[ -n "$SPID" ] || return 0
	local i
	kill -TERM -- "-$SPID" 2>/dev/null || kill -TERM "$SPID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		running "$SPID" || break
		sleep 0.05
	done
	running "$SPID" && kill -KILL -- "-$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	SPID=
}

# start_server NAME ROLE: ROLE is echo, chat or idle; sets SPID and PORT
start_server() {
	local name=$1 role=$2 p1 p2 p3
	PORT=$(freeport)
	case $name in
	chatd|chatd-echo)
		p1=$(freeport); p2=$(freeport); p3=$(freeport)
		chatd_conf "$tmp/chatd.conf" "$p1" "$p2" "$p3"
		case $role in chat) PORT=$p1 ;; echo) PORT=$p2 ;; idle) PORT=$p3 ;; esac
		[ "$name" = chatd-echo ] && PORT=$p2
		launch "$CHATD" -c "$tmp/chatd.conf" ;;
	baseline) launch "$BASELINE" "$PORT" ;;
	fanout) launch "$FANOUT" "$PORT" ;;
	socat) launch socat "TCP-LISTEN:$PORT,bind=127.0.0.1,fork,reuseaddr,backlog=4096" PIPE ;;
	inetd)
		PORT=7
		printf '127.0.0.1:echo\tstream\ttcp\tnowait.1000000\troot\tinternal\n' > "$tmp/inetd.conf"
		launch "$INETD" -i -R 1000000 -q 4096 "$tmp/inetd.conf" ;;
	seed)
		if [ "$role" = echo ]; then launch "$PY" "$here/seed_echo.py" "$PORT"
		else launch "$PY" "$here/seed_chat.py" "$PORT"; fi ;;
	ncat) launch ncat -l --chat --max-conns 2000 127.0.0.1 "$PORT" ;;
	*) return 1 ;;
	esac
	if ! "$BENCH" wait --port "$PORT" --timeout 10; then
		echo "run-bench: $name did not start; see below" >&2
		tail -5 "$tmp/server.log" >&2
		stop_server
		return 1
	fi
	sleep 0.2
}

# ---- running one measurement -------------------------------------------
# run SCENARIO SERVER ROUND MODE ARGS...: one chatd-bench run, its JSON
# line kept in $tmp/results as "SCENARIO SERVER ROUND JSON"
run() {
	local scen=$1 srv=$2 round=$3 mode=$4 line rc
	shift 4
	local cmd=(taskset -c "$CLIENT_CPU" "$BENCH" "$mode" --label "$srv" "$@")
	line=$("${cmd[@]}" 2> "$tmp/err")
	rc=$?
	cat "$tmp/err" >> "$tmp/bench.log"
	sed 's/^/    /' "$tmp/err" >&2
	[ -n "$line" ] || line="{\"results\":{\"ok\":false,\"error\":\"no output, exit $rc\"}}"
	echo "$scen $srv $round $line" >> "$tmp/results"
	if ! grep -q "^$scen $srv " "$tmp/commands" 2>/dev/null; then
		{
			echo "$scen $srv server: ${LAST_SERVER_CMD:-}"
			echo "$scen $srv client: ${cmd[*]}"
		} >> "$tmp/commands"
	fi
}

step() { echo "[round $1/$ROUNDS] $2 $3" >&2; }

# rotate LIST N: LIST starting at its (N-1)th element, so no server is
# always first or last in a round
rotate() {
	local n=$1 i; shift
	local a=("$@")
	local k=${#a[@]}
	[ "$k" -gt 0 ] || return 0
	for ((i = 0; i < k; i++)); do echo "${a[$(((i + n - 1) % k))]}"; done
}

# ---- the rounds ----------------------------------------------------------
start_time=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "run-bench: $ROUNDS round(s), ${DUR}s runs; echo: $ECHO_SERVERS; chat: $CHAT_SERVERS;" \
    "skipped:${skipped:- none}" >&2
for round in $(seq 1 "$ROUNDS"); do
	for srv in $(rotate "$round" $ECHO_SERVERS); do
		for conns in 1 "$ECHO_MANY"; do
			step "$round" "echo$conns" "$srv"
			start_server "$srv" echo || continue
			run "echo$conns" "$srv" "$round" echo --port "$PORT" --conns "$conns" \
			    --size 64 --duration "$DUR" --warmup "$WARM" --server-pid "$SPID"
			stop_server
		done
	done
	for srv in $(rotate "$round" $CHAT_SERVERS); do
		fmt=chatd
		[ "$srv" = ncat ] && fmt=ncat
		[ "$srv" = seed ] && fmt=seed
		step "$round" "chat$CHAT_N" "$srv"
		start_server "$srv" chat || continue
		run "chat" "$srv" "$round" chat --port "$PORT" --clients "$CHAT_N" \
		    --senders "$CHAT_N" --size 64 --duration "$CDUR" --warmup "$WARM" \
		    --peer-format "$fmt" --server-pid "$SPID"
		stop_server
		# the ceiling is measured for throughput only
		[ "$srv" = fanout ] && continue
		step "$round" "chat$CHAT_N+${NR_K}nr" "$srv"
		start_server "$srv" chat || continue
		run "chatnr" "$srv" "$round" chat --port "$PORT" --clients "$CHAT_N" \
		    --senders "$CHAT_N" --never-read "$NR_K" --size 64 --duration "$CDUR" \
		    --warmup "$WARM" --peer-format "$fmt" --server-pid "$SPID"
		stop_server
	done
	for srv in $(rotate "$round" $IDLE_SERVERS); do
		proto="chat"
		case $srv in chatd-echo|baseline) proto="echo" ;; esac
		step "$round" "idle$IDLE_N" "$srv"
		start_server "$srv" idle || continue
		run "idle" "$srv" "$round" conns --port "$PORT" --count "$IDLE_N" \
		    --proto "$proto" --server-pid "$SPID" --hold 1
		stop_server
	done
	for srv in $(rotate "$round" $START_SERVERS); do
		step "$round" startup "$srv"
		p=$(freeport)
		case $srv in
		chatd)
			chatd_conf "$tmp/start.conf" "$p" "$(freeport)" "$(freeport)"
			scmd=("$CHATD" -c "$tmp/start.conf") ;;
		baseline) scmd=("$BASELINE" "$p") ;;
		seed) scmd=("$PY" "$here/seed_chat.py" "$p") ;;
		esac
		LAST_SERVER_CMD="(started by chatd-bench startup)"
		run "startup" "$srv" "$round" startup --port "$p" --settle 0.5 \
		    -- taskset -c "$SERVER_CPU" "${scmd[@]}"
	done
done
elapsed=$(( $(date +%s) - start_time ))
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- medians, ratios, the report -----------------------------------------
R=$tmp/results
# vals SCEN SRV KEY: the values of KEY over the rounds, one a line
vals() {
	grep "^$1 $2 " "$R" 2>/dev/null | sed -n "s/.*\"$3\":\([-0-9.]*\).*/\1/p"
}
# med SCEN SRV KEY: median over the rounds ("-" when there is none)
med() {
	vals "$@" | sort -g | awk '{v[NR] = $1} END {
		if (NR == 0) { print "-"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
range() {
	vals "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {
		if (NR > 1) printf "%s–%s", fmt(lo), fmt(hi); else printf "-" }
		function fmt(x) { return x >= 1000 ? sprintf("%.0f", x) : sprintf("%.3g", x) }'
}
# maxv SCEN SRV KEY: the largest value over the rounds
maxv() { vals "$@" | sort -g | tail -1; }
okcount() {
	local n ok
	n=$(grep -c "^$1 $2 " "$R" 2>/dev/null)
	ok=$(grep "^$1 $2 " "$R" 2>/dev/null | grep -c '"ok":true')
	echo "$ok/$n"
}
# pcpu SCEN SRV: median CPU of the generator and of the server process ("c / s")
pcpu() {
	local c s
	c=$(med "$1" "$2" client_cpu); s=$(med "$1" "$2" server_cpu)
	[ "$c" = - ] && { echo -; return; }
	awk -v c="$c" -v s="$s" 'BEGIN { if (s == "-") printf "%.2f / -\n", c;
		else printf "%.2f / %.2f\n", c, s }'
}
# busy SCEN SRV: median client and server core busy fractions ("c / s")
busy() {
	local c s
	grep "^$1 $2 " "$R" 2>/dev/null | sed -n 's/.*"cpus_busy":\[\([^]]*\)\].*/\1/p' \
	    > "$tmp/busy"
	c=$(cut -d, -f$((CLIENT_CPU + 1)) "$tmp/busy" | sort -g | awk '{v[NR] = $1}
		END { if (NR) printf "%.2f", v[int((NR + 1) / 2)] }')
	s=$(cut -d, -f$((SERVER_CPU + 1)) "$tmp/busy" | sort -g | awk '{v[NR] = $1}
		END { if (NR) printf "%.2f", v[int((NR + 1) / 2)] }')
	if [ -n "$c" ]; then echo "$c / $s"; else echo -; fi
}
num() {	# num X [DECIMALS]: a number for a table
	awk -v x="$1" -v d="${2:-0}" 'BEGIN { if (x == "-" || x == "") print "-";
		else if (d == 0) printf "%.0f\n", x; else printf "%.*f\n", d, x }'
}
ratio() {	# ratio A B: A/B to 2 decimals
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-";
		else printf "%.2f\n", a / b }'
}
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "-" && b != "-" && a + 0 <= b + 0) }'; }
verdict() { if "$@"; then echo PASS; else echo "**FAIL**"; fi; }

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem_total=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
chatd_version=$("$CHATD" -V 2>&1 | head -1)
ncat_version=$(ncat --version 2>&1 | sed -n 's/^Ncat: Version \([^ ]*\).*/\1/p' | head -1)
socat_version=$(socat -V 2>/dev/null | sed -n 's/^socat version \([^ ]*\).*/\1/p' | head -1)
inetd_version=$(dpkg-query -W -f '${Version}' openbsd-inetd 2>/dev/null)
py_version=$([ -n "$PY" ] && "$PY" -V 2>&1)

{
echo "# chatd benchmark results"
echo
if [ "$QUICK" = 1 ]; then
	echo "**QUICK=1 smoke run: small and short; these numbers are not the benchmark.**"
	echo
fi
echo "Generated by \`bench/run-bench.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') in ${elapsed} s."
echo "Compare ratios within this run, never absolute numbers across machines or runs."
echo
echo "## Machine"
echo
echo "- CPUs: $(nproc) × $cpu_model; memory $mem_total"
echo "- kernel: $(uname -sr) ($(uname -m))"
echo "- RLIMIT_NOFILE: $(ulimit -n)"
echo "- load average (1, 5, 15 min) at the start: $load_start; at the end: $load_end"
echo "  (the benchmark itself keeps about 2 busy; more means something else ran)"
echo "- chatd: $chatd_version ($CHATD)"
echo "- peers: ncat ${ncat_version:-absent}, socat ${socat_version:-absent}," \
    "openbsd-inetd ${inetd_version:-absent}, ${py_version:-python absent}"
[ -n "$skipped" ] && echo "- skipped (absent, unusable or SKIP):$skipped"
echo
echo "## Method"
echo
echo "- $ROUNDS interleaved round(s); in each round every scenario runs against every"
echo "  server, the order rotating from round to round; a fresh server process per run."
echo "  Tables show the median over the rounds (and the range of the main figure)."
echo "- Server pinned to CPU $SERVER_CPU, load generator to CPU $CLIENT_CPU (\`taskset\`)."
echo "  \"proc CPU\" is the CPU time of the load generator / the server process per"
echo "  second (a generator near 1.00 would be the bottleneck); \"busy\" is each core's"
echo "  busy fraction from /proc/stat, which also counts softirq work: over loopback"
echo "  part of one side's TCP work runs on the other side's core."
echo "- Each run: ${WARM} s warm-up, then ${DUR} s measured (chat runs: ${CDUR} s)."
echo "- echo: 64-byte messages, one in flight per connection, every byte verified."
echo "- chat: $CHAT_N clients all sending 64-byte lines in a closed loop (a line is"
echo "  done when every client has it, then its sender sends the next); latency is"
echo "  send to delivery, from the timestamp inside each line; loss is exact per"
echo "  (receiver, sender) pair.  ncat does not echo a line to its sender, so there"
echo "  a line has one recipient fewer."
echo "- fanout: the chat ceiling, \`bench/baseline-fanout\`: a bare epoll loop that reads"
echo "  every complete line of one epoll batch into one shared buffer (in chatd's"
echo "  \"ADDR:PORT: text\" format) and writes that buffer once to each client."
echo "- never-readers: $NR_K more clients connect (with a 4 KiB receive buffer) and"
echo "  never read; chatd's chat listener has max_queue = 1 MiB."
echo "- idle: $IDLE_N connections from 8 source addresses (127.0.0.1-8), each proven"
echo "  served by one round trip (echo: a byte; chat: \`/bench-ping\` answered by an"
echo "  error line), held 1 s; bytes/connection = RSS growth / connections. chatd's"
echo "  chat side uses a listener with announce = false."
echo "- startup: from fork to the first accepted connection; idle RSS 0.5 s later."
echo
echo "## Echo, 64-byte messages, 1 connection"
echo
echo "| server | ok | msgs/s | range | p50 µs | p99 µs | p99.9 µs | msgs/s ÷ baseline | p50 ÷ baseline | proc CPU c / s | busy c / s |"
echo "|---|---|---:|---|---:|---:|---:|---:|---:|---|---|"
b_m=$(med echo1 baseline msgs_per_s); b_p50=$(med echo1 baseline rtt_p50_us)
for s in $ECHO_SERVERS; do
	m=$(med echo1 "$s" msgs_per_s); p50=$(med echo1 "$s" rtt_p50_us)
	echo "| $s | $(okcount echo1 "$s") | $(num "$m") | $(range echo1 "$s" msgs_per_s) |" \
	    "$(num "$p50" 1) | $(num "$(med echo1 "$s" rtt_p99_us)" 1) |" \
	    "$(num "$(med echo1 "$s" rtt_p999_us)" 1) | $(ratio "$m" "$b_m") |" \
	    "$(ratio "$p50" "$b_p50") | $(pcpu echo1 "$s") | $(busy echo1 "$s") |"
done
echo
echo "## Echo, 64-byte messages, $ECHO_MANY connections"
echo
echo "| server | ok | msgs/s | range | p50 µs | p99 µs | p99.9 µs | msgs/s ÷ baseline | p99 ÷ baseline | proc CPU c / s | busy c / s |"
echo "|---|---|---:|---|---:|---:|---:|---:|---:|---|---|"
e=echo$ECHO_MANY
bm_m=$(med "$e" baseline msgs_per_s); bm_p99=$(med "$e" baseline rtt_p99_us)
for s in $ECHO_SERVERS; do
	m=$(med "$e" "$s" msgs_per_s); p99=$(med "$e" "$s" rtt_p99_us)
	echo "| $s | $(okcount "$e" "$s") | $(num "$m") | $(range "$e" "$s" msgs_per_s) |" \
	    "$(num "$(med "$e" "$s" rtt_p50_us)" 1) | $(num "$p99" 1) |" \
	    "$(num "$(med "$e" "$s" rtt_p999_us)" 1) | $(ratio "$m" "$bm_m") |" \
	    "$(ratio "$p99" "$bm_p99") | $(pcpu "$e" "$s") | $(busy "$e" "$s") |"
done
echo
echo "## Chat, $CHAT_N clients all sending 64-byte lines, closed loop"
echo
echo "| server | ok | deliveries/s | range | p50 µs | p99 µs | p99.9 µs | loss | order | corrupt | misattributed | ÷ best peer | ÷ ceiling (fanout) | proc CPU c / s | busy c / s | server RSS kB |"
echo "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|"
best=-; best_name=; peers_p99=
ceil=$(med chat fanout deliveries_per_s)
for s in $CHAT_SERVERS; do
	case $s in chatd|fanout) continue ;; esac
	d=$(med chat "$s" deliveries_per_s)
	if [ "$d" != - ] && { [ "$best" = - ] || le "$best" "$d"; }; then best=$d; best_name=$s; fi
	peers_p99="$peers_p99 $(med chat "$s" lat_p99_us)"
done
for s in $CHAT_SERVERS; do
	d=$(med chat "$s" deliveries_per_s)
	echo "| $s | $(okcount chat "$s") | $(num "$d") | $(range chat "$s" deliveries_per_s) |" \
	    "$(num "$(med chat "$s" lat_p50_us)" 1) | $(num "$(med chat "$s" lat_p99_us)" 1) |" \
	    "$(num "$(med chat "$s" lat_p999_us)" 1) | $(maxv chat "$s" loss) |" \
	    "$(maxv chat "$s" order_violations) | $(maxv chat "$s" corrupt_lines) |" \
	    "$(maxv chat "$s" misattributed) | $(ratio "$d" "$best") | $(ratio "$d" "$ceil") |" \
	    "$(pcpu chat "$s") |" \
	    "$(busy chat "$s") |" \
	    "$(num "$(med chat "$s" server_rss_kb)") |"
done
echo
echo "(loss, order, corrupt, misattributed: the worst round.)"
echo
echo "## Chat, $CHAT_N clients + $NR_K that never read"
echo
echo "| server | ok | deliveries/s | ÷ same server without never-readers | p99 µs | loss | never-readers disconnected | first / last disconnect s | bytes they had at the end | server RSS / peak kB |"
echo "|---|---|---:|---:|---:|---:|---|---|---:|---|"
for s in $CHAT_SERVERS; do
	[ "$s" = fanout ] && continue
	d=$(med chatnr "$s" deliveries_per_s)
	echo "| $s | $(okcount chatnr "$s") | $(num "$d") | $(ratio "$d" "$(med chat "$s" deliveries_per_s)") |" \
	    "$(num "$(med chatnr "$s" lat_p99_us)" 1) | $(maxv chatnr "$s" loss) |" \
	    "$(med chatnr "$s" nr_disconnected) of $NR_K ($(med chatnr "$s" nr_disconnected_live) seen live) |" \
	    "$(num "$(med chatnr "$s" nr_first_disconnect_s)" 2) / $(num "$(med chatnr "$s" nr_last_disconnect_s)" 2) |" \
	    "$(num "$(med chatnr "$s" nr_bytes_drained_at_end)") |" \
	    "$(num "$(med chatnr "$s" server_rss_kb)") / $(num "$(maxv chatnr "$s" server_hwm_kb)") |"
done
echo
echo "## Idle connections: $IDLE_N"
echo
echo "| server | ok | proven | bytes/connection | range | server RSS before → after kB | server fds after |"
echo "|---|---|---:|---:|---|---|---:|"
for s in $IDLE_SERVERS; do
	echo "| $s | $(okcount idle "$s") | $(num "$(med idle "$s" proven)") |" \
	    "$(num "$(med idle "$s" bytes_per_conn)") | $(range idle "$s" bytes_per_conn) |" \
	    "$(num "$(med idle "$s" server_rss_before_kb)") → $(num "$(med idle "$s" server_rss_after_kb)") |" \
	    "$(num "$(med idle "$s" server_fds_after)") |"
done
echo
echo "## Start-up"
echo
echo "| server | ok | start-up to ready ms | range | idle RSS kB | stop after SIGTERM ms |"
echo "|---|---|---:|---|---:|---:|"
for s in $START_SERVERS; do
	echo "| $s | $(okcount startup "$s") | $(num "$(med startup "$s" ready_ms)" 2) |" \
	    "$(range startup "$s" ready_ms) | $(num "$(med startup "$s" idle_rss_kb)") |" \
	    "$(num "$(med startup "$s" stop_ms)" 2) |"
done
echo
echo "## Targets (issues 3 and 10)"
echo
if have chatd; then
	c_m=$(med "$e" chatd msgs_per_s); c_p99=$(med "$e" chatd rtt_p99_us)
	c1_p50=$(med echo1 chatd rtt_p50_us)
	echo "- echo $ECHO_MANY conns: chatd msgs/s ≥ 0.95 × baseline: $(ratio "$c_m" "$bm_m") ×" \
	    "— $(verdict le "$(awk -v b="$bm_m" 'BEGIN{print 0.95*b}')" "$c_m")"
	echo "- echo $ECHO_MANY conns: chatd p99 ≤ 1.1 × baseline: $(ratio "$c_p99" "$bm_p99") ×" \
	    "— $(verdict le "$c_p99" "$(awk -v b="$bm_p99" 'BEGIN{print 1.1*b}')")"
	echo "- echo 1 conn: chatd p50 within 10 % of baseline: $(ratio "$c1_p50" "$b_p50") ×" \
	    "— $(verdict awk -v a="$c1_p50" -v b="$b_p50" 'BEGIN{exit !(a!="-" && b!="-" && a<=1.1*b && a>=0.9*b)}')"
	c_d=$(med chat chatd deliveries_per_s); c_lp99=$(med chat chatd lat_p99_us)
	c_loss=$(maxv chat chatd loss); c_ord=$(maxv chat chatd order_violations)
	echo "- chat $CHAT_N: zero loss and order violations: loss ${c_loss:--}, order ${c_ord:--}" \
	    "— $(verdict test "${c_loss:-x}" = 0 -a "${c_ord:-x}" = 0)"
	if [ "$best" != - ]; then
		echo "- chat $CHAT_N: deliveries/s ≥ 1.5 × best peer ($best_name): $(ratio "$c_d" "$best") ×" \
		    "— $(verdict le "$(awk -v b="$best" 'BEGIN{print 1.5*b}')" "$c_d")"
		ok=true
		for p in $peers_p99; do
			awk -v a="$c_lp99" -v b="$p" 'BEGIN{exit !(a!="-" && (b=="-" || a<b))}' || ok=false
		done
		echo "- chat $CHAT_N: p99 below every peer's: chatd $(num "$c_lp99" 1) µs, peers$(
			for p in $peers_p99; do printf ' %s' "$(num "$p" 1)"; done) µs — $(verdict $ok)"
	else
		echo "- chat $CHAT_N against peers: no peer ran"
	fi
	if [ "$ceil" != - ]; then
		echo "- chat $CHAT_N: deliveries/s ≥ 0.95 × the fan-out ceiling (issue 10): $(ratio "$c_d" "$ceil") ×" \
		    "— $(verdict le "$(awk -v b="$ceil" 'BEGIN{print 0.95*b}')" "$c_d")"
	fi
	c_nr=$(med chatnr chatd deliveries_per_s)
	echo "- never-readers: others' deliveries/s fall ≤ 10 %: $(ratio "$c_nr" "$c_d") ×" \
	    "— $(verdict le "$(awk -v b="$c_d" 'BEGIN{print 0.9*b}')" "$c_nr")"
	echo "- never-readers disconnected: $(med chatnr chatd nr_disconnected) of $NR_K, server peak RSS" \
	    "$(num "$(maxv chatnr chatd server_hwm_kb)") kB" \
	    "— $(verdict test "$(med chatnr chatd nr_disconnected)" = "$NR_K")"
	for s in chatd chatd-echo; do
		bpc=$(med idle "$s" bytes_per_conn)
		echo "- memory ($s): ≤ 256 bytes per idle connection at $IDLE_N: $(num "$bpc") bytes" \
		    "— $(verdict le "$bpc" 256)"
	done
	echo "- start-up to ready: $(num "$(med startup chatd ready_ms)" 2) ms; idle RSS" \
	    "$(num "$(med startup chatd idle_rss_kb)") kB (reported, no target)"
fi
echo
echo "## Flood (issue 11)"
echo
echo "bench/flood-bench.py: one room, default rate = 10, burst = 20; 200 readers"
echo "that each take at most 1,000 lines/s, 5 members chatting 5 lines/s each"
echo "(their latency), then the same with one client writing at full speed."
echo
echo '```'
if [ -n "$PY" ]; then
	"$PY" "$here/flood-bench.py" --chatd "$CHATD" 2>&1 || true
else
	echo "skipped: no python3"
fi
echo '```'
echo
echo "## Metrics (issue 14)"
echo
echo "bench/scrape-bench.py: chatd CPU per /metrics scrape with $IDLE_N chat clients"
echo "connected (target <= 1 ms), then chat fan-out p99 of $CHAT_N clients in"
echo "another room, without and with a scrape every 100 ms (target: ratio <= 1.05)."
echo
echo '```'
if [ -n "$PY" ]; then
	"$PY" "$here/scrape-bench.py" --chatd "$CHATD" --clients "$IDLE_N" --bench "$BENCH" \
	    --fanout-clients "$CHAT_N" --rounds "$ROUNDS" --duration "$CDUR" 2>&1 |
	    grep -v '^ ' || true
else
	echo "skipped: no python3"
fi
echo '```'
echo
# WebSocket fan-out and idle memory (issue 13): bench/ws-bench.sh prints
# its own section (progress on stderr)
ROUNDS=$ROUNDS CLIENTS=$CHAT_N DURATION=$CDUR WARMUP=$WARM IDLE_N=$IDLE_N \
    SERVER_CPU=$SERVER_CPU CLIENT_CPU=$CLIENT_CPU CHATD_BENCH=$BENCH SKIP="$SKIP" \
    "$here/ws-bench.sh" "$CHATD" || echo "(bench/ws-bench.sh failed: see its stderr)"
echo
# TLS (issue 12): chatd's TLS listener against nginx stream and stunnel4
# in front of chatd's plain echo; the section says why when it is skipped
case $SKIP in
*" tls "*) printf '## TLS (issue 12)\n\nSkipped: SKIP=tls.\n' ;;
*)
	ROUNDS=$ROUNDS QUICK=$QUICK DURATION=$DUR WARMUP=$WARM SKIP="$SKIP" \
	    SERVER_CPU=$SERVER_CPU CLIENT_CPU=$CLIENT_CPU CHATD_BENCH=$BENCH \
	    "$here/tls-bench.sh" "$CHATD" ||
		printf '## TLS (issue 12)\n\nbench/tls-bench.sh failed (exit %s); see its messages.\n' "$?" ;;
esac
echo
echo "## Cluster (issue 15)"
echo
echo "bench/cluster-bench.py: a redis-server and two chatd nodes, 500 members of"
echo "one room spread over both; Redis commands per line (target <= 1.05) and"
echo "what crossing to the other node adds to p50 latency (target <= 0.5 ms)."
echo
echo '```'
if [ -n "$PY" ]; then
	"$PY" "$here/cluster-bench.py" --chatd "$CHATD" 2>&1 | grep -v '^chatd: running as root' || true
else
	echo "skipped: no python3"
fi
echo '```'
echo
echo "## Commands"
echo
echo "Exact commands of the first round (ports are picked free for every run; the"
echo "chatd configuration below is regenerated with them)."
echo
echo '```'
cat "$tmp/commands" 2>/dev/null
echo '```'
echo
echo "chatd configuration:"
echo
echo '```'
chatd_conf - CHATPORT ECHOPORT IDLEPORT
echo '```'
echo
echo "<details><summary>Every run's JSON line (scenario, server, round, result)</summary>"
echo
echo '```'
cat "$R" 2>/dev/null
echo '```'
echo
echo "</details>"
} > "$tmp/report.md"
if [ "$OUT" = /dev/stdout ] || [ "$OUT" = - ]; then
	cat "$tmp/report.md"
else
	cp "$tmp/report.md" "$OUT" && echo "run-bench: wrote $OUT" >&2
fi
