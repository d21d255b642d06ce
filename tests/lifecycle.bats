#!/usr/bin/env bats
# lifecycle.bats - signals, reload, pidfiles, detaching and resource
# exhaustion (SPEC §3, §7, §14).

setup() {
	load helpers
	use_ports 3
	export CHAT=127.0.0.1:$P1 CHAT2=127.0.0.1:$P2 ECHO=127.0.0.1:$P3
}

teardown() {
	# A daemon started with -d is not our child: kill it by its pidfile.
	if [[ -n ${DETACHED_PID:-} ]] && pid_alive "$DETACHED_PID"; then
		kill -KILL "$DETACHED_PID"
	fi
	chatd_teardown
}

# reload_to CONF_TEXT: replaces the running daemon's config file.
reload_to() {
	printf '%s\n' "$1" >"$CHATD_CONF.new"
	mv "$CHATD_CONF.new" "$CHATD_CONF"
}

@test "SIGTERM: '* server shutting down' after every earlier line, listeners closed, exit 0" {
	start_chatd "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; max_queue = 4194304; } );"
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT} rcvbuf=4096
name b
expect a \* ${b} joined
pause b
flood a 20000 sent before the signal, line #
expect_seq a 20000 ${a}: sent before the signal, line #
kill TERM ${CHATD_PID}
expect a \* server shutting down
expect_eof a
refused_wait ${CHAT}
resume b
expect_seq b 20000 ${a}: sent before the signal, line #
expect b \* server shutting down
expect_eof b
EOF
	wait_chatd 10
	assert_equal "$CHATD_STATUS" 0
}

@test "SIGINT shuts down like SIGTERM; echo clients get their bytes, then EOF" {
	start_chatd "listeners = (
  { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; },
  { name = \"echo\"; protocol = \"echo\"; bind = \"$ECHO\"; }
);"
	tclient <<'EOF'
open a ${CHAT}
open e ${ECHO}
echo_check e before
kill INT ${CHATD_PID}
expect a \* server shutting down
expect_eof a
expect_closed e
EOF
	wait_chatd 10
	assert_equal "$CHATD_STATUS" 0
}

@test "shutdown_timeout bounds the wait for a client that never reads" {
	start_chatd "shutdown_timeout = 0.5;
listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; max_queue = 4194304; } );"
	tclient <<'EOF'
open a ${CHAT}
open s ${CHAT} rcvbuf=4096
expect a \* \S+ joined
pause s
flood a 20000 a line the other client never reads #
kill TERM ${CHATD_PID}
allow a .*: a line the other client never reads #[0-9]+
expect a \* server shutting down
expect_eof a
EOF
	local start=$SECONDS
	wait_chatd 10
	assert_equal "$CHATD_STATUS" 0
	((SECONDS - start <= 5)) || fail "shutdown took $((SECONDS - start)) s"
}

@test "a second SIGTERM during the graceful shutdown exits at once with status 1" {
	start_chatd "shutdown_timeout = 60;
listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; max_queue = 4194304; } );"
	tclient <<'EOF'
open a ${CHAT}
name a
open s ${CHAT} rcvbuf=4096
expect a \* \S+ joined
pause s
flood a 20000 a line the other client never reads #
expect_seq a 20000 ${a}: a line the other client never reads #
kill TERM ${CHATD_PID}
expect a \* server shutting down
kill TERM ${CHATD_PID}
EOF
	wait_chatd 5
	assert_equal "$CHATD_STATUS" 1
}

@test "-p writes a pidfile in the foreground and removes it at exit" {
	local pidfile=$BATS_TEST_TMPDIR/chatd.pid
	start_chatd "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );" -p "$pidfile"
	[[ -f $pidfile ]] || fail "no pidfile"
	assert_equal "$(tr -d '[:space:]' <"$pidfile")" "$CHATD_PID"
	stop_chatd
	[[ ! -e $pidfile ]] || fail "pidfile left behind"
}

