#!/usr/bin/env bats
# metrics.bats - protocol = "metrics" (SPEC 17): exact counter values after
# a scripted session, /healthz through a graceful shutdown, HTTP errors,
# a stalled request head, and promtool on a real scrape (tests/promtool.sh
# provides it; .ci/run makes sure it can).

setup() {
	load helpers
	use_ports 3
	export CHAT=127.0.0.1:$P1 FL=127.0.0.1:$P2 M=127.0.0.1:$P3
	SCRAPE=$BATS_TEST_TMPDIR/scrape
}

teardown() {
	chatd_teardown
}

# http RAW: sends RAW (printf escapes) to the metrics listener, prints the
# whole answer up to the server's close.
http() {
	"$PYTHON3" - "$M" "$1" <<'PY'
import socket, sys
host, port = sys.argv[1].rsplit(':', 1)
s = socket.create_connection((host, int(port)), timeout=5)
s.sendall(sys.argv[2].encode().decode('unicode_escape').encode('latin-1'))
out = b''
while (b := s.recv(65536)):
    out += b
sys.stdout.write(out.decode('utf-8', 'replace'))
PY
}

# scrape: GET /metrics, the body into $SCRAPE.
scrape() {
	http 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n' >"$SCRAPE.raw"
	head -n 1 "$SCRAPE.raw" | grep -q '^HTTP/1.1 200 OK' || fail "scrape: $(head -n 1 "$SCRAPE.raw")"
	sed '1,/^\r$/d' "$SCRAPE.raw" >"$SCRAPE"
}

# metric SERIES VALUE: the scrape holds that sample with that value.
metric() {
	local got
	got=$(awk -v s="$1" '$1 == s { print $2 }' "$SCRAPE")
	[[ $got == "$2" ]] || fail "$1: expected $2, got '${got}'"
}

# wait_count REGEX N: until N log lines match (bounded like wait_log).
wait_count() {
	local start=$SECONDS
	until (($(grep -Ec -- "$1" "$CHATD_LOG") >= $2)); do
		((SECONDS - start < CLIENT_TIMEOUT)) || fail "fewer than $2 log lines matching '$1'"
		sleep 0.02
	done
}

