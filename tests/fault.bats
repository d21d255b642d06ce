#!/usr/bin/env bats
# fault.bats - faults from outside (issue 6 item 4; SPEC §5-§7): connection
# churn with garbage, half-closes and resets; clients that never read;
# a log file that cannot be written.  Descriptor exhaustion is covered by
# lifecycle.bats (prlimit --nofile=64).

setup() {
	load helpers
	use_ports 2
	export CHAT=127.0.0.1:$P1 ECHO=127.0.0.1:$P2
}

teardown() {
	chatd_teardown
	# Unmounted after the daemon, which holds its log file open there.
	if [[ -n ${FULLFS:-} ]] && mountpoint -q "$FULLFS"; then
		umount "$FULLFS" || umount -l "$FULLFS"
	fi
}

# fd_count: the daemon's open descriptors.
fd_count() {
	ls "/proc/$CHATD_PID/fd" | wc -l
}

# wait_fd_count N: polls (bounded) until the daemon holds N descriptors.
wait_fd_count() {
	local start=$SECONDS now
	while now=$(fd_count) && ((now != $1)); do
		((SECONDS - start < 10)) || {
			ls -l "/proc/$CHATD_PID/fd" >&2
			fail "chatd holds $now descriptors, $1 before the churn"
		}
		sleep 0.05
	done
}

# assert_rss_bounded: the daemon's peak resident size (VmHWM) stayed under
# CHATD_RSS_LIMIT_MB (default 64; 256 for sanitizer builds).  Linux only;
# not under a wrapper such as valgrind.
assert_rss_bounded() {
	[[ -r /proc/$CHATD_PID/status && -z ${CHATD_WRAPPER:-} ]] || return 0
	local limit=${CHATD_RSS_LIMIT_MB:-64} hwm rss
	grep -q __asan_init "$CHATD_BIN" 2>/dev/null && limit=${CHATD_RSS_LIMIT_MB:-256}
	hwm=$(proc_status_kb VmHWM) rss=$(proc_status_kb VmRSS)
	echo "# chatd RSS now $rss KiB, peak $hwm KiB (limit $limit MiB)"
	((hwm < limit * 1024)) || fail "chatd peak RSS $hwm KiB exceeds $limit MiB"
}

