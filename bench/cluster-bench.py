#!/usr/bin/env python3
"""cluster-bench.py - what the Redis cluster costs (issue 15).

Starts a redis-server (no persistence) and two chatd nodes on free
loopback ports, one room, MEMBERS members spread evenly over the nodes,
then measures:

  * Redis commands per chat line: INFO commandstats (every command, the
    presence heartbeats included) before and after LINES lines sent from
    node 1 and all seen on node 2; target <= 1.05, whatever the room size.
  * Cross-node latency: one line at a time from node 1, the time until a
    member on node 1 and one on node 2 have it; the p50 difference is what
    crossing adds (target <= 0.5 ms on loopback).

  bench/cluster-bench.py --chatd src/chatd [--members 500] [--lines 2000]
                         [--samples 500]

Needs a chatd built with cluster support and redis-server, redis-cli.
"""
import argparse, os, resource, shutil, socket, statistics, subprocess, sys, tempfile, time

def free_port():
    s = socket.socket(); s.bind(('127.0.0.1', 0)); p = s.getsockname()[1]; s.close()
    return p

def redis(port, *args):
    return subprocess.run(['redis-cli', '-p', str(port), *args], stdout=subprocess.PIPE,
                          check=True).stdout.decode()

def total_commands(port):
    """Calls of every command so far, INFO's own excluded."""
    n = 0
    for line in redis(port, 'INFO', 'commandstats').splitlines():
        if line.startswith('cmdstat_') and not line.startswith('cmdstat_info:'):
            n += int(line.split('calls=')[1].split(',')[0])
    return n

class Reader:
    """A member socket read line by line."""
    def __init__(self, port):
        self.s = socket.create_connection(('127.0.0.1', port))
        self.buf = b''

    def line(self, timeout=10):
        self.s.settimeout(timeout)
        while b'\n' not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise SystemExit('cluster-bench: a node closed a member')
            self.buf += d
        l, self.buf = self.buf.split(b'\n', 1)
        return l.rstrip(b'\r')

    def until(self, needle, timeout=10):
        end = time.monotonic() + timeout
        while True:
            l = self.line(max(0.01, end - time.monotonic()))
            if needle in l:
                return l

def wait_port(port, proc):
    for _ in range(1000):
        if proc.poll() is not None:
            raise SystemExit(f'cluster-bench: a server on {port} exited')
        try:
            socket.create_connection(('127.0.0.1', port)).close()
            return
        except OSError:
            time.sleep(0.01)
    raise SystemExit(f'cluster-bench: nothing listens on {port}')

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--chatd', required=True)
    ap.add_argument('--members', type=int, default=500)
    ap.add_argument('--lines', type=int, default=2000)
    ap.add_argument('--samples', type=int, default=500)
    a = ap.parse_args()
    if not shutil.which('redis-server') or not shutil.which('redis-cli'):
        print('cluster-bench: skipped: no redis-server/redis-cli (Debian: redis-server)')
        return 0
    if 'cluster: hiredis' not in subprocess.run([a.chatd, '-V'], stdout=subprocess.PIPE).stdout.decode():
        print('cluster-bench: skipped: chatd built without cluster support')
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, a.members * 2 + 200), hard))
    tmp = tempfile.mkdtemp(prefix='cluster-bench.')
    rp, ports = free_port(), [free_port(), free_port()]
    procs = [subprocess.Popen(['redis-server', '--port', str(rp), '--bind', '127.0.0.1',
                               '--save', '', '--appendonly', 'no'], stdout=subprocess.DEVNULL)]
    try:
        wait_port(rp, procs[0])
        for i, p in enumerate(ports):
            conf = os.path.join(tmp, f'n{i}.conf')
            with open(conf, 'w') as f:
                f.write(f'''log = {{ target = "stderr"; level = "warning"; }};
max_connections = {a.members + 100};
listeners = ( {{ name = "chat"; protocol = "chat"; bind = "127.0.0.1:{p}"; room = "bench";
                announce = false; rate = 0; max_queue = 16777216; backlog = 4096; }} );
cluster = {{ redis = "127.0.0.1:{rp}"; node = "bench{i}"; }};
''')
            procs.append(subprocess.Popen([a.chatd, '-c', conf], stderr=subprocess.DEVNULL))
            wait_port(p, procs[-1])
        # the members, half on each node; the first of each is read
        members = [Reader(ports[i % 2]) for i in range(a.members)]
        local, remote = members[0], members[1]
        for r in members:
            r.s.sendall(b'/who\n')
        for r in members:
            r.until(b'* users:')
        # every node sees every member: /who on node 2 lists them all
        for _ in range(500):
            remote.s.sendall(b'/who\n')
            if remote.until(b'* users:').count(b',') + 1 >= a.members:
                break
            time.sleep(0.02)
        else:
            raise SystemExit('cluster-bench: the nodes do not see each other')
        # Redis commands per line
        before = total_commands(rp)
        t0 = time.monotonic()
        for i in range(a.lines):
            local.s.sendall(b'count %d\n' % i)
            if i % 100 == 99:	# stay within the kernel buffers of members never read
                remote.until(b'count %d' % i)
        if a.lines % 100 != 0:
            remote.until(b'count %d' % (a.lines - 1))
        elapsed = time.monotonic() - t0
        per_line = (total_commands(rp) - before) / a.lines
        print(f'{a.members} members over 2 nodes, {a.lines} lines from node 1 in {elapsed:.2f} s: '
              f'{per_line:.3f} Redis commands per line (INFO commandstats, heartbeats included)')
        # cross-node latency, one line at a time
        same, cross = [], []
        for i in range(a.samples):
            tag = b'lat %d' % i
            t = time.monotonic()
            local.s.sendall(tag + b'\n')
            local.until(tag)
            same.append(time.monotonic() - t)
            remote.until(tag)
            cross.append(time.monotonic() - t)
            if i % 50 == 49:	# the members never read: drain their sockets a little
                for r in members[2:]:
                    r.s.setblocking(False)
                    try:
                        while r.s.recv(1 << 20):
                            pass
                    except OSError:
                        pass
        p50s, p50c = statistics.median(same) * 1e3, statistics.median(cross) * 1e3
        print(f'latency, {a.samples} lines one at a time: p50 {p50s:.3f} ms to a member on the '
              f'same node, {p50c:.3f} ms to one on the other node: crossing adds {p50c - p50s:.3f} ms')
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0

if __name__ == '__main__':
    sys.exit(main())
