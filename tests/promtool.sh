#!/bin/sh
# promtool.sh - prints the path of a promtool binary, extracting it from
# Debian's prometheus package into a cache directory the first time
# (apt-get download + dpkg-deb -x: nothing is installed, no service runs).
# Used by .ci/run and tests/metrics.bats.  PROMTOOL_CACHE overrides the
# cache directory.
set -eu
cache=${PROMTOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chatd-promtool}
bin=$cache/root/usr/bin/promtool
if [ ! -x "$bin" ]; then
	mkdir -p "$cache"
	(cd "$cache" && rm -f prometheus_*.deb &&
	    apt-get download prometheus >/dev/null 2>&1 &&
	    dpkg-deb -x prometheus_*.deb root && rm -f prometheus_*.deb) || {
		echo "promtool.sh: cannot fetch Debian's prometheus package" >&2
		exit 1
	}
fi
"$bin" --version >/dev/null 2>&1 || { echo "promtool.sh: $bin does not run" >&2; exit 1; }
echo "$bin"
