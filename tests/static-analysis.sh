#!/bin/sh
# static-analysis.sh - cppcheck and clang-tidy over chatd's C sources
# (src/, tests/unit/, tests/fuzz/); exits 1 on any finding, 2 when a tool
# is missing or the tree is not configured.
#
# Run it from the top of a configured build tree (where autoconfig.h is):
#   tests/static-analysis.sh            # in-tree build
#   ../../tests/static-analysis.sh      # from build/epoll, a VPATH build
# CPPCHECK and CLANG_TIDY choose the tools (e.g. CLANG_TIDY=clang-tidy-15);
# JOBS how many clang-tidy processes run at once (default: every CPU).
#
# The checks are those of .clang-tidy at the top of the source tree.
# clang-tidy runs once per file on purpose: clang-tidy 14 fed several
# files at once reports a false "uninitialized va_list" for every
# vsnprintf() in the second and later files.

srcdir=$(cd "$(dirname "$0")/.." && pwd)
: "${CPPCHECK:=cppcheck}"
: "${CLANG_TIDY:=clang-tidy}"
: "${CC:=cc}"

# Internal: one clang-tidy run, started in parallel by xargs below.
if [ "${1-}" = --tidy-one ]; then
	shift
	libs=libconfig
	for lib in libsystemd openssl hiredis libfiu; do
		if pkg-config --exists "$lib" 2>/dev/null; then
			libs="$libs $lib"
		fi
	done
	extra=
	case $1 in
	*/test_activation.c) extra="-DHAVE_LAUNCHD=1 -I$srcdir/tests/unit/stub" ;;
	esac
	# The flags of the build (Makefile.am's AM_CPPFLAGS and AM_CFLAGS).
	# shellcheck disable=SC2046,SC2086
	out=$("$CLANG_TIDY" --quiet "$1" -- -std=c11 -I. -I"$srcdir/src" \
		-D_GNU_SOURCE -DSYSCONFDIR='"/etc"' -DRUNSTATEDIR='"/run"' \
		-DDATADIR='"/usr/share"' $extra $(pkg-config --cflags $libs) 2>&1) && exit 0
	printf '%s\n' "$out"
	exit 1
fi

if [ ! -f autoconfig.h ]; then
	echo "static-analysis.sh: no autoconfig.h here: run it from the top of a configured tree" >&2
	exit 2
fi
for tool in "$CPPCHECK" "$CLANG_TIDY" pkg-config; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "static-analysis.sh: $tool not found" >&2
		exit 2
	fi
done

# The event backends this system's headers can compile: clang-tidy needs a
# translation unit that compiles (kqueue does not on Linux, epoll not on
# the BSDs); cppcheck reads them all.
has_header() {
	printf '#include <%s>\n' "$1" | "$CC" -E - >/dev/null 2>&1
}
files=
for f in "$srcdir"/src/*.c "$srcdir"/tests/unit/*.c "$srcdir"/tests/fuzz/*.c; do
	case $f in
	*/selector-epoll.c) has_header sys/epoll.h || continue ;;
	*/selector-kqueue.c) has_header sys/event.h || continue ;;
	esac
	files="$files $f"
done

status=0

echo "static-analysis.sh: $($CPPCHECK --version)"
"$CPPCHECK" --quiet --enable=warning,performance,portability --std=c11 \
	--error-exitcode=1 --inline-suppr -I "$srcdir/src" -I . \
	"$srcdir/src" "$srcdir/tests/unit" "$srcdir/tests/fuzz" || status=1

echo "static-analysis.sh: $($CLANG_TIDY --version | grep -i version | head -n 1)"
jobs=${JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}
# shellcheck disable=SC2086
printf '%s\n' $files | xargs -P "$jobs" -n 1 sh "$0" --tidy-one || status=1

if [ "$status" -ne 0 ]; then
	echo "static-analysis.sh: findings above (a false positive gets a NOLINT(check) with its reason)" >&2
else
	echo "static-analysis.sh: clean"
fi
exit "$status"
