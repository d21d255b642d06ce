#!/usr/bin/env bats
# cluster.bats - one room across chatd nodes over Redis (SPEC 18): a real
# redis-server on a free port (no persistence) per test and two chatd
# nodes serving the same room.  Chat both ways, /me, /who with both nodes'
# members, join/leave/nick notices across, a nickname clash across nodes,
# a node killed with SIGKILL (its members leave within presence_ttl and
# the survivor says so), Redis stopped mid-chat and restarted (local chat
# goes on, cross-node chat is back within a second, nobody is announced
# as gone), the subscriber killed by CLIENT KILL (resubscribed), a Redis
# password (plain and credential:NAME), reloads, and
# tests/unit/test_cluster_redis against the same server.
#
# Every wait is on something observable (a line, a log line, Redis's own
# counts), bounded.  A build without cluster support (chatd -V says
# "cluster: no") does not run this file: tests/run-bats.sh leaves it out,
# and config.bats checks that such a build refuses a cluster group.

TTL=1.0		# presence_ttl of the nodes: a dead node is gone within 1 s

setup() {
	load helpers
	"$CHATD_BIN" -V | grep -q '^cluster: no' &&
		fail "chatd built without cluster support: run-bats.sh does not run cluster.bats then"
	command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
		fail "redis-server and redis-cli are needed (Debian: apt-get install redis-server)"
	use_ports 3
	export RP=$P1 A=127.0.0.1:$P2 B=127.0.0.1:$P3
	REDIS_ARGS=()
	NODES=()
}

teardown() {
	local rc=0 n
	for n in "${NODES[@]}"; do
		node_use "$n"
		if [[ ${KILLED:-} == *" $n "* ]]; then
			wait_chatd 5
			check_chatd_log || rc=1
		else
			stop_chatd || rc=1
		fi
		show_chatd_log >&2
	done
	redis_stop
	return $rc
}

# ---- Redis ----------------------------------------------------------------

# rcli ARGS: redis-cli against the test's server.
rcli() {
	"$TIMEOUT_CMD" 5 redis-cli -p "$RP" ${REDIS_PASS:+--no-auth-warning -a "$REDIS_PASS"} "$@"
}

