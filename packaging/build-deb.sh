#!/bin/sh
# build-deb.sh SRCDIR [OUTDIR] - build the chatd .deb from a source tree and
# check it with lintian.  `make deb` runs it with the source directory; the
# .deb (and the .buildinfo/.changes) land in OUTDIR, default the current
# directory.
#
# The tree is copied to a temporary directory (the working tree is never
# touched, an in-tree build there does not leak into the package),
# packaging/debian becomes debian/, and `dpkg-buildpackage -us -uc -b` runs
# there.  The package build runs the C unit tests only (see debian/rules);
# set DEB_BUILD_OPTIONS=nocheck to skip them.
#
# Needs: build-essential debhelper devscripts fakeroot lintian, plus the
# Build-Depends of packaging/debian/control (dpkg-buildpackage checks them).
# Environment: LINTIAN=no skips lintian; KEEP=1 keeps the temporary tree.
set -eu

usage() { echo "usage: $0 SRCDIR [OUTDIR]" >&2; exit 64; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
src=$(cd "$1" && pwd) || usage
out=$(cd "${2:-.}" && pwd) || usage

for tool in dpkg-buildpackage dh fakeroot; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "build-deb.sh: $tool not found;" \
		    "apt-get install build-essential debhelper devscripts fakeroot lintian" >&2
		exit 69
	}
done
[ -f "$src/packaging/debian/control" ] || {
	echo "build-deb.sh: $src/packaging/debian/control not found" >&2; exit 66; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/chatd-deb.XXXXXX")
cleanup() {
	if [ "${KEEP:-0}" = 1 ]; then echo "build-deb.sh: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tree=$tmp/chatd
mkdir "$tree"

# Copy the sources.  In a git work tree: the tracked files plus the
# untracked ones that are not ignored (new files not yet committed count,
# build products listed in .gitignore do not).  Elsewhere (an unpacked
# `make dist` tarball): everything.
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$src" && git ls-files -z --cached --others --exclude-standard) |
	    (cd "$src" && xargs -0 -r sh -c \
		'for f; do [ -e "$f" ] || [ -L "$f" ] && printf "%s\0" "$f"; done' sh) |
	    (cd "$src" && tar --null -T - -cf -) | (cd "$tree" && tar -xf -)
else
	# (_build and _inst: what `make distcheck` creates inside the tree)
	(cd "$src" && tar --exclude=./.git --exclude=./_build --exclude=./_inst \
	    --exclude='./*.deb' -cf - .) | (cd "$tree" && tar -xf -)
fi

# A tree configured in place (config.status present) would make the
# package's out-of-tree configure refuse to run: clean the copy.
if [ -f "$tree/config.status" ] && [ -f "$tree/Makefile" ]; then
	echo "build-deb.sh: source tree was configured in place; running make distclean in the copy"
	(cd "$tree" && make -s distclean >/dev/null 2>&1) || true
	rm -f "$tree/config.status" "$tree/config.h"
fi

rm -rf "$tree/debian"
cp -R "$src/packaging/debian" "$tree/debian"
chmod +x "$tree/debian/rules"

echo "build-deb.sh: dpkg-buildpackage -us -uc -b in $tree"
(cd "$tree" && dpkg-buildpackage -us -uc -b) > "$tmp/build.log" 2>&1 || {
	tail -n 60 "$tmp/build.log" >&2
	echo "build-deb.sh: dpkg-buildpackage failed (log above; KEEP=1 keeps $tmp)" >&2
	exit 1
}
grep -E '^dpkg-deb: building package' "$tmp/build.log" || true

found=0
for f in "$tmp"/*.deb "$tmp"/*.buildinfo "$tmp"/*.changes; do
	[ -e "$f" ] || continue
	cp "$f" "$out/"
	case $f in *.deb) found=$((found + 1)); debs="${debs:-} $out/$(basename "$f")" ;; esac
done
[ "$found" -gt 0 ] || { echo "build-deb.sh: no .deb produced" >&2; exit 1; }
for d in $debs; do echo "build-deb.sh: wrote $d"; done

if [ "${LINTIAN:-yes}" = no ]; then
	echo "build-deb.sh: LINTIAN=no, lintian skipped"
	exit 0
fi
command -v lintian >/dev/null 2>&1 || {
	echo "build-deb.sh: lintian not found (apt-get install lintian, or LINTIAN=no)" >&2
	exit 69
}
# Overrides for deliberate choices are in debian/chatd.lintian-overrides,
# installed into the package, where lintian reads them.
# shellcheck disable=SC2086
lintian --fail-on error,warning --display-info $debs
echo "build-deb.sh: lintian clean (no error, no warning)"
