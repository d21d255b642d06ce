#!/usr/bin/env bash
# tls-bench.sh - the TLS part of chatd's benchmark (issue 12): chatd's own
# TLS listener against chatd's plain echo behind nginx stream TLS
# termination and behind stunnel4, side by side in one run, interleaved
# over several rounds, servers pinned to one CPU and bench/tls-bench to
# the other.  Prints the "TLS (issue 12)" section of bench/RESULTS.md on
# stdout (run-bench.sh includes it), progress on stderr.
#
# usage: bench/tls-bench.sh [CHATD]       (from the build directory, after
#                                          `make bench`; CHATD defaults to
#                                          ./src/chatd)
# environment:
#   ROUNDS=3          interleaved rounds (medians are taken over them)
#   QUICK=1           small and short, a smoke test
#   DURATION=S        measured seconds per run (default 5; QUICK 1)
#   WARMUP=S          unmeasured seconds first (default 1; QUICK 0.3)
#   TLS_IDLE_N=10000  idle TLS connections for the memory figure
#   TLS_ECHO_N=1000   TLS echo connections
#   TLS_CHAT_N=500    chat clients (TLS and plain, the same client program)
#   SKIP="nginx stunnel"  peers to leave out
#   TLS_TIMEOUT=90    seconds for all TLS echo or idle connections to come up
#                     (stunnel starts a thread per connection: slow on a
#                     busy machine)
#   SERVER_CPU=1 CLIENT_CPU=0
#
# The peers: nginx 1.22 with libnginx-mod-stream (`ssl` listener,
# proxy_pass to chatd's plain echo listener) and stunnel4 (accept TLS,
# connect to the same plain listener), each started in the foreground
# with its configuration in a temporary directory, on free ports, as the
# unprivileged user nobody when run as root, and stopped at the end of
# its run.  A missing peer is skipped, saying so.  Every server and
# terminator shares the server CPU (taskset), so each setup gets one core.
#
# Word splitting of the server lists is on purpose:
# shellcheck disable=SC2086
set -u
LC_ALL=C
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
CHATD=${1:-./src/chatd}
TLSB=${TLS_BENCH:-./bench/tls-bench}
BENCH=${CHATD_BENCH:-./bench/chatd-bench}
[ -x "$TLSB" ] || TLSB=$here/tls-bench
[ -x "$BENCH" ] || BENCH=$here/chatd-bench
QUICK=${QUICK:-0}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
SKIP=" ${SKIP:-} "

section() { echo "## TLS (issue 12)"; echo; }
skip_all() {
	section
	echo "Skipped: $*."
	echo "run-bench: TLS section skipped: $*" >&2
	exit 0
}
die() { echo "tls-bench.sh: $*" >&2; exit 2; }