# churn ARGS: rapid connect/disconnect cycles against chatd.
#
# usage: churn [-n CYCLES] [-b BATCH] [-t SECONDS] [-s SEED] [-w ADDR] PROTO=ADDR...
#
# PROTO is chat or echo; ADDR is HOST:PORT or unix:PATH.  CYCLES connections
# (default 2000) go round-robin over the addresses, BATCH (default 20) open
# at a time.  Each connection ends in one of these ways, in turn:
#
#   close      connect, close at once (FIN)
#   reset      connect, RST at once (SO_LINGER 0)
#   junk-fin   garbage bytes, then close
#   junk-rst   garbage bytes, then RST
#   junk-half  garbage bytes, half-close (SHUT_WR), read to EOF; for echo the
#              bytes read must be the bytes sent
#   half       half-close at once, read to EOF
#   long-rst   a line far beyond max_line without LF, then RST
#   partial    part of a line without LF, then close
#
# With -w, a chat client on ADDR stays connected throughout, reading all the
# time; at the end it must still be connected and get its own line back.
# Garbage is random bytes (seeded) with LFs, CRs, NULs and telnet IAC
# sequences.  A half-closed connection must see EOF within the timeout.
# Exits 1 with a message on the first failure.
churn() {
	"$PYTHON3" - "$@" <<'EOF'
import argparse, random, select, socket, struct, sys, time

LINGER0 = struct.pack('ii', 1, 0)
ACTIONS = ['close', 'reset', 'junk-fin', 'junk-rst', 'junk-half', 'half', 'long-rst', 'partial']


def parse(target):
    proto, _, addr = target.partition('=')
    if proto not in ('chat', 'echo') or not addr:
        sys.exit(f"churn: bad target {target!r} (want chat=ADDR or echo=ADDR)")
    if addr.startswith('unix:'):
        return proto, socket.AF_UNIX, addr[5:]
    host, _, port = addr.rpartition(':')
    return proto, socket.AF_INET6 if ':' in host else socket.AF_INET, (host.strip('[]'), int(port))


def garbage(rng):
    parts = [rng.randbytes(rng.randrange(1, 2048)), b'\n', b'\r\n', b'\x00' * rng.randrange(1, 64),
             b'\xff\xfd\x18\xff\xfb\x01', b'/nick ' + rng.randbytes(8) + b'\n', b'/who\n']
    return b''.join(rng.choice(parts) for _ in range(rng.randrange(1, 8)))


class Watcher:
    """A chat client that stays and keeps reading."""
    def __init__(self, target, timeout):
        _, fam, sa = parse('chat=' + target)
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(sa)
        self.sock.setblocking(False)
        self.buf, self.timeout = bytearray(), timeout

    def drain(self):
        while True:
            try:
                data = self.sock.recv(262144)
            except BlockingIOError:
                return
            except OSError as e:
                sys.exit(f"churn: the client that stays: {e}")
            if not data:
                sys.exit("churn: the client that stays was disconnected")
            self.buf += data
            del self.buf[:max(0, len(self.buf) - 65536)]

    def check(self):
        self.sock.sendall(b'the client that stays is still here\n')
        deadline = time.monotonic() + self.timeout
        while b': the client that stays is still here\r\n' not in self.buf:
            if time.monotonic() > deadline:
                sys.exit("churn: the client that stays did not get its line back")
            select.select([self.sock], [], [], 0.05)
            self.drain()


def main():
    ap = argparse.ArgumentParser(prog='churn')
    ap.add_argument('-n', type=int, default=2000)
    ap.add_argument('-b', type=int, default=20)
    ap.add_argument('-t', type=float, default=5.0)
    ap.add_argument('-s', type=int, default=1)
    ap.add_argument('-w')
    ap.add_argument('targets', nargs='+')
    o = ap.parse_args()
    targets = [parse(t) for t in o.targets]
    rng = random.Random(o.s)
    watcher = Watcher(o.w, o.t) if o.w else None
    done, tally = 0, {a: 0 for a in ACTIONS}
    while done < o.n:
        batch = []
        for i in range(done, min(o.n, done + o.b)):
            proto, fam, sa = targets[i % len(targets)]
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.settimeout(o.t)
            try:
                s.connect(sa)
            except OSError as e:
                sys.exit(f"churn: connection {i} to {sa}: {e}")
            batch.append((i, proto, s, ACTIONS[(i // len(targets)) % len(ACTIONS)]))
        waiting = {}
        for i, proto, s, action in batch:
            tally[action] += 1
            sent = b''
            try:
                if action.startswith('junk'):
                    sent = garbage(rng)
                elif action == 'long-rst':
                    sent = b'x' * rng.randrange(2048, 70000)
                elif action == 'partial':
                    sent = b'part of a line'
                if sent:
                    s.sendall(sent)
            except OSError as e:
                sys.exit(f"churn: connection {i} ({proto}, {action}): send: {e}")
            if action.endswith('rst') or action == 'reset':
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
                s.close()
            elif action.endswith('half'):
                s.shutdown(socket.SHUT_WR)
                s.setblocking(False)
                waiting[s.fileno()] = (i, proto, s, sent, bytearray())
            else:
                s.close()
        deadline = time.monotonic() + o.t
        while waiting:
            left = deadline - time.monotonic()
            fds = list(waiting) + ([watcher.sock.fileno()] if watcher else [])
            ready = select.select(fds, [], [], max(0, left))[0]
            if watcher:
                watcher.drain()
                ready = [fd for fd in ready if fd in waiting]
                if not ready and time.monotonic() < deadline:
                    continue
            if not ready:
                i, proto, _, _, _ = next(iter(waiting.values()))
                sys.exit(f"churn: connection {i} ({proto}): no EOF {o.t} s after a half-close "
                         f"({len(waiting)} such connections waiting)")
            for fd in ready:
                i, proto, s, sent, got = waiting[fd]
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    continue
                except OSError as e:
                    sys.exit(f"churn: connection {i} ({proto}): {e} instead of EOF after a half-close")
                if data:
                    got += data
                    continue
                del waiting[fd]
                s.close()
                if proto == 'echo' and bytes(got) != sent:
                    sys.exit(f"churn: connection {i} (echo): sent {len(sent)} bytes, "
                             f"got {len(got)} different ones back")
        done += len(batch)
        if watcher:
            watcher.drain()
    if watcher:
        watcher.check()
    print(f"churn: {done} connections: " + ', '.join(f"{a} {n}" for a, n in tally.items()))


if __name__ == '__main__':
    main()
EOF
}

@test "2,000 connect/disconnect cycles with garbage, half-closes and resets: no descriptor leaks, still serving" {
	[[ -d /proc/self/fd ]] || skip "no /proc"
	sockdir
	export LOCAL=unix:$SOCKDIR/chat.sock
	start_chatd "listeners = (
  { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; },
  { name = \"echo\"; protocol = \"echo\"; bind = \"$ECHO\"; },
  { name = \"local\"; protocol = \"chat\"; bind = \"$LOCAL\"; room = \"chat\"; }
);"
	local before
	before=$(fd_count)
	# -w: a chat client that stays through it all, reading.
	run -0 churn -t "$CLIENT_TIMEOUT" -n 2000 -w "$CHAT" \
		"chat=$CHAT" "echo=$ECHO" "chat=$LOCAL"
	echo "# $output"
	assert_chatd_alive
	wait_fd_count "$before"
	tclient <<'EOF'
open a ${CHAT}
name a
send a /who
expect a \* users: ${a}
send a after the churn
expect a ${a}: after the churn
open e ${ECHO}
echo_check e @all256
EOF
}

@test "clients that never read, in chat and in echo, while others flood: memory bounded, flooders served" {
	start_chatd "listeners = (
  { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; rate = 0; },
  { name = \"echo\"; protocol = \"echo\"; bind = \"$ECHO\"; }
);"
	{
		echo 'open a ${CHAT}'
		echo 'name a'
		echo 'open b ${CHAT}'
		echo 'name b'
		echo 'expect a \* ${b} joined'
		# Eight chat clients and four echo clients that never read.
		for i in 1 2 3 4 5 6 7 8; do
			echo "open s$i \${CHAT} rcvbuf=4096"
			echo "name s$i"
			echo "expect a \\* \${s$i} joined"
			echo "expect b \\* \${s$i} joined"
			echo "pause s$i"
			echo "allow a \\* \${s$i} left"
			echo "allow b \\* \${s$i} left"
		done
		for i in 1 2 3 4; do
			echo "open e$i \${ECHO} rcvbuf=4096"
			echo "fill e$i 67108864"
		done
		echo 'flood a 40000 a chat line from the flooder, padded to about a hundred bytes for the queues #'
		echo 'expect_seq a 40000 ${a}: a chat line from the flooder, padded to about a hundred bytes for the queues #'
		echo 'expect_seq b 40000 ${a}: a chat line from the flooder, padded to about a hundred bytes for the queues #'
		echo 'open f ${ECHO}'
		echo 'echo_check f @random:4000000'
		echo 'open g ${ECHO}'
		echo 'echo_check g @random:4000000'
		# Slow consumers were dropped; the flooders are still served.
		for i in 1 2 3 4 5 6 7 8; do
			echo "expect_seen a \\* \${s$i} left"
			echo "expect_closed s$i"
		done
		echo 'send b /who'
		echo 'expect b \* users: ${a}, ${b}'
		echo 'echo_check f still served'
		# The echo clients that never read were throttled, not dropped.
		echo 'expect_fill e1'
		echo 'echo_check e1 after the backlog'
	} | tclient
	assert_chatd_alive
	assert_rss_bounded
}

@test "a log file that cannot be opened does not stop serving, at start or on reload" {
	start_chatd "log = { target = \"file:/nonexistent-dir/x.log\"; level = \"info\"; };
listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	grep -q '/nonexistent-dir/x.log' "$CHATD_LOG" || fail "nothing said about the log file"
	tclient <<'EOF'
open a ${CHAT}
name a
send a serving without a log file
expect a ${a}: serving without a log file
kill HUP ${CHATD_PID}
open b ${CHAT}
name b
expect a \* ${b} joined
send b serving after the reload
expect a ${b}: serving after the reload
EOF
	assert_chatd_alive
}

@test "a log file whose directory vanished: SIGHUP cannot reopen it, chatd keeps serving" {
	local dir=$BATS_TEST_TMPDIR/logs
	mkdir "$dir"
	start_chatd "log = { target = \"file:$dir/chatd.log\"; level = \"info\"; };
listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; } );"
	[[ -s $dir/chatd.log ]] || fail "nothing logged to $dir/chatd.log"
	rm -rf "$dir"
	tclient <<'EOF'
open a ${CHAT}
name a
kill HUP ${CHATD_PID}
send a after a failed reopen
expect a ${a}: after a failed reopen
open b ${CHAT}
name b
expect a \* ${b} joined
EOF
	assert_chatd_alive
}

@test "a log file on a full filesystem stops neither a running daemon nor a start" {
	[[ $(id -u) == 0 ]] || skip "needs root to mount a small tmpfs"
	FULLFS=$BATS_TEST_TMPDIR/full
	mkdir "$FULLFS"
	mount -t tmpfs -o size=64k tmpfs "$FULLFS" 2>/dev/null || {
		FULLFS=
		skip "cannot mount a tmpfs here"
	}
	start_chatd "log = { target = \"file:$FULLFS/chatd.log\"; level = \"debug\"; };
listeners = (
  { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; },
  { name = \"echo\"; protocol = \"echo\"; bind = \"$ECHO\"; }
);"
	[[ -s $FULLFS/chatd.log ]] || fail "nothing logged to $FULLFS/chatd.log"
	dd if=/dev/zero of="$FULLFS/filler" bs=4k 2>/dev/null || true
	assert_equal "$(df --output=avail "$FULLFS" | tail -n 1 | tr -d ' ')" 0
	# Every connect and disconnect (and at debug, every line) is logged.
	{
		echo 'open a ${CHAT}'
		echo 'name a'
		echo 'allow a \* .* (joined|left)'
		for i in $(seq 1 100); do
			echo "open c$i \${CHAT}"
			echo "send c$i line $i on a full disk"
			echo "expect a .*: line $i on a full disk"
			echo "close c$i"
		done
		echo 'kill HUP ${CHATD_PID}'
		echo 'open e ${ECHO}'
		echo 'echo_check e @random:100000'
		echo 'send a still chatting'
		echo 'expect a ${a}: still chatting'
	} | tclient
	assert_chatd_alive
	stop_chatd
	# Started again with the filesystem still full.
	start_chatd "$(cat "$CHATD_CONF")"
	tclient <<'EOF'
open a ${CHAT}
name a
send a started on a full disk
expect a ${a}: started on a full disk
EOF
	assert_chatd_alive
	stop_chatd
}
