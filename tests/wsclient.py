#!/usr/bin/env python3
"""wsclient.py - a raw-frame WebSocket (and line TCP) client for websocket.bats.

usage: wsclient.py [-t SECONDS] [-f SCRIPT]     script on stdin by default
       wsclient.py status ADDR 'REQUEST-LINE' ['Header: value' ...]
           prints the status code (and the headers with -v) of one request

One command per line ('#' and blank lines skipped); the first failing step
exits 1 naming the line.  Every wait is bounded by the timeout (default 5 s).
BYTES are Python escapes.  Frames the client sends are masked unless asked.

  ws NAME ADDR [PATH [Origin]]  handshake, expect 101 and the right accept key
  tcp NAME ADDR                 a plain chat client (lines end in LF)
  send NAME TEXT                ws: one text frame; tcp: TEXT + LF
  frame NAME OPCODE BYTES [fin=0] [mask=0] [rsv=N] [len=N]   one raw frame
  raw NAME BYTES                bytes as they are
  expect NAME REGEX             the next text frame / line matches (whole)
  skip_until NAME REGEX         drops messages until one matches
  expect_close NAME CODE        a close frame with CODE, then EOF
  expect_pong NAME BYTES        expect_ping NAME      pong NAME BYTES
  close NAME CODE               a close frame; expect its echo and EOF
  expect_eof NAME               no message first, then EOF (or reset)
  pause NAME                    a small receive buffer (a slow reader)
  nopong NAME                   stop answering pings (answered by default)
  quiet NAME MS                 nothing arrives for MS
  shut NAME                     closes the socket
  blast NAME COUNT SIZE         COUNT lines of SIZE bytes at once (tcp)
  wait_log FILE REGEX           polls until a line of FILE matches
"""
import argparse, base64, codecs, hashlib, os, re, select, socket, struct, sys, time

TIMEOUT = 5.0
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Fail(Exception):
    pass


def addr_of(text):
    host, port = text.rsplit(':', 1)
    return host.strip('[]'), int(port)


def bytespec(text):
    return codecs.escape_decode(text.encode('utf-8'))[0]


class Client:
    def __init__(self, name, sock, is_ws):
        self.name, self.sock, self.ws = name, sock, is_ws
        self.buf = b''
        self.eof = False
        self.paused = False
        self.pings = []         # pings passed over by other expectations
        self.autopong = True    # answer pings as a browser does

    def fill(self, deadline):
        """Reads once (waiting until deadline); False on timeout."""
        if self.eof:
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([self.sock], [], [], left)
        if not r:
            return False
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b''
        if not data:
            self.eof = True
        self.buf += data
        return True

    def next_event(self, deadline):
        """('text', bytes) | ('close', code) | ('ping', b) | ('pong', b) |
        ('line', bytes) | ('eof', None); None on timeout."""
        while True:
            ev = self.parse()
            if ev is not None:
                return ev
            if self.eof:
                return ('eof', None)
            if not self.fill(deadline):
                return None

    def parse(self):
        b = self.buf
        if not self.ws:
            i = b.find(b'\n')
            if i < 0:
                return None
            self.buf = b[i + 1:]
            return ('line', b[:i].rstrip(b'\r'))
        if len(b) < 2:
            return None
        op, ln, at = b[0] & 0x0f, b[1] & 0x7f, 2
        if b[1] & 0x80:
            raise Fail(f"{self.name}: the server sent a masked frame")
        if ln == 126:
            if len(b) < 4:
                return None
            ln, at = struct.unpack('>H', b[2:4])[0], 4
        elif ln == 127:
            if len(b) < 10:
                return None
            ln, at = struct.unpack('>Q', b[2:10])[0], 10
        if len(b) < at + ln:
            return None
        payload, self.buf = b[at:at + ln], b[at + ln:]
        if not b[0] & 0x80:
            raise Fail(f"{self.name}: the server sent a fragment")
        if op == 1:
            return ('text', payload)
        if op == 8:
            return ('close', struct.unpack('>H', payload[:2])[0] if len(payload) >= 2 else 1005)
        if op == 9:
            return ('ping', payload)
        if op == 10:
            return ('pong', payload)
        raise Fail(f"{self.name}: the server sent opcode {op}")


