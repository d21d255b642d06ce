#!/usr/bin/env bats
# settings.bats - settings seen to take effect: a reload changing the log
# level and target, idle_timeout, max_line, backlog and a unix socket's
# mode for a running listener; the syslog and journal log targets (each
# read from a socket of our own, mounted in a private mount namespace
# where the daemon looks for the real one); idle_timeout on echo; -v.
# Every wait polls for what the daemon must have done (its log, ss, a
# client's answer), never a bare sleep.

setup() {
	load helpers
	use_ports 2
	export CHAT=127.0.0.1:$P1 ECHO=127.0.0.1:$P2
}

# wait_file_log FILE REGEX: polls FILE (a log file) for an extended regex.
wait_file_log() {
	local start=$SECONDS
	until grep -Eq -- "$2" "$1" 2>/dev/null; do
		((SECONDS - start < CLIENT_TIMEOUT)) || fail "no line matching '$2' in $1 within $CLIENT_TIMEOUT s"
		sleep 0.02
	done
}

# reload CONF_TEXT: installs the new configuration, sends SIGHUP and waits
# until the daemon says it reloaded (N-th time, counted on stderr).
reload() {
	local n
	n=$(grep -c 'configuration reloaded' "$CHATD_LOG") || true	# 0 matches: status 1
	reload_to "$1"
	kill -HUP "$CHATD_PID"
	local start=$SECONDS
	until (($(grep -c 'configuration reloaded' "$CHATD_LOG") > n)); do
		((SECONDS - start < CLIENT_TIMEOUT)) || fail "no 'configuration reloaded' after SIGHUP"
		sleep 0.02
	done
}

@test "reload: the log level and target change (stderr at notice, then a file at debug)" {
	local log=$BATS_TEST_TMPDIR/chatd.log
	start_chatd "log = { target = \"stderr\"; level = \"notice\"; };
listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	reload_to "log = { target = \"file:$log\"; level = \"debug\"; };
listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	kill -HUP "$CHATD_PID"
	wait_file_log "$log" 'configuration reloaded'
	tclient <<'EOF'
open a ${CHAT}
send a level-check-line
expect a .*: level-check-line
EOF
	# debug: the line itself; info: the connection.
	wait_file_log "$log" 'says level-check-line'
	grep -q 'chat: .* connected' "$log" || fail "no connect line at debug in $log"
	if grep -E 'connected|level-check-line' "$CHATD_LOG"; then
		fail "stderr still got log lines after the reload"
	fi
}

@test "reload: idle_timeout turned on reaches a client connected before" {
	start_chatd "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	tclient <<'EOF'
open a ${CHAT}
name a
send a /who
expect a \* users: ${a}
exec printf '%s\n' 'listeners = ( { name = "chat"; protocol = "chat"; bind = "${CHAT}"; idle_timeout = 0.5; } );' > ${CHATD_CONF}.new && mv ${CHATD_CONF}.new ${CHATD_CONF}
kill HUP ${CHATD_PID}
expect a \* error: idle timeout
expect_eof a
EOF
}

@test "reload: a lower max_line applies to a client connected before" {
	start_chatd "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; max_line = 64; } );"
	tclient <<'EOF'
open a ${CHAT}
name a
send a twenty-bytes-of-text
expect a ${a}: twenty-bytes-of-text
exec printf '%s\n' 'listeners = ( { name = "chat"; protocol = "chat"; bind = "${CHAT}"; max_line = 8; } );' > ${CHATD_CONF}.new && mv ${CHATD_CONF}.new ${CHATD_CONF}
kill HUP ${CHATD_PID}
exec until grep -q 'configuration reloaded' ${CHATD_LOG}; do sleep 0.02; done
send a twenty-bytes-of-text
expect a \* error: line too long
send a short
expect a ${a}: short
EOF
}

# backlog_of PORT: the backlog of the TCP socket listening on PORT (ss
# shows it as Send-Q for a listening socket).
backlog_of() {
	ss -Hltn "sport = :$1" | awk '{ print $3 }'
}

@test "reload: a new backlog is what the listening socket has (ss -ltn)" {
	command -v ss >/dev/null || skip "no ss"
	start_chatd "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; backlog = 7; } );"
	local backlog
	backlog=$(backlog_of "$P1")
	assert_equal "$backlog" 7
	reload "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; backlog = 33; } );"
	backlog=$(backlog_of "$P1")
	assert_equal "$backlog" 33
}

