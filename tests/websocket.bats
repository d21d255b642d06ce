#!/usr/bin/env bats
# websocket.bats - the websocket listener (SPEC 16) with a raw-frame client
# (tests/wsclient.py) and curl: every handshake status, static files and
# attempts to leave www, a WebSocket and a TCP chat client in one room,
# the frame rules (named after the Autobahn|Testsuite case families),
# pings, the close handshake, slow consumers and stalled clients.

setup() {
	load helpers
	use_ports 2
	export WS=127.0.0.1:$P1 TCP=127.0.0.1:$P2
	WWW=$BATS_TEST_TMPDIR/www
	mkdir -p "$WWW/sub" "$BATS_TEST_TMPDIR/secret"
	printf '<h1>chatd</h1>\n' >"$WWW/index.html"
	printf 'body {}\n' >"$WWW/sub/style.css"
	printf 'secret\n' >"$BATS_TEST_TMPDIR/secret/file"
	ln -s "$BATS_TEST_TMPDIR/secret/file" "$WWW/out"
	ln -s "$BATS_TEST_TMPDIR/secret" "$WWW/outdir"
}

# start_ws [WEBSOCKET-KEYS]: a websocket listener on $WS and a chat
# listener on $TCP, both in room "lobby".
start_ws() {
	start_chatd "listeners = (
  { name = \"web\"; protocol = \"websocket\"; bind = \"$WS\"; room = \"lobby\";
    www = \"$WWW\"; $* },
  { name = \"chat\"; protocol = \"chat\"; bind = \"$TCP\"; room = \"lobby\"; } );"
}

wsc() {
	"$PYTHON3" "$CHATD_SRCDIR/tests/wsclient.py" -t "$CLIENT_TIMEOUT" "$@"
}

# status REQUEST-LINE [HEADER...]: the status code chatd answers.
status() {
	wsc status "$WS" "$@"
}

# upgrade_status [HEADER...]: GET /chat with the given headers.
upgrade_status() {
	status "GET /chat HTTP/1.1" "Host: $WS" "$@"
}

KEY="Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="

@test "handshake: 101 with the accept key of RFC 6455 1.3" {
	start_ws
	run wsc -v status "$WS" "GET /chat HTTP/1.1" "Host: x" "Upgrade: websocket" \
		"Connection: keep-alive, Upgrade" "$KEY" "Sec-WebSocket-Version: 13"
	[[ ${lines[0]} == 101 ]]
	[[ $output == *"sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="* ]]
	[[ $output != *"connection: close"* ]]
}

@test "handshake: 400 426 405 403 431 505 and 414 as SPEC 16 says" {
	start_ws "origins = [ \"http://good.example\" ];"
	local up=("Upgrade: websocket" "Connection: Upgrade")
	[[ $(upgrade_status "${up[@]}" "Sec-WebSocket-Version: 13") == 400 ]]	# no key
	[[ $(upgrade_status "${up[@]}" "Sec-WebSocket-Key: short==" "Sec-WebSocket-Version: 13") == 400 ]]
	[[ $(upgrade_status "Upgrade: websocket" "$KEY" "Sec-WebSocket-Version: 13") == 400 ]]
	[[ $(upgrade_status "${up[@]}" "$KEY" "Sec-WebSocket-Version: 8") == 426 ]]
	run wsc -v status "$WS" "GET /chat HTTP/1.1" "Host: x" "${up[@]}" "$KEY"
	[[ ${lines[0]} == 426 && $output == *"sec-websocket-version: 13"* ]]
	[[ $(upgrade_status) == 426 ]]		# a plain GET of the path
	[[ $(status "POST /chat HTTP/1.1" "Host: x") == 405 ]]
	[[ $(status "DELETE /index.html HTTP/1.1" "Host: x") == 405 ]]
	[[ $(upgrade_status "${up[@]}" "$KEY" "Sec-WebSocket-Version: 13" \
		"Origin: http://evil.example") == 403 ]]
	[[ $(upgrade_status "${up[@]}" "$KEY" "Sec-WebSocket-Version: 13") == 403 ]]
	[[ $(upgrade_status "${up[@]}" "$KEY" "Sec-WebSocket-Version: 13" \
		"Origin: http://good.example") == 101 ]]
	[[ $(status "GET / HTTP/1.1" "X: $(head -c 9000 /dev/zero | tr '\0' a)") == 431 ]]
	[[ $(status "GET /$(head -c 9000 /dev/zero | tr '\0' a) HTTP/1.1") == 414 ]]
	[[ $(status "GET / HTTP/2.0") == 505 ]]
	[[ $(status "GET / HTTP/1.1" "bad header") == 400 ]]
}

@test "static files: index.html for /, Content-Type, HEAD, 404" {
	start_ws
	run curl -sS -i "http://$WS/"
	[[ $output == *"200 OK"* && $output == *"Content-Type: text/html"* ]]
	[[ $output == *"Connection: close"* && $output == *"<h1>chatd</h1>"* ]]
	run curl -sS -i "http://$WS/sub/style.css"
	[[ $output == *"Content-Type: text/css"* && $output == *"body {}"* ]]
	run curl -sS -I "http://$WS/index.html"
	[[ $output == *"Content-Length: 15"* ]]
	[[ $(curl -s -o /dev/null -w '%{http_code}' "http://$WS/nothing.html") == 404 ]]
	[[ $(curl -s -o /dev/null -w '%{http_code}' "http://$WS/sub") == 404 ]]
}

@test "static files: no way out of www (.., %2e%2e, symlinks)" {
	start_ws
	local code
	for p in /../etc/passwd /sub/../../secret/file /%2e%2e/secret/file /%2E%2e/%2e%2e/etc/passwd \
		/sub%2f..%2f..%2fsecret/file /out /outdir/file /a%00b; do
		code=$(curl -s --path-as-is -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' "http://$WS$p")
		[[ $code == 400 || $code == 404 ]] || fail "$p: $code"
		! grep -q secret "$BATS_TEST_TMPDIR/body" || fail "$p: served the file"
	done
}

@test "www = \"\" serves no files" {
	start_chatd "listeners = ( { name = \"web\"; protocol = \"websocket\"; bind = \"$WS\"; www = \"\"; } );"
	[[ $(curl -s -o /dev/null -w '%{http_code}' "http://$WS/") == 404 ]]
}

@test "chat: a WebSocket and a TCP client in one room, both ways; U+FFFD for invalid UTF-8 from TCP" {
	start_ws
	wsc <<EOF
ws a $WS
tcp t $TCP
expect a \* 127\.0\.0\.1:\d+ joined
send a hello from the browser
expect t 127\.0\.0\.1:\d+: hello from the browser
expect a 127\.0\.0\.1:\d+: hello from the browser
send t hi from nc
expect t 127\.0\.0\.1:\d+: hi from nc
expect a 127\.0\.0\.1:\d+: hi from nc
raw t caf\xe9 \xff\xfe ok \xe2\x82\n
expect a 127\.0\.0\.1:\d+: caf\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd ok \xef\xbf\xbd
expect t 127\.0\.0\.1:\d+: caf\xe9 \xff\xfe ok \xe2\x82
send a /nick web
expect t \* 127\.0\.0\.1:\d+ is now known as web
expect a \* 127\.0\.0\.1:\d+ is now known as web
send a /who
expect a \* users: web, 127\.0\.0\.1:\d+
frame a 1 two\nlines
expect t web: two
expect t web: lines
expect a web: two
expect a web: lines
send t /me waves
expect a \* 127\.0\.0\.1:\d+ waves
EOF
}

@test "fragmentation: a message in fragments with pings and pongs between them" {
	start_ws
	wsc <<EOF
ws a $WS
frame a 1 frag- fin=0
frame a 9 p1
frame a 0 ment- fin=0
frame a 10 unsolicited
frame a 0 ed
expect_pong a p1
expect a 127\.0\.0\.1:\d+: frag-ment-ed
frame a 1 \xe2\x82 fin=0
frame a 0 \xac
expect a 127\.0\.0\.1:\d+: \xe2\x82\xac
frame a 1 empty-fragments fin=0
frame a 0 \x20 fin=0
frame a 0 \x21
expect a 127\.0\.0\.1:\d+: empty-fragments !
EOF
}

@test "pings/pongs: ping answered with its payload; ping over 125 bytes is 1002" {
	start_ws
	wsc <<EOF
ws a $WS
frame a 9 hello
expect_pong a hello
frame a 9 $(printf 'x%.0s' $(seq 126))
expect_close a 1002
EOF
}

@test "reserved bits, opcodes, masking: 1002; binary: 1003" {
	start_ws
	wsc <<EOF
ws a $WS
frame a 1 x rsv=1
expect_close a 1002
ws b $WS
frame b 3 x
expect_close b 1002
ws c $WS
frame c 11 x
expect_close c 1002
ws d $WS
frame d 1 unmasked mask=0
expect_close d 1002
ws e $WS
frame e 2 bin
expect_close e 1003
ws f $WS
frame f 0 nothing-to-continue
expect_close f 1002
ws g $WS
frame g 1 a fin=0
frame g 1 b
expect_close g 1002
ws h $WS
frame h 9 fragmented-ping fin=0
expect_close h 1002
EOF
}

@test "UTF-8: invalid text is 1007, also split across fragments; others notice nothing" {
	start_ws
	wsc <<EOF
ws w $WS
ws a $WS
expect w \* 127\.0\.0\.1:\d+ joined
frame a 1 bad\xc0\xafutf8
expect_close a 1007
skip_until w \* 127\.0\.0\.1:\d+ left
ws b $WS
expect w \* 127\.0\.0\.1:\d+ joined
frame b 1 cut\xe2\x82 fin=0
frame b 0 x
expect_close b 1007
skip_until w \* 127\.0\.0\.1:\d+ left
ws c $WS
expect w \* 127\.0\.0\.1:\d+ joined
frame c 1 surrogate\xed\xa0\x80
expect_close c 1007
skip_until w \* 127\.0\.0\.1:\d+ left
send w still here
expect w 127\.0\.0\.1:\d+: still here
EOF
}

@test "limits: a message over max_line is refused while streaming, the next one goes" {
	start_ws "max_line = 16;"
	wsc <<EOF
ws a $WS
frame a 1 0123456789 fin=0
frame a 0 0123456789 fin=0
frame a 0 0123456789
expect a \* error: line too long
send a 0123456789abcdef
expect a 127\.0\.0\.1:\d+: 0123456789abcdef
EOF
}

@test "close handling: the close handshake echoes the code; a bad close code is 1002" {
	start_ws
	wsc <<EOF
ws a $WS
close a 1000
ws b $WS
close b 4000
ws c $WS
frame c 8 \x03\xe7
expect_close c 1002
ws d $WS
frame d 8 \x03
expect_close d 1002
ws e $WS
frame e 8 \x03\xe8\xff
expect_close e 1007
EOF
}

@test "ping_interval: pings are sent; no answer within another interval closes" {
	start_ws "ping_interval = 0.3;"
	wsc <<EOF
ws b $WS
nopong b
expect_ping b
expect_close b 1001
EOF
	grep -q "ping timeout" "$CHATD_LOG"
}

@test "a client that sends half a frame and stalls is closed as idle" {
	start_ws "idle_timeout = 0.5; ping_interval = 0;"
	wsc <<EOF
ws a $WS
raw a \x81\x85\x01\x02
expect a \* error: idle timeout
expect_close a 1001
EOF
}

@test "a client that does not finish its request head in 10 s is closed" {
	start_ws
	wsc -t 15 <<EOF
tcp h $WS
raw h GET / HTTP/1.1\r\nHost: x
expect_eof h
EOF
	grep -q "request head timeout" "$CHATD_LOG"
}

@test "slow consumer: a WebSocket client that does not read is dropped" {
	start_chatd "listeners = (
  { name = \"web\"; protocol = \"websocket\"; bind = \"$WS\"; room = \"lobby\"; max_queue = 65536; },
  { name = \"chat\"; protocol = \"chat\"; bind = \"$TCP\"; room = \"lobby\"; rate = 0; } );"
	wsc -t 20 <<EOF
ws slow $WS
pause slow
tcp t $TCP
expect slow \* 127\.0\.0\.1:\d+ joined
blast t 6000 1000
wait_log $CHATD_LOG slow consumer
EOF
}
