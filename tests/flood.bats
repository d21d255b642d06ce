#!/usr/bin/env bats
# flood.bats - flood control (SPEC 19): a token bucket per client (rate,
# burst) that holds a flooder's input back instead of dropping anything,
# flood_timeout, and the checks on the keys.  What a test must see happen
# late is shown by order (another client's line overtakes the flood),
# never by waiting a fixed time.

setup() {
	load helpers
	use_ports 2
	export CHAT=127.0.0.1:$P1
}

# start_chat [KEYS]: one chat listener "chat" on $CHAT, with extra keys.
start_chat() {
	start_chatd "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; ${1:-} } );"
}

@test "defaults (rate 10, burst 20): a normal burst of 30 lines all arrives, in order" {
	start_chat
	tclient <<'EOF'
open r ${CHAT}
name r
open a ${CHAT}
name a
expect r \* ${a} joined
# 20 at once, the last 10 within a second at 10/s.
time_limit 4000
blast a 30 burst
expect_seq r 30 ${a}: burst
expect_seq a 30 ${a}: burst
send r after
expect a ${r}: after
EOF
}

@test "rate 40 burst 5: the flooder is held back, another member's line goes through at once, the flood arrives later in order and whole" {
	start_chat 'rate = 40; burst = 5;'
	# 200 lines at 40/s take about 5 s after the first 5: the flood is
	# still being delivered when b speaks, so b's line must overtake most
	# of it (seen_max), and then every line of the flood must still come.
	tclient -t 20 <<'EOF'
open r ${CHAT}
name r
open f ${CHAT}
name f
open b ${CHAT}
name b
expect r \* ${f} joined
expect r \* ${b} joined
blast f 200 flood
expect_seq r 5 ${f}: flood
allow r ${f}: flood[0-9]+
send b hello
expect_within r 1000 ${b}: hello
seen_max r 100
expect_seq r 5..200 ${f}: flood
allow f \* ${b} joined
allow f ${b}: hello
expect_seq f 200 ${f}: flood
send r done
expect f ${r}: done
EOF
	assert_chatd_alive
}

@test "rate = 0 turns flood control off: 3000 lines at full speed all arrive, in order" {
	start_chat 'rate = 0; burst = 1;'
	tclient -t 20 <<'EOF'
open r ${CHAT}
open a ${CHAT}
name a
expect r \* ${a} joined
# Any limit at all would spread these over minutes.
time_limit 15000
blast a 3000 line
expect_seq r 3000 ${a}: line
expect_seq a 3000 ${a}: line
EOF
}

@test "flood_timeout: a client held back longer gets '* error: flooding' and is closed; the others stay" {
	start_chat 'rate = 2; burst = 1; flood_timeout = 0.5;'
	tclient -t 10 <<'EOF'
open r ${CHAT}
name r
open f ${CHAT}
name f
open b ${CHAT}
name b
expect r \* ${f} joined
expect r \* ${b} joined
allow f ${f}: x[0-9]+
allow f \* ${b} joined
blast f 100 x
expect f \* error: flooding
expect_closed f
allow r ${f}: x[0-9]+
expect r \* ${f} left
allow b ${f}: x[0-9]+
expect b \* ${f} left
send b still here
expect r ${b}: still here
expect b ${b}: still here
EOF
	wait_log 'flooding'
	assert_chatd_alive
}

@test "a client that pauses between bursts is never cut off by flood_timeout" {
	start_chat 'rate = 20; burst = 10; flood_timeout = 0.5;'
	tclient -t 10 <<'EOF'
open f ${CHAT}
name f
blast f 10 a
expect_seq f 10 ${f}: a
blast f 10 b
expect_seq f 10 ${f}: b
blast f 10 c
expect_seq f 10 ${f}: c
send f /who
expect f \* users: .*
EOF
}

@test "bad rate, burst and flood_timeout values: chatd -t names FILE:LINE and exits 78" {
	local f=$BATS_TEST_TMPDIR/bad.conf
	cat >"$f" <<EOF
listeners = (
  { name = "a"; protocol = "chat"; bind = "$CHAT"; rate = -1; },
  { name = "b"; protocol = "chat"; bind = "127.0.0.1:$P2"; burst = 0; },
  { name = "c"; protocol = "chat"; bind = "127.0.0.1:1"; rate = "fast"; burst = 1.5; },
  { name = "d"; protocol = "chat"; bind = "127.0.0.1:2"; flood_timeout = -1; rate = 2000000; },
  { name = "e"; protocol = "echo"; bind = "127.0.0.1:3"; rate = 5; burst = 2; }
);
EOF
	run --separate-stderr chatd_cmd -t -c "$f"
	assert_failure 78
	[[ -z $output ]] || fail "stdout is '$output'"
	local want
	for want in "$f:2: 'rate' must be between 0 and 1000000" \
		"$f:3: 'burst' must be between 1 and 1000000" \
		"$f:4: 'rate' must be a number" \
		"$f:4: 'burst' must be an integer" \
		"$f:5: 'flood_timeout' must" \
		"$f:5: 'rate' must be between 0 and 1000000" \
		"$f:6: 'rate' applies only to chat and websocket listeners" \
		"$f:6: 'burst' applies only to chat and websocket listeners"; do
		[[ $stderr == *"$want"* ]] || fail "no '$want' in stderr: '$stderr'"
	done
}

@test "good values, fractions included, pass chatd -t" {
	local f=$BATS_TEST_TMPDIR/good.conf
	cat >"$f" <<EOF
listeners = (
  { name = "a"; protocol = "chat"; bind = "$CHAT"; rate = 0.5; burst = 1; flood_timeout = 2.5; },
  { name = "b"; protocol = "chat"; bind = "127.0.0.1:$P2"; rate = 0; burst = 1000000; }
);
EOF
	run chatd_cmd -t -c "$f"
	assert_success
}
