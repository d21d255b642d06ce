#!/bin/sh
# nspawn-journey.sh DEB - the administrator's journey with a freshly built
# chatd .deb, inside a minimal Debian 12 booted with systemd as PID 1.
#
#   1. debootstrap a minimal bookworm once, cached under $CHATD_NSPAWN_CACHE
#      (default /var/cache/chatd-nspawn; the key covers suite, mirror and
#      package list, so a change builds a new tree);
#   2. boot an --ephemeral copy of it with systemd-nspawn (private network:
#      127.0.0.1:1234 inside is not the host's), the .deb bind-mounted
#      read-only at /mnt/chatd-deb;
#   3. run packaging/nspawn-journey.py in the container's network namespace:
#      it installs the .deb with apt and walks the journey (socket
#      activation, chat, echo, reload, broken reload, stop, journal,
#      systemd-analyze, remove, purge), printing "N passed, M failed";
#   4. power the container off, whatever happened.
#
# Exit: 0 all passed, 1 a check failed, 77 skipped (not root, a tool is
# missing), 99 the environment broke (debootstrap or boot failed).
# Environment: CHATD_NSPAWN_CACHE, CHATD_NSPAWN_MIRROR (default: the
# Debian mirror apt uses here), CHATD_NSPAWN_SUITE (default bookworm),
# CHATD_JOURNEY_VERBOSE=1 (print every command run in the container).
set -u

here=$(cd "$(dirname "$0")" && pwd)
me=nspawn-journey
skip() { echo "$me: SKIP: $*"; exit 77; }
hard() { echo "$me: ERROR: $*" >&2; exit 99; }

