#!/usr/bin/env bats
# notify.bats - the sd_notify(3) protocol without systemd (SPEC §7, §8;
# issue 5): the test plays the service manager with a unix datagram
# socket in NOTIFY_SOCKET and records what arrives, who sent it (the
# kernel's SCM_CREDENTIALS) and whether the listeners accepted
# connections at that moment.  Built with or without libsystemd alike:
# without it chatd speaks the datagram protocol itself.

setup() {
	load helpers
	use_ports 2
	export CHAT=127.0.0.1:$P1 CHAT2=127.0.0.1:$P2
	sockdir
	export NOTIFY_SOCKET=$SOCKDIR/notify.sock NOTES=$BATS_TEST_TMPDIR/notes
	start_receiver
}

teardown() {
	chatd_teardown
	if [[ -n ${RECEIVER_PID:-} ]]; then
		kill "$RECEIVER_PID" 2>/dev/null
		wait "$RECEIVER_PID" 2>/dev/null || true
	fi
	if [[ -s ${NOTES:-} ]]; then
		echo "# --- notifications received ---"
		sed 's/^/# /' "$NOTES"
	fi >&2
}

# start_receiver: binds $NOTIFY_SOCKET and appends one line per message to
# $NOTES: "T=<CLOCK_MONOTONIC usec> PID=<sender> PROBE=<p1>,<p2> FIELD ...",
# where p1/p2 say whether 127.0.0.1:$P1 / :$P2 accepted a connection when
# the message arrived (up or down).  Exits after STOPPING=1 or a minute.
start_receiver() {
	"$PYTHON3" - "$NOTIFY_SOCKET" "$NOTES" "$P1" "$P2" <<'EOF' &
import os, select, socket, struct, sys, time
path, notes, ports = sys.argv[1], sys.argv[2], sys.argv[3:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
if path.startswith('@'):                # abstract namespace: no file
    s.bind('\0' + path[1:])
    open(notes + '.bound', 'w').close()
else:
    s.bind(path + '.tmp')
    os.rename(path + '.tmp', path)      # appears only once it is bound
    open(notes + '.bound', 'w').close()
def probe(port):
    c = socket.socket()
    c.settimeout(1)
    try:
        c.connect(('127.0.0.1', int(port)))
        return 'up'
    except OSError:
        return 'down'
    finally:
        c.close()
deadline = time.monotonic() + 60
with open(notes, 'a', buffering=1) as f:
    while time.monotonic() < deadline:
        if not select.select([s], [], [], 0.5)[0]:
            continue
        msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        now = time.monotonic_ns() // 1000
        pid = next((struct.unpack('iII', d)[0] for lvl, typ, d in anc
                    if lvl == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS), '?')
        fields = msg.decode('utf-8', 'replace').split('\n')
        up = ','.join(probe(p) for p in ports)
        f.write(f"T={now} PID={pid} PROBE={up} " + ' '.join(x.replace(' ', '_') for x in fields if x) + '\n')
        if 'STOPPING=1' in fields:
            break
EOF
	RECEIVER_PID=$!
	local start=$SECONDS
	until [[ -e $NOTES.bound ]]; do
		((SECONDS - start < 5)) || fail "the notification receiver did not start"
		sleep 0.01
	done
}

# wait_note N REGEX: waits until the notes hold at least N lines matching
# REGEX (extended), bounded.
wait_note() {
	local start=$SECONDS
	until (($(grep -Ec -- "$2" "$NOTES" 2>/dev/null) >= $1)); do
		((SECONDS - start < CLIENT_TIMEOUT)) ||
			fail "fewer than $1 notifications matching '$2' within $CLIENT_TIMEOUT s"
		sleep 0.02
	done
}

# note N REGEX: the Nth line of the notes that matches REGEX.
note() {
	grep -E -- "$2" "$NOTES" | sed -n "${1}p"
}

# line_of N REGEX: the line number in the notes of that match.
line_of() {
	grep -nE -- "$2" "$NOTES" | sed -n "${1}p" | cut -d: -f1
}

@test "READY=1 comes from the daemon's own pid once its listeners accept connections" {
	start_chatd "log = { target = \"stderr\"; };
listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	wait_note 1 ' READY=1'
	local ready
	ready=$(note 1 ' READY=1')
	[[ $ready == *" PID=$CHATD_PID "* ]] ||
		fail "READY=1 was not sent by chatd (pid $CHATD_PID), so NotifyAccess=main would drop it: $ready"
	[[ $ready == *" PROBE=up,"* ]] || fail "READY=1 arrived before $CHAT accepted connections: $ready"
	assert_equal "$(grep -c ' READY=1' "$NOTES")" 1
	! grep -Eq ' (RELOADING|STOPPING)=1' "$NOTES" || fail "unexpected state changes at start-up"
}

@test "SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1 once the new listener is up" {
	start_chatd "log = { target = \"stderr\"; };
listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	wait_note 1 ' READY=1'
	printf '%s\n' "log = { target = \"stderr\"; };
listeners = (
  { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; },
  { name = \"more\"; protocol = \"chat\"; bind = \"$CHAT2\"; }
);" >"$CHATD_CONF.new"
	mv "$CHATD_CONF.new" "$CHATD_CONF"
	kill -HUP "$CHATD_PID"
	wait_note 2 ' READY=1'
	local reloading ready t usec
	reloading=$(note 1 ' RELOADING=1')
	[[ -n $reloading ]] || fail "no RELOADING=1 before the second READY=1"
	(($(line_of 1 ' RELOADING=1') < $(line_of 2 ' READY=1'))) ||
		fail "RELOADING=1 did not come before READY=1"
	[[ $reloading == *" PID=$CHATD_PID "* ]] || fail "RELOADING=1 not from chatd: $reloading"
	# MONOTONIC_USEC is CLOCK_MONOTONIC when the reload began: no later than
	# its arrival here and not long before it.
	usec=$(grep -oE 'MONOTONIC_USEC=[0-9]+' <<<"$reloading" | cut -d= -f2)
	t=$(grep -oE '^T=[0-9]+' <<<"$reloading" | cut -d= -f2)
	[[ -n $usec ]] || fail "RELOADING=1 without MONOTONIC_USEC=: $reloading"
	((usec <= t && t - usec < 5000000)) ||
		fail "MONOTONIC_USEC=$usec is not CLOCK_MONOTONIC at the reload (received at $t)"
	ready=$(note 2 ' READY=1')
	[[ $ready == *" PROBE=up,up "* ]] ||
		fail "READY=1 after the reload came before the new listener accepted connections: $ready"
	assert_chatd_alive
}

@test "SIGHUP with a broken config: RELOADING=1, then READY=1 all the same" {
	start_chatd "log = { target = \"stderr\"; };
listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	wait_note 1 ' READY=1'
	echo 'listeners = ( { name = "chat"; protocol = "chat"; bind = "'"$CHAT"'"; colour = "red"; } );' \
		>"$CHATD_CONF.new"
	mv "$CHATD_CONF.new" "$CHATD_CONF"
	kill -HUP "$CHATD_PID"
	wait_note 2 ' READY=1'
	(($(line_of 1 ' RELOADING=1') < $(line_of 2 ' READY=1'))) ||
		fail "no RELOADING=1 before the second READY=1"
	wait_log 'colour'
	tclient <<'EOF'
open a ${CHAT}
name a
send a still serving
expect a ${a}: still serving
EOF
}

@test "SIGTERM: STOPPING=1 from the daemon, then a clean exit" {
	start_chatd "log = { target = \"stderr\"; };
listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	wait_note 1 ' READY=1'
	kill -TERM "$CHATD_PID"
	wait_note 1 ' STOPPING=1'
	[[ $(note 1 ' STOPPING=1') == *" PID=$CHATD_PID "* ]] || fail "STOPPING=1 not from chatd"
	wait_chatd 10
	assert_equal "$CHATD_STATUS" 0
	assert_equal "$(grep -c ' READY=1' "$NOTES")" 1
}

@test "WATCHDOG_USEC set: WATCHDOG=1 keep-alives from the daemon, less than a period apart" {
	export WATCHDOG_USEC=1000000
	start_chatd "log = { target = \"stderr\"; };
listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	wait_note 3 ' WATCHDOG=1'
	# chatd pings every half period; systemd would kill it after a whole
	# period without one.
	if grep ' WATCHDOG=1' "$NOTES" | grep -v " PID=$CHATD_PID "; then
		fail "a WATCHDOG=1 not from chatd"
	fi
	grep ' WATCHDOG=1' "$NOTES" | grep -oE '^T=[0-9]+' | cut -d= -f2 |
		awk 'NR > 1 && $1 - prev >= 1000000 { print "gap " $1 - prev " us"; bad = 1 }
			{ prev = $1 } END { exit bad }' || fail "WATCHDOG=1 pings a whole period apart"
}

@test "NOTIFY_SOCKET in the abstract namespace (@NAME): READY=1 and STOPPING=1 arrive" {
	kill "$RECEIVER_PID"
	wait "$RECEIVER_PID" 2>/dev/null || true
	rm -f "$NOTES" "$NOTES.bound"
	export NOTIFY_SOCKET=@chatd-bats-$$-$RANDOM
	start_receiver
	start_chatd "log = { target = \"stderr\"; };
listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	wait_note 1 ' READY=1'
	[[ $(note 1 ' READY=1') == *" PID=$CHATD_PID "* ]] || fail "READY=1 not from chatd"
	kill -TERM "$CHATD_PID"
	wait_note 1 ' STOPPING=1'
	wait_chatd 10
	assert_equal "$CHATD_STATUS" 0
}
