#!/bin/sh
# run-bats.sh - runs the bats integration suite against the built daemon.
# `make check` exports CHATD_BIN, CHATD_SRCDIR, CHATD_BUILDDIR, PYTHON3 and
# BATS; by hand, run it from the build directory:
#   tests/run-bats.sh [BATS-OPTION...] [FILE.bats...]
# Works from a VPATH build (read-only srcdir): bats writes only below
# $BATS_TMPDIR / $TMPDIR.

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
CHATD_SRCDIR=$srcdir
export CHATD_BIN CHATD_SRCDIR CHATD_BUILDDIR PYTHON3

# Options (e.g. --timing, -f REGEX) pass through; without a .bats file
# among the arguments, the whole suite runs.
case " $* " in
*.bats\ *) ;;
*) set -- "$@" "$srcdir"/tests/*.bats ;;
esac
exec "$BATS" --tap --print-output-on-failure "$@"
