#!/usr/bin/env bash
# testssl.sh - runs testssl.sh (protocols, cipher categories, forward
# secrecy, vulnerabilities: -p -S -P -U, about 30 s) against a chat
# listener with chatd's default TLS settings on loopback, and fails on any
# CRITICAL or HIGH finding or any "NOT ok" one.  Accepted, by id, because
# the certificate is a throwaway self-signed one made here (they are about
# the certificate, not chatd): cert_chain_of_trust (self signed),
# cert_trust (no name matches 127.0.0.1), cert_revocation (no CRL/OCSP).
# Usage: tests/testssl.sh [CHATD-BINARY] (default src/chatd); the JSON
# report and a summary go to $TESTSSL_OUT (default ./testssl-out).
set -euo pipefail
bin=${1:-src/chatd}
out=${TESTSSL_OUT:-testssl-out}
accepted='cert_chain_of_trust cert_trust cert_revocation'
command -v testssl >/dev/null || { echo "testssl.sh: testssl not installed" >&2; exit 1; }
"$bin" -V | grep -q '^tls: OpenSSL' || { echo "testssl.sh: $bin built without TLS" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out"/ts.json "$out"/chatd.stderr
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
	-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
	-keyout "$out/key.pem" -out "$out/cert.pem" 2>/dev/null
port=$((20000 + RANDOM % 20000))
cat >"$out/chatd.conf" <<CONF
listeners = ( { name = "tls"; protocol = "chat"; bind = "127.0.0.1:$port";
  tls = { cert = "$out/cert.pem"; key = "$out/key.pem"; }; } );
CONF
timeout -k 5 600 "$bin" -c "$out/chatd.conf" </dev/null >/dev/null 2>"$out/chatd.stderr" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for ((i = 0; i < 100; i++)); do
	grep -q ' ready ' "$out/chatd.stderr" && break
	kill -0 $pid 2>/dev/null || { cat "$out/chatd.stderr" >&2; exit 1; }
	sleep 0.1
done
grep -q ' ready ' "$out/chatd.stderr" || { echo "testssl.sh: chatd not ready" >&2; exit 1; }
rc=0
timeout 300 testssl --warnings batch --quiet --color 0 --nodns none -p -S -P -U \
	--jsonfile "$out/ts.json" "127.0.0.1:$port" >"$out/testssl.log" 2>&1 || rc=$?
[ -s "$out/ts.json" ] || { tail -20 "$out/testssl.log" >&2; echo "testssl.sh: no report (rc $rc)" >&2; exit 1; }
echo "testssl.sh: -p -S -P -U on chat TLS listener 127.0.0.1:$port; findings by severity:"
jq -r '.[].severity' "$out/ts.json" | sort | uniq -c
bad=$(jq -r --arg acc "$accepted" '($acc | split(" ")) as $a | .[]
	| select((.severity == "CRITICAL" or .severity == "HIGH" or (.finding | test("NOT ok")))
		and (.id as $i | $a | index($i) | not))
	| "\(.severity) \(.id): \(.finding)"' "$out/ts.json")
jq -r --arg acc "$accepted" '($acc | split(" ")) as $a | .[] | select(.id as $i | $a | index($i))
	| "accepted (self-signed test certificate): \(.severity) \(.id): \(.finding)"' "$out/ts.json"
if [ -n "$bad" ]; then
	printf 'testssl.sh: FAIL: %s\n' "$bad"
	exit 1
fi
echo "testssl.sh: no CRITICAL/HIGH/NOT ok findings beyond the accepted certificate ones"