def frame(op, payload, fin=True, mask=True, rsv=0, length=None):
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | op])
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack('>H', n)
    else:
        head += bytes([m | 127]) + struct.pack('>Q', n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


def http_request(addr, lines, timeout):
    """Sends a request head; returns (status, headers, socket, rest)."""
    s = socket.create_connection(addr_of(addr), timeout=timeout)
    s.sendall(('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1'))
    data = b''
    deadline = time.monotonic() + timeout
    while b'\r\n\r\n' not in data:
        if time.monotonic() > deadline:
            raise Fail(f"no response head from {addr}: {data!r}")
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b'\r\n\r\n')
    hl = head.decode('latin-1').split('\r\n')
    if not hl[0].startswith('HTTP/1.1 '):
        raise Fail(f"not an HTTP response from {addr}: {data[:80]!r}")
    headers = {}
    for h in hl[1:]:
        k, _, v = h.partition(':')
        headers[k.strip().lower()] = v.strip()
    return int(hl[0].split()[1]), headers, s, rest


def ws_open(name, addr, path='/chat', origin=None):
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f'GET {path} HTTP/1.1', f'Host: {addr}', 'Upgrade: websocket',
             'Connection: Upgrade', f'Sec-WebSocket-Key: {key}', 'Sec-WebSocket-Version: 13']
    if origin:
        lines.append(f'Origin: {origin}')
    status, headers, s, rest = http_request(addr, lines, TIMEOUT)
    if status != 101:
        raise Fail(f"{name}: handshake status {status}")
    want = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
    if headers.get('sec-websocket-accept') != want:
        raise Fail(f"{name}: bad Sec-WebSocket-Accept {headers.get('sec-websocket-accept')}")
    c = Client(name, s, True)
    c.buf = rest
    return c


def want_event(c, what, timeout, pings=False):
    """The next event; server pings are set aside unless pings."""
    deadline = time.monotonic() + timeout
    while True:
        if pings and c.pings:
            return ('ping', c.pings.pop(0))
        ev = c.next_event(deadline)
        if ev is None:
            raise Fail(f"{c.name}: nothing arrived within {timeout} s, expected {what}")
        if ev[0] == 'ping' and c.autopong:
            c.sock.sendall(frame(10, ev[1]))
        if ev[0] == 'ping' and not pings:
            c.pings.append(ev[1])
            continue
        return ev


def blast(c, data):
    """Sends data, reading (and dropping) what comes back meanwhile, so
    that the sender itself is no slow consumer."""
    deadline = time.monotonic() + TIMEOUT
    c.sock.setblocking(False)
    while data:
        if time.monotonic() > deadline:
            raise Fail(f"{c.name}: blast did not get through")
        r, w, _ = select.select([c.sock], [c.sock], [], 0.5)
        while r:
            try:
                if not c.sock.recv(1 << 20):
                    raise Fail(f"{c.name}: closed during the blast")
            except BlockingIOError:
                break
        if w:
            data = data[c.sock.send(data[:8192]):]
        deadline = time.monotonic() + TIMEOUT if w else deadline
    c.sock.settimeout(TIMEOUT)