case $CHATD in /*) ;; *) CHATD=$(pwd)/$CHATD ;; esac
[ -x "$CHATD" ] || die "$CHATD not found: build chatd or pass its path"
[ -x "$BENCH" ] || die "$BENCH not found: run 'make bench' first"
"$CHATD" -V 2>&1 | grep -q '^tls: no' && skip_all "chatd was built without TLS (--with-tls=no)"
[ -x "$TLSB" ] || skip_all "bench/tls-bench was not built (configure found no OpenSSL 3; run 'make bench')"
command -v openssl >/dev/null || skip_all "no openssl command to make the test certificate"
case $TLSB in /*) ;; *) TLSB=$(pwd)/$TLSB ;; esac
case $BENCH in /*) ;; *) BENCH=$(pwd)/$BENCH ;; esac

if [ "$QUICK" = 1 ]; then
	ROUNDS=${ROUNDS:-1}; DUR=${DURATION:-1}; WARM=${WARMUP:-0.3}
	IDLE_N=${TLS_IDLE_N:-1000}; ECHO_N=${TLS_ECHO_N:-100}; CHAT_N=${TLS_CHAT_N:-50}
else
	ROUNDS=${ROUNDS:-3}; DUR=${DURATION:-5}; WARM=${WARMUP:-1}
	IDLE_N=${TLS_IDLE_N:-10000}; ECHO_N=${TLS_ECHO_N:-1000}; CHAT_N=${TLS_CHAT_N:-500}
fi
HS_C=16		# handshakes in flight
TMO=${TLS_TIMEOUT:-90}

ulimit -n "$(ulimit -Hn)" 2>/dev/null
nofile=$(ulimit -n)
if [ "$nofile" != unlimited ] && [ "$nofile" -lt $((IDLE_N + 100)) ]; then
	IDLE_N=$((nofile - 1000))
	echo "tls-bench.sh: RLIMIT_NOFILE is $nofile: idle TLS connections lowered to $IDLE_N" >&2
fi

# ---- peers ---------------------------------------------------------------
NGINX=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null)
STUNNEL=$(command -v stunnel4 || command -v stunnel)
NGX_STREAM=
for m in /usr/lib/nginx/modules/ngx_stream_module.so /usr/share/nginx/modules/ngx_stream_module.so; do
	[ -f "$m" ] && NGX_STREAM=$m && break
done
PEERS='' skipped=''
case $SKIP in *" nginx "*) skipped="$skipped nginx (SKIP)" ;; *)
	if [ -z "$NGINX" ]; then skipped="$skipped nginx (not installed: Debian 'nginx')"
	elif [ -z "$NGX_STREAM" ]; then skipped="$skipped nginx (no stream module: Debian 'libnginx-mod-stream')"
	else PEERS="$PEERS nginx"; fi ;;
esac
case $SKIP in *" stunnel "*) skipped="$skipped stunnel (SKIP)" ;; *)
	if [ -z "$STUNNEL" ]; then skipped="$skipped stunnel (not installed: Debian 'stunnel4')"
	else PEERS="$PEERS stunnel"; fi ;;
esac
SERVERS="chatd$PEERS"
[ -n "$skipped" ] && echo "tls-bench.sh: peers skipped:$skipped" >&2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/chatd-tls-bench.XXXXXX") || die "mktemp failed"
chmod 755 "$tmp"
PIDS=
cleanup() {
	[ "$BASHPID" = "$$" ] || return 0
	stop_all
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

# the peers run as nobody when we are root; their directory is theirs
AS=()
if [ "$(id -u)" = 0 ]; then
	AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
	command -v setpriv >/dev/null || AS=(runuser -u nobody --)
fi
mkdir -p "$tmp/peer" "$tmp/certs"
# RSA 2048, the usual server certificate; the same one for every server
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/certs/server.key" \
    -out "$tmp/certs/server.pem" -days 30 -subj /CN=localhost \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -addext basicConstraints=CA:FALSE 2>/dev/null || die "openssl req failed"
cp "$tmp/certs/server.key" "$tmp/certs/server.pem" "$tmp/peer/"
[ "$(id -u)" = 0 ] && chown -R nobody:nogroup "$tmp/peer"

freeport() { "$BENCH" freeport; }

# launch CMD...: CMD pinned to the server CPU in a session of its own
launch() {
	echo "server: taskset -c $SERVER_CPU $*" >> "$tmp/server.log"
	setsid taskset -c "$SERVER_CPU" "$@" >> "$tmp/server.log" 2>&1 &
	LAST=$!
	PIDS="$PIDS $LAST"
}
running() {
	local st
	st=$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}
stop_all() {
	local p i
	for p in $PIDS; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null; done
	for p in $PIDS; do
		for ((i = 0; i < 100; i++)); do running "$p" || break; sleep 0.05; done
		running "$p" && kill -KILL -- "-$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	PIDS=
}

# start NAME: sets PORT (TLS) and SPID (the process whose memory counts)
start() {
	local name=$1 plain tlsp chatp
	plain=$(freeport); tlsp=$(freeport); chatp=$(freeport)
	PORT=$tlsp CHAT_TLS=$plain CHAT_PLAIN=$chatp
	case $name in
	chatd)
		cat > "$tmp/chatd.conf" <<EOF
# generated by tls-bench.sh
max_connections = 19000;
log = { target = "stderr"; level = "warning"; };
listeners = (
  { name = "echo-tls"; protocol = "echo"; bind = "127.0.0.1:$tlsp"; backlog = 4096;
    tls = { cert = "$tmp/certs/server.pem"; key = "$tmp/certs/server.key"; }; },
  { name = "chat-tls"; protocol = "chat"; bind = "127.0.0.1:$plain"; backlog = 4096;
    room = "tls"; announce = false; rate = 0; max_queue = 1048576;
    tls = { cert = "$tmp/certs/server.pem"; key = "$tmp/certs/server.key"; }; },
  { name = "chat"; protocol = "chat"; bind = "127.0.0.1:$chatp"; backlog = 4096;
    room = "plain"; announce = false; rate = 0; max_queue = 1048576; }
);
EOF
		launch "$CHATD" -c "$tmp/chatd.conf"; SPID=$LAST ;;
	chatd-plain|nginx|stunnel)
		cat > "$tmp/backend.conf" <<EOF
# generated by tls-bench.sh: the plain echo behind a TLS terminator
max_connections = 19000;
log = { target = "stderr"; level = "warning"; };
listeners = ( { name = "echo"; protocol = "echo"; bind = "127.0.0.1:$plain"; backlog = 4096; } );
EOF
		launch "$CHATD" -c "$tmp/backend.conf"; SPID=$LAST
		[ "$name" = chatd-plain ] && PORT=$plain
		"$BENCH" wait --port "$plain" --timeout 10 || return 1 ;;
	esac
	case $name in
	nginx)
		cat > "$tmp/peer/nginx.conf" <<EOF
# generated by tls-bench.sh
load_module $NGX_STREAM;
worker_processes 1;
worker_rlimit_nofile 19000;
pid $tmp/peer/nginx.pid;
error_log $tmp/peer/nginx-error.log warn;
events { worker_connections 19000; }
stream {
  server {
    listen 127.0.0.1:$tlsp ssl backlog=4096;
    ssl_certificate $tmp/peer/server.pem;
    ssl_certificate_key $tmp/peer/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    proxy_pass 127.0.0.1:$plain;
  }
}
EOF
		launch "${AS[@]}" "$NGINX" -c "$tmp/peer/nginx.conf" -e "$tmp/peer/nginx-error.log" \
		    -g 'daemon off;' ;;
	stunnel)
		cat > "$tmp/peer/stunnel.conf" <<EOF
; generated by tls-bench.sh
foreground = yes
pid = $tmp/peer/stunnel.pid
output = $tmp/peer/stunnel.log
debug = warning
socket = l:TCP_NODELAY=1
socket = r:TCP_NODELAY=1
[echo-tls]
accept = 127.0.0.1:$tlsp
connect = 127.0.0.1:$plain
cert = $tmp/peer/server.pem
key = $tmp/peer/server.key
sslVersionMin = TLSv1.2
EOF
		launch "${AS[@]}" "$STUNNEL" "$tmp/peer/stunnel.conf" ;;
	esac
	if ! "$BENCH" wait --port "$PORT" --timeout 10; then
		echo "tls-bench.sh: $name did not start; see below" >&2
		tail -5 "$tmp/server.log" "$tmp/peer/"*.log >&2 2>/dev/null
		stop_all
		return 1
	fi
	sleep 0.2
}

# run SCEN SRV ROUND PROG MODE ARGS...: one run, its JSON line kept
run() {
	local scen=$1 srv=$2 round=$3 prog=$4 mode=$5 line rc
	shift 5
	local cmd=(taskset -c "$CLIENT_CPU" "$prog" "$mode" --label "$srv" "$@")
	line=$("${cmd[@]}" 2> "$tmp/err")
	rc=$?
	sed 's/^/    /' "$tmp/err" >&2
	[ -n "$line" ] || line="{\"results\":{\"ok\":false,\"error\":\"no output, exit $rc\"}}"
	echo "$scen $srv $round $line" >> "$tmp/results"
	grep -q "^$scen $srv " "$tmp/commands" 2>/dev/null ||
		echo "$scen $srv client: ${cmd[*]}" >> "$tmp/commands"
}
rotate() {
	local n=$1 i; shift
	local a=("$@") k=$#
	for ((i = 0; i < k; i++)); do echo "${a[$(((i + n - 1) % k))]}"; done
}

start_time=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "tls-bench.sh: $ROUNDS round(s), ${DUR}s runs; servers: $SERVERS" >&2
for round in $(seq 1 "$ROUNDS"); do
	for srv in $(rotate "$round" $SERVERS chatd-plain); do
		echo "[tls round $round/$ROUNDS] $srv" >&2
		if [ "$srv" = chatd-plain ]; then
			# the same echo without TLS, for scale (chatd-bench)
			start chatd-plain || continue
			run echo chatd-plain "$round" "$BENCH" echo --port "$PORT" --conns "$ECHO_N" \
			    --size 64 --duration "$DUR" --warmup "$WARM" --server-pid "$SPID"
			stop_all
			continue
		fi
		start "$srv" || continue
		run hs "$srv" "$round" "$TLSB" handshake --port "$PORT" --conns "$HS_C" \
		    --size 64 --duration "$DUR" --warmup "$WARM"
		stop_all
		start "$srv" || continue
		run echo "$srv" "$round" "$TLSB" echo --port "$PORT" --conns "$ECHO_N" \
		    --size 64 --duration "$DUR" --warmup "$WARM" --timeout "$TMO"
		stop_all
		if [ "$srv" = chatd ]; then
			# chat fan-out: TLS and plain listeners of one chatd, the same
			# client program (tls-bench chat, --plain), a fresh chatd each
			for t in tls plain; do
				start chatd || continue
				p=$CHAT_TLS; flag=
				[ $t = plain ] && p=$CHAT_PLAIN && flag=--plain
				run "chat$t" chatd "$round" "$TLSB" chat --port "$p" --conns "$CHAT_N" \
				    --size 64 --duration "$DUR" --warmup "$WARM" --timeout "$TMO" \
				    --server-pid "$SPID" $flag
				stop_all
			done
			start chatd || continue
			run idle chatd "$round" "$TLSB" idle --port "$PORT" --count "$IDLE_N" \
			    --server-pid "$SPID" --hold 1 --timeout "$TMO"
			stop_all
		fi
	done
done
elapsed=$(( $(date +%s) - start_time ))
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the section -----------------------------------------------------------
R=$tmp/results
vals() { grep "^$1 $2 " "$R" 2>/dev/null | sed -n "s/.*\"$3\":\([-0-9.]*\).*/\1/p"; }
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
okcount() {
	echo "$(grep "^$1 $2 " "$R" 2>/dev/null | grep -c '"ok":true')/$(grep -c "^$1 $2 " "$R" 2>/dev/null)"
}
busy() {	# busy SCEN SRV: median busy fraction of the client / server core
	local c s
	grep "^$1 $2 " "$R" 2>/dev/null | sed -n 's/.*"cpus_busy":\[\([^]]*\)\].*/\1/p' > "$tmp/busy"
	c=$(cut -d, -f$((CLIENT_CPU + 1)) "$tmp/busy" | sort -g | awk '{v[NR] = $1}
		END { if (NR) printf "%.2f", v[int((NR + 1) / 2)] }')
	s=$(cut -d, -f$((SERVER_CPU + 1)) "$tmp/busy" | sort -g | awk '{v[NR] = $1}
		END { if (NR) printf "%.2f", v[int((NR + 1) / 2)] }')
	if [ -n "$c" ]; then echo "$c / $s"; else echo -; fi
}
num() {
	awk -v x="$1" -v d="${2:-0}" 'BEGIN { if (x == "-" || x == "") print "-";
		else if (d == 0) printf "%.0f\n", x; else printf "%.*f\n", d, x }'
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-";
		else printf "%.2f\n", a / b }'
}
ge() { awk -v a="$1" -v b="$2" -v k="$3" 'BEGIN { exit !(a != "-" && b != "-" && a + 0 >= k * b) }'; }
verdict() { if "$@"; then echo PASS; else echo "**FAIL**"; fi; }