@test "-d detaches: the parent exits 0, the pidfile names the daemon, SIGTERM removes it" {
	local pidfile=$BATS_TEST_TMPDIR/chatd.pid log=$BATS_TEST_TMPDIR/detached.log
	cat >"$BATS_TEST_TMPDIR/d.conf" <<EOF
log = { target = "file:$log"; level = "info"; };
listeners = ( { name = "chat"; protocol = "chat"; bind = "$CHAT"; } );
EOF
	chatd_cmd -d -p "$pidfile" -c "$BATS_TEST_TMPDIR/d.conf" \
		</dev/null >"$BATS_TEST_TMPDIR/d.out" 2>"$BATS_TEST_TMPDIR/d.err" ||
		fail "chatd -d exited $? ($(cat "$BATS_TEST_TMPDIR/d.err"))"
	# rc scripts read the pidfile as soon as the command returns.
	local immediate=no start=$SECONDS
	[[ -s $pidfile ]] && immediate=yes
	until [[ -s $pidfile ]]; do
		((SECONDS - start < 5)) || fail "no pidfile after chatd -d returned"
		sleep 0.02
	done
	DETACHED_PID=$(tr -d '[:space:]' <"$pidfile")
	pid_alive "$DETACHED_PID" || fail "pid $DETACHED_PID from the pidfile is not running"
	"$PYTHON3" "$TCLIENT" -t "$READY_TIMEOUT" --wait-listen "$CHAT"
	tclient <<'EOF'
open a ${CHAT}
name a
send a detached
expect a ${a}: detached
EOF
	kill -TERM "$DETACHED_PID"
	start=$SECONDS
	while pid_alive "$DETACHED_PID"; do
		((SECONDS - start < 10)) || fail "detached chatd did not exit"
		sleep 0.02
	done
	[[ ! -e $pidfile ]] || fail "pidfile left behind"
	[[ -s $log ]] || fail "nothing logged to $log"
	[[ $immediate == yes ]] || fail "the pidfile appeared only after chatd -d had returned"
}

