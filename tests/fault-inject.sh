#!/usr/bin/env bash
# fault-inject.sh - chatd under fiu-run with random failures of malloc,
# read, write, accept and the event loop (issue 11 item 5).
#
# usage: tests/fault-inject.sh [-s SECONDS] [-p PROBABILITY] [-w WRAPPER]
#   run from a build directory made with ./configure --enable-fault-injection
#   (CHATD_BIN, default ./src/chatd).  WRAPPER is valgrind, asan or none;
#   default: asan for a sanitizer build, else valgrind if installed.
#
# 1. starts chatd under `fiu-run -x` (its POSIX preload) with a counting
#    preload (tests/fault/fiu-count.c) and waits until chat and echo answer;
# 2. switches on, with fiu-ctrl, random failures (PROBABILITY, default
#    0.01) of libc/mm/{malloc,calloc,realloc}, posix/io/rw/{read,write,
#    writev}, posix/io/net/{recvfrom,sendto} and chatd's own points
#    chatd/* (accept4, epoll_ctl, epoll_wait or poll, buffer and message
#    allocation: src/fault.h), and drives chat, echo and UDP echo load
#    from 12 clients that reconnect often, for SECONDS (default 10);
# 3. switches them off and checks that chatd
#    - is still running (never crashed),
#    - is back to the descriptors it had before the storm (no fd leak),
#    - uses no CPU while idle (never spins: /proc/PID/stat ticks),
#    - serves new clients: two chat members talk, echo and UDP echo answer,
#    - exits 0 on SIGTERM with no leak and no memory error (valgrind's
#      or ASan's report);
# 4. prints how many failures were injected at each point (fiu-count).
# FAULT_KEEP=1 keeps the work directory (log, counts) of a failed run.
# Exits 0 when all holds, 1 otherwise (77 when fiu-run or the build's
# fault points are missing).
set -u

storm=10 prob=0.01 wrapper=auto
while getopts s:p:w: opt; do
	case $opt in
	s) storm=$OPTARG ;;
	p) prob=$OPTARG ;;
	w) wrapper=$OPTARG ;;
	*) sed -n 's/^# \{0,1\}//;2,7p' "$0" >&2; exit 2 ;;
	esac
done
srcdir=${CHATD_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
bin=${CHATD_BIN:-./src/chatd}
PYTHON3=${PYTHON3:-python3}

skip() { echo "fault-inject: SKIP: $*"; exit 77; }
die() { echo "fault-inject: FAIL: $*"; failed=1; }
command -v fiu-run >/dev/null && command -v fiu-ctrl >/dev/null ||
	skip "fiu-run/fiu-ctrl not installed (apt-get install fiu-utils libfiu-dev)"
[[ -x $bin ]] || skip "$bin not built"
"$bin" -V | grep -q '^fault injection: yes' ||
	skip "$bin was not configured with --enable-fault-injection"
if [[ $wrapper == auto ]]; then
	if grep -q __asan_init "$bin"; then wrapper=asan
	elif command -v valgrind >/dev/null; then wrapper=valgrind
	else wrapper=none; fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/fault-inject.XXXXXX")
pid=
cleanup() {
	[[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
	if ((failed)) && [[ -n ${FAULT_KEEP:-} ]]; then
		echo "fault-inject: kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
failed=0

# The counting preload: it must come before libfiu in the lookup order,
# anywhere in LD_PRELOAD (fiu-run sets LD_PRELOAD, so it is added after).
${CC:-cc} -shared -fPIC -O2 -o "$work/fiu-count.so" "$srcdir/tests/fault/fiu-count.c" -ldl -lpthread ||
	skip "cannot build the counting preload"

ports=$("$PYTHON3" -c '
import socket
ss = []
for _ in range(2):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); ss.append(s)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss + [u]])')
read -r chat echo uecho <<<"$ports"
cat >"$work/chatd.conf" <<EOF
max_connections = 256;
listeners = (
  { name = "chat"; protocol = "chat"; bind = "127.0.0.1:$chat"; rate = 0; },
  { name = "echo"; protocol = "echo"; bind = "127.0.0.1:$echo"; },
  { name = "uecho"; protocol = "echo"; bind = "udp:127.0.0.1:$uecho"; }
);
EOF

wrap=()
case $wrapper in
valgrind)
	wrap=(valgrind -q --log-file="$work/valgrind.log" --leak-check=full
	    --errors-for-leak-kinds=definite --show-leak-kinds=definite --error-exitcode=99
	    --track-fds=no) ;;
asan)
	export ASAN_OPTIONS="detect_leaks=1:log_path=$work/asan:exitcode=99${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$work/ubsan" ;;
