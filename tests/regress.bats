#!/usr/bin/env bats
# regress.bats - behaviour that a code review of the daemon found broken
# once; each test fails on the code before its fix.

setup() {
	load helpers
	use_ports 2
	export CHAT=127.0.0.1:$P1 CHAT2=127.0.0.1:$P2
}

teardown() {
	detached_teardown
}

@test "reload: a listener renamed on the same address keeps the port" {
	start_chatd "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; room = \"lobby\"; } );"
	reload_to "listeners = ( { name = \"renamed\"; protocol = \"chat\"; bind = \"$CHAT\"; room = \"lobby\"; } );"
	kill -HUP "$CHATD_PID"
	wait_log 'configuration reloaded'
	tclient <<'EOF'
open b ${CHAT}
name b
send b still served after the rename
expect b ${b}: still served after the rename
EOF
	grep -q 'renamed: chat listener on' "$CHATD_LOG"
}

@test "reload: two listeners swapping addresses both come back" {
	start_chatd "listeners = (
  { name = \"one\"; protocol = \"chat\"; bind = \"$CHAT\"; room = \"r1\"; },
  { name = \"two\"; protocol = \"echo\"; bind = \"$CHAT2\"; }
);"
	reload_to "listeners = (
  { name = \"one\"; protocol = \"chat\"; bind = \"$CHAT2\"; room = \"r1\"; },
  { name = \"two\"; protocol = \"echo\"; bind = \"$CHAT\"; }
);"
	kill -HUP "$CHATD_PID"
	wait_log 'configuration reloaded'
	tclient <<'EOF'
open c ${CHAT2}
name c
send c chat moved here
expect c ${c}: chat moved here
open e ${CHAT}
echo_check e echo moved here
EOF
}

@test "a line that fills max_queue with its name prefix is delivered, not a slow consumer" {
	start_chatd "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; max_line = 1020; max_queue = 1024; } );"
	LINE=$(printf 'x%.0s' $(seq 1020))
	export LINE
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT}
name b
expect a \* ${b} joined
send a ${LINE}
expect a ${a}: x{1020}
expect b ${a}: x{1020}
send b /who
expect b \* users: ${a}, ${b}
EOF
	run grep -c 'slow consumer' "$CHATD_LOG"
	assert_output 0
}

@test "-d with a relative -c and -p: reload works after detaching, the pidfile goes at exit" {
	local dir=$BATS_TEST_TMPDIR/rel
	mkdir -p "$dir"
	printf '%s\n' "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );" \
		"log = { target = \"file:$dir/chatd.log\"; level = \"info\"; };" >"$dir/chatd.conf"
	(cd "$dir" && "$CHATD_BIN" -d -c chatd.conf -p chatd.pid)
	DETACHED_PID=$(cat "$dir/chatd.pid")
	printf '%s\n' "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; }," \
		"  { name = \"more\"; protocol = \"chat\"; bind = \"$CHAT2\"; } );" \
		"log = { target = \"file:$dir/chatd.log\"; level = \"info\"; };" >"$dir/chatd.conf"
	kill -HUP "$DETACHED_PID"
	"$PYTHON3" "$TCLIENT" -t 5 --wait-listen "$CHAT2"
	kill -TERM "$DETACHED_PID"
	wait_gone "$DETACHED_PID"
	[[ ! -e $dir/chatd.pid ]] || fail "the pidfile outlived the daemon"
	grep -q 'configuration reloaded' "$dir/chatd.log"
}

@test "-d with a pidfile from the config: it survives a reload and is removed at exit" {
	local dir=$BATS_TEST_TMPDIR/pid
	mkdir -p "$dir"
	printf '%s\n' "pidfile = \"$dir/chatd.pid\";" \
		"listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );" \
		"log = { target = \"file:$dir/chatd.log\"; level = \"info\"; };" >"$dir/chatd.conf"
	"$CHATD_BIN" -d -c "$dir/chatd.conf"
	DETACHED_PID=$(cat "$dir/chatd.pid")
	kill -HUP "$DETACHED_PID"
	"$PYTHON3" "$TCLIENT" -t 5 --wait-listen "$CHAT"
	kill -TERM "$DETACHED_PID"
	wait_gone "$DETACHED_PID"
	[[ ! -e $dir/chatd.pid ]] || fail "the pidfile outlived the daemon"
}

@test "out of memory remembering the config path: start-up fails (a reload would load the defaults)" {
	[[ -z ${CHATD_WRAPPER:-} ]] || skip "a wrapper (valgrind) replaces the allocator"
	# ASan (linked in statically by clang, or as libasan by gcc) intercepts
	# strdup itself, ahead of any preloaded shim.
	! grep -qa __asan_init "$CHATD_BIN" || skip "built with ASan, whose strdup comes before the shim"
	local cc=${CC:-cc} shim=$BATS_TEST_TMPDIR/fail-strdup.so conf=$BATS_TEST_TMPDIR/chatd.conf
	command -v "$cc" >/dev/null || skip "no C compiler for the shim"
	"$cc" -shared -fPIC -o "$shim" "$TDATA/fail-strdup.c"
	echo "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );" >"$conf"
	# The config loader copies the path first, main's absolute() second.
	run "$TIMEOUT_CMD" 10 env LD_PRELOAD="$shim" FAIL_STRDUP_ARG="$conf" FAIL_STRDUP_NTH=2 \
		"$CHATD_BIN" -c "$conf"
	echo "$output"
	((status != 124)) || fail "chatd started without its configuration path"
	assert_equal "$status" 71
	assert_output --partial "cannot remember the configuration path $conf"
}
