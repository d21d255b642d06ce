#!/bin/sh
# tests/packaging/launchd.sh - the launchd job packaging/launchd/org.chatd.chatd.plist
# against the sample etc/chatd.conf (see packaging/launchd/check-plist.sh).
src=${CHATD_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
exec sh "$src/packaging/launchd/check-plist.sh" \
    "$src/packaging/launchd/org.chatd.chatd.plist" "$src/etc/chatd.conf"
