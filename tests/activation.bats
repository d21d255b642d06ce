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
	CHATD_READY=$CHAT CHATD_EXEC_PREFIX="systemd-socket-activate -l $CHAT" \
		start_chatd "listeners = (
  { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; },
  { name = \"udp\"; protocol = \"echo\"; bind = \"udp:$ECHO\"; }
);"
	tclient <<'EOF'
udp u ${ECHO}
dgram u bound by chatd after activation
expect_dgram u bound by chatd after activation
EOF
}
