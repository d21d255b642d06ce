#!/bin/sh
# tests/packaging/units.sh - the shipped systemd units, checked without
# installing anything and without root:
#   - systemd-analyze verify (in a scratch root: --root=, the host's
#     standard units, a stub /usr/sbin/chatd, the man pages) prints nothing,
#     for the installed units and the chatd@.service example;
#   - systemd-analyze security --offline=true rates chatd.service <= 2.0;
#   - every listener of the sample etc/chatd.conf that a socket unit
#     passes in has FileDescriptorName= = its name and ListenStream= = its
#     bind, and chatd.service names both socket units in Sockets=.
# The same verify runs for real on the installed package in
# packaging/nspawn-journey.sh.
#
# Environment (set by `make check`): CHATD_SRCDIR (default: two levels up).
# Exit 0 passed, 1 failed, 77 skipped (no systemd-analyze).
set -u

src=${CHATD_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
me=units.sh
command -v systemd-analyze >/dev/null 2>&1 ||
	{ echo "$me: SKIP: systemd-analyze not found (apt-get install systemd)"; exit 77; }
[ -d /lib/systemd/system ] || [ -d /usr/lib/systemd/system ] ||
	{ echo "$me: SKIP: no systemd unit directory on this machine"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/chatd-units.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
nok() { fail=$((fail + 1)); echo "not ok - $1"; [ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/    # /'; }

# The units as `make install` writes them for --prefix=/usr --sysconfdir=/etc.
subst() {
	sed -e 's|@SBINDIR[@]|/usr/sbin|g' -e 's|@SYSCONFDIR[@]|/etc|g' \
	    -e 's|@RUNSTATEDIR[@]|/run|g' -e 's|@VERSION[@]|0|g' "$1"
}
root=$tmp/root
unitdir=$root/lib/systemd/system
mkdir -p "$unitdir" "$root/usr/sbin" "$root/bin" "$root/etc" \
    "$root/usr/share/man/man8" "$root/usr/share/man/man5"
# The standard targets the units refer to (sockets.target, ...).
for d in /lib/systemd/system /usr/lib/systemd/system; do
	[ -d "$d" ] && cp -a "$d/." "$unitdir/" 2>/dev/null
done
rm -f "$unitdir"/chatd*
subst "$src/systemd/chatd.service.in" >"$unitdir/chatd.service"
cp "$src/systemd/chatd.socket" "$src/systemd/chatd-echo.socket" "$unitdir/"
printf '#!/bin/sh\nexit 0\n' >"$root/usr/sbin/chatd"
chmod 755 "$root/usr/sbin/chatd"
if [ -x /bin/kill ]; then cp /bin/kill "$root/bin/kill"; else printf '#!/bin/sh\n' >"$root/bin/kill"; chmod 755 "$root/bin/kill"; fi
cp "$src/etc/chatd.conf" "$root/etc/chatd.conf" 2>/dev/null || :

man_opt=--man=yes
if command -v man >/dev/null 2>&1 && [ -f "$src/man/chatd.8.in" ] && [ -f "$src/man/chatd.conf.5.in" ]; then
	subst "$src/man/chatd.8.in" >"$root/usr/share/man/man8/chatd.8"
	subst "$src/man/chatd.conf.5.in" >"$root/usr/share/man/man5/chatd.conf.5"
else
	man_opt=--man=no
	echo "# man(1) or man/*.in missing: Documentation= not checked here"
fi

# The template of several instances sharing ports (an example, not installed).
cp "$src/systemd/chatd@.service.example" "$unitdir/chatd@.service"
out=$(cd / && MANPATH=$root/usr/share/man timeout 60 systemd-analyze verify "$man_opt" \
    --root="$root" chatd.service chatd.socket chatd-echo.socket chatd@1.service 2>&1)
rc=$?
if [ $rc -eq 0 ] && [ -z "$out" ]; then
	ok "systemd-analyze verify prints nothing"
else
	nok "systemd-analyze verify prints nothing (rc=$rc)" "$out"
fi

out=$(timeout 60 systemd-analyze security --offline=true --threshold=20 --no-pager \
    "$unitdir/chatd.service" 2>&1)
rc=$?
score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ $rc -eq 0 ] && [ -n "$score" ]; then
	ok "systemd-analyze security --offline=true: chatd.service exposure $score <= 2.0"
else
	nok "systemd-analyze security --offline=true: chatd.service exposure ${score:-?} <= 2.0" \
	    "$(printf '%s\n' "$out" | grep -E '✗|Overall' | head -40)"
fi

# key UNITFILE: the values of a key, one per line (several lines or
# space-separated values)
key() { sed -n "s/^$1=//p" "$2" | tr ' ' '\n' | sed '/^$/d'; }

svc=$unitdir/chatd.service
check_val() { # what expected actual
	if [ "$2" = "$3" ]; then ok "$1"; else nok "$1" "expected: $2
actual:   $3"; fi
}
check_val "chatd.service is Type=notify" notify "$(key Type "$svc")"
check_val "chatd.service checks the configuration first (ExecStartPre=)" \
    "/usr/sbin/chatd -t -c /etc/chatd.conf" "$(sed -n 's/^ExecStartPre=//p' "$svc")"
check_val "chatd.service runs chatd in the foreground" \
    "/usr/sbin/chatd -c /etc/chatd.conf" "$(sed -n 's/^ExecStart=//p' "$svc")"
check_val "chatd.service reloads with SIGHUP" \
    '/bin/kill -HUP $MAINPID' "$(sed -n 's/^ExecReload=//p' "$svc")"
check_val "chatd.service takes both socket units (Sockets=)" \
    "chatd-echo.socket chatd.socket" "$(key Sockets "$svc" | sort | tr '\n' ' ' | sed 's/ $//')"
check_val "chatd.service documents chatd(8) and chatd.conf(5)" \
    "man:chatd(8) man:chatd.conf(5)" "$(key Documentation "$svc" | tr '\n' ' ' | sed 's/ $//')"
if grep -q '^PrivateNetwork=yes' "$svc" || grep -q '^IPAddressDeny=' "$svc"; then
	nok "chatd.service lets chatd bind the listeners no socket unit passes in" \
	    "PrivateNetwork=yes or IPAddressDeny= would cut them off"
else
	ok "chatd.service lets chatd bind the listeners no socket unit passes in"
fi

# The listeners of the sample configuration: name and bind of each
# uncommented { ... } entry.
listeners=$(sed -e 's/#.*//' -e 's|//.*||' "$src/etc/chatd.conf" 2>/dev/null | tr '\n' ' ' |
    grep -o '{[^{}]*}' | while read -r entry; do
	n=$(printf '%s\n' "$entry" | sed -n 's/.*name *= *"\([^"]*\)".*/\1/p')
	b=$(printf '%s\n' "$entry" | sed -n 's/.*bind *= *"\([^"]*\)".*/\1/p')
	[ -n "$n" ] && echo "$n $b"
done)
[ -n "$listeners" ] || listeners="chat 127.0.0.1:1234
echo 127.0.0.1:9001"
for s in chatd.socket chatd-echo.socket; do
	f=$unitdir/$s
	name=$(key FileDescriptorName "$f")
	listen=$(key ListenStream "$f")
	bind=$(printf '%s\n' "$listeners" | awk -v n="$name" '$1 == n { print $2 }')
	if [ -n "$name" ] && [ -n "$bind" ] && [ "$bind" = "$listen" ]; then
		ok "$s passes listener '$name' ($listen) of etc/chatd.conf"
	else
		nok "$s passes listener '$name' ($listen) of etc/chatd.conf" \
		    "FileDescriptorName=$name ListenStream=$listen; listeners in etc/chatd.conf:
$listeners"
	fi
	check_val "$s activates chatd.service" chatd.service "$(key Service "$f")"
	check_val "$s is wanted by sockets.target" sockets.target "$(key WantedBy "$f")"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