nginx_version=$([ -n "$NGINX" ] && "$NGINX" -v 2>&1 | sed 's/.*nginx\///')
stunnel_version=$([ -n "$STUNNEL" ] && "$STUNNEL" -version 2>&1 | sed -n 's/^stunnel \([^ ]*\) .*/\1/p' | head -1)

section
echo "\`bench/tls-bench.sh\` (run by run-bench.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'), $ROUNDS interleaved"
echo "round(s) in ${elapsed} s, ${WARM} s warm-up + ${DUR} s measured per run, servers on CPU"
echo "$SERVER_CPU and \`bench/tls-bench\` on CPU $CLIENT_CPU; load average $load_start at the start,"
echo "$load_end at the end.  $("$CHATD" -V 2>&1 | grep -i '^tls' | head -1);"
echo "peers: nginx ${nginx_version:-absent} (stream module), stunnel ${stunnel_version:-absent}, each"
echo "terminating TLS in front of chatd's plain echo listener (the terminator and"
echo "that chatd share the server CPU), run as nobody.  One RSA 2048 certificate"
echo "for all; TLS 1.3, X25519 only, no session reuse, server defaults otherwise."
[ -n "$skipped" ] && { echo; echo "Peers skipped:$skipped."; }
echo
echo "### Full handshakes ($HS_C at a time: connect, handshake, 64 bytes echoed, close_notify, close)"
echo
echo "| server | ok | handshakes/s | range | handshake p50 µs | p99 µs | chatd ÷ server | busy c / s |"
echo "|---|---|---:|---|---:|---:|---:|---|"
c_hs=$(med hs chatd handshakes_per_s)
for s in $SERVERS; do
	h=$(med hs "$s" handshakes_per_s)
	echo "| $s | $(okcount hs "$s") | $(num "$h") | $(range hs "$s" handshakes_per_s) |" \
	    "$(num "$(med hs "$s" hs_p50_us)") | $(num "$(med hs "$s" hs_p99_us)") |" \
	    "$(ratio "$c_hs" "$h") | $(busy hs "$s") |"
