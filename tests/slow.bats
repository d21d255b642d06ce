#!/usr/bin/env bats
# slow.bats - slow consumers and back-pressure (SPEC §5 slow consumer, §6
# flow control): clients that stop reading must not make the daemon grow
# without bound nor hold up anyone else.

setup() {
	load helpers
	use_ports 2
	export CHAT=127.0.0.1:$P1 ECHO=127.0.0.1:$P2
}

# assert_memory_bounded: the daemon's peak resident size (VmHWM) stayed
# under CHATD_RSS_LIMIT_MB (default 64; 256 for sanitizer builds, whose
# allocator keeps freed memory in quarantine).  Linux only; not under a
# wrapper such as valgrind, which has its own footprint.
assert_memory_bounded() {
	[[ -r /proc/$CHATD_PID/status && -z ${CHATD_WRAPPER:-} ]] || return 0
	local limit=${CHATD_RSS_LIMIT_MB:-64} hwm
	grep -q __asan_init "$CHATD_BIN" 2>/dev/null && limit=${CHATD_RSS_LIMIT_MB:-256}
	hwm=$(proc_status_kb VmHWM)
	echo "# chatd peak RSS: $hwm KiB (limit $limit MiB)"
	((hwm < limit * 1024)) || fail "chatd peak RSS $hwm KiB exceeds $limit MiB"
}

@test "chat: a client that never reads is dropped; the others get every line" {
	start_chatd "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; max_queue = 65536; rate = 0; } );"
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT}
name b
open s ${CHAT} rcvbuf=4096
name s
expect a \* ${b} joined
expect a \* ${s} joined
expect b \* ${s} joined
pause s
allow a \* ${s} left
allow b \* ${s} left
flood a 100000 a line of chat from the flooder, long enough to fill buffers quickly #
expect_seq a 100000 ${a}: a line of chat from the flooder, long enough to fill buffers quickly #
expect_seq b 100000 ${a}: a line of chat from the flooder, long enough to fill buffers quickly #
expect_seen a \* ${s} left
expect_seen b \* ${s} left
expect_closed s
send b /who
expect b \* users: ${a}, ${b}
EOF
	assert_chatd_alive
	assert_memory_bounded
}

@test "chat: several slow consumers at once, and a new client joins afterwards" {
	start_chatd "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; max_queue = 65536; rate = 0; } );"
	{
		echo 'open a ${CHAT}'
		echo 'name a'
		for i in 1 2 3 4 5; do
			echo "open s$i \${CHAT} rcvbuf=4096"
			echo "name s$i"
			echo "expect a \\* \${s$i} joined"
			echo "pause s$i"
			echo "allow a \\* \${s$i} left"
		done
		echo 'flood a 100000 a fan-out line padded to about one hundred bytes so that kernel buffers overflow #'
		echo 'expect_seq a 100000 ${a}: a fan-out line padded to about one hundred bytes so that kernel buffers overflow #'
		for i in 1 2 3 4 5; do
			echo "expect_seen a \\* \${s$i} left"
			echo "expect_closed s$i"
		done
		echo 'open n ${CHAT}'
		echo 'name n'
		echo 'expect a \* ${n} joined'
		echo 'send n hello'
		echo 'expect a ${n}: hello'
		echo 'send a /who'
		echo 'expect a \* users: ${a}, ${n}'
	} | tclient
	assert_memory_bounded
}

@test "echo: a client that sends without reading is throttled; others are served" {
	start_chatd "listeners = ( { name = \"echo\"; protocol = \"echo\"; bind = \"$ECHO\"; max_queue = 65536; } );"
	tclient <<'EOF'
open e ${ECHO} rcvbuf=16384
fill e 67108864
open f ${ECHO}
echo_check f @random:200000
fill e 67108864
echo_check f @all256
expect_fill e
echo_check e @random:1000
EOF
	assert_chatd_alive
	assert_memory_bounded
}
