#!/usr/bin/env bats
# abuse.bats - SPEC 19 and the review of issue 11: the UDP loop check,
# reloads that never leave an address unserved.  Flood control has its
# own file (flood.bats).

load helpers

setup() {
	use_ports 4
}

# udp_probe SRC_HOST SRC_PORT DST_PORT [REUSE]: sends one datagram from
# SRC_HOST:SRC_PORT (SO_REUSEADDR when REUSE is set, to share a port
# chatd serves) to 127.0.0.1:DST_PORT; prints "answered" or "silent".
# A silent result is only trusted after an answered one from the same
# test: the answer proves the daemon was serving.
udp_probe() {
	"$PYTHON3" - "$@" <<'PY'
import socket, sys
host, sport, dport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if len(sys.argv) > 4:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, sport))
s.settimeout(0.5)
s.sendto(b'loop?', ('127.0.0.1', dport))
try:
    data, _ = s.recvfrom(100)
    print('answered' if data == b'loop?' else 'garbled')
except socket.timeout:
    print('silent')
PY
}

start_two_udp_echoes() {
	start_chatd "listeners = (
  { name = \"tcp\"; protocol = \"echo\"; bind = \"127.0.0.1:$P1\"; },
  { name = \"u1\"; protocol = \"echo\"; bind = \"udp:127.0.0.1:$P2\"; },
  { name = \"u2\"; protocol = \"echo\"; bind = \"udp:127.0.0.1:$P3\"; }
);"
}

@test "UDP echo: an ordinary sender is answered" {
	start_two_udp_echoes
	run udp_probe 127.0.0.1 "$P4" "$P2"
	assert_output answered
}

@test "UDP echo: a datagram from another of chatd's own UDP sockets is not answered (no loop)" {
	start_two_udp_echoes
	run udp_probe 127.0.0.1 "$P4" "$P3"
	assert_output answered
	# Sent from u1's own address and port, to u2: u2 must stay silent, or
	# the two would bounce one datagram forever.
	run udp_probe 127.0.0.1 "$P2" "$P3" reuse
	assert_output silent
	assert_chatd_alive
}

@test "UDP echo: datagrams from the small services' ports (7 9 13 17 19 37) are not answered" {
	start_two_udp_echoes
	run udp_probe 127.0.0.1 "$P4" "$P2"
	assert_output answered
	for port in 7 9 13 17 19 37; do
		run udp_probe 127.0.0.1 "$port" "$P2"
		assert_output silent
	done
}

@test "reload: a new listener whose port is taken fails the whole reload; every old listener keeps serving" {
	start_chatd "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"127.0.0.1:$P1\"; } );"
	# Somebody else holds P2.
	"$PYTHON3" -c "
import socket, time, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $P2)); s.listen(1); print('held', flush=True); time.sleep(60)" >"$BATS_TEST_TMPDIR/holder.out" &
	holder=$!
	until grep -q held "$BATS_TEST_TMPDIR/holder.out"; do sleep 0.02; done
	reload_to "listeners = (
  { name = \"chat\"; protocol = \"chat\"; bind = \"127.0.0.1:$P1\"; motd = \"new\"; },
  { name = \"other\"; protocol = \"echo\"; bind = \"127.0.0.1:$P2\"; }
);"
	kill -HUP "$CHATD_PID"
	wait_log "other: cannot listen on 127.0.0.1:$P2: Address already in use"
	wait_log "reload failed, keeping the running configuration"
	kill "$holder"
	# All or nothing: the kept listener's motd did not change either.
	tclient <<'EOF'
open a 127.0.0.1:${P1}
send a hello
expect a .*: hello
EOF
	run ! grep -q "configuration reloaded" "$CHATD_LOG"
}

@test "reload: an address moving to a renamed listener is never unserved (the socket moves)" {
	start_chatd "listeners = ( { name = \"old\"; protocol = \"chat\"; bind = \"127.0.0.1:$P1\"; } );"
	tclient <<'EOF'
open a 127.0.0.1:${P1}
send a before
expect a .*: before
EOF
	reload_to "listeners = ( { name = \"new\"; protocol = \"echo\"; bind = \"127.0.0.1:$P1\"; } );"
	kill -HUP "$CHATD_PID"
	wait_log "configuration reloaded"
	wait_log "old: its address 127.0.0.1:$P1 moves to listener new"
	tclient <<'EOF'
open e 127.0.0.1:${P1}
echo_check e now an echo
EOF
}