done
echo
echo "### TLS echo, 64-byte messages, $ECHO_N connections, one in flight each"
echo
echo "| server | ok | msgs/s | range | p50 µs | p99 µs | chatd ÷ server | busy c / s |"
echo "|---|---|---:|---|---:|---:|---:|---|"
c_e=$(med echo chatd msgs_per_s)
for s in $SERVERS chatd-plain; do
	m=$(med echo "$s" msgs_per_s)
	label=$s
	[ "$s" = chatd-plain ] && label="chatd-plain (no TLS, chatd-bench)"
	echo "| $label | $(okcount echo "$s") | $(num "$m") | $(range echo "$s" msgs_per_s) |" \
	    "$(num "$(med echo "$s" rtt_p50_us)" 1) | $(num "$(med echo "$s" rtt_p99_us)" 1) |" \
	    "$(ratio "$c_e" "$m") | $(busy echo "$s") |"
done
echo
echo "### Chat fan-out, $CHAT_N clients all sending 64-byte lines, closed loop (chatd)"
echo
echo "Every client sends its next line when its own has come back; deliveries ="
echo "lines received by all clients.  The same client program (bench/tls-bench"
echo "chat, with --plain for the plaintext listener) on both sides of the ratio."
echo
echo "| listener | ok | deliveries/s | range | own line back p50 µs | p99 µs | TLS ÷ plain | busy c / s | server RSS kB |"
echo "|---|---|---:|---|---:|---:|---:|---|---:|"
d_t=$(med chattls chatd deliveries_per_s); d_p=$(med chatplain chatd deliveries_per_s)
for t in tls plain; do
	d=$(med "chat$t" chatd deliveries_per_s)
	echo "| chatd $t | $(okcount "chat$t" chatd) | $(num "$d") | $(range "chat$t" chatd deliveries_per_s) |" \
	    "$(num "$(med "chat$t" chatd lat_p50_us)") | $(num "$(med "chat$t" chatd lat_p99_us)") |" \
	    "$(ratio "$d" "$d_p") | $(busy "chat$t" chatd) | $(num "$(med "chat$t" chatd server_rss_kb)") |"
