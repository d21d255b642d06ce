#!/usr/bin/env bats
# config.bats - configuration that changes what the running daemon does
# (SPEC §4, §14): @include, address forms, unix socket modes, durations,
# the log section.  The built-in defaults (fixed ports 1234/9001) are
# deliberately not started here: fixed ports collide on shared machines.

setup() {
	load helpers
	use_ports 3
	export CHAT=127.0.0.1:$P1
}

# have_ipv6: the IPv6 loopback can be bound.
have_ipv6() {
	"$PYTHON3" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null
}

@test "@include is relative to the including file, whatever the current directory" {
	local dir=$BATS_TEST_TMPDIR/etc
	mkdir -p "$dir/conf.d"
	cat >"$dir/chatd.conf" <<EOF
shutdown_timeout = 2;
@include "conf.d/listeners.conf"
EOF
	cat >"$dir/conf.d/listeners.conf" <<EOF
listeners = ( { name = "chat"; protocol = "chat"; bind = "$CHAT"; motd = "included"; } );
EOF
	cd /
	run --separate-stderr chatd_cmd -t -c "$dir/chatd.conf"
	assert_success
	assert_output 'configuration OK'
	CHATD_READY=$CHAT start_chatd_file "$dir/chatd.conf"
	tclient <<'EOF'
open a ${CHAT}
expect a \* included
EOF
}

@test "@include from the tests/data tree checks out with -t from another directory" {
	cd /
	run --separate-stderr chatd_cmd -t -c "$TDATA/include/main.conf"
	assert_success
	assert_output 'configuration OK'
}

@test "an IPv6 listener names its clients [V6]:PORT" {
	have_ipv6 || skip "no IPv6 loopback"
	export CHAT6="[::1]:$P2"
	start_chatd "listeners = (
  { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; room = \"lobby\"; },
  { name = \"chat6\"; protocol = \"chat\"; bind = \"$CHAT6\"; room = \"lobby\"; }
);"
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT6}
name b
expect a \* ${b} joined
send b hello
expect a ${b}: hello
expect b ${b}: hello
send a hi
expect b ${a}: hi
EOF
}

@test "*:PORT accepts IPv4 and (where available) IPv6 clients" {
	start_chatd "listeners = ( { name = \"any\"; protocol = \"echo\"; bind = \"*:$P1\"; } );"
	tclient <<'EOF'
open a 127.0.0.1:${P1}
echo_check a over IPv4
EOF
	if have_ipv6; then
		tclient <<'EOF'
open b [::1]:${P1}
echo_check b over IPv6
EOF
	fi
}

