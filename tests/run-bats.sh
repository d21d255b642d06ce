#!/bin/sh
# run-bats.sh - runs the bats integration suite against the built daemon.
# `make check` exports CHATD_BIN, CHATD_SRCDIR and CHATD_BUILDDIR; by hand,
# run it from the build directory:
#   tests/run-bats.sh [BATS-OPTION...] [FILE.bats...]
# Works from a VPATH build (read-only srcdir): bats writes only below
# $BATS_TMPDIR / $TMPDIR.
#
# bats, its helper libraries and python3 are looked up now, when the tests
# run, not when configure ran: installing bats after ./configure (as the
# README's second command does) is enough.  When one is missing this is a
# hard error (99), never a skip: a suite that does not run has not passed.

srcdir=${CHATD_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
: "${CHATD_BUILDDIR:=$(pwd)}"
: "${CHATD_BIN:=./src/chatd}"
: "${PYTHON3:=python3}"
: "${BATS:=bats}"

case $CHATD_BIN in
/*) ;;
*) CHATD_BIN=$(pwd)/$CHATD_BIN ;;
esac
if [ ! -x "$CHATD_BIN" ]; then
	echo "run-bats.sh: $CHATD_BIN is not an executable; build it first" >&2
	exit 99
fi
missing=
command -v "$BATS" >/dev/null 2>&1 || missing="$missing bats"
command -v "$PYTHON3" >/dev/null 2>&1 || missing="$missing python3"
# bats_load_library looks in $BATS_LIB_PATH, by default these two.
found_lib() {
	for d in $(printf '%s' "${BATS_LIB_PATH:-/usr/lib/bats:/usr/local/lib/bats}" | tr : ' '); do
		[ -d "$d/$1" ] && return 0
	done
	return 1
}
found_lib bats-support || missing="$missing bats-support"
found_lib bats-assert || missing="$missing bats-assert"
# tests/browser.bats (in the whole suite, or named): Debian's Chromium and
# node + npm (it installs playwright-core with npm ci at test time);
# tests/ws-node.bats: node + npm (the npm ws client, npm ci likewise).
browser=no node=no
case " $* " in
*.bats\ *)
	case " $* " in *browser.bats\ *) browser=yes node=yes ;; esac
	case " $* " in *ws-node.bats\ *) node=yes ;; esac ;;
*) browser=yes node=yes ;;
esac
if [ $node = yes ]; then
	command -v node >/dev/null 2>&1 || missing="$missing node"
	command -v npm >/dev/null 2>&1 || missing="$missing npm"
fi
if [ $browser = yes ]; then
	[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || missing="$missing chromium"
fi
if [ -n "$missing" ]; then
	echo "run-bats.sh: the bats suite cannot run, missing:$missing" >&2
	echo "run-bats.sh: install them (Debian: apt-get install bats bats-support bats-assert python3 chromium; nodejs npm unless node is there) and run make check again" >&2
	exit 99
fi
CHATD_SRCDIR=$srcdir
export CHATD_BIN CHATD_SRCDIR CHATD_BUILDDIR PYTHON3

# Options (e.g. --timing, -f REGEX) pass through; without a .bats file
# among the arguments, the whole suite runs.
case " $* " in
*.bats\ *) ;;
*) set -- "$@" "$srcdir"/tests/*.bats ;;
esac
# cluster.bats is about a feature a build may leave out (--with-cluster=no,
# chatd -V says "cluster: no"): such a build does not run it at all
# (config.bats checks that it refuses a cluster group).  A build with it
# runs every cluster test, none skipped.
if "$CHATD_BIN" -V 2>/dev/null | grep -q '^cluster: no'; then
	for a in "$@"; do
		shift
		case $a in
		*/cluster.bats | cluster.bats)
			echo "run-bats.sh: chatd built without cluster support: not running $a" >&2 ;;
		*) set -- "$@" "$a" ;;
		esac
	done
fi
exec "$BATS" --tap --print-output-on-failure "$@"
