#!/usr/bin/env bats
# activation.bats - systemd socket activation (SPEC §8), driven by
# systemd-socket-activate(1), which starts the daemon at the first
# connection with the sockets in LISTEN_FDS (it execs in place, so the pid
# we started is the daemon's).

setup() {
	load helpers
	command -v systemd-socket-activate >/dev/null || skip "no systemd-socket-activate"
	use_ports 3
	export CHAT=127.0.0.1:$P1 ECHO=127.0.0.1:$P2 OTHER=127.0.0.1:$P3
}

# have_fdnames: chatd was built with libsystemd (socket names are known).
have_fdnames() {
	"$CHATD_BIN" -V | grep -Eq '^systemd: yes'
}

@test "an inherited socket is adopted by its address; the other listeners are bound" {
	CHATD_EXEC_PREFIX="systemd-socket-activate -l $CHAT" start_chatd "listeners = (
  { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; },
  { name = \"echo\"; protocol = \"echo\"; bind = \"$ECHO\"; }
);"
	tclient <<'EOF'
open a ${CHAT}
name a
send a activated
expect a ${a}: activated
open e ${ECHO}
echo_check e @all256
EOF
}

@test "an inherited socket is adopted by its name (FileDescriptorName=)" {
	have_fdnames || skip "chatd built without libsystemd"
	CHATD_READY=$CHAT CHATD_EXEC_PREFIX="systemd-socket-activate -l $CHAT --fdname=chat" \
		start_chatd "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$OTHER\"; } );"
	tclient <<'EOF'
open a ${CHAT}
name a
send a adopted by name
expect a ${a}: adopted by name
refused_wait ${OTHER}
EOF
}

@test "an inherited socket that matches no listener is logged and closed" {
	CHATD_READY=$CHAT CHATD_EXEC_PREFIX="systemd-socket-activate -l $CHAT -l $OTHER" \
		start_chatd "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	tclient <<'EOF'
refused_wait ${OTHER}
open a ${CHAT}
name a
send a still fine
expect a ${a}: still fine
EOF
	grep -q -- "$OTHER\|unknown\|stray\|unused\|no listener" "$CHATD_LOG" ||
		fail "nothing logged about the unmatched socket"
}

@test "a UDP echo socket can be inherited too" {
	command -v ss >/dev/null || skip "no ss"
	# -d: the activator passes a datagram socket and starts chatd at the
	# first datagram, which waits in that socket for chatd to answer it.
	CHATD_EXEC_PREFIX="systemd-socket-activate -d -l $ECHO" \
		start_chatd "listeners = ( { name = \"udp\"; protocol = \"echo\"; bind = \"udp:$ECHO\"; } );"
	tclient <<'EOF'
udp u ${ECHO}
dgram u answered from the inherited socket
expect_dgram u answered from the inherited socket
EOF
	local lines
	lines=$(ss -Hlunp "sport = :$P2")
	[[ $(grep -c . <<<"$lines") == 1 ]] ||
		fail "expected one UDP socket on port $P2; ss -lunp shows: ${lines:-nothing}"
	[[ $lines == *"pid=$CHATD_PID,fd=3)"* ]] ||
		fail "the UDP socket on port $P2 is not the one passed in (chatd pid $CHATD_PID, fd 3): $lines"
}

# assert_adopted PORT FD: exactly one TCP socket listens on PORT, held by
# the daemon alone as descriptor FD, the position systemd passed it at
# (LISTEN_FDS start at 3): adopted, not bound a second time.
assert_adopted() {
	command -v ss >/dev/null || skip "no ss"
	local lines
	lines=$(ss -Hltnp "sport = :$1")
	[[ $(grep -c . <<<"$lines") == 1 ]] ||
		fail "expected one listening socket on port $1; ss -ltnp shows: ${lines:-nothing}"
	[[ $(grep -o 'pid=' <<<"$lines" | wc -l) == 1 ]] ||
		fail "the socket on port $1 is held by more than one process: $lines"
	[[ $lines == *"pid=$CHATD_PID,fd=$2)"* ]] ||
		fail "the socket on port $1 is not chatd's (pid $CHATD_PID) fd $2: $lines"
}

# start_activated_no_wait PREFIX CONF_TEXT: runs the daemon under PREFIX
# (systemd-socket-activate ...) in the background without the readiness
# probe; sets CHATD_PID (the activator, which becomes chatd) for
# wait_chatd.  For sockets whose start the test triggers itself.
start_activated_no_wait() {
	CHATD_CONF=$BATS_TEST_TMPDIR/chatd.conf CHATD_LOG=$BATS_TEST_TMPDIR/chatd.stderr
	printf '%s\n' "$2" >"$CHATD_CONF"
	"$TIMEOUT_CMD" -k 5 "$HARD_TIMEOUT" $1 ${CHATD_WRAPPER:-} "$CHATD_BIN" -c "$CHATD_CONF" \
		</dev/null >/dev/null 2>"$CHATD_LOG" 3>&- &
	CHATD_TIMEOUT_PID=$!
	local start=$SECONDS
	until CHATD_PID=$(pgrep -P "$CHATD_TIMEOUT_PID" | head -n 1) && [[ -n $CHATD_PID ]]; do
		((SECONDS - start < 5)) || fail "the activator did not start"
		sleep 0.01
	done
}