@test "SIGHUP: a new listener appears, connected clients stay" {
	start_chatd "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; room = \"lobby\"; } );"
	reload_to "listeners = (
  { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; room = \"lobby\"; },
  { name = \"more\"; protocol = \"chat\"; bind = \"$CHAT2\"; room = \"lobby\"; }
);"
	tclient <<'EOF'
open a ${CHAT}
name a
kill HUP ${CHATD_PID}
connect_wait b ${CHAT2}
name b
expect a \* ${b} joined
send b across the reload
expect a ${b}: across the reload
send a /who
expect a \* users: ${a}, ${b}
open c ${CHAT}
name c
expect a \* ${c} joined
EOF
}

@test "SIGHUP: a removed listener stops accepting, its clients stay until they leave" {
	start_chatd "listeners = (
  { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; room = \"lobby\"; },
  { name = \"old\"; protocol = \"chat\"; bind = \"$CHAT2\"; room = \"lobby\"; }
);"
	reload_to "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; room = \"lobby\"; } );"
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT2}
name b
expect a \* ${b} joined
allow a \* 127\.0\.0\.1:[0-9]+ (joined|left)
allow b \* 127\.0\.0\.1:[0-9]+ (joined|left)
kill HUP ${CHATD_PID}
refused_wait ${CHAT2}
send b still here
expect a ${b}: still here
expect b ${b}: still here
send b /quit
expect b \* bye
expect a \* ${b} left
open c ${CHAT}
send c /who
expect c \* users: ${a}, 127\.0\.0\.1:[0-9]+
EOF
}

@test "SIGHUP: lowered limits refuse only newcomers, motd changes for newcomers" {
	start_chatd "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; max_clients = 5; motd = \"v1\"; } );"
	reload_to "listeners = (
  { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; max_clients = 1; motd = \"v2\"; },
  { name = \"marker\"; protocol = \"echo\"; bind = \"$ECHO\"; }
);"
	tclient <<'EOF'
open a ${CHAT}
name a
expect a \* v1
open b ${CHAT}
name b
expect b \* v1
expect a \* ${b} joined
kill HUP ${CHATD_PID}
connect_wait m ${ECHO}
open c ${CHAT}
expect c \* error: server full
expect_eof c
send b both still here
expect a ${b}: both still here
expect b ${b}: both still here
close b
expect a \* ${b} left
close a
connect_wait d ${CHAT}
expect d \* v2
EOF
}

@test "SIGHUP with a broken config: the error is logged, the old config keeps running" {
	start_chatd "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	reload_to "listeners = (
  { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; colour = \"red\"; }
);"
	tclient <<'EOF'
open a ${CHAT}
name a
kill HUP ${CHATD_PID}
exec until grep -Eq 'chatd\.conf:2:.*colour' ${CHATD_LOG}; do sleep 0.05; done
send a still here
expect a ${a}: still here
open b ${CHAT}
name b
expect a \* ${b} joined
EOF
	assert_chatd_alive
	reload_to "listeners = (
  { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; },
  { name = \"fixed\"; protocol = \"echo\"; bind = \"$ECHO\"; }
);"
	tclient <<'EOF'
kill HUP ${CHATD_PID}
connect_wait e ${ECHO}
echo_check e the next good reload works
EOF
}

@test "SIGHUP with an unchanged config never refuses a connection" {
	start_chatd "listeners = ( { name = \"echo\"; protocol = \"echo\"; bind = \"$ECHO\"; } );"
	{
		echo 'open keep ${ECHO}'
		for i in 1 2 3; do
			echo 'kill HUP ${CHATD_PID}'
			for j in 1 2 3 4 5 6 7 8; do
				echo "open e$i$j \${ECHO}"
				echo "echo_check e$i$j reload $i connection $j"
				echo "close e$i$j"
			done
		done
		echo 'echo_check keep still connected'
	} | tclient
}

@test "SIGHUP reopens a log file that was moved away" {
	local log=$BATS_TEST_TMPDIR/chatd.log
	start_chatd "log = { target = \"file:$log\"; level = \"info\"; };
listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	[[ -s $log ]] || fail "nothing logged to $log"
	mv "$log" "$log.1"
	tclient <<'EOF'
kill HUP ${CHATD_PID}
sleep 100
open a ${CHAT}
send a hello
expect a .*: hello
close a
EOF
	local start=$SECONDS
	until [[ -s $log ]]; do
		((SECONDS - start < 5)) || fail "$log was not reopened"
		sleep 0.02
	done
}

@test "SIGUSR1 logs statistics per listener at notice level" {
	start_chatd "log = { target = \"stderr\"; level = \"notice\"; };
listeners = (
  { name = \"statchat\"; protocol = \"chat\"; bind = \"$CHAT\"; },
  { name = \"statecho\"; protocol = \"echo\"; bind = \"$ECHO\"; }
);"
	local before
	tclient <<'EOF'
open a ${CHAT}
send a counted
expect a .*: counted
open e ${ECHO}
echo_check e counted bytes
EOF
	before=$(wc -l <"$CHATD_LOG")
	kill -USR1 "$CHATD_PID"
	local start=$SECONDS
	until tail -n +"$((before + 1))" "$CHATD_LOG" | grep -q statchat &&
		tail -n +"$((before + 1))" "$CHATD_LOG" | grep -q statecho; do
		((SECONDS - start < 5)) || fail "no statistics for both listeners after SIGUSR1"
		sleep 0.02
	done
	assert_chatd_alive
}

@test "SIGPIPE never kills the daemon: peers reset while it writes" {
	start_chatd "listeners = (
  { name = \"echo\"; protocol = \"echo\"; bind = \"$ECHO\"; },
  { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; }
);"
	{
		for i in 1 2 3; do
			echo "open e$i \${ECHO} rcvbuf=4096"
			echo "fill e$i 67108864"
			echo "reset e$i"
		done
		echo 'open a ${CHAT}'
		echo 'open r ${CHAT} rcvbuf=4096'
		echo 'pause r'
		echo 'flood a 5000 to a reader that will vanish #'
		echo 'reset r'
		echo 'open e ${ECHO}'
		echo 'echo_check e alive'
	} | tclient
	assert_chatd_alive
}

@test "prlimit --nofile=64: 100 connection attempts, the daemon keeps serving and does not spin" {
	command -v prlimit >/dev/null || skip "no prlimit"
	[[ -z ${CHATD_WRAPPER:-} ]] || skip "a wrapper (valgrind) reserves descriptors of its own"
	[[ -r /proc/self/stat ]] || skip "no /proc"
	CHATD_EXEC_PREFIX="prlimit --nofile=64 --" start_chatd \
		"listeners = ( { name = \"echo\"; protocol = \"echo\"; bind = \"$ECHO\"; backlog = 256; } );"
	{
		echo 'openmany c 100 ${ECHO}'
		echo 'echo_check c0 first'
		echo 'echo_check c1 second'
		# CPU time (utime + stime, in clock ticks) over half a second while
		# the backlog holds connections the daemon cannot accept.
		echo 'exec a=$(awk "{print \$14 + \$15}" /proc/${CHATD_PID}/stat); sleep 0.5; b=$(awk "{print \$14 + \$15}" /proc/${CHATD_PID}/stat); test $((b - a)) -lt 25 || { echo "chatd used $((b - a)) clock ticks in 0.5 s" >&2; exit 1; }'
		for ((i = 0; i < 50; i++)); do echo "close c$i"; done
		echo 'echo_check c99 accepted once descriptors were free'
		echo 'open n ${ECHO}'
		echo 'echo_check n new client'
	} | tclient
	assert_chatd_alive
}
