#!/usr/bin/env bats
# tls.bats - TLS listeners (SPEC 15) with real clients: openssl s_client,
# ncat --ssl and socat OPENSSL: for chat and echo, TLS 1.2 and 1.3, a
# byte-exact 1 MiB echo, clients that do not speak TLS (or speak it to a
# plain port, or send garbage, or stall in the handshake), client
# certificates, chatd -t on broken files, credential: paths, and reloads
# that renew or break the certificate.  Certificates are made here with
# `openssl req` (EC P-256: fast).  The scripted client (tclient.py) talks
# through a socat TLS bridge where a test needs its expectations.
#
# In a build without TLS (chatd -V says "tls: no") the TLS tests skip,
# saying so; the first test checks that build's behaviour instead.

setup_file() {
	local d=$BATS_FILE_TMPDIR/certs
	mkdir -p "$d"
	export CERTS=$d
	if "$CHATD_BIN" -V | grep -q '^tls: no'; then
		export TLS_BUILD=no
		return 0
	fi
	export TLS_BUILD=yes
	mkca "$d/ca" "chatd test CA"
	mkca "$d/other-ca" "some other CA"
	mkcert "$d/server" "$d/ca" serverAuth "/CN=127.0.0.1"
	mkcert "$d/client" "$d/ca" clientAuth "/CN=alice"
	mkcert "$d/stranger" "$d/other-ca" clientAuth "/CN=mallory"
}

# mkca BASE CN: BASE.pem and BASE.key, a CA.
mkca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.pem" -days 30 -subj "/CN=$2" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

# mkcert BASE CA-BASE USAGE SUBJECT: a leaf certificate signed by CA-BASE
# (a new serial each time).
mkcert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.pem" -days 30 -CA "$2.pem" -CAkey "$2.key" \
		-subj "$4" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
		-addext basicConstraints=CA:FALSE -addext "extendedKeyUsage=$3" 2>/dev/null
}

setup() {
	load helpers
	use_ports 4
	export TLS=127.0.0.1:$P1 PLAIN=127.0.0.1:$P2 BRIDGE=127.0.0.1:$P3 BRIDGE2=127.0.0.1:$P4
	export TLSPORT=$P1
	BRIDGE_PIDS=()
	# openssl s_client to $TLS trusting (and checking) the test CA.
	S_CLIENT=(openssl s_client -connect "$TLS" -CAfile "$CERTS/ca.pem"
		-verify_return_error -verify_ip 127.0.0.1)
}

teardown() {
	local p
	for p in "${BRIDGE_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	chatd_teardown
}

require_tls() {
	[[ $TLS_BUILD == yes ]] ||
		skip "chatd built without TLS (--with-tls=no): chatd -V says 'tls: no'"
}

# tls_group [KEYS]: a tls group with the test server certificate.
tls_group() {
	echo "tls = { cert = \"$CERTS/server.pem\"; key = \"$CERTS/server.key\"; $* };"
}

