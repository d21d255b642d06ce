#!/bin/sh
# tests/packaging/journey.sh - `make check` entry of the end-to-end test
# under a real systemd: builds the .deb from the source tree (or takes
# CHATD_DEB) and runs packaging/nspawn-journey.sh with it, which boots a
# minimal Debian 12 with systemd-nspawn and walks the administrator's
# journey (install, socket activation, chat, echo, reload, stop, remove,
# purge).  Needs root and debootstrap, systemd-container, debhelper,
# fakeroot and the Build-Depends; skipped (77) with the reason otherwise.
# The debootstrapped tree is cached in $CHATD_NSPAWN_CACHE (default
# /var/cache/chatd-nspawn): the first run takes ~30 s more.
# CHATD_SKIP_JOURNEY=1 skips it (e.g. for make distcheck).
set -u
src=${CHATD_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
me=journey.sh
skip() { echo "$me: SKIP: $*"; exit 77; }

[ "${CHATD_SKIP_JOURNEY:-0}" = 1 ] && skip "CHATD_SKIP_JOURNEY=1"
[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, systemd-nspawn); CI runs it as root"
missing=
for t in debootstrap systemd-nspawn nsenter python3; do
	command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
if [ -z "${CHATD_DEB:-}" ]; then
	for t in dpkg-buildpackage dh fakeroot dpkg-checkbuilddeps; do
		command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
	done
fi
[ -z "$missing" ] || skip "missing:$missing (apt-get install debootstrap systemd-container debhelper devscripts fakeroot)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/chatd-journey-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

deb=${CHATD_DEB:-}
if [ -z "$deb" ]; then
	unmet=$(cd "$src/packaging" && dpkg-checkbuilddeps debian/control 2>&1) ||
	    skip "build dependencies of the .deb missing: ${unmet#*: }"
	echo "$me: building the .deb (unit tests and lintian left to make check and make deb)"
	if ! DEB_BUILD_OPTIONS=nocheck LINTIAN=no timeout 900 \
	    sh "$src/packaging/build-deb.sh" "$src" "$tmp" >"$tmp/build.log" 2>&1; then
		cat "$tmp/build.log"
		echo "$me: the .deb did not build"
		echo "0 passed, 1 failed"
		exit 1
	fi
	deb=$(ls "$tmp"/chatd_*.deb 2>/dev/null | head -n 1)
fi
[ -f "$deb" ] || { echo "$me: no .deb ($deb)"; exit 99; }
exec sh "$src/packaging/nspawn-journey.sh" "$deb"