@test "reload: a new mode is what the unix socket file has" {
	sockdir
	export LOCAL=unix:$SOCKDIR/m.sock
	start_chatd "listeners = ( { name = \"local\"; protocol = \"chat\"; bind = \"$LOCAL\"; mode = \"0600\"; } );"
	local mode
	mode=$(stat -c %a "$SOCKDIR/m.sock")
	assert_equal "$mode" 600
	reload "listeners = ( { name = \"local\"; protocol = \"chat\"; bind = \"$LOCAL\"; mode = \"0666\"; } );"
	mode=$(stat -c %a "$SOCKDIR/m.sock")
	assert_equal "$mode" 666
	tclient <<'EOF'
open u ${LOCAL}
send u same socket
expect u unix:[0-9]+: same socket
EOF
}

@test "idle_timeout on an echo listener: a silent client is closed, a talking one kept" {
	start_chatd "listeners = ( { name = \"echo\"; protocol = \"echo\"; bind = \"$ECHO\"; idle_timeout = 1.5; } );"
	# t talks every 100 ms for at least 1.6 s: far inside the timeout each
	# time, and past the moment the silent client s must be closed.
	{
		echo 'open s ${ECHO}'
		echo 'open t ${ECHO}'
		for ((i = 0; i < 16; i++)); do
			echo 'sleep 100'
			echo "echo_check t keep-alive $i"
		done
		echo 'expect_eof s'
		echo 'echo_check t still here'
		echo 'expect_eof t'
	} | tclient
}

@test "-v raises the log level by one: info lines at level notice" {
	start_chatd "log = { target = \"stderr\"; level = \"notice\"; };
listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );" -v
	tclient <<'EOF'
open a ${CHAT}
send a counted
expect a .*: counted
EOF
	wait_log 'chat: .* connected'
	! grep -q 'says counted' "$CHATD_LOG" || fail "-v raised the level by more than one"
}

@test "-vv at level notice: debug lines too" {
	start_chatd "log = { target = \"stderr\"; level = \"notice\"; };
listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );" -vv
	tclient <<'EOF'
open a ${CHAT}
send a counted
expect a .*: counted
EOF
	wait_log 'says counted'
}

# ---- syslog and journal targets, read from our own socket -------------

# start_dgram_sink PATH OUT: a unix datagram socket at PATH that appends
# each datagram it receives to OUT (NULs shown as \0), one per line; sets
# SINK_PID.  Returns once the socket exists.
start_dgram_sink() {
	"$PYTHON3" - "$1" "$2" <<'EOF' &
import os, socket, sys, time
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path + '.tmp')
os.chmod(path + '.tmp', 0o666)
os.rename(path + '.tmp', path)
s.settimeout(0.5)
deadline = time.monotonic() + 120
with open(out, 'ab', buffering=0) as f:
    while time.monotonic() < deadline:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        f.write(d.replace(b'\0', b'\\0').replace(b'\n', b'\\n') + b'\n')
EOF
	SINK_PID=$!
	local start=$SECONDS
	until [[ -S $1 ]]; do
		((SECONDS - start < 5)) || fail "the datagram sink did not start"
		sleep 0.01
	done
}

teardown() {
	chatd_teardown
	if [[ -n ${SINK_PID:-} ]]; then
		kill "$SINK_PID" 2>/dev/null
		wait "$SINK_PID" 2>/dev/null || true
	fi
}

# ns_wrapper KIND SOCKET: writes a script that, inside the private mount
# namespace unshare(1) made, puts SOCKET where the daemon looks for the
# syslog socket (KIND devlog: /dev/log, on a tmpfs over /dev with the
# usual device nodes bound back) or the journal's (KIND journal:
# /run/systemd/journal/socket, on a tmpfs over /run), then execs the
# daemon in place, so its pid is the one we started.  Nothing outside the
# namespace changes.
ns_wrapper() {
	local w=$BATS_TEST_TMPDIR/in-namespace.sh old=$BATS_TEST_TMPDIR/olddev
	mkdir -p "$old"
	{
		echo '#!/bin/sh'
		echo 'set -e'
		echo 'mount --make-rprivate /'
		if [[ $1 == devlog ]]; then
			echo "mount --bind /dev '$old'"
			echo 'mount -t tmpfs -o mode=755 tmpfs /dev'
			echo "for n in null zero random urandom; do : >/dev/\$n; mount --bind '$old'/\$n /dev/\$n; done"
			echo ": >/dev/log; mount --bind '$2' /dev/log"
		else
			echo 'mount -t tmpfs -o mode=755 tmpfs /run'
			echo 'mkdir -p /run/systemd/journal'
			echo ": >/run/systemd/journal/socket; mount --bind '$2' /run/systemd/journal/socket"
		fi
		echo 'exec "$@"'
	} >"$w"
	chmod +x "$w"
	echo "$w"
}