done
echo
echo "### Idle TLS connections: $IDLE_N (chatd)"
echo
bpc=$(med idle chatd bytes_per_conn)
echo "| server | ok | proven | bytes/connection | range | server RSS before → after kB |"
echo "|---|---|---:|---:|---|---|"
echo "| chatd | $(okcount idle chatd) | $(num "$(med idle chatd proven)") | $(num "$bpc") |" \
    "$(range idle chatd bytes_per_conn) | $(num "$(med idle chatd server_rss_before_kb)") →" \
    "$(num "$(med idle chatd server_rss_after_kb)") |"
echo
echo "Each connection completed its handshake and one 64-byte round trip, then"
echo "stayed idle 1 s; bytes/connection = chatd's VmRSS growth / connections."
echo "With SSL_MODE_RELEASE_BUFFERS an idle connection holds no record buffers:"
echo "what remains is OpenSSL's SSL object and its TLS 1.3 state (~8.5 KB bare"
echo "SSL_new here, plus the handshake's leftovers), chatd's connection and the"
echo "socket's share of the heap."
echo
echo "### Targets (issue 12)"
echo
for p in $PEERS; do
	k=1.2; [ "$p" = stunnel ] && k=1.5
	echo "- TLS echo $ECHO_N conns: chatd ≥ $k × $p: $(ratio "$c_e" "$(med echo "$p" msgs_per_s)") ×" \
	    "— $(verdict ge "$c_e" "$(med echo "$p" msgs_per_s)" "$k")"
