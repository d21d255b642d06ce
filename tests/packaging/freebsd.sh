#!/bin/sh
# tests/packaging/freebsd.sh - the FreeBSD rc.d script packaging/freebsd/chatd:
# `sh -n` clean, the rcorder(8) header, and, run against a stand-in for
# /etc/rc.subr, the command line it gives chatd (detached, pid file,
# config) and the config check it runs before start and reload.
# Environment: CHATD_SRCDIR (default: two levels up).
# Exit 0 passed, 1 failed.  The last line is "N passed, M failed".
set -u
src=${CHATD_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
rc=$src/packaging/freebsd/chatd
tmp=$(mktemp -d "${TMPDIR:-/tmp}/chatd-rcd.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

pass=0 fail=0
check() { # check "what" expected actual
	if [ "$2" = "$3" ]; then
		pass=$((pass + 1)); echo "ok - $1"
	else
		fail=$((fail + 1)); echo "not ok - $1"
		printf '    # expected: %s\n    # actual:   %s\n' "$2" "$3"
	fi
}

out=$(sh -n "$rc" 2>&1)
check "sh -n $rc" "" "$out"
for h in "# PROVIDE: chatd" "# REQUIRE: LOGIN NETWORKING" "# KEYWORD: shutdown"; do
	check "rcorder header '$h'" "$h" "$(grep -x "$h" "$rc")"
done
check "executable" yes "$([ -x "$rc" ] && echo yes || echo no)"

# A stand-in for rc.subr: load_rc_config reads $tmp/rc.conf; run_rc_command
# prints what rc.subr would use, and for configtest/start runs the precmd
# with a stub chatd that records its arguments.
cat >"$tmp/rc.subr" <<'SUBR'
load_rc_config() { [ -f "$RCCONF" ] && . "$RCCONF"; }
run_rc_command() {
	echo "rcvar=$rcvar"
	echo "command=$command"
	echo "command_args=$command_args"
	echo "pidfile=$pidfile"
	echo "extra_commands=$extra_commands"
	echo "sig_reload=$sig_reload sig_stop=$sig_stop"
	echo "required_files=$required_files"
	command=$STUB_CHATD
	case $1 in
	configtest) $configtest_cmd ;;
	start) $start_precmd ;;
	reload) $reload_precmd ;;
	esac
}
SUBR
printf '#!/bin/sh\necho "chatd $*" >>"%s/calls"\n' "$tmp" >"$tmp/chatd"
chmod 755 "$tmp/chatd"
sed "s|^\. /etc/rc.subr\$|. $tmp/rc.subr|" "$rc" >"$tmp/rc.d-chatd"

run() { RCCONF=$tmp/rc.conf STUB_CHATD=$tmp/chatd sh "$tmp/rc.d-chatd" "$@" 2>&1; }
val() { printf '%s\n' "$out" | sed -n "s/^$1=//p"; }

: >"$tmp/rc.conf"
out=$(run status)
check "rcvar is chatd_enable" chatd_enable "$(val rcvar)"
check "command is /usr/local/sbin/chatd" /usr/local/sbin/chatd "$(val command)"
check "chatd detaches with a pid file and the default config" \
    "-d -p /var/run/chatd.pid -c /usr/local/etc/chatd.conf" "$(val command_args)"
check "rc.subr watches the same pid file" /var/run/chatd.pid "$(val pidfile)"
check "reload and configtest are commands" "reload configtest" "$(val extra_commands)"
check "reload is SIGHUP, stop is SIGTERM" "HUP sig_stop=TERM" "$(val sig_reload)"
check "the config file is required" /usr/local/etc/chatd.conf "$(val required_files)"

printf 'chatd_config=/etc/chatd-test.conf\nchatd_pidfile=/var/run/chatd-test.pid\n' >"$tmp/rc.conf"
out=$(run status)
check "chatd_config and chatd_pidfile from rc.conf are used" \
    "-d -p /var/run/chatd-test.pid -c /etc/chatd-test.conf" "$(val command_args)"
for cmd in configtest start reload; do
	rm -f "$tmp/calls"
	run "$cmd" >/dev/null
	check "'service chatd $cmd' checks the file with chatd -t" \
	    "chatd -t -c /etc/chatd-test.conf" "$(cat "$tmp/calls" 2>/dev/null)"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