def run_step(clients, words, line):
    cmd, args = words[0], words[1:]
    get = lambda: clients[args[0]]
    if cmd == 'ws':
        clients[args[0]] = ws_open(args[0], args[1], *args[2:4])
    elif cmd == 'tcp':
        s = socket.create_connection(addr_of(args[1]), timeout=TIMEOUT)
        clients[args[0]] = Client(args[0], s, False)
    elif cmd == 'send':
        c, text = get(), line.split(None, 2)[2] if len(args) > 1 else ''
        data = text.encode('utf-8')
        c.sock.sendall(frame(1, data) if c.ws else data + b'\n')
    elif cmd == 'frame':
        opts = dict(a.split('=', 1) for a in args[3:])
        get().sock.sendall(frame(int(args[1], 0), bytespec(args[2]),
                                 fin=opts.get('fin', '1') == '1', mask=opts.get('mask', '1') == '1',
                                 rsv=int(opts.get('rsv', '0')),
                                 length=int(opts['len']) if 'len' in opts else None))
    elif cmd == 'raw':
        get().sock.sendall(bytespec(line.split(None, 2)[2]))
    elif cmd in ('expect', 'skip_until'):
        c = get()
        pat = re.compile(line.split(None, 2)[2].encode('utf-8'), re.S)
        while True:
            ev = want_event(c, pat.pattern, TIMEOUT)
            if ev[0] in ('text', 'line') and pat.fullmatch(ev[1]):
                return
            if cmd == 'expect' or ev[0] in ('eof', 'close'):
                raise Fail(f"{c.name}: expected {pat.pattern!r}, got {ev!r}")
    elif cmd == 'expect_close':
        c = get()
        ev = want_event(c, f"close {args[1]}", TIMEOUT)
        if ev != ('close', int(args[1])):
            raise Fail(f"{c.name}: expected close {args[1]}, got {ev!r}")
        ev = want_event(c, "EOF", TIMEOUT)
        if ev[0] != 'eof':
            raise Fail(f"{c.name}: expected EOF after the close, got {ev!r}")
    elif cmd == 'close':
        c = get()
        c.sock.sendall(frame(8, struct.pack('>H', int(args[1]))))
        run_step(clients, ['expect_close', args[0], args[1]], line)
    elif cmd in ('expect_pong', 'expect_ping'):
        c = get()
        ev = want_event(c, cmd[7:], TIMEOUT, pings=cmd == 'expect_ping')
        if ev[0] != cmd[7:] or (len(args) > 1 and ev[1] != bytespec(args[1])):
            raise Fail(f"{c.name}: expected {cmd[7:]}, got {ev!r}")
    elif cmd == 'pong':
        get().sock.sendall(frame(10, bytespec(args[1]) if len(args) > 1 else b''))
    elif cmd == 'expect_eof':
        c = get()
        ev = want_event(c, "EOF", TIMEOUT)
        if ev[0] != 'eof':
            raise Fail(f"{c.name}: expected EOF, got {ev!r}")
    elif cmd == 'quiet':
        c = get()
        ev = c.next_event(time.monotonic() + int(args[1]) / 1000)
        if ev is not None and ev[0] != 'ping':
            raise Fail(f"{c.name}: expected quiet, got {ev!r}")
    elif cmd == 'pause':
        get().sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    elif cmd == 'blast':
        blast(get(), (b'x' * int(args[2]) + b'\n') * int(args[1]))
    elif cmd == 'wait_log':
        pat, deadline = re.compile(line.split(None, 2)[2]), time.monotonic() + TIMEOUT
        while not pat.search(open(args[0], errors='replace').read()):
            if time.monotonic() > deadline:
                raise Fail(f"{args[0]}: no line matches {pat.pattern!r}")
            time.sleep(0.05)
    elif cmd == 'nopong':
        get().autopong = False
    elif cmd == 'shut':
        get().sock.close()
    else:
        raise Fail(f"unknown command {cmd}")


def main():
    global TIMEOUT
    ap = argparse.ArgumentParser()
    ap.add_argument('-t', type=float, default=TIMEOUT)
    ap.add_argument('-f')
    ap.add_argument('-v', action='store_true')
    ap.add_argument('rest', nargs='*')
    o = ap.parse_args()
    TIMEOUT = o.t
    if o.rest and o.rest[0] == 'status':
        status, headers, s, rest = http_request(o.rest[1], o.rest[2:], TIMEOUT)
        print(status)
        if o.v:
            for k, v in headers.items():
                print(f"{k}: {v}")
            sys.stdout.flush()
            sys.stdout.buffer.write(rest)
        return 0
    script = open(o.f) if o.f else sys.stdin
    clients = {}
    for n, line in enumerate(script, 1):
        line = line.rstrip('\n')
        words = line.split()
        if not words or words[0].startswith('#'):
            continue
        try:
            run_step(clients, words, line)
        except (Fail, OSError) as e:
            print(f"wsclient: line {n} ({line}): {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
