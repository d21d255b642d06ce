#!/usr/bin/env bats
# cli.bats - the command line (SPEC §3, chatd(8)): options, -t with good
# and bad configurations (tests/data/bad/*.conf mark the offending line
# with "# <- error"), exit codes 64, 71 and 78.

setup() {
	load helpers
}

# assert_bad_config NAME REGEX: chatd -t rejects tests/data/bad/NAME.conf
# with status 78, nothing on stdout and "FILE:LINE: MESSAGE" on stderr,
# LINE being the one marked "# <- error" and MESSAGE matching REGEX.
assert_bad_config() {
	local f=$TDATA/bad/$1.conf line
	line=$(grep -n '# <- error' "$f" | cut -d: -f1)
	run --separate-stderr chatd_cmd -t -c "$f"
	echo "# stderr: $stderr"
	assert_failure 78
	assert_output ''
	[[ $stderr =~ $1\.conf:$line:\ (.*) ]] ||
		fail "stderr lacks '$1.conf:$line: ...'"
	[[ ${BASH_REMATCH[1]} =~ $2 ]] ||
		fail "message '${BASH_REMATCH[1]}' does not match /$2/"
}

@test "-h prints the usage on stdout and exits 0" {
	run --separate-stderr chatd_cmd -h
	assert_success
	assert_output --regexp '[Uu]sage: .*chatd .*\[-c file\]'
	assert_output --partial '-p pidfile'
}

@test "an unknown option exits 64 with the usage on stderr" {
	run --separate-stderr chatd_cmd -Z
	assert_failure 64
	[[ $stderr == *sage:* ]] || fail "no usage on stderr: $stderr"
}

@test "a missing option argument or a stray operand exits 64" {
	run --separate-stderr chatd_cmd -c
	assert_failure 64
	run --separate-stderr chatd_cmd -t -c "$TDATA/good.conf" extra
	assert_failure 64
}

@test "-V prints the version and the build features" {
	local version
	version=$(sed -n 's/^AC_INIT(\[chatd\], *\[\([^]]*\)\].*/\1/p' "$CHATD_SRCDIR/configure.ac")
	run --separate-stderr chatd_cmd -V
	assert_success
	assert_line --regexp "^chatd $version"
	assert_line --regexp '^selector: (epoll|poll|kqueue)$'
	assert_output --regexp 'systemd'
	assert_output --regexp 'launchd'
}

@test "-t with a good configuration prints 'configuration OK' and exits 0" {
	run --separate-stderr chatd_cmd -t -c "$TDATA/good.conf"
	assert_success
	assert_output 'configuration OK'
	run --separate-stderr chatd_cmd -t -v -c "$TDATA/good.conf"
	assert_success
	assert_output 'configuration OK'
}

@test "-t only checks: it binds nothing (the port may be in use)" {
	use_ports 1
	start_chatd "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"127.0.0.1:$P1\"; } );"
	run --separate-stderr chatd_cmd -t -c "$CHATD_CONF"
	assert_success
	assert_output 'configuration OK'
}

@test "-t: unknown top-level key" {
	assert_bad_config unknown-key 'colour'
}

@test "-t: unknown listener key" {
	assert_bad_config unknown-listener-key 'max_lines'
}

@test "-t: unknown key in the log section" {
	assert_bad_config unknown-log-key 'verbosity'
}

@test "-t: wrong type (string for an integer)" {
	assert_bad_config wrong-type 'backlog'
}

@test "-t: wrong type (float for a size)" {
	assert_bad_config wrong-type-size-float 'max_connections'
}

@test "-t: wrong type (string for a boolean)" {
	assert_bad_config wrong-type-bool 'announce'
}

@test "-t: wrong type (string for a duration)" {
	assert_bad_config wrong-type-duration 'shutdown_timeout'
}

@test "-t: duplicate listener name" {
	assert_bad_config duplicate-name '[Dd]uplicate|already'
}

@test "-t: address without a port" {
	assert_bad_config address-no-port '127\.0\.0\.1'
}

@test "-t: address with a port out of range" {
	assert_bad_config address-bad-port '99999|port'
}

@test "-t: address with an impossible IPv4 host" {
	assert_bad_config address-bad-host '999\.1\.2\.3'
}

@test "-t: unterminated IPv6 address" {
	assert_bad_config address-bad-v6 '::1'
}

@test "-t: udp: bind on a chat listener" {
	assert_bad_config udp-chat 'udp'
}

@test "-t: chat-only key on an echo listener" {
	assert_bad_config chat-key-on-echo 'room'
}