# poke_until_exit KIND ADDR: sends a datagram (KIND dgram) or connects
# (KIND stream, ADDR unix:PATH or HOST:PORT) every 20 ms until CHATD_PID
# has exited (bounded): the first one makes the activator start chatd.
poke_until_exit() {
	"$PYTHON3" - "$1" "$2" "$CHATD_PID" "$READY_TIMEOUT" <<'EOF'
import os, socket, sys, time
kind, addr, pid, limit = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
def gone():
    try:
        return open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[0] == 'Z'
    except OSError:
        return True
if addr.startswith('unix:'):
    fam, sa = socket.AF_UNIX, addr[5:]
else:
    host, port = addr.rsplit(':', 1)
    fam, sa = socket.AF_INET, (host, int(port))
deadline = time.monotonic() + limit
while not gone():
    if time.monotonic() > deadline:
        sys.exit(f"process {pid} still running after {limit} s")
    s = socket.socket(fam, socket.SOCK_DGRAM if kind == 'dgram' else socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        s.sendto(b'wake up\n', sa) if kind == 'dgram' else s.connect(sa)
    except OSError:
        pass
    s.close()
    time.sleep(0.02)
EOF
}

@test "two named sockets (chat, echo) are both served and adopted, not bound again" {
	CHATD_EXEC_PREFIX="systemd-socket-activate -l $CHAT --fdname=chat -l $ECHO --fdname=echo" \
		start_chatd "listeners = (
  { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; },
  { name = \"echo\"; protocol = \"echo\"; bind = \"$ECHO\"; }
);"
	# The activator execs in place: the pid it had is now chatd's.
	[[ -n ${CHATD_WRAPPER:-} ]] || assert_equal "$(cat "/proc/$CHATD_PID/comm")" chatd
	tclient <<'EOF'
open a ${CHAT}
name a
send a on the inherited chat socket
expect a ${a}: on the inherited chat socket
open e ${ECHO}
echo_check e @all256
EOF
	assert_adopted "$P1" 3
	assert_adopted "$P2" 4
	grep -q "chat: chat listener on $CHAT (socket passed in)" "$CHATD_LOG" ||
		fail "chat was not reported as passed in"
	grep -q "echo: echo listener on $ECHO (socket passed in)" "$CHATD_LOG" ||
		fail "echo was not reported as passed in"
	! grep -q 'matches no listener' "$CHATD_LOG" || fail "a passed socket was left unused"
}

@test "a datagram socket named for a chat listener: exit non-zero with an error naming the listener" {
	start_activated_no_wait "systemd-socket-activate -d -l $CHAT --fdname=chat" \
		"listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	poke_until_exit dgram "$CHAT"
	wait_chatd 5
	((CHATD_STATUS != 0 && CHATD_STATUS < 124)) ||
		fail "chatd exited with status $CHATD_STATUS, want a start-up error"
	grep -E '(^|[^a-z])chat: .*datagram' "$CHATD_LOG" ||
		fail "no error naming the listener 'chat' and the datagram socket"
}

@test "a unix socket named for a TCP chat listener: exit non-zero with an error naming the listener" {
	sockdir
	start_activated_no_wait "systemd-socket-activate -l $SOCKDIR/act.sock --fdname=chat" \
		"listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	poke_until_exit stream "unix:$SOCKDIR/act.sock"
	wait_chatd 5
	((CHATD_STATUS != 0 && CHATD_STATUS < 124)) ||
		fail "chatd exited with status $CHATD_STATUS, want a start-up error"
	grep -E '(^|[^a-z])chat: .*unix' "$CHATD_LOG" ||
		fail "no error naming the listener 'chat' and the unix socket"
}

@test "a stream socket whose name matches no listener is adopted by its address" {
	CHATD_EXEC_PREFIX="systemd-socket-activate -l $CHAT --fdname=nosuchname" \
		start_chatd "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	tclient <<'EOF'
open a ${CHAT}
name a
send a adopted by address
expect a ${a}: adopted by address
EOF
	assert_adopted "$P1" 3
	grep -q "chat: chat listener on $CHAT (socket passed in)" "$CHATD_LOG" ||
		fail "chat was not reported as passed in"
	! grep -q 'matches no listener' "$CHATD_LOG" || fail "the passed socket was left unused"
}
