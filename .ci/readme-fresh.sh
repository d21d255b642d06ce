#!/usr/bin/env bash
# .ci/readme-fresh.sh - the README's two commands, verbatim and in order,
# as a newcomer runs them: in a freshly debootstrapped Debian 12 (default
# variant, what a fresh machine has) under systemd-nspawn, from a clean
# clone of this tree.  As root, so `sudo ` is dropped, as the README says.
#
#   1. command 1 (install, build, run in the foreground): chatd must say
#      "ready", the chat port must carry a line to its sender, the echo
#      port must send a line back and port 8080 must serve the web page;
#      then chatd is stopped with SIGTERM.
#   2. command 2 (install the test tools, make check) must pass, and the
#      bats suite must have run: as many results as there are @test lines
#      in tests/*.bats, none "not ok".
#
# Needs root, debootstrap and systemd-container on the host; the container
# shares the host's network (apt reaches the mirror; ports 1234, 9001
# and 8080 must be free).  The debootstrapped tree is cached under
# $CHATD_NEWCOMER_CACHE (default /var/cache/chatd-newcomer, not the
# journey's cache: journey.sh removes stale ephemeral copies there); every
# run works on an ephemeral copy of it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
me=readme-fresh.sh
die() { echo "$me: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root"
command -v debootstrap >/dev/null || die "needs debootstrap"
command -v systemd-nspawn >/dev/null || die "needs systemd-nspawn (systemd-container)"

# The README's commands: the first two lines after the comments in its
# first sh block, run as root (sudo dropped).
readarray -t cmds < <(awk '/^```sh$/ { inblock = 1; next }
	inblock && /^```/ { exit }
	inblock && !/^#/ && NF { print }' "$top/README.md")
[ "${#cmds[@]}" -eq 2 ] || die "expected two commands in README.md's first sh block, found ${#cmds[@]}"
cmd1=${cmds[0]//sudo /}
cmd2=${cmds[1]//sudo /}
case $cmd1 in *chatd\ -c\ etc/chatd.conf*) ;; *) die "command 1 does not run chatd with the sample config: $cmd1" ;; esac
case $cmd2 in *make\ check*) ;; *) die "command 2 does not run make check: $cmd2" ;; esac

mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*debian\/*\)$/\1/p' \
    /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 ~ /debian\/?$/ { print $2; exit }' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
cache=${CHATD_NEWCOMER_CACHE:-/var/cache/chatd-newcomer}
root=$cache/bookworm-$(printf '%s\n' v1 "$mirror" | sha256sum | cut -c1-12)
mkdir -p "$cache"
if [ ! -e "$root.ok" ]; then
	rm -rf "$root.tmp"
	t0=$SECONDS
	timeout 900 debootstrap bookworm "$root.tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$cache/debootstrap.log" >&2; die "debootstrap failed"; }
	rm -rf "$root"; mv "$root.tmp" "$root"; touch "$root.ok"
	echo "$me: debootstrap took $((SECONDS - t0)) s"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/chatd-readme.XXXXXX")
trap 'rm -rf "$work"' EXIT
git clone -q "$top" "$work/chatd"

cat >"$work/inside.sh" <<'INSIDE'
#!/bin/bash
# Runs in the container, in the clone.
set -uo pipefail
cd /root/chatd
cmd1=$(sed -n 1p /root/cmds); cmd2=$(sed -n 2p /root/cmds)
say() { echo "inside: $*"; }

say "command 1: $cmd1"
bash -c "$cmd1" >/root/cmd1.log 2>&1 &
job=$!
for _ in $(seq 1800); do
	grep -q ' ready (' /root/cmd1.log && break
	kill -0 "$job" 2>/dev/null || { tail -n 40 /root/cmd1.log; say "command 1 ended before chatd was ready"; exit 1; }
	sleep 0.5
done
grep -q ' ready (' /root/cmd1.log || { tail -n 40 /root/cmd1.log; say "chatd not ready after 900 s"; exit 1; }
say "chatd is ready"

# Chat: our own line comes back as "NAME: TEXT" (after any motd lines).
exec 3<>/dev/tcp/127.0.0.1/1234 || { say "chat port 1234 refused"; exit 1; }
printf 'hello from a newcomer\r\n' >&3
got=
while IFS= read -r -t 5 line <&3; do
	case $line in *": hello from a newcomer"*) got=$line; break ;; esac
done
exec 3<&-
[ -n "$got" ] || { say "chat did not carry the line back"; exit 1; }
say "chat answered: ${got%$'\r'}"

exec 4<>/dev/tcp/127.0.0.1/9001 || { say "echo port 9001 refused"; exit 1; }
printf 'ping 123\n' >&4
IFS= read -r -t 5 line <&4 || line=
exec 4<&-
[ "$line" = "ping 123" ] || { say "echo answered '$line', not 'ping 123'"; exit 1; }
say "echo answered: $line"

# The web page on 8080 (the sample config's websocket listener).
exec 5<>/dev/tcp/127.0.0.1/8080 || { say "web port 8080 refused"; exit 1; }
printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n' >&5
page=$(timeout 5 cat <&5)
exec 5<&-
case $page in "HTTP/1.1 200"*'src="chat.js"'*) ;; *) say "http://127.0.0.1:8080/ did not serve the page"; exit 1 ;; esac
say "web page served on http://127.0.0.1:8080/"

pid=$(pgrep -x chatd) || { say "no chatd process"; exit 1; }
kill -TERM "$pid"
wait "$job"; rc=$?
[ "$rc" -eq 0 ] || { tail -n 20 /root/cmd1.log; say "chatd exited $rc after SIGTERM"; exit 1; }
say "chatd stopped cleanly"

say "command 2: $cmd2"
bash -c "$cmd2" >/root/cmd2.log 2>&1; rc=$?
tail -n 25 /root/cmd2.log
log=tests/run-bats.sh.log
[ "$rc" -eq 0 ] || { [ -f "$log" ] && grep -B2 -A30 '^not ok' "$log" | head -120; say "command 2 failed ($rc)"; exit 1; }
[ -f "$log" ] || { say "the bats suite did not run (no $log)"; exit 1; }
want=$(cat tests/*.bats | grep -c '^@test ')
ran=$(grep -c '^ok ' "$log")
bad=$(grep -c '^not ok ' "$log")
skipped=$(grep -c '^ok .* # skip' "$log")
say "bats: $ran ok ($skipped of them skipped), $bad not ok, of $want tests"
[ "$bad" -eq 0 ] && [ "$ran" -eq "$want" ] || { say "not every bats test ran"; exit 1; }
grep '^ok .* # skip' "$log" || true
INSIDE
chmod 755 "$work/inside.sh"
printf '%s\n%s\n' "$cmd1" "$cmd2" >"$work/cmds"

echo "$me: running the README's commands in a fresh Debian 12 ($root)"
# A network whose TLS goes through a proxy with its own CA (the host says
# so in NODE_EXTRA_CA_CERTS) needs that CA inside too, for npm ci.
extra_ca=()
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -r "$NODE_EXTRA_CA_CERTS" ]; then
	extra_ca=(--bind-ro="$NODE_EXTRA_CA_CERTS:/root/extra-ca.crt" --setenv=NODE_EXTRA_CA_CERTS=/root/extra-ca.crt)
fi
systemd-nspawn -q --register=no --keep-unit --ephemeral -D "$root" --pipe "${extra_ca[@]}" \
	--bind="$work/chatd:/root/chatd" --bind-ro="$work/inside.sh:/root/inside.sh" \
	--bind-ro="$work/cmds:/root/cmds" --setenv=DEBIAN_FRONTEND=noninteractive \
	/root/inside.sh