done
if [ -n "$PEERS" ] && [ "${PEERS# nginx}" != "$PEERS" ]; then
	echo "- full handshakes/s: chatd ≥ 0.9 × nginx: $(ratio "$c_hs" "$(med hs nginx handshakes_per_s)") ×" \
	    "— $(verdict ge "$c_hs" "$(med hs nginx handshakes_per_s)" 0.9)"
fi
echo "- memory: ≤ 16 KiB (16384 bytes) per idle TLS connection at $IDLE_N: $(num "$bpc") bytes" \
    "— $(verdict ge 16384 "$bpc" 1)"
echo "- chat fan-out over TLS, $CHAT_N clients: deliveries/s ≥ 0.5 × plaintext: $(ratio "$d_t" "$d_p") ×" \
    "— $(verdict ge "$d_t" "$d_p" 0.5)"
echo
echo "<details><summary>Commands and every run's JSON line</summary>"
echo
echo '```'
grep '^server:' "$tmp/server.log" | sed "s|$tmp|\$TMP|g" | awk '{ k = $0; gsub(/[0-9]+/, "", k) } !seen[k]++'
sed "s|$tmp|\$TMP|g" "$tmp/commands" 2>/dev/null
for f in chatd.conf backend.conf peer/nginx.conf peer/stunnel.conf; do
	[ -f "$tmp/$f" ] || continue
	echo
	echo "\$TMP/$f (ports of the last run):"
	sed "s|$tmp|\$TMP|g" "$tmp/$f"
done
echo
cat "$R" 2>/dev/null
echo '```'
echo
echo "</details>"