@test "a unix listener gets the configured mode and its file is removed at exit" {
	sockdir
	start_chatd "listeners = (
  { name = \"local\"; protocol = \"chat\"; bind = \"unix:$SOCKDIR/chat.sock\"; mode = \"0660\"; },
  { name = \"open\"; protocol = \"echo\"; bind = \"unix:$SOCKDIR/echo.sock\"; mode = \"0666\"; }
);"
	[[ -S $SOCKDIR/chat.sock ]] || fail "no socket at $SOCKDIR/chat.sock"
	local mode
	mode=$("$PYTHON3" -c 'import os, stat, sys; print("%o" % stat.S_IMODE(os.stat(sys.argv[1]).st_mode))' "$SOCKDIR/chat.sock")
	assert_equal "$mode" 660
	mode=$("$PYTHON3" -c 'import os, stat, sys; print("%o" % stat.S_IMODE(os.stat(sys.argv[1]).st_mode))' "$SOCKDIR/echo.sock")
	assert_equal "$mode" 666
	stop_chatd
	[[ ! -e $SOCKDIR/chat.sock ]] || fail "$SOCKDIR/chat.sock left behind"
}

@test "a stale unix socket file from an earlier run does not stop the start" {
	sockdir
	"$PYTHON3" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$SOCKDIR/chat.sock"
	[[ -S $SOCKDIR/chat.sock ]]
	start_chatd "listeners = ( { name = \"local\"; protocol = \"chat\"; bind = \"unix:$SOCKDIR/chat.sock\"; } );"
	tclient <<'EOF'
open a unix:${SOCKDIR}/chat.sock
send a hi
expect a unix:[0-9]+: hi
EOF
}

@test "durations take integers or floats, sizes take integers" {
	local f=$BATS_TEST_TMPDIR/d.conf
	# durations.conf TIMEOUT MAX_LINE
	durations_conf() {
		cat >"$f" <<EOF
shutdown_timeout = $1;
listeners = (
  { name = "a"; protocol = "chat"; bind = "$CHAT"; idle_timeout = 90; max_line = $2; max_queue = 100000; },
  { name = "b"; protocol = "chat"; bind = "127.0.0.1:$P2"; idle_timeout = 0.25; }
);
EOF
	}
	durations_conf 3 2048
	run --separate-stderr chatd_cmd -t -c "$f"
	assert_success
	durations_conf 2.5 2048
	run --separate-stderr chatd_cmd -t -c "$f"
	assert_success
	durations_conf 2.5 2048.0
	run --separate-stderr chatd_cmd -t -c "$f"
	assert_failure 78
	[[ $stderr == *"d.conf:3: "*max_line* ]] || fail "stderr is '$stderr'"
}

@test "max_line applies per listener" {
	start_chatd "listeners = (
  { name = \"short\"; protocol = \"chat\"; bind = \"$CHAT\"; room = \"r\"; max_line = 8; },
  { name = \"long\"; protocol = \"chat\"; bind = \"127.0.0.1:$P2\"; room = \"r\"; }
);"
	tclient <<'EOF'
open s ${CHAT}
name s
open l 127.0.0.1:${P2}
name l
expect s \* ${l} joined
send s 123456789
expect s \* error: line too long
send l 123456789 and more
expect l ${l}: 123456789 and more
expect s ${l}: 123456789 and more
EOF
}

@test "log target file: writes the log to that file" {
	local log=$BATS_TEST_TMPDIR/chatd.log
	start_chatd "log = { target = \"file:$log\"; level = \"info\"; };
listeners = ( { name = \"filelog\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	[[ -s $log ]] || fail "nothing logged to $log"
	grep -q filelog "$log" || fail "no line naming the listener in $log"
}

@test "log level err keeps info lines out" {
	local log=$BATS_TEST_TMPDIR/chatd.log
	start_chatd "log = { target = \"file:$log\"; level = \"err\"; };
listeners = ( { name = \"quietlog\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	tclient <<'EOF'
open a ${CHAT}
send a hi
expect a .*: hi
EOF
	# An error still gets through: a reload of a broken file.
	reload_to 'listeners = ( { name = "quietlog"; protocol = "chat"; colour = "red"; } );'
	kill -HUP "$CHATD_PID"
	local start=$SECONDS
	until grep -q 'reload failed' "$log"; do
		((SECONDS - start < CLIENT_TIMEOUT)) || fail "the error of a failed reload was not logged at level err"
		sleep 0.02
	done
	if grep -q 'connected\|127\.0\.0\.1\|ready' "$log"; then
		cat "$log"
		fail "info or notice lines logged at level err"
	fi
}

@test "chatd -t reports every error of the file, one FILE:LINE line each, and exits 78" {
	local f=$BATS_TEST_TMPDIR/three.conf
	cat >"$f" <<EOF
max_connections = 0;
listeners = (
  { name = "a"; protocol = "chat"; bind = "$CHAT"; backlog = 0; },
  { name = "b"; protocol = "echo"; bind = "127.0.0.1:$P2"; colour = 1; }
);
EOF
	run --separate-stderr chatd_cmd -t -c "$f"
	assert_failure 78
	[[ -z $output ]] || fail "stdout is '$output'"
	local want="$f:1: 'max_connections' must be between 1 and 2147483647
$f:3: 'backlog' must be between 1 and 65535
$f:4: unknown key 'colour'"
	[[ $stderr == "$want" ]] || fail "stderr is '$stderr'"
	((${#stderr_lines[@]} == 3)) || fail "${#stderr_lines[@]} lines"
}

@test "a failed reload logs every error of the file and keeps serving" {
	start_chatd "listeners = ( { name = \"a\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	reload_to "foo = 1;
listeners = ( { name = \"a\"; protocol = \"chat\"; bind = \"$CHAT\";
  backlog = 0; } );"
	kill -HUP "$CHATD_PID"
	wait_log "reload failed, keeping the running configuration: .*chatd.conf:3: 'backlog'"
	grep -Eq "reload failed, keeping the running configuration: .*chatd.conf:1: unknown key 'foo'" \
		"$CHATD_LOG" || fail "the first error is not logged"
	# Still serving, on the old configuration.
	tclient <<'EOF'
open a ${CHAT}
name a
send a hi
expect a ${a}: hi
EOF
}

@test "a cluster group: checked in a build with cluster support, refused in one without" {
	cat >"$BATS_TEST_TMPDIR/c.conf" <<EOF
listeners = ( { name = "chat"; protocol = "chat"; bind = "$CHAT"; } );
cluster = { redis = "127.0.0.1:6379"; node = "n1"; presence_ttl = 2.5; };
EOF
	if "$CHATD_BIN" -V | grep -q '^cluster: no'; then
		run chatd_cmd -t -c "$BATS_TEST_TMPDIR/c.conf"
		assert_failure
		assert_output --partial 'cluster: this chatd was built without cluster support'
	else
		run chatd_cmd -t -c "$BATS_TEST_TMPDIR/c.conf"
		assert_success
		sed -i 's/"127.0.0.1:6379"/"nowhere"/' "$BATS_TEST_TMPDIR/c.conf"
		run chatd_cmd -t -c "$BATS_TEST_TMPDIR/c.conf"
		assert_failure
		assert_output --partial "'redis' must be \"HOST:PORT\" or \"unix:PATH\""
	fi
}