start_metrics() {
	start_chatd "log = { target = \"stderr\"; level = \"info\"; };
listeners = (
  { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; room = \"lobby\";
    rate = 0; max_queue = 65536; max_clients = 3; },
  { name = \"fl\"; protocol = \"chat\"; bind = \"$FL\"; room = \"fl\"; rate = 20; burst = 2; },
  { name = \"m\"; protocol = \"metrics\"; bind = \"$M\"; idle_timeout = 1; }
);"
}

@test "a scrape after a scripted session: every counter exact" {
	start_metrics
	# chat: a, s, b fill max_clients; f is refused; s never reads and is
	# dropped while a sends 100000 lines; fl: x sends 10 lines at once and
	# is held back once.  The readiness probe visited each listener once.
	tclient <<'EOF'
open a ${CHAT}
name a
open s ${CHAT} rcvbuf=4096
name s
open b ${CHAT}
name b
expect a \* ${s} joined
expect a \* ${b} joined
expect s \* ${b} joined
open f ${CHAT}
expect f \* error: server full
expect_closed f
pause s
allow a \* ${s} left
allow b \* ${s} left
flood a 100000 a line of chat from the flooder, long enough to fill buffers quickly #
expect_seq a 100000 ${a}: a line of chat from the flooder, long enough to fill buffers quickly #
expect_seq b 100000 ${a}: a line of chat from the flooder, long enough to fill buffers quickly #
expect_seen a \* ${s} left
expect_closed s
open x ${FL}
name x
blast x 10 x
expect_seq x 10 ${x}: x
# leave cleanly: unread input at close would make a reset (reason error)
shut a
expect_closed a
shut b
expect_closed b
shut x
expect_closed x
EOF
	cp "$CHATD_CONF" "$CHATD_CONF.good"
	printf 'listeners = ( { name = "chat"; protocol = "nonsense"; } );\n' >"$CHATD_CONF"
	kill -HUP "$CHATD_PID"
	wait_log 'reload failed'
	cp "$CHATD_CONF.good" "$CHATD_CONF"
	# every client has been seen to leave
	wait_count 'chat: .*disconnected' 4
	wait_count 'fl: .*disconnected' 2
	scrape
	metric 'chatd_connections{listener="chat",protocol="chat"}' 0
	metric 'chatd_connections_accepted_total{listener="chat",protocol="chat"}' 4
	metric 'chatd_connections_rejected_total{listener="chat",protocol="chat",reason="full"}' 1
	metric 'chatd_connections_rejected_total{listener="chat",protocol="chat",reason="shutdown"}' 0
	metric 'chatd_disconnects_total{listener="chat",protocol="chat",reason="slow_consumer"}' 1
	metric 'chatd_disconnects_total{listener="chat",protocol="chat",reason="client"}' 3
	metric 'chatd_disconnects_total{listener="chat",protocol="chat",reason="flood"}' 0
	metric 'chatd_messages_received_total{listener="chat",protocol="chat"}' 100000
	metric 'chatd_messages_received_total{listener="fl",protocol="chat"}' 10
	metric 'chatd_bytes_received_total{listener="fl",protocol="chat"}' 30
	# its 10 lines back, "127.0.0.1:PORT: xN\r\n" (an ephemeral port: 5 digits)
	metric 'chatd_bytes_sent_total{listener="fl",protocol="chat"}' 210
	metric 'chatd_flood_holds_total{listener="fl",protocol="chat"}' 1
	metric 'chatd_flood_holds_total{listener="chat",protocol="chat"}' 0
	metric 'chatd_connections_accepted_total{listener="fl",protocol="chat"}' 2
	metric 'chatd_disconnects_total{listener="fl",protocol="chat",reason="client"}' 2
	metric 'chatd_tls_handshake_failures_total{listener="chat",protocol="chat"}' 0
	metric 'chatd_room_members{room="lobby"}' 0
	metric 'chatd_room_members{room="fl"}' 0
	metric 'chatd_deliveries_total{room="fl"}' 10
	metric 'chatd_reloads_total{result="success"}' 0
	metric 'chatd_reloads_total{result="failure"}' 1
	# the probe and this scrape, which counts itself as it is served
	metric 'chatd_connections_accepted_total{listener="m",protocol="metrics"}' 2
	metric 'chatd_messages_received_total{listener="m",protocol="metrics"}' 1
	grep -Eq '^process_open_fds [1-9][0-9]*$' "$SCRAPE" || fail "no process_open_fds"
	grep -Eq '^process_resident_memory_bytes [1-9][0-9]*$' "$SCRAPE" || fail "no process_resident_memory_bytes"
	grep -Eq '^chatd_build_info\{version="[^"]+",selector="[a-z]+",tls="(yes|no)"\} 1$' "$SCRAPE" ||
		fail "no chatd_build_info"
	# one sample per series, a HELP and a TYPE per family, no address
	[[ -z $(grep -v '^#' "$SCRAPE" | awk '{ print $1 }' | sort | uniq -d) ]] || fail "duplicate series"
	[[ $(grep -c '^# HELP' "$SCRAPE") == $(grep -c '^# TYPE' "$SCRAPE") ]] || fail "HELP/TYPE mismatch"
	! grep -q '127\.0\.0\.1' "$SCRAPE" || fail "an address in the scrape"
	# a successful reload is counted too
	kill -HUP "$CHATD_PID"
	wait_log 'configuration reloaded'
	scrape
	metric 'chatd_reloads_total{result="success"}' 1
	metric 'chatd_reloads_total{result="failure"}' 1
}

@test "promtool check metrics accepts a real scrape, silently" {
	local promtool
	if ! promtool=$("$CHATD_SRCDIR/tests/promtool.sh"); then
		[[ -z ${CHATD_REQUIRE_PROMTOOL:-} ]] || fail "CI must have promtool"
		skip "promtool not available (.ci/run provides it)"
	fi
	start_metrics
	tclient <<'EOF'
open a ${CHAT}
send a hello
expect a .*: hello
EOF
	scrape
	run --separate-stderr "$promtool" check metrics <"$SCRAPE"
	assert_success
	assert_output ''
	[[ -z $stderr ]] || fail "promtool: $stderr"
}

@test "/healthz: 200 while serving, 503 during a graceful shutdown" {
	start_metrics
	run http 'GET /healthz HTTP/1.1\r\n\r\n'
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
	assert_line $'Content-Type: text/plain; charset=utf-8\r'
	assert_line $'Connection: close\r'
	assert_line 'ok'
	# A chat client that stays keeps the shutdown going while we poll.
	"$PYTHON3" -c "import socket, time; s = socket.create_connection(('127.0.0.1', $P1)); time.sleep(30)" &
	local holder=$! i got=
	wait_count 'chat: .* connected' 2
	kill -TERM "$CHATD_PID"
	for ((i = 0; i < 250; i++)); do
		got=$(http 'GET /healthz HTTP/1.1\r\n\r\n' | head -n 1)
		[[ $got == *503* ]] && break
		sleep 0.02
	done
	kill "$holder"
	wait "$holder" 2>/dev/null || true
	[[ $got == $'HTTP/1.1 503 Service Unavailable\r' ]] || fail "healthz during shutdown: $got"
	wait_chatd 10
	((CHATD_STATUS == 0)) || fail "chatd exited with $CHATD_STATUS"
}

@test "HTTP errors: 404 other paths, 405 other methods, 400 bad requests, 431 an oversized head" {
	start_metrics
	run http 'GET /nothing HTTP/1.1\r\n\r\n'
	assert_line --index 0 $'HTTP/1.1 404 Not Found\r'
	run http 'POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n'
	assert_line --index 0 $'HTTP/1.1 405 Method Not Allowed\r'
	assert_line $'Allow: GET, HEAD\r'
	run http 'this is not http\r\n\r\n'
	assert_line --index 0 $'HTTP/1.1 400 Bad Request\r'
	run http "GET /metrics HTTP/1.1\r\nX-Big: $(head -c 9000 /dev/zero | tr '\0' a)\r\n\r\n"
	assert_line --index 0 $'HTTP/1.1 431 Request Header Fields Too Large\r'
	run http 'HEAD /metrics HTTP/1.1\r\n\r\n'
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
	refute_line --partial 'chatd_build_info'
	assert_chatd_alive
}

@test "a client that sends half a request head and stalls is closed (idle_timeout 1 s here, else 10 s)" {
	start_metrics
	tclient <<'EOF'
open h ${M}
send h GET /metrics HTTP/1.1
expect_eof h
EOF
	# Here the head deadline (10 s, cut to idle_timeout) and the idle sweep
	# both fall due at 1 s; either closing it is right, and whichever runs
	# first does (both count as disconnects{reason="idle"}).
	grep -Eq 'm: 127\.0\.0\.1:[0-9]+ disconnected \((request head|idle) timeout\)' "$CHATD_LOG" ||
		fail "not closed by a timeout"
	assert_chatd_alive
}

@test "metrics over TLS and on a unix socket; a failed handshake is counted" {
	"$CHATD_BIN" -V | grep -q '^tls: no' && skip "built without TLS"
	sockdir
	local d=$BATS_TEST_TMPDIR
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=localhost -keyout "$d/key.pem" -out "$d/cert.pem" 2>/dev/null
	CHATD_READY="$M" start_chatd "listeners = (
  { name = \"mtls\"; protocol = \"metrics\"; bind = \"$M\";
    tls = { cert = \"$d/cert.pem\"; key = \"$d/key.pem\"; }; },
  { name = \"munix\"; protocol = \"metrics\"; bind = \"unix:$SOCKDIR/m.sock\"; }
);"
	run "$PYTHON3" - "$P3" "$d/cert.pem" "$SOCKDIR/m.sock" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.check_hostname = False
def get(s):
    s.sendall(b'GET /metrics HTTP/1.1\r\n\r\n')
    out = b''
    while (b := s.recv(65536)):
        out += b
    return out.decode()
t = ctx.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[1]))))
print(get(t).split('\r\n')[0])
u = socket.socket(socket.AF_UNIX)
u.connect(sys.argv[3])
body = get(u)
print(body.split('\r\n')[0])
print([l for l in body.split('\n') if l.startswith('chatd_connections_accepted_total{listener="mtls"')][0])
def failures():
    u = socket.socket(socket.AF_UNIX)
    u.connect(sys.argv[3])
    key = 'chatd_tls_handshake_failures_total{listener="mtls",protocol="metrics"} '
    return int([l for l in get(u).split('\n') if l.startswith(key)][0][len(key):])
before = failures()
# plain HTTP to the TLS port: chatd closes it, and has counted it by then
g = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
g.sendall(b'GET /metrics HTTP/1.1\r\n\r\n')
while g.recv(65536):
    pass
print('handshake failures', failures() - before)
PY
	assert_success
	assert_line --index 0 'HTTP/1.1 200 OK'
	assert_line --index 1 'HTTP/1.1 200 OK'
	# the readiness probe (a failed handshake) and the TLS scrape
	assert_line --index 2 'chatd_connections_accepted_total{listener="mtls",protocol="metrics"} 2'
	assert_line --index 3 'handshake failures 1'
}
