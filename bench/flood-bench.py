#!/usr/bin/env python3
"""flood-bench.py - issue 11's flood scenario against a chatd it starts.

usage: bench/flood-bench.py [--chatd PATH] [--readers 200] [--read-rate 1000]
                            [--members 5] [--seconds 8]

One room (a chat listener with the default rate = 10, burst = 20): READERS
clients that each take at most READ_RATE lines/s (reads paced by the
script, receive buffer 4 KiB), MEMBERS clients chatting 5 lines/s each
(timestamped; they read at full speed and measure the others' lines'
latency), then the same again with one more client writing as fast as the
socket takes it.  Prints, per run, the members' latency p50/p99, readers
disconnected, the flooder's lines sent and delivered per second, and
chatd's RSS; with the flooder: PASS when no reader was disconnected, the
flood was held to about the rate, the p99 stayed within 2x (or 5 ms) of
the run without it and RSS stayed under 64 MiB.  Linux (/proc).
"""
import argparse, os, re, selectors, socket, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument('--chatd', default=os.environ.get('CHATD_BIN', './src/chatd'))
ap.add_argument('--readers', type=int, default=200)
ap.add_argument('--read-rate', type=float, default=1000)
ap.add_argument('--members', type=int, default=5)
ap.add_argument('--seconds', type=float, default=8)
a = ap.parse_args()

def free_port():
    s = socket.socket(); s.bind(('127.0.0.1', 0)); p = s.getsockname()[1]; s.close(); return p

def rss_kb(pid, key):
    for line in open('/proc/%d/status' % pid):
        if line.startswith(key + ':'):
            return int(line.split()[1])
    return 0

TS = re.compile(rb'~T(\d+)~')

def run(flood):
    port = free_port()
    conf = tempfile.NamedTemporaryFile('w', suffix='.conf', delete=False)
    conf.write('max_connections = 1000;\nlisteners = ( { name = "chat"; protocol = "chat"; '
               'bind = "127.0.0.1:%d"; announce = false; } );\n' % port)
    conf.close()
    srv = subprocess.Popen([a.chatd, '-c', conf.name], stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(('127.0.0.1', port)).close(); break
        except OSError:
            time.sleep(0.05)
    sel = selectors.DefaultSelector()
    readers, members = [], []
    for _ in range(a.readers):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(('127.0.0.1', port)); s.setblocking(False)
        readers.append({'s': s, 'lines': 0, 'gone': False, 'budget': 0.0, 'carry': b''})
    for i in range(a.members):
        s = socket.create_connection(('127.0.0.1', port)); s.setblocking(False)
        members.append({'s': s, 'id': i, 'next': 0.0, 'carry': b''})
        sel.register(s, selectors.EVENT_READ, members[-1])
    flooder = None
    if flood:
        flooder = socket.create_connection(('127.0.0.1', port)); flooder.setblocking(False)
        sel.register(flooder, selectors.EVENT_READ, 'flooder')
    time.sleep(0.5)
    lat, flood_sent, flood_seen = [], 0, 0
    fline = b'flood ' + b'f' * 50 + b'\n'
    fblock = fline * 64
    t0 = time.monotonic(); end = t0 + a.seconds; last = t0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        for m in members:	# 5 lines/s each, staggered
            if now >= m['next']:
                m['next'] = (m['next'] or now + m['id'] * 0.2 / a.members) + 0.2
                m['s'].send(b'member %d ~T%d~\n' % (m['id'], time.monotonic_ns()))
        if flooder is not None:
            try:
                while True:
                    n = flooder.send(fblock)
                    flood_sent += n // len(fline)
                    if n < len(fblock):
                        break
            except BlockingIOError:
                pass
        dt, last = now - last, now
        for r in readers:	# paced: READ_RATE lines/s of ~60 bytes
            if r['gone']:
                continue
            r['budget'] = min(r['budget'] + dt * a.read_rate * 64, 65536)
            if r['budget'] < 64:
                continue
            try:
                d = r['s'].recv(int(r['budget']))
            except BlockingIOError:
                continue
            except OSError:
                d = b''
            if not d or b'* error' in d:
                r['gone'] = True
                continue
            r['budget'] -= len(d)
            r['lines'] += d.count(b'\n')
        for key, _ in sel.select(0.002):
            s = key.fileobj
            try:
                d = s.recv(1 << 20)
            except BlockingIOError:
                continue
            if key.data == 'flooder':
                continue
            m = key.data
            recv_ns = time.monotonic_ns()
            for line in (m['carry'] + d).split(b'\n')[:-1]:
                t = TS.search(line)
                if t and b'member %d ' % m['id'] not in line:
                    lat.append((recv_ns - int(t.group(1))) / 1e6)
                elif b'flood ' in line and m['id'] == 0:
                    flood_seen += 1
            m['carry'] = (m['carry'] + d).rsplit(b'\n', 1)[-1]
    secs = time.monotonic() - t0
    rss, hwm = rss_kb(srv.pid, 'VmRSS'), rss_kb(srv.pid, 'VmHWM')
    gone = sum(r['gone'] for r in readers)
    for r in readers:
        if not r['gone']:
            try:
                if r['s'].recv(1 << 16) == b'':
                    gone += 1
            except (BlockingIOError, OSError):
                pass
    srv.terminate(); srv.wait()
    os.unlink(conf.name)
    lat.sort()
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float('nan')
    return dict(p50=pct(0.5), p99=pct(0.99), n=len(lat), gone=gone,
                read=sum(r['lines'] for r in readers) / a.readers / secs,
                sent=flood_sent / secs, seen=flood_seen / secs, rss=rss, hwm=hwm)

base = run(False)
fl = run(True)
for name, r in (('without flooder', base), ('with flooder', fl)):
    print('%-16s members p50 %.2f ms p99 %.2f ms (%d lines); readers gone %d/%d, '
          'each read %.0f lines/s; flood sent %.0f lines/s, delivered %.1f lines/s; '
          'chatd RSS %d KiB (peak %d KiB)' % (name, r['p50'], r['p99'], r['n'], r['gone'],
          a.readers, r['read'], r['sent'], r['seen'], r['rss'], r['hwm']))
ok = (fl['gone'] == 0 and fl['seen'] <= 10 * 1.5 + 20 / a.seconds and
      fl['p99'] <= max(2 * base['p99'], base['p99'] + 5) and fl['hwm'] < 64 * 1024)
print('flood-bench: %s' % ('PASS' if ok else 'FAIL'))
sys.exit(0 if ok else 1)
