#!/usr/bin/env bats
# echo.bats - the echo protocol (RFC 862) over TCP, unix sockets and UDP
# (SPEC §6, PROTOCOL).

setup() {
	load helpers
	use_ports 2
	export ECHO=127.0.0.1:$P1
}

# start_echo [KEYS]: one TCP echo listener "echo" on $ECHO.
start_echo() {
	start_chatd "listeners = ( { name = \"echo\"; protocol = \"echo\"; bind = \"$ECHO\"; ${1:-} } );"
}

@test "every byte value comes back unchanged" {
	start_echo
	tclient <<'EOF'
open e ${ECHO}
echo_check e @all256
echo_check e \x00\r\n\r\n\x00
echo_check e no newline at all
echo_check e /quit\n
echo_check e @all256
EOF
}

@test "1 MiB of random bytes comes back byte-exact and in order" {
	start_echo
	tclient <<'EOF'
open e ${ECHO}
echo_check e @random:1048576
echo_check e @random:77777
EOF
}

@test "half-close: everything sent is echoed, then EOF" {
	start_echo
	tclient <<'EOF'
open e ${ECHO}
sendraw e @random:300000
shut e
expect_bytes e @random:300000
expect_eof e
open f ${ECHO}
shut f
expect_eof f
EOF
}

@test "many clients at once, each gets its own bytes" {
	start_echo
	local i
	{
		echo 'openmany e 100 ${ECHO}'
		for ((i = 0; i < 100; i++)); do echo "sendraw e$i client $i says hello\\n@"; done
		for ((i = 0; i < 100; i++)); do echo "expect_bytes e$i client $i says hello\\n@"; done
		for ((i = 0; i < 100; i += 7)); do echo "echo_check e$i @random:$((20000 + i))"; done
		for ((i = 0; i < 100; i++)); do echo "shut e$i"; done
		for ((i = 0; i < 100; i++)); do echo "expect_eof e$i"; done
	} | tclient
}

@test "an echo listener on a unix socket" {
	sockdir
	start_chatd "listeners = ( { name = \"uecho\"; protocol = \"echo\"; bind = \"unix:$SOCKDIR/echo.sock\"; } );"
	tclient <<'EOF'
open e unix:${SOCKDIR}/echo.sock
echo_check e @all256
echo_check e @random:200000
EOF
}

@test "UDP: each datagram goes back to its sender" {
	start_chatd "listeners = (
  { name = \"echo\"; protocol = \"echo\"; bind = \"$ECHO\"; },
  { name = \"echo-udp\"; protocol = \"echo\"; bind = \"udp:$ECHO\"; }
);"
	tclient <<'EOF'
udp u udp:${ECHO}
udp v udp:${ECHO}
dgram u hello
expect_dgram u hello
dgram v @all256
dgram u second
dgram u third
expect_dgram v @all256
expect_dgram u second
expect_dgram u third
dgram u @random:8000
expect_dgram u @random:8000
EOF
}

@test "max_clients: an extra echo client is closed without a message" {
	start_echo 'max_clients = 1;'
	tclient <<'EOF'
open a ${ECHO}
echo_check a first
open b ${ECHO}
expect_eof b
echo_check a still served
shut a
expect_eof a
open c ${ECHO}
echo_check c @random:1000
EOF
}