# redis_start [ARGS]: a redis-server on $RP without persistence (ARGS:
# more of its options, e.g. --requirepass), ready once it answers PING.
redis_start() {
	[[ $# -gt 0 ]] && REDIS_ARGS=("$@")
	"$TIMEOUT_CMD" -k 5 "$HARD_TIMEOUT" redis-server --port "$RP" --bind 127.0.0.1 \
		--save '' --appendonly no --dir "$BATS_TEST_TMPDIR" \
		"${REDIS_ARGS[@]}" >>"$BATS_TEST_TMPDIR/redis.log" 2>&1 3>&- &
	REDIS_TIMEOUT_PID=$!
	local start=$SECONDS
	until [[ $(rcli PING 2>/dev/null) == PONG ]]; do
		((SECONDS - start < 10)) || fail "redis-server did not answer PING on $RP"
		sleep 0.02
	done
}

# redis_stop: shuts the server down (nothing saved) and waits for it.
redis_stop() {
	[[ -n ${REDIS_TIMEOUT_PID:-} ]] || return 0
	rcli SHUTDOWN NOSAVE >/dev/null 2>&1 || true
	wait "$REDIS_TIMEOUT_PID" 2>/dev/null || true
	REDIS_TIMEOUT_PID=
}

# wait_redis CMD EXPECTED [MS]: polls redis-cli CMD until it prints
# EXPECTED (default 5 s).
wait_redis() {
	local ms=${3:-5000} out
	local until=$(($(date +%s%3N) + ms))
	while true; do
		out=$(rcli $1 2>/dev/null | tr '\n' ' ')
		[[ $out == "$2" ]] && return 0
		(($(date +%s%3N) < until)) || fail "redis-cli $1: '$out', not '$2' within $ms ms"
		sleep 0.02
	done
}

# wait_linked [MS]: both nodes are subscribed to the room and both
# publish links are connected (4 chatd clients; redis-cli is the fifth).
wait_linked() {
	local ms=${1:-5000} subs clients
	local until=$(($(now_ms) + ms))
	while true; do
		subs=$(rcli PUBSUB NUMSUB chatd:room:lobby 2>/dev/null | sed -n 2p)
		clients=$(rcli CLIENT LIST 2>/dev/null | grep -c '^id=')
		[[ $subs == 2 && $clients == 5 ]] && return 0
		(($(now_ms) < until)) ||
			fail "nodes not linked within $ms ms: $subs subscribers, $clients clients"
		sleep 0.02
	done
}

# ---- nodes ------------------------------------------------------------------

# node_conf NAME PORT-VAR [CLUSTER-KEYS]: a node serving room lobby.
node_conf() {
	cat <<EOF
log = { level = "info"; };
listeners = ( { name = "chat"; protocol = "chat"; bind = "${!2}"; room = "lobby"; rate = 0;${LISTENER_KEYS:-} }${EXTRA_LISTENERS:-} );
cluster = { redis = "127.0.0.1:$RP"; node = "$1"; presence_ttl = $TTL; ${3:-} };
EOF
}

# node_start NAME PORT-VAR [CLUSTER-KEYS]: starts node NAME; its pid,
# config and log are kept under its name (node_use brings them back).
node_start() {
	printf '%s\n' "$(node_conf "$@")" >"$BATS_TEST_TMPDIR/$1.conf"
	CHATD_NAME=$1 start_chatd_file "$BATS_TEST_TMPDIR/$1.conf"
	eval "export PID_$1=\$CHATD_PID TPID_$1=\$CHATD_TIMEOUT_PID"
	NODES+=("$1")
}

node_use() {
	local p=PID_$1 t=TPID_$1
	CHATD_PID=${!p} CHATD_TIMEOUT_PID=${!t}
	CHATD_LOG=$BATS_TEST_TMPDIR/$1.stderr CHATD_CONF=$BATS_TEST_TMPDIR/$1.conf
}

# two_nodes: Redis, then nodes n1 (on $A) and n2 (on $B), linked.
two_nodes() {
	redis_start "$@"
	node_start n1 A
	node_start n2 B
	wait_linked
}

now_ms() {
	date +%s%3N
}

# ---- the tests ----------------------------------------------------------------

# In the scripts: notices a test does not wait for may come at any point
# (a node hears of a join or a nickname when Redis passes it on), so each
# client lets them by (allow) and the ones that matter are taken with
# expect_seen (already let by, or the next line).

@test "chat crosses nodes both ways: lines, /me, join, nick and leave notices, /who" {
	two_nodes
	tclient <<'EOF'
open a ${A}
name a AN
allow a \* .* (joined|left|is now known as .*)
send a /nick alice
expect_seen a \* ${AN} is now known as alice
open b ${B}
name b BN
allow b \* .* (joined|left|is now known as .*)
expect_seen a \* ${BN} joined
send b /nick bob
expect_seen b \* ${BN} is now known as bob
expect_seen a \* ${BN} is now known as bob
send a hello from n1
expect a alice: hello from n1
expect b alice: hello from n1
send b hello from n2
expect b bob: hello from n2
expect a bob: hello from n2
send a /me waves
expect b \* alice waves
expect a \* alice waves
send b /who
expect b \* users: bob, alice
send a /who
expect a \* users: alice, bob
open c ${B}
name c CN
allow c \* .* (joined|left|is now known as .*)
expect_seen a \* ${CN} joined
send c /nick carol
expect_seen a \* ${CN} is now known as carol
send a /who
expect a \* users: alice, (bob, carol|carol, bob)
close c
expect_seen a \* carol left
expect_seen b \* carol left
send a /who
expect a \* users: alice, bob
close b
expect_seen a \* bob left
send a /who
expect a \* users: alice
EOF
}

@test "a browser's WebSocket on one node and nc on the other: one room" {
	use_ports 4
	export RP=$P1 A=127.0.0.1:$P2 B=127.0.0.1:$P3 W=127.0.0.1:$P4
	redis_start
	node_start n1 A
	EXTRA_LISTENERS=", { name = \"web\"; protocol = \"websocket\"; bind = \"$W\"; room = \"lobby\"; www = \"\"; }" \
		node_start n2 B
	wait_linked
	"$PYTHON3" "$CHATD_SRCDIR/tests/wsclient.py" -t "$CLIENT_TIMEOUT" <<EOF
tcp t $A
send t /nick tom
skip_until t \* .* is now known as tom
ws w $W
send w /nick wendy
skip_until t \* .* is now known as wendy
send w hello from the web
skip_until t wendy: hello from the web
send t hello from nc
skip_until w tom: hello from nc
send w /who
skip_until w \* users: wendy, tom
EOF
}

@test "each sender's lines arrive in order on the other node, once" {
	two_nodes
	tclient <<'EOF'
open a ${A}
open b ${B}
allow a \* .* (joined|left|is now known as .*)
allow b \* .* (joined|left|is now known as .*)
send b /nick bob
expect_seen a \* .* is now known as bob
send a /nick alice
expect_seen b \* .* is now known as alice
flood b 300 line
expect_seq a 300 bob: line
send a /who
expect a \* users: alice, bob
EOF
	# One PUBLISH per line (and per join and nick), whatever the room's size.
	local calls
	calls=$(rcli INFO commandstats | sed -n 's/^cmdstat_publish:calls=\([0-9]*\),.*/\1/p')
	((calls >= 300 && calls <= 315)) || fail "$calls PUBLISH for 300 lines"
}

@test "a nickname is unique across nodes" {
	two_nodes
	tclient <<'EOF'
open a ${A}
open b ${B}
allow a \* .* (joined|left|is now known as .*)
allow b \* .* (joined|left|is now known as .*)
send a /nick alice
expect_seen a \* .* is now known as alice
expect_seen b \* .* is now known as alice
send b /nick Alice
expect b \* error: nickname in use
send b /nick bob
expect_seen b \* .* is now known as bob
expect_seen a \* .* is now known as bob
# Both at once: Redis's claim decides; one of them gets it, and both
# nodes hear who did.
send a /nick carol
send b /nick CAROL
allow a \* error: nickname in use
allow b \* error: nickname in use
expect_seen a \* .* is now known as (carol|CAROL)
expect_seen b \* .* is now known as (carol|CAROL)
send a /who
expect a \* users: (?P<W>.*)
exec test "$(printf '%s\n' '${W}' | grep -io carol | wc -l)" -eq 1
send b /who
expect b \* users: (?P<W2>.*)
exec test "$(printf '%s\n' '${W2}' | grep -io carol | wc -l)" -eq 1
EOF
}

@test "a node killed with SIGKILL: its members leave /who within presence_ttl, announced" {
	two_nodes
	tclient <<'EOF'
open a ${A}
open b ${B}
allow a \* .* (joined|is now known as .*)
send b /nick bob
expect_seen a \* .* is now known as bob
send a /nick alice
send a /who
expect a \* users: alice, bob
exec kill -KILL ${PID_n2}
# presence_ttl is 1 s; half a second more for a loaded machine.
time_limit 1500
expect a \* bob left
send a /who
expect a \* users: alice
time_limit 0
EOF
	KILLED=" n2 "
	run rcli ZRANGE chatd:presence:lobby 0 -1
	refute_output --partial bob
}

@test "Redis stopped mid-chat: local chat goes on; restarted empty: back within 1 s, nobody leaves" {
	two_nodes
	export REDIS_CMD="$TIMEOUT_CMD -k 5 $HARD_TIMEOUT redis-server --port $RP --bind 127.0.0.1 --save '' --appendonly no --dir $BATS_TEST_TMPDIR"
	# alice and carol on n1, bob on n2, through it all.  Redis restarts
	# empty while n2 is stopped (SIGSTOP): n1 is back first and finds
	# bob missing from Redis until n2 renews its presence; that is no
	# leave (the earlier defect announced one).
	tclient <<'EOF'
open a ${A}
open a2 ${A}
open b ${B}
allow a \* .* (joined|is now known as .*)
allow a2 \* .* (joined|is now known as .*)
allow b \* .* (joined|is now known as .*)
send a2 /nick carol
expect_seen b \* .* is now known as carol
send b /nick bob
expect_seen a \* .* is now known as bob
expect_seen a2 \* .* is now known as bob
send a /nick alice
expect_seen b \* .* is now known as alice
exec redis-cli -p ${RP} SHUTDOWN NOSAVE >/dev/null 2>&1; true
exec until ! redis-cli -p ${RP} PING >/dev/null 2>&1; do sleep 0.02; done
send a only here
expect a alice: only here
expect a2 alice: only here
send b only there
expect b bob: only there
send a /who
expect a \* users: alice, carol, bob
exec kill -STOP ${PID_n2}
exec ${REDIS_CMD} </dev/null >>${BATS_TEST_TMPDIR}/redis.log 2>&1 &
time_limit 1000
exec until [ "$(redis-cli -p ${RP} PUBSUB NUMSUB chatd:room:lobby 2>/dev/null | sed -n 2p)" = 1 ]; do sleep 0.02; done
time_limit 0
send a2 n1 is back
expect a carol: n1 is back
expect a2 carol: n1 is back
exec kill -CONT ${PID_n2}
time_limit 1000
exec until [ "$(redis-cli -p ${RP} PUBSUB NUMSUB chatd:room:lobby 2>/dev/null | sed -n 2p)" = 2 ] && [ "$(redis-cli -p ${RP} CLIENT LIST | grep -c ^id=)" = 5 ]; do sleep 0.02; done
send b across again
expect b bob: across again
expect a bob: across again
expect a2 bob: across again
send a and back
expect a alice: and back
expect b alice: and back
time_limit 0
# One presence_ttl and a half: the window of a wrong sweep.
quiet a 1500
send a /who
expect a \* users: alice, carol, bob
send b /who
expect b \* users: bob, (carol, alice|alice, carol)
EOF
	node_use n1
	wait_log 'cluster: redis unavailable; lines for other nodes are dropped'
	wait_log 'cluster: redis back; [0-9]+ lines? for other nodes (was|were) dropped meanwhile'
}

@test "Redis down when the nodes start: they serve locally, and join up when it comes" {
	node_start n1 A
	node_start n2 B
	tclient <<'EOF'
open a ${A}
open a2 ${A}
expect a \* .* joined
send a local only
expect a2 .*: local only
EOF
	local t0
	t0=$(now_ms)
	redis_start
	wait_linked 1000
	echo "# linked $(($(now_ms) - t0)) ms after redis-server started" >&3
	tclient <<'EOF'
open a ${A}
open b ${B}
allow a \* .* (joined|is now known as .*)
send b /nick bob
expect_seen a \* .* is now known as bob
send a /who
expect a \* users: .*, bob
EOF
}

@test "CLIENT KILL of the subscribers: detected and resubscribed" {
	two_nodes
	run rcli CLIENT KILL TYPE pubsub
	assert_output 2
	wait_linked 1000
	tclient <<'EOF'
open a ${A}
open b ${B}
allow a \* .* (joined|is now known as .*)
allow b \* .* (joined|is now known as .*)
send b /nick bob
expect_seen a \* .* is now known as bob
send a hi bob
expect b .*: hi bob
EOF
	# Cut off again by Redis itself: its pubsub output buffer limit.
	rcli CONFIG SET client-output-buffer-limit "pubsub 1 1 0" >/dev/null
	tclient <<'EOF'
open a ${A}
send a a line longer than one byte
expect a .*: a line longer than one byte
EOF
	rcli CONFIG SET client-output-buffer-limit "pubsub 32mb 8mb 60" >/dev/null
	node_use n2
	wait_log 'subscribe link\): .*; retrying'
	wait_linked 2000
	tclient <<'EOF'
open a ${A}
open b ${B}
allow a \* .* (joined|is now known as .*)
send b /nick bob
expect_seen a \* .* is now known as bob
EOF
}

@test "a Redis password, given plainly and as credential:NAME" {
	export REDIS_PASS=s3cret
	redis_start --requirepass "$REDIS_PASS"
	node_start n1 A 'password = "s3cret";'
	mkdir -p "$BATS_TEST_TMPDIR/creds"
	printf 's3cret\n' >"$BATS_TEST_TMPDIR/creds/redis"
	CREDENTIALS_DIRECTORY=$BATS_TEST_TMPDIR/creds node_start n2 B 'password = "credential:redis";'
	wait_linked
	tclient <<'EOF'
open a ${A}
open b ${B}
allow a \* .* (joined|is now known as .*)
allow b \* .* (joined|is now known as .*)
send b /nick bob
expect_seen a \* .* is now known as bob
send a hi
expect b .*: hi
EOF
}

@test "a wrong Redis password is logged; the node serves locally" {
	export REDIS_PASS=right
	redis_start --requirepass right
	node_start n1 A 'password = "wrong";'
	node_use n1
	wait_log 'cluster: redis .*(WRONGPASS|invalid|password)'
	tclient <<'EOF'
open a ${A}
open a2 ${A}
expect a \* .* joined
send a still here
expect a2 .*: still here
EOF
}

@test "a reload keeps the cluster; changed cluster settings wait for a restart" {
	two_nodes
	node_use n1
	node_conf n1 A 'prefix = "other";' >"$CHATD_CONF.new"
	mv "$CHATD_CONF.new" "$CHATD_CONF"
	kill -HUP "$CHATD_PID"
	wait_log 'cluster: settings changed; they take effect when chatd is restarted'
	wait_log 'configuration reloaded'
	tclient <<'EOF'
open a ${A}
open b ${B}
allow a \* .* (joined|is now known as .*)
send b /nick bob
expect_seen a \* .* is now known as bob
EOF
}

@test "test_cluster_redis: two cluster links in one process" {
	redis_start
	# make check builds it; by hand, run-bats.sh does not.
	[[ -x $CHATD_BUILDDIR/tests/unit/test_cluster_redis ]] ||
		make -s -C "$CHATD_BUILDDIR" tests/unit/test_cluster_redis >&2
	CHATD_TEST_REDIS_PORT=$RP run "$CHATD_BUILDDIR/tests/unit/test_cluster_redis"
	assert_success
}

@test "metrics: chatd_cluster_* families on a metrics listener" {
	use_ports 4
	export RP=$P1 A=127.0.0.1:$P2 B=127.0.0.1:$P3 M=127.0.0.1:$P4
	redis_start
	EXTRA_LISTENERS=", { name = \"metrics\"; protocol = \"metrics\"; bind = \"$M\"; }" \
		node_start n1 A
	node_start n2 B
	wait_linked
	tclient <<'EOF'
open a ${A}
open b ${B}
allow a \* .* (joined|is now known as .*)
allow b \* .* (joined|is now known as .*)
send b /nick bob
expect_seen a \* .* is now known as bob
send a hi
expect b .*: hi
EOF
	run curl -sf "http://$M/metrics"
	assert_success
	assert_line 'chatd_cluster_up 1'
	assert_line '# TYPE chatd_cluster_published_total counter'
	assert_line --regexp '^chatd_cluster_published_total [1-9][0-9]*$'
	assert_line --regexp '^chatd_cluster_received_total [1-9][0-9]*$'
	assert_line 'chatd_cluster_dropped_total{reason="redis_down"} 0'
	assert_line 'chatd_cluster_dropped_total{reason="queue_full"} 0'
	assert_line 'chatd_cluster_link_losses_total 0'
	redis_stop
	node_use n1
	wait_log 'publish link\): .*; retrying'
	wait_log 'subscribe link\): .*; retrying'
	tclient <<'EOF'
open a ${A}
send a not across
expect a .*: not across
EOF
	run curl -sf "http://$M/metrics"
	assert_line 'chatd_cluster_up 0'
	assert_line --regexp '^chatd_cluster_dropped_total\{reason="redis_down"\} [1-9][0-9]*$'
	assert_line 'chatd_cluster_link_losses_total 2'
}

@test "two nodes sharing one port (reuseport = true) are one room" {
	redis_start
	export LISTENER_KEYS=' reuseport = true;'
	node_start n1 A
	node_start n2 A
	wait_linked
	# 16 clients on the one port: the kernel spreads them over both.
	tclient <<'EOF'
openmany c 16 ${A}
open a ${A}
allow a \* .* (joined|is now known as .*)
send a /nick alice
expect_seen a \* .* is now known as alice
EOF
	local n1 n2
	n1=$(grep -c ' connected' "$BATS_TEST_TMPDIR/n1.stderr")
	n2=$(grep -c ' connected' "$BATS_TEST_TMPDIR/n2.stderr")
	echo "# n1 took $n1 connections, n2 $n2" >&3
	((n1 > 0 && n2 > 0)) || fail "one node took every connection ($n1, $n2)"
	tclient <<'EOF'
open a ${A}
open b ${A}
allow a \* .* (joined|is now known as .*)
allow b \* .* (joined|is now known as .*)
send a /nick alice
send b /nick bob
expect_seen a \* .* is now known as bob
expect_seen b \* .* is now known as alice
send a hi bob
expect b alice: hi bob
send b /who
expect b \* users: (alice, bob|bob, alice)
EOF
}

@test "a Redis that does not answer (SIGSTOP): local delivery goes on, the queue toward it is bounded" {
	use_ports 4
	export RP=$P1 A=127.0.0.1:$P2 B=127.0.0.1:$P3 M=127.0.0.1:$P4
	redis_start
	EXTRA_LISTENERS=", { name = \"metrics\"; protocol = \"metrics\"; bind = \"$M\"; }" \
		node_start n1 A
	node_start n2 B
	wait_linked
	local rpid
	rpid=$(rcli INFO server | sed -n 's/^process_id:\([0-9]*\).*/\1/p')
	kill -STOP "$rpid"
	# 10,000 lines while Redis reads nothing: more than the queue toward
	# it holds (8192 commands); every local member gets every line at once.
	tclient <<'EOF'
open a ${A}
open a2 ${A}
time_limit 2500
blast a 10000 line
expect_seq a2 10000 .*: line
time_limit 0
EOF
	run curl -sf "http://$M/metrics"
	kill -CONT "$rpid"
	assert_line --regexp '^chatd_cluster_dropped_total\{reason="queue_full"\} [1-9][0-9]*$'
	node_use n1
	wait_log 'cluster: redis is not keeping up; lines for other nodes are dropped'
	# Redis answers again: cross-node chat is back.
	wait_linked 5000
	tclient <<'EOF'
open a ${A}
open b ${B}
allow a \* .* (joined|is now known as .*)
allow b \* .* (joined|is now known as .*)
send b /nick bob
expect_seen a \* .* is now known as bob
send a hi
expect b .*: hi
EOF
}