@test "-t: every chat-only key is refused on an echo listener" {
	local key value f=$BATS_TEST_TMPDIR/echo.conf
	for key in room max_line motd announce; do
		case $key in
		room | motd) value='"x"' ;;
		max_line) value=100 ;;
		announce) value=true ;;
		esac
		printf 'listeners = (\n  { name = "echo"; protocol = "echo"; bind = "127.0.0.1:59123";\n    %s = %s; }\n);\n' \
			"$key" "$value" >"$f"
		run --separate-stderr chatd_cmd -t -c "$f"
		assert_failure 78
		[[ $stderr == *"echo.conf:3: "*"$key"* ]] || fail "$key: stderr is '$stderr'"
	done
}

@test "-t: unknown protocol" {
	assert_bad_config bad-protocol 'protocol'
}

@test "-t: listener without bind" {
	assert_bad_config missing-bind 'bind'
}

@test "-t: negative limit" {
	assert_bad_config negative-limit 'max_clients'
}

@test "-t: max_line of zero" {
	assert_bad_config zero-max-line 'max_line'
}

@test "-t: negative duration" {
	assert_bad_config negative-duration 'idle_timeout'
}

@test "-t: unknown log level" {
	assert_bad_config bad-log-level 'level'
}

@test "-t: unknown log target" {
	assert_bad_config bad-log-target 'target'
}

@test "-t: libconfig syntax error" {
	assert_bad_config syntax-error '.'
}

@test "-t: listeners that are not a list" {
	assert_bad_config listeners-not-list 'listeners'
}

@test "-t: an error in an @include file names that file and its line" {
	run --separate-stderr chatd_cmd -t -c "$TDATA/include/bad-main.conf"
	assert_failure 78
	[[ $stderr == *"include/sub/bad.conf:3: "* ]] || fail "stderr is '$stderr'"
}

@test "-c with a file that does not exist exits 78 with the reason" {
	run --separate-stderr chatd_cmd -t -c "$BATS_TEST_TMPDIR/nonexistent.conf"
	assert_failure 78
	[[ $stderr == *nonexistent.conf*"No such file"* ]] || fail "stderr is '$stderr'"
	run --separate-stderr chatd_cmd -c "$BATS_TEST_TMPDIR/nonexistent.conf"
	assert_failure 78
	[[ $stderr == *nonexistent.conf*"No such file"* ]] || fail "stderr is '$stderr'"
}

@test "-c with a directory or an unreadable file exits 78" {
	run --separate-stderr chatd_cmd -t -c "$BATS_TEST_TMPDIR"
	assert_failure 78
	[[ $stderr == *"$BATS_TEST_TMPDIR"* ]] || fail "stderr is '$stderr'"
	if [[ $(id -u) != 0 ]]; then
		cp "$TDATA/good.conf" "$BATS_TEST_TMPDIR/secret.conf"
		chmod 000 "$BATS_TEST_TMPDIR/secret.conf"
		run --separate-stderr chatd_cmd -t -c "$BATS_TEST_TMPDIR/secret.conf"
		assert_failure 78
		[[ $stderr == *secret.conf*"ermission denied"* ]] || fail "stderr is '$stderr'"
	fi
}

@test "a port already in use exits 71 and names the address" {
	use_ports 1
	start_chatd "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"127.0.0.1:$P1\"; } );"
	local f=$BATS_TEST_TMPDIR/second.conf
	echo "listeners = ( { name = \"busy\"; protocol = \"chat\"; bind = \"127.0.0.1:$P1\"; } );" >"$f"
	run --separate-stderr chatd_cmd -c "$f"
	assert_failure 71
	[[ $stderr == *"127.0.0.1:$P1"* ]] || fail "stderr is '$stderr'"
}

@test "a bind failure after other listeners were bound exits 71 cleanly" {
	use_ports 2
	start_chatd "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"127.0.0.1:$P1\"; } );"
	local f=$BATS_TEST_TMPDIR/second.conf
	sockdir
	cat >"$f" <<EOF
listeners = (
  { name = "free"; protocol = "echo"; bind = "127.0.0.1:$P2"; },
  { name = "local"; protocol = "chat"; bind = "unix:$SOCKDIR/second.sock"; },
  { name = "busy"; protocol = "chat"; bind = "127.0.0.1:$P1"; }
);
EOF
	run --separate-stderr chatd_cmd -c "$f"
	assert_failure 71
	[[ $stderr == *"127.0.0.1:$P1"* ]] || fail "stderr is '$stderr'"
	[[ ! -e $SOCKDIR/second.sock ]] || fail "the unix socket was left behind"
}

@test "a unix socket in a missing directory exits 71" {
	sockdir
	local f=$BATS_TEST_TMPDIR/unix.conf
	cat >"$f" <<EOF
listeners = ( { name = "local"; protocol = "chat"; bind = "unix:$SOCKDIR/missing/chat.sock"; } );
EOF
	run --separate-stderr chatd_cmd -c "$f"
	assert_failure 71
	[[ $stderr == *"$SOCKDIR/missing/chat.sock"* ]] || fail "stderr is '$stderr'"
}