none) ;;
*) echo "fault-inject: unknown wrapper $wrapper" >&2; exit 2 ;;
esac
echo "fault-inject: $bin ($wrapper), ${storm} s storm, probability $prob per call"

FIU_COUNT_FILE=$work/counts COUNT_SO=$work/fiu-count.so \
	fiu-run -x sh -c 'LD_PRELOAD="$COUNT_SO $LD_PRELOAD" exec "$@"' sh \
	"${wrap[@]}" "$bin" -c "$work/chatd.conf" 2>"$work/chatd.log" &
pid=$!

# driver MODE ...: the Python side (probe, storm, check); see below.
driver() {
	"$PYTHON3" - "$@" <<'PY'
import random, select, socket, sys, time

mode, chat, echo, uecho = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
H = '127.0.0.1'

def conn(port, timeout):
    s = socket.create_connection((H, port), timeout=timeout)
    s.settimeout(timeout)
    return s

def expect(s, want, timeout):
    """Reads from s until want (bytes) has been seen."""
    buf, end = b'', time.monotonic() + timeout
    while want not in buf:
        s.settimeout(max(0.05, end - time.monotonic()))
        d = s.recv(65536)
        if not d:
            raise RuntimeError('EOF before %r (got %r)' % (want, buf[-200:]))
        buf += d
    return buf

def check(timeout):
    """New clients chat and echo: every service answers."""
    global step
    step = 'chat connect'
    a, b = conn(chat, timeout), conn(chat, timeout)
    step = 'chat /who'
    b.sendall(b'/who\n'); expect(b, b'users', timeout)	# b is in the room
    step = 'chat line'
    a.sendall(b'after the storm\n'); expect(b, b': after the storm\r\n', timeout)
    step = 'echo'
    e = conn(echo, timeout); e.sendall(b'x' * 5000 + b'\n')
    expect(e, b'x' * 5000 + b'\n', timeout)
    step = 'udp echo'
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(1)
    for _ in range(int(timeout)):
        u.sendto(b'udp?', (H, uecho))
        try:
            if u.recvfrom(100)[0] == b'udp?':
                break
        except socket.timeout:
            pass
    else:
        raise RuntimeError('UDP echo does not answer')
    for s in (a, b, e, u):
        s.close()

step = ''
if mode in ('probe', 'check'):
    deadline = time.monotonic() + float(sys.argv[5])
    while True:
        try:
            check(10)
            sys.exit(0)
        except (OSError, RuntimeError) as err:
            if mode == 'check' or time.monotonic() > deadline:
                print('fault-inject: %s: %s: %s' % (mode, step, err), file=sys.stderr)
                sys.exit(1)
            time.sleep(0.1)

# storm SECONDS: 6 chat and 6 echo clients, each sending lines and reading
# whatever comes; a client whose connection fails or that has sent its
# quota of lines reconnects (so accept keeps being exercised); UDP
# datagrams in between.  Failures are expected: only the totals print.
seconds = float(sys.argv[5])
rnd = random.Random(11)
stats = dict(connects=0, refused=0, lines=0, bytes_in=0, drops=0, datagrams=0)
clients = {}	# socket -> [port, lines left]

def open_one(port):
    try:
        s = socket.create_connection((H, port), timeout=2)
        s.setblocking(False)
        clients[s] = [port, rnd.randint(20, 200)]
        stats['connects'] += 1
    except OSError:
        stats['refused'] += 1

def drop(s):
    clients.pop(s, None)
    try:
        if rnd.random() < 0.3:	# some leave with an RST
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\1\0\0\0\0\0\0\0')
        s.close()
    except OSError:
        pass

for i in range(12):
    open_one(chat if i < 6 else echo)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.setblocking(False)
end = time.monotonic() + seconds
while time.monotonic() < end:
    for port in (chat, echo):
        while sum(1 for v in clients.values() if v[0] == port) < 6 and time.monotonic() < end:
            open_one(port)
    r, w, _ = select.select(list(clients), list(clients), [], 0.05)
    for s in r:
        try:
            d = s.recv(65536)
        except OSError:
            d = b''
        if not d:
            stats['drops'] += 1
            drop(s)
        else:
            stats['bytes_in'] += len(d)
    for s in w:
        if s not in clients:
            continue
        v = clients[s]
        n = rnd.choice((1, 1, 1, 5, 50))
        data = b''.join(b'line %d %s\n' % (rnd.randint(0, 1 << 30), b'y' * rnd.randint(0, 300))
                        for _ in range(n))
        try:
            s.send(data)
            stats['lines'] += n
            v[1] -= n
        except OSError:
            stats['drops'] += 1
            drop(s)
            continue
        if v[1] <= 0:
            drop(s)
    try:
        u.sendto(b'd' * rnd.randint(1, 1000), (H, uecho))
        stats['datagrams'] += 1
        while True:
            u.recvfrom(2000)
    except OSError:
        pass
for s in list(clients):
    drop(s)
print('fault-inject: storm load: ' + ', '.join('%s %d' % kv for kv in stats.items()))
PY
}