need_namespaces() {
	[[ $(id -u) == 0 ]] || skip "needs root (mount namespace)"
	command -v unshare >/dev/null || skip "no unshare"
	unshare -m true 2>/dev/null || skip "cannot make a mount namespace here"
}

@test "log target syslog: lines reach /dev/log with the daemon facility, priorities and pid" {
	need_namespaces
	sockdir
	local out=$BATS_TEST_TMPDIR/syslog.out
	: >"$out"
	start_dgram_sink "$SOCKDIR/devlog" "$out"
	CHATD_EXEC_PREFIX="unshare -m $(ns_wrapper devlog "$SOCKDIR/devlog")" \
		start_chatd "log = { target = \"syslog\"; level = \"info\"; };
listeners = ( { name = \"syschat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	tclient <<'EOF'
open a ${CHAT}
send a hi
expect a .*: hi
EOF
	local start=$SECONDS
	# daemon (3) * 8 + notice (5) = 29, + info (6) = 30.
	until grep -Eq "^<29>.*chatd\[$CHATD_PID\]: chatd .* ready" "$out" &&
		grep -Eq "^<30>.*chatd\[$CHATD_PID\]: syschat: .* connected" "$out"; do
		((SECONDS - start < CLIENT_TIMEOUT)) || { cat "$out"; fail "no ready (notice) and connect (info) lines at /dev/log"; }
		sleep 0.02
	done
	if grep -E 'ready|syschat: .* connected' "$CHATD_LOG"; then
		fail "lines went to stderr as well as to syslog"
	fi
}

@test "log target journal: native journal fields (PRIORITY, CHATD_LISTENER, CHATD_PEER)" {
	"$CHATD_BIN" -V | grep -Eq '^systemd: yes' || skip "chatd built without libsystemd (journal target is syslog then)"
	need_namespaces
	sockdir
	local out=$BATS_TEST_TMPDIR/journal.out
	: >"$out"
	start_dgram_sink "$SOCKDIR/journal" "$out"
	CHATD_EXEC_PREFIX="unshare -m $(ns_wrapper journal "$SOCKDIR/journal")" \
		start_chatd "log = { target = \"journal\"; level = \"info\"; };
listeners = ( { name = \"jchat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	tclient <<'EOF'
open a ${CHAT}
name a
exec echo '${a}' > ${BATS_TEST_TMPDIR}/peer
send a hi
expect a ${a}: hi
EOF
	local peer start=$SECONDS
	peer=$(cat "$BATS_TEST_TMPDIR/peer")
	# The native protocol: KEY=value fields separated by newlines (\n here).
	until grep -F "CHATD_LISTENER=jchat" "$out" | grep -F "CHATD_PEER=$peer" |
		grep -F 'PRIORITY=6' | grep -F 'SYSLOG_IDENTIFIER=chatd' | grep -q 'connected'; do
		((SECONDS - start < CLIENT_TIMEOUT)) || { cat "$out"; fail "no journal entry for the connection with its fields"; }
		sleep 0.02
	done
	grep -F 'PRIORITY=5' "$out" | grep -q 'ready' || { cat "$out"; fail "no notice-level ready entry"; }
}

@test "log target journal without libsystemd: the lines go to syslog instead" {
	! "$CHATD_BIN" -V | grep -Eq '^systemd: yes' || skip "chatd built with libsystemd (see the journal test)"
	need_namespaces
	sockdir
	local out=$BATS_TEST_TMPDIR/syslog.out
	: >"$out"
	start_dgram_sink "$SOCKDIR/devlog" "$out"
	CHATD_EXEC_PREFIX="unshare -m $(ns_wrapper devlog "$SOCKDIR/devlog")" \
		start_chatd "log = { target = \"journal\"; level = \"info\"; };
listeners = ( { name = \"jchat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	local start=$SECONDS
	until grep -Eq "^<29>.*chatd\[$CHATD_PID\]: chatd .* ready" "$out"; do
		((SECONDS - start < CLIENT_TIMEOUT)) || { cat "$out"; fail "no ready line at /dev/log"; }
		sleep 0.02
	done
}