[ $# -eq 1 ] || { echo "usage: $0 path/to/chatd_VERSION_ARCH.deb" >&2; exit 64; }
deb=$1
[ -f "$deb" ] || hard "$deb: no such file"

[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, systemd-nspawn, nsenter)"
missing=
for t in debootstrap systemd-nspawn nsenter pgrep setsid timeout flock python3 sha256sum; do
	command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
[ -z "$missing" ] || skip "missing:$missing (apt-get install debootstrap systemd-container python3 procps util-linux)"
[ -f "$here/nspawn-journey.py" ] || hard "$here/nspawn-journey.py not found"

suite=${CHATD_NSPAWN_SUITE:-bookworm}
cache=${CHATD_NSPAWN_CACHE:-/var/cache/chatd-nspawn}
mirror=${CHATD_NSPAWN_MIRROR:-}
if [ -z "$mirror" ]; then
	# The Debian mirror apt already uses (deb822 or one-line sources).
	mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*debian\/*\)$/\1/p' \
	    /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
	[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 ~ /debian\/?$/ { print $2; exit }' \
	    /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null)
	[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
fi
# What the journey needs inside: systemd as PID 1 and its bus; chatd's
# shared libraries (installing offline, apt must find every dependency
# already there); procps for /bin/kill (ExecReload=); man-db because
# `systemd-analyze verify` runs man(1) for Documentation=man:...
include=systemd,systemd-sysv,dbus,libconfig9,libsystemd0,libhiredis0.14,procps,man-db
key=$(printf '%s\n' "v1" "$suite" "$mirror" "$include" | sha256sum | cut -c1-12)
root=$cache/$suite-$key

mkdir -p "$cache" || hard "cannot create $cache"
# One journey per cache at a time (the tree and its ephemeral copies).
exec 9>"$cache/.lock"
timeout 600 flock 9 || hard "could not lock $cache/.lock within 600 s"

# Ephemeral copies left behind by a journey that was killed (-KILL).
for d in "$cache"/.#*; do
	[ -d "$d" ] && rm -rf "$d"
done

if [ ! -f "$root.ok" ]; then
	echo "$me: debootstrap $suite into $root (mirror $mirror)"
	rm -rf "$root" "$root.tmp"
	t0=$(date +%s)
	if ! timeout 900 debootstrap --variant=minbase --include="$include" \
	    "$suite" "$root.tmp" "$mirror" >"$cache/debootstrap.log" 2>&1; then
		tail -n 20 "$cache/debootstrap.log" >&2
		rm -rf "$root.tmp"
		hard "debootstrap failed (log: $cache/debootstrap.log)"
	fi
	mv "$root.tmp" "$root" && touch "$root.ok"
	echo "$me: debootstrap took $(( $(date +%s) - t0 )) s"
else
	echo "$me: using cached $root"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/chatd-journey.XXXXXX") || hard "mktemp failed"
chmod 755 "$work"
mkdir "$work/deb"
cp "$deb" "$work/deb/" || hard "cannot copy $deb"
chmod 755 "$work/deb"; chmod 644 "$work/deb/"*
debname=$(basename "$deb")

nspawn_pid=
poweroff() {
	if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
		# SIGTERM to nspawn = a clean poweroff of the container.
		kill -TERM "$nspawn_pid" 2>/dev/null
		i=0
		while kill -0 "$nspawn_pid" 2>/dev/null && [ $i -lt 300 ]; do
			sleep 0.1; i=$((i + 1))
		done
		if kill -0 "$nspawn_pid" 2>/dev/null; then
			echo "$me: container did not power off in 30 s, killing it" >&2
			kill -KILL -- "-$nspawn_pid" 2>/dev/null || kill -KILL "$nspawn_pid" 2>/dev/null
		fi
	fi
	nspawn_pid=
}
finish() {
	rc=$?
	poweroff
	if [ "$rc" -ne 0 ] && [ -s "$work/console.log" ]; then
		echo "$me: last lines of the container console:" >&2
		tail -n 15 "$work/console.log" | sed 's/^/    /' >&2
	fi
	rm -rf "$work"
	exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM HUP

machine=chatd-journey-$$
echo "$me: booting $machine"
# --register=no --keep-unit: no machined and no systemd on the host;
# --console=pipe: no terminal (CI has no standard input).
setsid systemd-nspawn -q --register=no --keep-unit --ephemeral \
    --private-network --machine="$machine" -D "$root" \
    --bind-ro="$work/deb:/mnt/chatd-deb" \
    -b --console=pipe </dev/null >"$work/console.log" 2>&1 &
nspawn_pid=$!

pid1=
i=0
while [ $i -lt 300 ]; do
	pid1=$(pgrep -P "$nspawn_pid" -x systemd | head -n 1)
	[ -n "$pid1" ] && break
	kill -0 "$nspawn_pid" 2>/dev/null || break
	sleep 0.1; i=$((i + 1))
done
[ -n "$pid1" ] || { cat "$work/console.log" >&2; hard "container did not start (no systemd under nspawn pid $nspawn_pid)"; }

# systemctl fails until PID 1 has its private bus socket: retry that.
state=
i=0
while [ $i -lt 60 ]; do
	state=$(timeout 90 nsenter -t "$pid1" -a systemctl is-system-running --wait 2>&1)
	case $state in
	*"connect to bus"*) sleep 0.5; i=$((i + 1)) ;;
	*) break ;;
	esac
done
case $state in
running) ;;
degraded)
	echo "$me: container is degraded; failed units:"
	timeout 10 nsenter -t "$pid1" -a systemctl --failed --no-legend --no-pager | sed 's/^/    /'
	;;
*) hard "container did not boot: is-system-running says '$state'" ;;
esac
echo "$me: container up (PID 1 is $pid1 on the host)"

# The checks run in the container's network namespace only, so the
# clients are the host's python3 talking to the container's loopback;
# container commands go through nsenter -a.
timeout 600 nsenter -t "$pid1" -n python3 "$here/nspawn-journey.py" \
    --pid1 "$pid1" --deb "/mnt/chatd-deb/$debname"
rc=$?
[ $rc -eq 124 ] && echo "$me: the journey timed out after 600 s" >&2
exit $rc