# ticks PID: utime + stime of the process, in clock ticks.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
nfds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
# queued: connections in the listen queues, not accepted yet (an accept
# failure pauses accepting; the queue is taken after the storm).
queued() {
	ss -ltnH "( sport = :$chat or sport = :$echo )" 2>/dev/null |
	    awk '{ n += $2 } END { print n + 0 }'
}
alive() { kill -0 "$pid" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; }

slow=1; [[ $wrapper == valgrind ]] && slow=5
if ! driver probe "$chat" "$echo" "$uecho" $((20 * slow)); then
	cat "$work/chatd.log"
	echo "fault-inject: FAIL: chatd did not start"; exit 1
fi
fds_before=$(nfds "$pid")

points=(libc/mm/malloc libc/mm/calloc libc/mm/realloc posix/io/rw/read posix/io/rw/write
	posix/io/rw/writev posix/io/net/recvfrom posix/io/net/sendto 'chatd/*')
ctl=()
for p in "${points[@]}"; do ctl+=(-c "enable_random name=$p,probability=$prob"); done
fiu-ctrl "${ctl[@]}" "$pid" || die "fiu-ctrl could not enable the failure points"
driver storm "$chat" "$echo" "$uecho" "$storm"
ctl=()
for p in "${points[@]}"; do ctl+=(-c "disable name=$p"); done
fiu-ctrl "${ctl[@]}" "$pid" || die "fiu-ctrl could not disable the failure points"

if ! alive; then
	die "chatd died during the storm"
else
	# Closing connections drain within chatd's bounds (linger, flush),
	# after the listen queues are taken.
	for ((i = 0; i < 200 * slow; i++)); do
		(($(queued) == 0 && $(nfds "$pid") <= fds_before)) && break
		sleep 0.1
	done
	now=$(nfds "$pid")
	((now <= fds_before)) ||
		{ ls -l "/proc/$pid/fd"; ss -tanpe 2>/dev/null | grep "pid=$pid," || true
		  kill -USR1 "$pid"; sleep 0.5; tail -20 "$work/chatd.log"
		  die "chatd holds $now descriptors, $fds_before before the storm"; }
	t0=$(ticks "$pid"); sleep 3; t1=$(ticks "$pid")
	echo "fault-inject: idle CPU after the storm: $((t1 - t0)) ticks in 3 s"
	# A spinning loop burns ~300 ticks in 3 s; an idle one none.
	(((t1 - t0) <= 30)) || die "chatd spins: $((t1 - t0)) ticks of CPU in 3 s while idle"
	driver check "$chat" "$echo" "$uecho" 0 || die "chatd does not serve new clients after the storm"
	kill -TERM "$pid"
fi
wait "$pid"; rc=$?; pid=
((rc == 0)) || die "chatd exited with status $rc"

echo "fault-inject: failures injected per point:"
if [[ -s $work/counts ]]; then
	sort -k2 "$work/counts" | awk '{ printf "  %-26s %6d\n", $2, $1; t += $1 } END { printf "  %-26s %6d\n", "total", t }'
	for p in posix/io/rw/read posix/io/rw/writev chatd/net/accept; do
		grep -q " $p\$" "$work/counts" || die "no failure was injected at $p: the storm did not reach it"
	done
else
	die "no failure was injected (or chatd did not exit normally)"
fi
for f in "$work"/valgrind.log "$work"/asan* "$work"/ubsan*; do
	[[ -s $f ]] || continue
	echo "--- $f"; head -100 "$f"
	die "memory errors or leaks reported"
done
if ((failed)); then
	echo "--- chatd log (last 60 lines)"; tail -60 "$work/chatd.log"
	exit 1
fi
echo "fault-inject: ok: no crash, no spin, no leak, recovered"