# start_tls PROTOCOL [TLS-KEYS] [LISTENER-KEYS]: a TLS listener "tls" on
# $TLS and a plain one "plain" of the same protocol on $PLAIN.
start_tls() {
	start_chatd "listeners = (
  { name = \"tls\"; protocol = \"$1\"; bind = \"$TLS\"; $(tls_group "${2:-}") ${3:-} },
  { name = \"plain\"; protocol = \"$1\"; bind = \"$PLAIN\"; ${3:-} } );"
}

# start_live_tls PROTOCOL: a TLS listener "tls" on $TLS whose certificate
# and key are copies in $LIVE, for tests that renew or break them.
start_live_tls() {
	LIVE=$BATS_TEST_TMPDIR/live
	mkdir -p "$LIVE"
	cp "$CERTS/server.pem" "$CERTS/server.key" "$LIVE/"
	start_chatd "listeners = ( { name = \"tls\"; protocol = \"$1\"; bind = \"$TLS\";
  tls = { cert = \"$LIVE/server.pem\"; key = \"$LIVE/server.key\"; }; } );"
}

# wait_file PATH WHAT: polls until PATH exists (a client script's marker).
wait_file() {
	local start=$SECONDS
	until [[ -e $1 ]]; do
		((SECONDS - start < CLIENT_TIMEOUT)) || fail "$2"
		sleep 0.02
	done
}

# bridge LISTEN [TLS-SIDE-OPTIONS [LISTEN-SIDE-OPTIONS]]: a one-connection
# socat from plaintext on LISTEN to TLS on $TLS (verifying chatd's
# certificate), so tclient can script a TLS client.  Returns once it
# listens.
bridge() {
	local port=${1##*:}
	socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr${3:+,$3}" \
		"OPENSSL:$TLS,cafile=$CERTS/ca.pem${2:+,$2}" 2>>"$BATS_TEST_TMPDIR/socat.log" &
	BRIDGE_PIDS+=($!)
	local start=$SECONDS
	until ss -Hltn "sport = :$port" | grep -q LISTEN; do
		((SECONDS - start < CLIENT_TIMEOUT)) || fail "socat bridge not listening on $port"
		sleep 0.02
	done
}

# converse REGEX INPUT CMD...: runs CMD (a client reading stdin) with
# INPUT on its stdin, which stays open until CMD's output matches REGEX
# (polled); then stdin closes and CMD must exit.  Output in CONV_OUT,
# status in CONV_RC.
converse() {
	local rx=$1 input=$2 fifo=$BATS_TEST_TMPDIR/conv.in out=$BATS_TEST_TMPDIR/conv.out w pid
	shift 2
	rm -f "$fifo"
	mkfifo "$fifo"
	"$TIMEOUT_CMD" 20 "$@" <"$fifo" >"$out" 2>&1 &
	pid=$!
	exec {w}>"$fifo"
	printf '%b' "$input" >&$w
	local start=$SECONDS matched=0
	while :; do
		grep -Eq -- "$rx" "$out" && { matched=1; break; }
		kill -0 "$pid" 2>/dev/null || break
		((SECONDS - start < CLIENT_TIMEOUT)) || break
		sleep 0.02
	done
	exec {w}>&-
	CONV_RC=0
	wait "$pid" || CONV_RC=$?
	CONV_OUT=$(cat "$out")
	grep -Eq -- "$rx" "$out" || matched=0
	((matched)) || fail "no output matching '$rx' from $1 (status $CONV_RC): $CONV_OUT"
}


# serial_of_server: the serial number of the certificate $TLS presents.
serial_of_server() {
	"$TIMEOUT_CMD" 10 openssl s_client -connect "$TLS" -CAfile "$CERTS/ca.pem" \
		</dev/null 2>/dev/null | openssl x509 -noout -serial
}

@test "chatd -V names the TLS library; a build without it refuses a tls group, naming file and line" {
	run chatd_cmd -V
	assert_success
	if [[ $TLS_BUILD == no ]]; then
		assert_line 'tls: no'
		printf '%s\n' 'listeners = (' \
			'  { name = "t"; protocol = "echo"; bind = "127.0.0.1:1";' \
			'    tls = { cert = "/c.pem"; key = "/k.pem"; }; } );' >"$BATS_TEST_TMPDIR/t.conf"
		run chatd_cmd -t -c "$BATS_TEST_TMPDIR/t.conf"
		assert_failure 78
		assert_output --regexp "t\.conf:3: .*built without TLS"
		return
	fi
	assert_line --regexp '^tls: OpenSSL 3\.'
}

@test "chatd -t loads cert and key: OK, or exit 78 naming file, line and OpenSSL's reason" {
	require_tls
	local conf=$BATS_TEST_TMPDIR/t.conf
	tconf() {
		printf '%s\n' '# a comment' 'listeners = (' \
			"  { name = \"t\"; protocol = \"echo\"; bind = \"$TLS\";" \
			"    tls = { cert = \"$1\"; key = \"$2\"; ${3:-} }; } );" >"$conf"
	}
	tconf "$CERTS/server.pem" "$CERTS/server.key"
	run chatd_cmd -t -c "$conf"
	assert_success
	assert_output 'configuration OK'
	tconf "$CERTS/missing.pem" "$CERTS/server.key"
	run chatd_cmd -t -c "$conf"
	assert_failure 78
	assert_output --regexp "t\.conf:4: listener t: tls: cert \".*missing\.pem\": No such file"
	tconf "$CERTS/server.pem" "$CERTS/client.key"
	run chatd_cmd -t -c "$conf"
	assert_failure 78
	assert_output --regexp "t\.conf:4: listener t: tls: key \".*client\.key\": .*mismatch"
	head -c 200 "$CERTS/server.pem" >"$BATS_TEST_TMPDIR/cut.pem"
	tconf "$BATS_TEST_TMPDIR/cut.pem" "$CERTS/server.key"
	run chatd_cmd -t -c "$conf"
	assert_failure 78
	assert_output --regexp "t\.conf:4: listener t: tls: cert \".*cut\.pem\": .*PEM"
	tconf "$CERTS/server.pem" "$CERTS/server.key" 'ciphers = "NO-SUCH-CIPHER";'
	run chatd_cmd -t -c "$conf"
	assert_failure 78
	assert_output --regexp "t\.conf:4: listener t: tls: ciphers \"NO-SUCH-CIPHER\": "
	# The daemon itself refuses to start the same way.
	run chatd_cmd -c "$conf"
	assert_failure 78
	assert_output --regexp "t\.conf:4: listener t: tls: ciphers"
}

@test "relative paths are relative to the config file; credential:NAME comes from \$CREDENTIALS_DIRECTORY" {
	require_tls
	local dir=$BATS_TEST_TMPDIR/etc creds=$BATS_TEST_TMPDIR/creds
	mkdir -p "$dir/tls" "$creds"
	cp "$CERTS/server.pem" "$dir/tls/cert.pem"
	cp "$CERTS/server.key" "$creds/chatd.key"
	printf '%s\n' 'listeners = ( { name = "t"; protocol = "echo"; bind = "'"$TLS"'";' \
		'  tls = { cert = "tls/cert.pem"; key = "credential:chatd.key"; }; } );' >"$dir/chatd.conf"
	cd /
	run env -u CREDENTIALS_DIRECTORY "$CHATD_BIN" -t -c "$dir/chatd.conf"
	assert_failure 78
	assert_output --regexp 'chatd\.conf:2: listener t: tls: key "credential:chatd\.key": \$CREDENTIALS_DIRECTORY is not set'
	export CREDENTIALS_DIRECTORY=$creds
	run "$CHATD_BIN" -t -c "$dir/chatd.conf"
	assert_success
	start_chatd_file "$dir/chatd.conf"
	run "$TIMEOUT_CMD" 10 socat -t 5 "OPENSSL:$TLS,cafile=$CERTS/ca.pem" - <<<"from a credential"
	assert_success
	assert_output "from a credential"
}

@test "echo over TLS 1.2 and 1.3 with openssl s_client" {
	require_tls
	start_tls echo
	converse '^hello 1\.3' 'hello 1.3\n' "${S_CLIENT[@]}" -tls1_3 -quiet -no_ign_eof
	converse '^hello 1\.2' 'hello 1.2\n' "${S_CLIENT[@]}" -tls1_2 -quiet -no_ign_eof
	run "$TIMEOUT_CMD" 10 openssl s_client -connect "$TLS" -CAfile "$CERTS/ca.pem" -brief -tls1_2 </dev/null
	assert_output --partial 'Protocol version: TLSv1.2'
	run "$TIMEOUT_CMD" 10 openssl s_client -connect "$TLS" -CAfile "$CERTS/ca.pem" -brief -tls1_3 </dev/null
	assert_output --partial 'Protocol version: TLSv1.3'
	wait_log 'tls: 127\.0\.0\.1:[0-9]+ connected'
}

@test "min_version 1.3 refuses a TLS 1.2 client and logs why" {
	require_tls
	start_tls echo 'min_version = "1.3";'
	run "$TIMEOUT_CMD" 10 openssl s_client -connect "$TLS" -CAfile "$CERTS/ca.pem" -brief -tls1_2 </dev/null
	assert_failure
	wait_log 'tls: 127\.0\.0\.1:[0-9]+ TLS handshake failed: .*(version|protocol)'
	converse '^still 1\.3' 'still 1.3\n' "${S_CLIENT[@]}" -tls1_3 -quiet -no_ign_eof
}

@test "echo with ncat --ssl and socat OPENSSL:, and 1 MiB of random bytes byte-exact" {
	require_tls
	# socat and ncat write all before they read: a queue that holds the
	# whole MiB keeps chatd reading (flow control has its own test).
	start_tls echo '' 'max_queue = 4194304;'
	run "$TIMEOUT_CMD" 10 ncat --ssl 127.0.0.1 "$TLSPORT" <<<"via ncat"
	assert_success
	assert_output "via ncat"
	run "$TIMEOUT_CMD" 10 socat -t 5 "OPENSSL:$TLS,cafile=$CERTS/ca.pem" - <<<"via socat"
	assert_success
	assert_output "via socat"
	head -c 1048576 /dev/urandom >"$BATS_TEST_TMPDIR/blob"
	"$TIMEOUT_CMD" 30 socat -t 10 "OPENSSL:$TLS,cafile=$CERTS/ca.pem" - \
		<"$BATS_TEST_TMPDIR/blob" >"$BATS_TEST_TMPDIR/back"
	cmp "$BATS_TEST_TMPDIR/blob" "$BATS_TEST_TMPDIR/back"
	"$TIMEOUT_CMD" 30 ncat --ssl 127.0.0.1 "$TLSPORT" \
		<"$BATS_TEST_TMPDIR/blob" >"$BATS_TEST_TMPDIR/back2"
	cmp "$BATS_TEST_TMPDIR/blob" "$BATS_TEST_TMPDIR/back2"
}

@test "1 MiB echoed through a TLS 1.2 bridge to a slow reader, and every byte value" {
	require_tls
	start_tls echo '' 'max_queue = 65536;'
	# Small socket buffers on the way, so that chatd's writes stop short.
	bridge "$BRIDGE" 'openssl-max-proto-version=TLS1.2,rcvbuf=16384' 'sndbuf=16384'
	tclient <<'EOF'
open e ${BRIDGE} rcvbuf=16384
echo_check e @all256
fill e 67108864
expect_fill e
echo_check e @random:1048576
EOF
}

@test "chat over TLS: s_client, ncat --ssl and a scripted client in one room with a plain one" {
	require_tls
	start_tls chat '' 'room = "lobby";'
	bridge "$BRIDGE"
	tclient <<'EOF' &
open a ${BRIDGE}
send a /nick alice
expect a \* .* is now known as alice
open p ${PLAIN}
expect a \* .* joined
send p /nick plainpaul
expect a \* .* is now known as plainpaul
exec touch ${BATS_TEST_TMPDIR}/ready
allow a \* .*
expect a .*: hello from s_client
expect a .*: hello from ncat
send a bye now
allow p .*
expect p alice: bye now
EOF
	local tc=$!
	wait_file "$BATS_TEST_TMPDIR/ready" "scripted clients not ready"
	converse 'alice' 'hello from s_client\n/who\n' "${S_CLIENT[@]}" -quiet -no_ign_eof
	run "$TIMEOUT_CMD" 10 ncat --ssl 127.0.0.1 "$TLSPORT" <<<"hello from ncat"
	assert_success
	wait "$tc"
}

@test "a plaintext client on the TLS port is closed and logged; a TLS client on a plain port fails; both cost nothing else" {
	require_tls
	start_tls echo
	tclient <<'EOF'
open p ${TLS}
send p hello in the clear
expect_closed p
EOF
	wait_log 'tls: 127\.0\.0\.1:[0-9]+ TLS handshake failed: (wrong version number|http request|packet length too long|record layer failure)'
	run "$TIMEOUT_CMD" 10 openssl s_client -connect "$PLAIN" -brief </dev/null
	assert_failure
	tclient <<'EOF'
open q ${PLAIN}
echo_check q still plain
EOF
	converse '^still tls' 'still tls\n' "${S_CLIENT[@]}" -quiet -no_ign_eof
	assert_chatd_alive
}

@test "garbage after a ClientHello closes that client only" {
	require_tls
	start_tls echo
	"$PYTHON3" - "$P1" <<'EOF'
import socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inc, out, server_side=False)
try:
    obj.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = out.read()
assert hello[:1] == b'\x16', hello[:8]
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)
s.sendall(hello + b'\x17\x03\x03\x00\x10' + b'\xff' * 16 + b'GARBAGE' * 100)
got = b''
while True:
    try:
        d = s.recv(65536)
    except ConnectionResetError:
        break
    if not d:
        break
    got += d
# A ServerHello may come first; the connection ends either way.
print("closed after", len(got), "bytes")
EOF
	wait_log 'tls: 127\.0\.0\.1:[0-9]+ TLS handshake failed: (decryption failed|bad record mac|unexpected message|record layer failure|bad record type|wrong version number)'
	converse '^after garbage' 'after garbage\n' "${S_CLIENT[@]}" -quiet -no_ign_eof
}

@test "a client stalled mid-handshake is closed at handshake_timeout; others are served meanwhile" {
	require_tls
	start_tls echo 'handshake_timeout = 1.0;'
	local t0=$EPOCHREALTIME
	tclient <<'EOF'
open s ${TLS}
sendraw s \x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03
open t ${TLS}
exec printf 'meanwhile\n' | socat -t 5 OPENSSL:${TLS},cafile=${CERTS}/ca.pem - | grep -qx meanwhile
expect_closed s
expect_closed t
EOF
	local t1=$EPOCHREALTIME
	wait_log 'tls: 127\.0\.0\.1:[0-9]+ handshake timeout'
	local ms=$(( (${t1/./} - ${t0/./}) / 1000 ))
	((ms >= 900)) || fail "the stalled clients were closed after $ms ms, before handshake_timeout"
	((ms < 4000)) || fail "the stalled clients were closed only after $ms ms"
	[[ $(grep -c 'handshake timeout' "$CHATD_LOG") -ge 2 ]] || fail "expected two handshake timeouts"
}

@test "ca set: a client certificate is required; missing or wrong is refused and logged, right one chats" {
	require_tls
	start_tls echo "ca = \"$CERTS/ca.pem\";"
	run "$TIMEOUT_CMD" 10 ncat --ssl 127.0.0.1 "$TLSPORT" <<<"no cert"
	refute_output --partial "no cert"
	wait_log 'tls: 127\.0\.0\.1:[0-9]+ TLS handshake failed: peer did not return a certificate'
	run "$TIMEOUT_CMD" 10 ncat --ssl --ssl-cert "$CERTS/stranger.pem" --ssl-key "$CERTS/stranger.key" \
		127.0.0.1 "$TLSPORT" <<<"wrong cert"
	refute_output --partial "wrong cert"
	wait_log 'TLS handshake failed: client certificate: '
	run "$TIMEOUT_CMD" 10 ncat --ssl \
		--ssl-cert "$CERTS/client.pem" --ssl-key "$CERTS/client.key" 127.0.0.1 "$TLSPORT" <<<"right cert"
	assert_success
	assert_output "right cert"
	converse '^right again' 'right again\n' "${S_CLIENT[@]}" -quiet -no_ign_eof \
		-cert "$CERTS/client.pem" -key "$CERTS/client.key"
}

@test "reload with a renewed certificate: new clients see the new serial, established ones stay" {
	require_tls
	start_live_tls chat
	local dir=$LIVE
	local old new
	old=$(serial_of_server)
	[[ $old == serial=* ]] || fail "no serial from the server: $old"
	assert_equal "$old" "$(openssl x509 -in "$dir/server.pem" -noout -serial)"
	bridge "$BRIDGE"
	tclient <<'EOF' &
open a ${BRIDGE}
send a /nick before
expect a \* .* is now known as before
exec touch ${BATS_TEST_TMPDIR}/joined
allow a \* .*
expect a after: across the reload
send a still here
expect a before: still here
EOF
	local tc=$!
	wait_file "$BATS_TEST_TMPDIR/joined" "first client not ready"
	mkcert "$dir/renewed" "$CERTS/ca" serverAuth "/CN=127.0.0.1"
	mv "$dir/renewed.key" "$dir/server.key"
	mv "$dir/renewed.pem" "$dir/server.pem"
	kill -HUP "$CHATD_PID"
	wait_log 'configuration reloaded'
	new=$(serial_of_server)
	assert_equal "$new" "$(openssl x509 -in "$dir/server.pem" -noout -serial)"
	[[ $new != "$old" ]] || fail "the serial did not change: $new"
	bridge "$BRIDGE2"
	tclient <<'EOF'
open b ${BRIDGE2}
send b /nick after
expect b \* .* is now known as after
send b across the reload
expect b after: across the reload
EOF
	wait "$tc"
}

@test "a broken certificate on reload keeps the whole running configuration and says why" {
	require_tls
	start_live_tls echo
	local dir=$LIVE
	local old
	old=$(serial_of_server)
	bridge "$BRIDGE"
	tclient <<'EOF' &
open a ${BRIDGE}
echo_check a before the reload
exec touch ${BATS_TEST_TMPDIR}/up
exec for i in $(seq 200); do test -e ${BATS_TEST_TMPDIR}/reloaded && exit 0; sleep 0.02; done; exit 1
echo_check a after the failed reload
EOF
	local tc=$!
	wait_file "$BATS_TEST_TMPDIR/up" "first client not ready"
	head -c 100 "$CERTS/server.pem" >"$dir/server.pem"
	# A new listener in the same file must not appear either.
	reload_to "listeners = ( { name = \"tls\"; protocol = \"echo\"; bind = \"$TLS\";
  tls = { cert = \"$dir/server.pem\"; key = \"$dir/server.key\"; }; },
  { name = \"plain\"; protocol = \"echo\"; bind = \"$PLAIN\"; } );"
	kill -HUP "$CHATD_PID"
	wait_log 'reload failed, keeping the running configuration'
	grep -Eq 'chatd\.conf:2: listener tls: tls: cert ".*server\.pem": ' "$CHATD_LOG" ||
		fail "no line naming the file, line and reason"
	touch "$BATS_TEST_TMPDIR/reloaded"
	wait "$tc"
	assert_equal "$(serial_of_server)" "$old"
	run "$TIMEOUT_CMD" 5 socat -T 2 - "TCP:$PLAIN" </dev/null
	assert_failure
}
