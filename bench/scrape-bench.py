#!/usr/bin/env python3
"""scrape-bench.py - chatd CPU per /metrics scrape with N chat clients
connected (issue 14: <= 1 ms at 15,000).  Starts chatd with a chat and a
metrics listener on free loopback ports, connects the clients, scrapes
--scrapes times one after another and reads chatd's utime + stime from
/proc/PID/stat before and after.  Linux only.

  bench/scrape-bench.py --chatd src/chatd [--clients 15000] [--scrapes 1000]
"""
import argparse, os, resource, socket, subprocess, sys, tempfile, time

def free_port():
    s = socket.socket(); s.bind(('127.0.0.1', 0)); p = s.getsockname()[1]; s.close()
    return p

def cpu_seconds(pid):
    f = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK')

def scrape(port):
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(b'GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n')
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
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, a.clients + 100)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    chat, metrics = free_port(), free_port()
    conf = tempfile.NamedTemporaryFile('w', suffix='.conf', delete=False)
    conf.write(f'''log = {{ target = "stderr"; level = "warning"; }};
max_connections = {a.clients + 100};
listeners = (
  {{ name = "chat"; protocol = "chat"; bind = "127.0.0.1:{chat}"; announce = false; }},
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
        del clients
    finally:
        d.terminate()
        d.wait()
        os.unlink(conf.name)

if __name__ == '__main__':
    sys.exit(main())
