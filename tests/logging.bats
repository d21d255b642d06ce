#!/usr/bin/env bats
# logging.bats - what the daemon logs (SPEC §9): one line per connect and
# disconnect with peer and listener, nothing a client sends above debug,
# untrusted bytes escaped, journal priority prefixes on stderr.

setup() {
	load helpers
	use_ports 1
	export CHAT=127.0.0.1:$P1
	export NAMEFILE=$BATS_TEST_TMPDIR/peer
}

@test "connect and disconnect are logged at info with the peer and the listener" {
	start_chatd "log = { target = \"stderr\"; level = \"info\"; };
listeners = ( { name = \"logchat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	tclient <<'EOF'
open a ${CHAT}
name a
exec echo '${a}' > ${NAMEFILE}
send a hello
expect a ${a}: hello
send a /quit
expect a \* bye
expect_eof a
EOF
	local peer start=$SECONDS
	peer=$(cat "$NAMEFILE")
	until (($(grep -F -- "$peer" "$CHATD_LOG" | grep -c logchat) >= 2)); do
		((SECONDS - start < 5)) || fail "expected a connect and a disconnect line naming logchat and $peer"
		sleep 0.02
	done
}

@test "at level notice, connections are not logged" {
	start_chatd "log = { target = \"stderr\"; level = \"notice\"; };
listeners = ( { name = \"logchat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	tclient <<'EOF'
open a ${CHAT}
name a
exec echo '${a}' > ${NAMEFILE}
send a /quit
expect a \* bye
expect_eof a
EOF
	stop_chatd
	grep -q 'chatd .* ready' "$CHATD_LOG" || fail "notice lines missing: is anything logged at all?"
	if grep -F -- "$(cat "$NAMEFILE")" "$CHATD_LOG"; then
		fail "a connection was logged at level notice"
	fi
}

@test "nothing a client sends is logged at level info" {
	start_chatd "log = { target = \"stderr\"; level = \"info\"; };
listeners = ( { name = \"logchat\"; protocol = \"chat\"; bind = \"$CHAT\"; max_line = 64; } );"
	tclient <<'EOF'
open a ${CHAT}
name a
send a SECRET-message-4711
expect a ${a}: SECRET-message-4711
send a /SECRET-command
expect a \* error: unknown command
send a /me SECRET-action
expect a \* ${a} SECRET-action
send a SECRET-too-long-line-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
expect a \* error: line too long
send a /quit
expect a \* bye
expect_eof a
EOF
	stop_chatd
	grep -q 'logchat: .* connected' "$CHATD_LOG" || fail "info lines missing: is anything logged at all?"
	if grep -n SECRET "$CHATD_LOG"; then
		fail "client text logged at level info"
	fi
}

@test "at level debug, control bytes from clients are escaped in the log" {
	start_chatd "log = { target = \"stderr\"; level = \"debug\"; };
listeners = ( { name = \"logchat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	tclient <<'EOF'
open a ${CHAT}
name a
sendraw a evil\x1b[2J\rforged: chatd: fake line\x07\x00\xff\n
expect a ${a}: evil\x1b\[2J\rforged: chatd: fake line\x07\x00\xff
send a /quit
expect a \* bye
expect_eof a
EOF
	stop_chatd
	# The line is there, escaped (an empty log would pass the check below).
	grep -qF 'evil\x1b[2J\x0dforged: chatd: fake line\x07\x00\xff' "$CHATD_LOG" ||
		fail "the client's line is not in the debug log in escaped form"
	if LC_ALL=C grep -qaP '[\x00-\x08\x0b-\x1f\x7f]' "$CHATD_LOG"; then
		LC_ALL=C grep -naP '[\x00-\x08\x0b-\x1f\x7f]' "$CHATD_LOG" | cat -v
		fail "raw control bytes in the log"
	fi
}

@test "stderr that is the journal (JOURNAL_STREAM) gets <N> priority prefixes" {
	local log=$BATS_TEST_TMPDIR/chatd.stderr
	: >"$log"
	JOURNAL_STREAM=$("$PYTHON3" -c 'import os, sys; s = os.stat(sys.argv[1]); print(f"{s.st_dev}:{s.st_ino}")' "$log")
	export JOURNAL_STREAM
	start_chatd "log = { target = \"stderr\"; level = \"info\"; };
listeners = ( { name = \"logchat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	unset JOURNAL_STREAM
	[[ -s $log ]] || fail "nothing logged"
	if grep -v '^<[0-7]>' "$log"; then
		fail "log lines without a <N> prefix"
	fi
}
