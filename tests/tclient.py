#!/usr/bin/env python3
"""tclient.py - scripted multi-client driver for the chatd bats suite.

usage: tclient.py [-t SECONDS] [-f SCRIPT]        run a script (default: stdin)
       tclient.py [-t SECONDS] --wait-listen [--pid PID] ADDR...

A script has one command per line; blank lines and lines starting with '#'
are skipped.  On the first failed step it exits 1 with the script line, the
client, what was expected and what arrived; otherwise 0.  Every wait is
bounded by the timeout (-t, default 5 s; the `timeout` command changes it);
for bulk steps it bounds the time without progress.

${VAR} expands to a variable (set by `name`, `set` or a (?P<VAR>...) group of
a matched regex) or else to the environment variable; inside a REGEX the
value is escaped.  ADDR is HOST:PORT, [V6]:PORT, unix:PATH (udp: prefix is
ignored).  BYTES is Python escapes (a\\x00b\\r\\n), @all256, @random:N
(N seeded pseudo-random bytes) or @pattern:N.  REGEX must match a whole line;
every received line must end in CRLF, which is not part of the match.
Clients read in the background (into memory) unless paused.

  open NAME ADDR [rcvbuf=N]  connect       connect_wait NAME ADDR  retry until up
  openmany PREFIX COUNT ADDR               refused_wait ADDR  until refused
  udp NAME ADDR     dgram NAME BYTES       expect_dgram NAME BYTES
  name NAME [VAR]   VAR (default NAME) = local address as HOST:PORT
  send NAME TEXT    TEXT + LF              sendraw NAME BYTES
  flood NAME COUNT PREFIX  COUNT lines PREFIX0, PREFIX1, ...
  expect NAME REGEX          next line     expect_many NAME MIN REGEX  >= MIN lines
  expect_seq NAME COUNT REGEX  COUNT lines REGEX0, REGEX1, ...
  allow NAME REGEX  while expecting, skip (and remember) lines matching REGEX
  expect_seen NAME REGEX  a remembered allowed line, else the next line
  expect_bytes NAME BYTES   echo_check NAME BYTES (send, then expect_bytes)
  expect_eof NAME   EOF (or reset) next    expect_closed NAME  discard until EOF
  quiet NAME MS     nothing arrives        pause NAME / resume NAME  stop/start reading
  fill NAME MAX     paused: send a pattern until the peer stops taking it; fail if
                    MAX bytes went in      expect_fill NAME  resume, pattern comes back
  shut NAME (SHUT_WR)   reset NAME (RST)   close NAME
  sleep MS  set VAR VALUE  timeout SECONDS  kill SIG PID  exec SHELL-COMMAND
  wait_file FILE REGEX  until the file's text contains a REGEX match
"""
import codecs, collections, os, random, re, select, signal, socket, struct, \
    subprocess, sys, time

TIMEOUT = 5.0
BLOCK = bytes(range(256)) * 1024        # `fill` pattern: byte i is i % 256
VARS = {}
CLIENTS = {}


class Fail(Exception):
    pass


def subst(text, regex=False):
    def one(m):
        v = VARS.get(m.group(1), os.environ.get(m.group(1)))
        if v is None:
            raise Fail(f"undefined variable ${{{m.group(1)}}}")
        return re.escape(v) if regex else v
    return re.sub(r'\$\{(\w+)\}', one, text)


def compile_re(text):
    # Regexes work on bytes: a line is decoded as latin-1, the pattern is
    # taken as UTF-8 bytes the same way, so both see one char per byte.
    pat = subst(text, regex=True).encode('utf-8').decode('latin-1')
    try:
        return re.compile(pat, re.S)
    except re.error as e:
        raise Fail(f"bad regex {pat!r}: {e}")


