#!/usr/bin/env python3
"""scrape-bench.py - chatd CPU per /metrics scrape with N chat clients
connected (issue 14: <= 1 ms at 15,000).  Starts chatd with a chat and a
metrics listener on free loopback ports, connects the clients, scrapes
--scrapes times one after another and reads chatd's utime + stime from
/proc/PID/stat before and after.  Linux only.

With --bench bench/chatd-bench it then measures what a scrape every
100 ms does to chat fan-out (issue 14: p99 changes by <= 5 %): while the
clients stay connected (in a room of their own), chatd-bench chat runs
on a second chat listener, --rounds times without and with a scraper
thread, interleaved, and the medians of its p99 are compared.

  bench/scrape-bench.py --chatd src/chatd [--clients 15000] [--scrapes 1000]
                        [--bench bench/chatd-bench [--fanout-clients 50]
                         [--rounds 3] [--duration 5]
                         [--scrape-path /metrics|/healthz|none]]
"""
import argparse, json, os, resource, socket, statistics, subprocess, sys, tempfile
import threading, time

def free_port():
    s = socket.socket(); s.bind(('127.0.0.1', 0)); p = s.getsockname()[1]; s.close()
    return p

def cpu_seconds(pid):
    f = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK')

def scrape(port, path='/metrics'):
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(b'GET ' + path.encode() + b' HTTP/1.1\r\nHost: bench\r\n\r\n')
    out = b''
    while (b := s.recv(65536)):
        out += b
    s.close()
    return out

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--chatd', required=True)
    ap.add_argument('--clients', type=int, default=15000)
    ap.add_argument('--scrapes', type=int, default=1000)
    ap.add_argument('--bench')
    ap.add_argument('--fanout-clients', type=int, default=50)
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--duration', type=float, default=5)
    ap.add_argument('--scrape-path', default='/metrics',
                    help='what the 100 ms scraper asks for: /healthz tells the cost of a'
                    ' connection from that of rendering; "none" wakes the thread every'
                    ' 100 ms without connecting (the noise floor)')
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, a.clients + 100)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    chat, metrics, fan = free_port(), free_port(), free_port()
    conf = tempfile.NamedTemporaryFile('w', suffix='.conf', delete=False)
    conf.write(f'''log = {{ target = "stderr"; level = "warning"; }};
max_connections = {a.clients + 100};
listeners = (
  {{ name = "chat"; protocol = "chat"; bind = "127.0.0.1:{chat}"; announce = false; room = "idle"; }},
  {{ name = "fan"; protocol = "chat"; bind = "127.0.0.1:{fan}"; room = "fan"; rate = 0;
     max_queue = 1048576; backlog = 4096; }},
  {{ name = "metrics"; protocol = "metrics"; bind = "127.0.0.1:{metrics}"; }}
);
''')
    conf.close()
    d = subprocess.Popen([a.chatd, '-c', conf.name])
    try:
        for _ in range(500):
            try:
                socket.create_connection(('127.0.0.1', metrics)).close()
                break
            except OSError:
                time.sleep(0.01)
        clients = [socket.create_connection(('127.0.0.1', chat)) for _ in range(a.clients)]
        while f'chatd_connections{{listener="chat",protocol="chat"}} {a.clients}\n' not in \
                scrape(metrics).decode():
            time.sleep(0.05)
        c0, t0 = cpu_seconds(d.pid), time.monotonic()
        for _ in range(a.scrapes):
            body = scrape(metrics)
        c1, t1 = cpu_seconds(d.pid), time.monotonic()
        print(f'{a.clients} chat clients, {a.scrapes} scrapes of {len(body)} bytes: '
              f'chatd CPU {(c1 - c0) / a.scrapes * 1e3:.3f} ms per scrape '
              f'(accept, parse, collect, render, write, close), '
              f'wall {(t1 - t0) / a.scrapes * 1e3:.3f} ms per scrape')
        sys.stdout.flush()
        if a.bench:
            fanout(a, d.pid, fan, metrics)
        del clients
    finally:
        d.terminate()
        d.wait()
        os.unlink(conf.name)

def fanout_p99(a, pid, fan):
    """One chatd-bench chat run on the fan listener: its p99 in us."""
    out = subprocess.run([a.bench, 'chat', '--port', str(fan), '--clients', str(a.fanout_clients),
                          '--senders', str(a.fanout_clients), '--size', '64',
                          '--duration', str(a.duration), '--warmup', '1',
                          '--server-pid', str(pid)],
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    r = json.loads(out.strip().splitlines()[-1])['results']
    if not r.get('ok'):
        raise SystemExit(f'scrape-bench: chatd-bench failed: {r}')
    return r['lat_p99_us']

def fanout(a, pid, fan, metrics):
    """Chat fan-out p99 without and with a scrape every 100 ms."""
    quiet, scraped, scrapes = [], [], 0
    for _ in range(a.rounds):
        quiet.append(fanout_p99(a, pid, fan))
        stop = threading.Event()
        def scraper():
            nonlocal scrapes
            while not stop.wait(0.1):
                if a.scrape_path != 'none':
                    scrape(metrics, a.scrape_path)
                scrapes += 1
        t = threading.Thread(target=scraper)
        t.start()
        try:
            scraped.append(fanout_p99(a, pid, fan))
        finally:
            stop.set()
            t.join()
    q, s = statistics.median(quiet), statistics.median(scraped)
    print(f'chat fan-out, {a.fanout_clients} clients all sending, {a.rounds} interleaved rounds: '
          f'p99 {q:.1f} us without scrapes, {s:.1f} us with {a.scrape_path} every 100 ms '
          f'({scrapes} scrapes): ratio {s / q:.3f}')

if __name__ == '__main__':
    sys.exit(main())
