#!/usr/bin/env bats
# ws-node.bats - the websocket listener (SPEC 16) against an independent
# WebSocket implementation: the npm `ws` package's client (pinned in
# tests/node/package.json, installed now with `npm ci` into the build
# directory, as tests/browser.bats does) and a TCP chat client in one room,
# both ways, with a fragmented message, a ping and the close handshake
# (1000).  The steps are in tests/node/ws-client.mjs.  Without node or npm
# this fails (as run-bats.sh does, 99), never skips.

load helpers

NODE_DIR=$CHATD_BUILDDIR/tests/browser-node

setup_file() {
	local t missing=
	for t in node npm; do command -v "$t" >/dev/null || missing="$missing $t"; done
	if [[ -n $missing ]]; then
		echo "ws-node.bats: missing:$missing; install them (Debian: apt-get install nodejs npm)" >&3
		return 99
	fi
	mkdir -p "$NODE_DIR"
	cp "$CHATD_SRCDIR/tests/node/package.json" "$CHATD_SRCDIR/tests/node/package-lock.json" "$NODE_DIR/"
	if ! out=$(cd "$NODE_DIR" && npm ci --no-audit --no-fund --prefer-offline 2>&1); then
		printf 'ws-node.bats: npm ci in %s failed:\n%s\n' "$NODE_DIR" "$out" >&3
		return 1
	fi
}

@test "npm ws client and a TCP client chat in one room: fragments, ping/pong, close 1000" {
	use_ports 2
	start_chatd "listeners = (
  { name = \"web\"; protocol = \"websocket\"; bind = \"127.0.0.1:$P1\"; room = \"lobby\"; www = \"\"; },
  { name = \"chat\"; protocol = \"chat\"; bind = \"127.0.0.1:$P2\"; room = \"lobby\"; } );"
	run -0 env NODE_DIR="$NODE_DIR" WS_URL="ws://127.0.0.1:$P1/chat" CHAT_PORT="$P2" \
		"$TIMEOUT_CMD" -k 5 60 node "$CHATD_SRCDIR/tests/node/ws-client.mjs"
	assert_output --partial 'close 1000 observed; all steps passed'
	assert_chatd_alive
}