def bytespec(text):
    text = subst(text)
    m = re.fullmatch(r'@(random|pattern):(\d+)', text)
    if text == '@all256':
        return bytes(range(256))
    if m and m.group(1) == 'random':
        return random.Random(int(m.group(2))).randbytes(int(m.group(2)))
    if m:
        n = int(m.group(2))
        return (b'0123456789abcdefghijklmnopqrstuvwxyz\n' * (n // 37 + 1))[:n]
    return codecs.escape_decode(text.encode('utf-8'))[0]


def parse_addr(text):
    text = subst(text)
    if text.startswith('unix:'):
        return socket.AF_UNIX, text[5:]
    text = text[4:] if text.startswith('udp:') else text
    m = re.fullmatch(r'\[(.*)\]:(\d+)', text)
    if m:
        return socket.AF_INET6, (m.group(1), int(m.group(2)))
    host, _, port = text.rpartition(':')
    if not host or not port.isdigit():
        raise Fail(f"bad address {text!r}")
    return socket.AF_INET, (host, int(port))


def show(data, limit=300):
    data = bytes(data)
    return repr(data[:limit]) + (f"... ({len(data)} bytes)" if len(data) > limit else '')


class Client:
    def __init__(self, name, sock, udp=False):
        self.name, self.sock, self.udp = name, sock, udp
        self.buf, self.pos = bytearray(), 0
        self.eof, self.reset, self.reading = False, False, True
        self.allow, self.seen = [], []
        self.recent = collections.deque(maxlen=6)
        self.filled = self.lines_in = 0

    def pending(self):
        return len(self.buf) - self.pos

    def context(self):
        s = f"\n  last lines from {self.name}: {list(self.recent)}" if self.recent else ''
        if self.pending():
            s += f"\n  unread from {self.name}: {show(self.buf[self.pos:])}"
        if self.eof:
            s += f"\n  {self.name} saw {'a reset' if self.reset else 'EOF'}"
        return s

    def consume(self, n):
        data = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        if self.pos > (1 << 20) and self.pos * 2 > len(self.buf):
            del self.buf[:self.pos]
            self.pos = 0
        return data


def client(name):
    if name not in CLIENTS:
        raise Fail(f"no client named {name!r}")
    return CLIENTS[name]


def pump(deadline, wsock=None):
    """Waits until deadline (or until wsock is writable) while every reading
    client's input is appended to its buffer.  True if wsock is writable."""
    p, by_fd = select.poll(), {}
    for c in CLIENTS.values():
        if c.reading and not c.eof and not c.udp:
            p.register(c.sock, select.POLLIN)
            by_fd[c.sock.fileno()] = c
    if wsock is not None:
        p.register(wsock, select.POLLOUT | (select.POLLIN if wsock.fileno() in by_fd else 0))
    writable = False
    for fd, ev in p.poll(max(0.0, deadline - time.monotonic()) * 1000):
        if wsock is not None and fd == wsock.fileno() and ev & (select.POLLOUT | select.POLLERR):
            writable = True
        c = by_fd.get(fd)
        if c is None or not ev & (select.POLLIN | select.POLLHUP | select.POLLERR):
            continue
        for _ in range(16):
            try:
                data = c.sock.recv(262144)
            except BlockingIOError:
                break
            except OSError:     # ECONNRESET and friends: the peer is gone
                data, c.reset = b'', True
            if not data:
                c.eof = True
                break
            c.buf += data
            c.lines_in += data.count(b'\n')
    return writable


def wait_data(c, deadline, what, n=1):
    """Waits until c has n unread bytes or EOF; Fail on timeout."""
    while c.pending() < n and not c.eof:
        if not c.reading:
            raise Fail(f"client {c.name} is paused, cannot wait for {what}")
        if time.monotonic() >= deadline:
            raise Fail(f"client {c.name}: timed out waiting for {what}" + c.context())
        pump(deadline)


def read_line(c, what, peek=False):
    deadline = time.monotonic() + TIMEOUT
    while True:
        i = c.buf.find(b'\n', c.pos)
        if i >= 0:
            break
        if c.eof:
            raise Fail(f"client {c.name}: connection closed while waiting for {what}" + c.context())
        wait_data(c, deadline, what, c.pending() + 1)
    raw = bytes(c.buf[c.pos:i + 1])
    if not raw.endswith(b'\r\n'):
        raise Fail(f"client {c.name}: line not terminated by CRLF: {show(raw)}")
    if not peek:
        c.consume(len(raw))
        c.recent.append(raw)
    return raw[:-2].decode('latin-1')


def expect_line(c, rx, what):
    while True:
        line = read_line(c, what)
        m = rx.fullmatch(line)
        if m:
            VARS.update({k: v for k, v in m.groupdict().items() if v is not None})
            return
        if any(a.fullmatch(line) for a in c.allow):
            c.seen.append(line)
            continue
        raise Fail(f"client {c.name}: expected {what}, got {show(line.encode('latin-1'))}"
                   + c.context())


def send(c, data):
    view, sent, deadline = memoryview(data), 0, time.monotonic() + TIMEOUT
    while sent < len(data):
        try:
            n = c.sock.send(view[sent:sent + 65536])
            sent, deadline = sent + n, time.monotonic() + TIMEOUT
            pump(0)     # a writer that reads keeps up with its own echo
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise Fail(f"client {c.name}: peer stopped reading; sent {sent} of {len(data)} bytes")
            pump(deadline, c.sock)
        except OSError as e:
            raise Fail(f"client {c.name}: send failed after {sent} bytes: {e}" + c.context())


def flood(c, count, prefix, window=256):
    """Sends count lines; while c reads, at most `window` of them may be
    without an answer (a line back), so a fast reader is never outrun."""
    lines = [f'{prefix}{i}\n'.encode('utf-8') for i in range(count)]
    start, i, deadline = c.lines_in, 0, time.monotonic() + TIMEOUT
    while i < count:
        if c.reading and i - (c.lines_in - start) >= window:
            if c.eof or time.monotonic() >= deadline:
                raise Fail(f"client {c.name}: no answers to line {c.lines_in - start} of "
                           f"{count} (sent {i})" + c.context())
            pump(deadline)
            continue
        send(c, b''.join(lines[i:i + 64]))
        i, deadline = i + 64, time.monotonic() + TIMEOUT


def connect(name, addr, opts=(), retry=False):
    fam, sa = parse_addr(addr)
    deadline = time.monotonic() + TIMEOUT
    while True:
        s = socket.socket(fam, socket.SOCK_STREAM)
        for o in opts:
            k, _, v = o.partition('=')
            if k != 'rcvbuf':
                raise Fail(f"unknown option {o!r}")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(v))
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            s.connect(sa)
            break
        except OSError as e:
            s.close()
            if not retry or time.monotonic() >= deadline:
                raise Fail(f"client {name}: cannot connect to {addr}: {e}")
            time.sleep(0.02)
    s.setblocking(False)
    if name is None:
        return s
    CLIENTS[name] = Client(name, s)


def drop(name):
    c = CLIENTS.pop(name)
    c.sock.close()


def cmd_expect_seq(c, count, rx_text):
    rx = compile_re(f'(?:{rx_text})([0-9]+)')
    for i in range(int(count)):
        expect_line(c, rx, f"line {i} of {count}: {rx_text!r} followed by {i}")
        got = rx.fullmatch(c.recent[-1][:-2].decode('latin-1')).groups()[-1]
        if int(got) != i:
            raise Fail(f"client {c.name}: expected line {i} of {count}, got number {got}"
                       + c.context())


def wait_eof(c, discard):
    c.reading, deadline = True, time.monotonic() + TIMEOUT
    while True:
        if c.pending() and not discard:
            raise Fail(f"client {c.name}: expected EOF, got data" + c.context())
        if c.pending():
            c.consume(c.pending())
            deadline = time.monotonic() + TIMEOUT
        if c.eof:
            return
        wait_data(c, deadline, "EOF")


def cmd_expect_bytes(c, spec):
    want = bytespec(spec) if isinstance(spec, str) else spec
    deadline, got = time.monotonic() + TIMEOUT, 0
    while got < len(want):
        have = c.pending()
        if have > got:
            deadline, got = time.monotonic() + TIMEOUT, min(have, len(want))
        if got < len(want):
            wait_data(c, deadline, f"{len(want)} bytes (have {got})", got + 1)
            if c.eof and c.pending() < len(want):
                got = c.pending()
                break
    data = c.consume(min(got, len(want)))
    if data != want:
        i = next((k for k in range(min(len(data), len(want))) if data[k] != want[k]),
                 min(len(data), len(want)))
        raise Fail(f"client {c.name}: byte stream differs at offset {i} of {len(want)}: "
                   f"expected {show(want[i:i + 16])}, got {show(data[i:i + 16])} "
                   f"({len(data)} bytes arrived)" + c.context())


def cmd_fill(c, limit):
    c.reading, limit, sent = False, int(limit), 0
    stall = time.monotonic() + 0.3
    while time.monotonic() < stall:
        if sent >= limit:
            raise Fail(f"client {c.name}: peer took {sent} bytes without pushing back")
        off = (c.filled + sent) % 256
        try:
            n = c.sock.send(BLOCK[off:off + 65536])
            sent, stall = sent + n, time.monotonic() + 0.3
        except BlockingIOError:
            pump(stall, c.sock)
    c.filled += sent


def cmd_expect_fill(c):
    c.reading, n = True, c.filled
    c.filled = 0
    cmd_expect_bytes(c, (BLOCK * (n // len(BLOCK) + 1))[:n])


def run(cmd, rest):
    global TIMEOUT
    a = rest.split(' ', 1)
    a1 = a[1] if len(a) > 1 else ''
    now = time.monotonic()
    if cmd == 'open':
        addr, *opts = a1.split()
        connect(a[0], addr, opts)
    elif cmd == 'connect_wait':
        connect(a[0], a1, retry=True)
    elif cmd == 'openmany':
        prefix, count, addr = rest.split()
        for i in range(int(count)):
            connect(f'{prefix}{i}', addr)
    elif cmd == 'refused_wait':
        deadline = now + TIMEOUT
        while True:
            try:
                connect(None, rest).close()
            except Fail:
                break
            if time.monotonic() >= deadline:
                raise Fail(f"{rest} still accepts connections")
            time.sleep(0.02)
    elif cmd == 'udp':
        fam, sa = parse_addr(a1)
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.connect(sa)
        CLIENTS[a[0]] = Client(a[0], s, udp=True)
    elif cmd == 'dgram':
        client(a[0]).sock.send(bytespec(a1))
    elif cmd == 'expect_dgram':
        c, want = client(a[0]), bytespec(a1)
        if not select.select([c.sock], [], [], TIMEOUT)[0]:
            raise Fail(f"client {c.name}: no datagram within {TIMEOUT} s (expected {show(want)})")
        got = c.sock.recv(65536)
        if got != want:
            raise Fail(f"client {c.name}: expected datagram {show(want)}, got {show(got)}")
    elif cmd == 'name':
        host, port = client(a[0]).sock.getsockname()[:2]
        VARS[a1 or a[0]] = f"[{host}]:{port}" if ':' in host else f"{host}:{port}"
    elif cmd == 'send':
        send(client(a[0]), subst(a1).encode('utf-8') + b'\n')
    elif cmd == 'sendraw':
        send(client(a[0]), bytespec(a1))
    elif cmd == 'flood':
        count, prefix = a1.split(' ', 1)
        flood(client(a[0]), int(count), subst(prefix))
    elif cmd == 'echo_check':
        c = client(a[0])
        send(c, bytespec(a1))
        cmd_expect_bytes(c, a1)
    elif cmd == 'expect':
        expect_line(client(a[0]), compile_re(a1), f"a line matching {a1!r}")
    elif cmd == 'expect_many':
        c, (mn, rx_text) = client(a[0]), a1.split(' ', 1)
        rx, n = compile_re(rx_text), 0
        while n < int(mn) or rx.fullmatch(read_line(c, f"a line matching {rx_text!r}", peek=True)):
            expect_line(c, rx, f"line {n + 1} (of at least {mn}) matching {rx_text!r}")
            n += 1
    elif cmd == 'expect_seq':
        cmd_expect_seq(client(a[0]), *a1.split(' ', 1))
    elif cmd == 'allow':
        client(a[0]).allow.append(compile_re(a1))
    elif cmd == 'expect_seen':
        c, rx = client(a[0]), compile_re(a1)
        hit = next((s for s in c.seen if rx.fullmatch(s)), None)
        if hit is None:
            expect_line(c, rx, f"a line matching {a1!r}")
        else:
            c.seen.remove(hit)
    elif cmd == 'expect_bytes':
        cmd_expect_bytes(client(a[0]), a1)
    elif cmd in ('expect_eof', 'expect_closed'):
        wait_eof(client(a[0]), cmd == 'expect_closed')
    elif cmd == 'quiet':
        c, deadline = client(a[0]), now + int(a1) / 1000
        while time.monotonic() < deadline and not c.pending() and not c.eof:
            pump(deadline)
        if c.pending() or c.eof:
            raise Fail(f"client {c.name}: expected nothing for {a1} ms" + c.context())
    elif cmd == 'pause':
        client(a[0]).reading = False
    elif cmd == 'resume':
        client(a[0]).reading = True
    elif cmd == 'fill':
        cmd_fill(client(a[0]), a1)
    elif cmd == 'expect_fill':
        cmd_expect_fill(client(a[0]))
    elif cmd == 'shut':
        client(a[0]).sock.shutdown(socket.SHUT_WR)
    elif cmd == 'reset':
        client(a[0]).sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        drop(a[0])
    elif cmd == 'close':
        drop(a[0])
    elif cmd == 'sleep':
        deadline = now + int(rest) / 1000
        while time.monotonic() < deadline:
            pump(deadline)
    elif cmd == 'set':
        VARS[a[0]] = subst(a1)
    elif cmd == 'timeout':
        TIMEOUT = float(rest)
    elif cmd == 'kill':
        sig, pid = subst(rest).split()
        os.kill(int(pid), signal.Signals['SIG' + sig.upper().removeprefix('SIG')])
    elif cmd == 'exec':
        r = subprocess.run(subst(rest), shell=True, timeout=TIMEOUT, capture_output=True, text=True)
        if r.returncode:
            raise Fail(f"command exited {r.returncode}: {r.stderr.strip()}")
    elif cmd == 'wait_file':
        path, rx_text = subst(a[0]), a1
        rx, deadline = compile_re(rx_text), now + TIMEOUT
        while True:
            try:
                with open(path, 'rb') as f:
                    if rx.search(f.read().decode('latin-1')):
                        break
            except OSError:
                pass
            if time.monotonic() >= deadline:
                raise Fail(f"{path}: no match for {rx_text!r} within {TIMEOUT} s")
            pump(min(deadline, time.monotonic() + 0.05))
    else:
        raise Fail(f"unknown command {cmd!r}")


def wait_listen(addrs, pid):
    """Readiness probe: each address accepts a connection.  The probe then
    half-closes and waits (briefly) for the server to close its side, so the
    server has forgotten it before a test's own clients arrive."""
    for addr in addrs:
        deadline = time.monotonic() + TIMEOUT
        while True:
            if pid and not os.path.exists(f'/proc/{pid}') and sys.platform.startswith('linux'):
                raise Fail(f"process {pid} exited before {addr} was ready")
            try:
                s = connect(None, addr)
                break
            except Fail:
                if time.monotonic() >= deadline:
                    raise Fail(f"{addr} not accepting connections after {TIMEOUT} s")
                time.sleep(0.02)
        s.shutdown(socket.SHUT_WR)
        end = time.monotonic() + 1.0
        try:
            while time.monotonic() < end and select.select([s], [], [], end - time.monotonic())[0]:
                if not s.recv(65536):
                    break
        except OSError:
            pass
        s.close()


def main(argv):
    global TIMEOUT
    args, script, pid, listen = list(argv), None, None, False
    while args and args[0].startswith('-'):
        opt = args.pop(0)
        if opt == '-t':
            TIMEOUT = float(args.pop(0))
        elif opt == '-f':
            script = args.pop(0)
        elif opt == '--pid':
            pid = args.pop(0)
        elif opt == '--wait-listen':
            listen = True
        else:
            print(__doc__, file=sys.stderr)
            return 2
    if listen:
        try:
            wait_listen(args, pid)
            return 0
        except Fail as e:
            print(f"tclient: {e}", file=sys.stderr)
            return 1
    lines = (open(script) if script else sys.stdin).read().split('\n')
    for no, line in enumerate(lines, 1):
        line = line.lstrip()
        if not line or line.startswith('#'):
            continue
        cmd, _, rest = line.partition(' ')
        try:
            run(cmd, rest)
        except Fail as e:
            print(f"tclient: script line {no}: {line[:200]}\n  {e}", file=sys.stderr)
            return 1
        except (OSError, ValueError, KeyError, TypeError, IndexError) as e:
            print(f"tclient: script line {no}: {line[:200]}\n  {type(e).__name__}: {e}",
                  file=sys.stderr)
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
