#!/usr/bin/env bats
# browser.bats - the web page (www/) in a real browser: headless Debian
# Chromium driven by playwright-core (tests/node/package.json, installed
# now with `npm ci` into the build directory; it downloads no browser)
# chats with a TCP client through a websocket and a chat listener sharing
# one room; chatd is killed and restarted under the page; markup from the
# TCP side stays text.  The steps are in tests/browser/chat.mjs; the
# screenshot is $CHATD_BUILDDIR/tests/artifacts/chat.png (chat-failed.png
# when a step fails).  Without node, npm or chromium this fails (as
# run-bats.sh does, 99), never skips.

load helpers

: "${CHROMIUM:=/usr/bin/chromium}"
NODE_DIR=$CHATD_BUILDDIR/tests/browser-node
ARTIFACTS=$CHATD_BUILDDIR/tests/artifacts

setup_file() {
	local t missing=
	for t in node npm; do command -v "$t" >/dev/null || missing="$missing $t"; done
	[[ -x $CHROMIUM ]] || missing="$missing chromium($CHROMIUM)"
	if [[ -n $missing ]]; then
		echo "browser.bats: missing:$missing; install them (Debian: apt-get install chromium nodejs npm)" >&3
		return 99
	fi
	mkdir -p "$NODE_DIR"
	cp "$CHATD_SRCDIR/tests/node/package.json" "$CHATD_SRCDIR/tests/node/package-lock.json" "$NODE_DIR/"
	# npm ci: exactly the locked versions; the cache is used when it can be.
	if ! out=$(cd "$NODE_DIR" && npm ci --no-audit --no-fund --prefer-offline 2>&1); then
		printf 'browser.bats: npm ci in %s failed:\n%s\n' "$NODE_DIR" "$out" >&3
		return 1
	fi
}

@test "browser: the page chats with a TCP client, shows /who, escapes markup, reconnects after a restart" {
	use_ports 2
	CHATD_CONF=$BATS_TEST_TMPDIR/chatd.conf
	CHATD_LOG=$BATS_TEST_TMPDIR/chatd.stderr
	: >"$CHATD_LOG"
	cat >"$CHATD_CONF" <<CONF
listeners = (
  { name = "web"; bind = "127.0.0.1:$P1"; protocol = "websocket"; room = "lobby";
    www = "$CHATD_SRCDIR/www"; },
  { name = "nc"; bind = "127.0.0.1:$P2"; protocol = "chat"; room = "lobby"; }
);
CONF
	rm -f "$ARTIFACTS/chat.png" "$ARTIFACTS/chat-failed.png"
	run -0 env CHATD_CONF="$CHATD_CONF" CHATD_LOG="$CHATD_LOG" WEB_PORT="$P1" CHAT_PORT="$P2" \
		NODE_DIR="$NODE_DIR" ARTIFACTS="$ARTIFACTS" CHROMIUM="$CHROMIUM" \
		"$TIMEOUT_CMD" -k 5 120 node "$CHATD_SRCDIR/tests/browser/chat.mjs"
	assert_output --partial 'all steps passed'
	[[ -s $ARTIFACTS/chat.png ]] || fail "no screenshot at $ARTIFACTS/chat.png"
}
