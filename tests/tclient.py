#!/usr/bin/env python3
"""tclient.py - scripted multi-client driver for the chatd bats suite.

usage: tclient.py [-v] [-t SECONDS] [-f SCRIPT]        run a script (default: stdin)
       tclient.py [-t SECONDS] [--pid PID] --wait-listen ADDR...   readiness probe

One command per line; blank and '#' lines are skipped.  The first failing
step exits 1 naming the script line, the client, what was expected and what
arrived.  Every wait is bounded by the timeout (-t, default 5 s; for bulk
steps: without progress).  -v traces the steps on stderr.  ${VAR} is a
variable (from `name` or a regex's (?P<VAR>...)) or else from the
environment; escaped inside a REGEX.  ADDR: HOST:PORT, [V6]:PORT, unix:PATH
(udp: prefix ignored).  BYTES: Python escapes (a\\x00b\\n), @all256 or
@random:N.  A REGEX matches a whole line; each line must end in CRLF (not
part of the match).  Clients read in the background unless paused.

  open NAME ADDR [rcvbuf=N]   connect_wait NAME ADDR   openmany PREFIX COUNT ADDR
  refused_wait ADDR           udp NAME ADDR   dgram NAME BYTES   expect_dgram NAME BYTES
  name NAME [VAR]             VAR (default NAME) := local address as HOST:PORT
  send NAME TEXT (adds LF)    sendraw NAME BYTES   echo_check NAME BYTES
  flood NAME COUNT PREFIX     lines PREFIX0 .. PREFIX<COUNT-1>, paced by the echo
  blast NAME COUNT PREFIX     the same lines at once, as fast as the peer takes them
  expect NAME REGEX           expect_within NAME MS REGEX (MS at most, progress or not)
  expect_seq NAME [FROM..]COUNT REGEX   REGEX<FROM> .. REGEX<COUNT-1>, in order;
                              remembered allowed lines (see allow) are taken first
  allow NAME REGEX            expects skip (and remember) such lines
  seen_max NAME N             at most N such lines are remembered (an overtaking check)
  time_limit MS               every later step must end within MS from here (0: off)
  expect_seen NAME REGEX      a remembered allowed line, else the next line
  expect_bytes NAME BYTES     expect_eof NAME (nothing first)   expect_closed NAME
  quiet NAME MS               pause NAME   resume NAME   shut NAME   reset NAME   close NAME
  fill NAME MAX               pause; send until the peer pushes back (fail at MAX bytes)
  expect_fill NAME            resume; all that `fill` sent comes back
  sleep MS   kill SIG PID   exec SHELL-COMMAND (fails unless it exits 0)
"""
import argparse, codecs, collections, os, random, re, select, signal, socket, struct, \
    subprocess, sys, time

TIMEOUT = 5.0
BLOCK = bytes(range(256)) * 1024        # `fill` pattern: byte i is i % 256
LINGER0 = struct.pack('ii', 1, 0)       # SO_LINGER on, 0 s: close sends RST
VARS, CLIENTS, LAST_ERROR = {}, {}, None
LIMIT = None                            # time_limit: absolute deadline, or None

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
    # Lines and the pattern's UTF-8 bytes are both taken as latin-1: 1 char = 1 byte.
    return re.compile(subst(text, regex=True).encode('utf-8').decode('latin-1'), re.S)

def bytespec(text):
    text = subst(text)
    if text == '@all256':
        return bytes(range(256))
    if m := re.fullmatch(r'@random:(\d+)', text):
        return random.Random(int(m[1])).randbytes(int(m[1]))
    return codecs.escape_decode(text.encode('utf-8'))[0]

def parse_addr(text):
    text = subst(text)
    if text.startswith('unix:'):
        return socket.AF_UNIX, text[5:]
    text = text[4:] if text.startswith('udp:') else text
    if m := re.fullmatch(r'\[(.*)\]:(\d+)', text):
        return socket.AF_INET6, (m.group(1), int(m.group(2)))
    host, _, port = text.rpartition(':')
    if not host or not port.isdigit():
        raise Fail(f"bad address {text!r}")
    return socket.AF_INET, (host, int(port))

def show(data, limit=300):
    return repr(bytes(data[:limit])) + (f"... ({len(data)} bytes)" if len(data) > limit else '')

class Client:
    def __init__(self, name, sock, udp=False):
        self.name, self.sock, self.udp = name, sock, udp
        self.buf, self.pos = bytearray(), 0     # unread input is buf[pos:]
        self.eof, self.reset, self.reading = False, False, True
        self.allow, self.seen = [], []
        self.recent = collections.deque(maxlen=6)
        self.filled = self.lines_in = self.bytes_in = 0

    def pending(self):
        return len(self.buf) - self.pos

    def context(self):
        s = f"\n  last lines from {self.name}: {list(self.recent)}" * bool(self.recent)
        s += f"\n  unread from {self.name}: {show(self.buf[self.pos:])}" * bool(self.pending())
        return s + f"\n  {self.name} saw {'a reset' if self.reset else 'EOF'}" * self.eof

    def consume(self, n):
        data = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        if self.pos > (1 << 20) and self.pos * 2 > len(self.buf):
            del self.buf[:self.pos]
            self.pos = 0
        return data

def pump(deadline, wsock=None):
    """Waits until deadline (or until wsock is writable), appending whatever
    arrives for reading clients to their buffers."""
    p, by_fd = select.poll(), {}
    for c in CLIENTS.values():
        if c.reading and not c.eof and not c.udp:
            p.register(c.sock, select.POLLIN)
            by_fd[c.sock.fileno()] = c
    if wsock is not None:
        p.register(wsock, select.POLLOUT | (select.POLLIN if wsock.fileno() in by_fd else 0))
    for fd, ev in p.poll(max(0.0, deadline - time.monotonic()) * 1000):
        c = by_fd.get(fd)
        for _ in range(16 if c and ev & (select.POLLIN | select.POLLHUP | select.POLLERR) else 0):
            try:
                data = c.sock.recv(262144)
            except BlockingIOError:
                break
            except OSError:             # ECONNRESET and friends: the peer is gone
                data, c.reset = b'', True
            if not data:
                c.eof = True
                break
            c.buf += data
            c.lines_in += data.count(b'\n')
            c.bytes_in += len(data)

def wait_for(c, done, what):
    """Pumps until done(); fails at EOF or after TIMEOUT without input for c."""
    deadline, seen = 0, -1
    while not done():
        if c.bytes_in != seen:
            deadline, seen = time.monotonic() + TIMEOUT, c.bytes_in
        if not c.reading:
            raise Fail(f"client {c.name} is paused, cannot wait for {what}")
        if c.eof or time.monotonic() >= deadline:
            raise Fail(f"client {c.name}: {'connection closed' if c.eof else 'timed out'} "
                       f"waiting for {what}" + c.context())
        if LIMIT is not None and time.monotonic() >= LIMIT:
            raise Fail(f"client {c.name}: time limit passed waiting for {what}" + c.context())
        pump(min(deadline, LIMIT or deadline))

def read_line(c, what, peek=False):
    wait_for(c, lambda: c.buf.find(b'\n', c.pos) >= 0, what)
    raw = bytes(c.buf[c.pos:c.buf.find(b'\n', c.pos) + 1])
    if not raw.endswith(b'\r\n'):
        raise Fail(f"client {c.name}: line not terminated by CRLF: {show(raw)}" + c.context())
    if not peek:
        c.consume(len(raw))
        c.recent.append(raw)
    return raw[:-2].decode('latin-1')

def expect_line(c, rx, what):
    while True:
        line = read_line(c, what)
        if m := rx.fullmatch(line):
            VARS.update({k: v for k, v in m.groupdict().items() if v is not None})
            return m
        if not any(a.fullmatch(line) for a in c.allow):
            raise Fail(f"client {c.name}: expected {what}, got {show(line.encode('latin-1'))}"
                       + c.context())
        c.seen.append(line)

def send(c, data):
    view, sent, deadline = memoryview(data), 0, time.monotonic() + TIMEOUT
    while sent < len(data):
        try:
            sent += c.sock.send(view[sent:sent + 65536])
            deadline = time.monotonic() + TIMEOUT
            pump(0)     # a writer that reads keeps up with its own echo
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise Fail(f"client {c.name}: peer stopped reading; sent {sent} of {len(data)}")
            pump(deadline, c.sock)
        except OSError as e:
            raise Fail(f"client {c.name}: send failed after {sent} bytes: {e}" + c.context())

def dial(addr, opts=()):
    """A connected non-blocking stream socket, or None (reason in LAST_ERROR)."""
    global LAST_ERROR
    fam, sa = parse_addr(addr)
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        for o in opts:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(o.removeprefix('rcvbuf=')))
        s.settimeout(TIMEOUT)
        s.connect(sa)
    except OSError as e:
        LAST_ERROR = e
        return s.close()
    s.setblocking(False)
    return s

def retry(attempt, what):
    """Calls attempt() every 20 ms until it returns something true."""
    deadline = time.monotonic() + TIMEOUT
    while not (result := attempt()):
        if time.monotonic() >= deadline:
            raise Fail(f"{what} after {TIMEOUT} s")
        pump(min(deadline, time.monotonic() + 0.02))
    return result

def cmd_open(name, arg, wait=False):
    addr, *opts = arg.split()
    s = retry(lambda: dial(addr, opts), f"{addr} accepts nothing") if wait else dial(addr, opts)
    if s is None:
        raise Fail(f"client {name}: cannot connect to {addr}: {LAST_ERROR}")
    CLIENTS[name] = Client(name, s)

def cmd_udp(name, addr):
    fam, sa = parse_addr(addr)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.connect(sa)
    CLIENTS[name] = Client(name, s, udp=True)

def cmd_expect_dgram(c, want):
    if not select.select([c.sock], [], [], TIMEOUT)[0]:
        raise Fail(f"client {c.name}: no datagram within {TIMEOUT} s (expected {show(want)})")
    if (got := c.sock.recv(65536)) != want:
        raise Fail(f"client {c.name}: expected datagram {show(want)}, got {show(got)}")

def cmd_name(c, var):
    host, port = c.sock.getsockname()[:2]
    VARS[var or c.name] = f"[{host}]:{port}" if ':' in host else f"{host}:{port}"

def cmd_flood(c, arg, window=256):
    """While c reads, at most `window` lines may be without a line back, so
    a reader in this process is never outrun."""
    count, prefix = int(arg.split(' ', 1)[0]), subst(arg.split(' ', 1)[1])
    lines = [f'{prefix}{i}\n'.encode('utf-8') for i in range(count)]
    start, i, deadline = c.lines_in, 0, time.monotonic() + TIMEOUT
    while i < count:
        if c.reading and i - (c.lines_in - start) >= window:
            if c.eof or time.monotonic() >= deadline:
                raise Fail(f"client {c.name}: {c.lines_in - start} lines back for {i} sent"
                           + c.context())
            pump(deadline)
            continue
        send(c, b''.join(lines[i:i + 64]))
        i, deadline = i + 64, time.monotonic() + TIMEOUT

def cmd_blast(c, arg):
    """Sends the lines without waiting for anything back (c keeps reading)."""
    count, prefix = int(arg.split(' ', 1)[0]), subst(arg.split(' ', 1)[1])
    send(c, b''.join(f'{prefix}{i}\n'.encode('utf-8') for i in range(count)))

def cmd_expect_within(c, arg):
    """expect, but the line must come within MS milliseconds."""
    ms, rx_text = arg.split(' ', 1)
    t0 = time.monotonic()
    expect_line(c, compile_re(rx_text), f"a line matching {rx_text!r}")
    took = (time.monotonic() - t0) * 1000
    if took > int(ms):
        raise Fail(f"client {c.name}: {rx_text!r} came after {took:.0f} ms, "
                   f"not within {ms} ms" + c.context())

def cmd_expect_seq(c, arg):
    count, rx_text = arg.split(' ', 1)
    first, _, count = count.rpartition('..')
    rx = compile_re(f'(?:{rx_text})([0-9]+)')
    for i in range(int(first or 0), int(count)):
        if (hit := next((s for s in c.seen if rx.fullmatch(s)), None)) is not None:
            c.seen.remove(hit)
            got = rx.fullmatch(hit).groups()[-1]
        else:
            got = expect_line(c, rx, f"line {i} of {count}: {rx_text!r} and {i}").groups()[-1]
        if int(got) != i:
            raise Fail(f"client {c.name}: expected line {i} of {count}, got number {got}"
                       + c.context())

def cmd_expect_seen(c, rx_text):
    rx = compile_re(rx_text)
    if (hit := next((s for s in c.seen if rx.fullmatch(s)), None)) is None:
        return expect_line(c, rx, f"a line matching {rx_text!r}")
    c.seen.remove(hit)

def cmd_expect_bytes(c, want):
    wait_for(c, lambda: c.pending() >= len(want) or c.eof, f"{len(want)} bytes")
    data = c.consume(min(c.pending(), len(want)))
    if data != want:
        i = next((k for k in range(min(len(data), len(want))) if data[k] != want[k]),
                 min(len(data), len(want)))
        raise Fail(f"client {c.name}: byte stream differs at offset {i} of {len(want)}: "
                   f"expected {show(want[i:i + 16])}, got {show(data[i:i + 16])} "
                   f"({len(data)} bytes arrived)" + c.context())

def cmd_wait_eof(c, discard):
    def done():
        if c.pending() and not discard:
            raise Fail(f"client {c.name}: expected EOF, got data" + c.context())
        c.consume(c.pending())
        return c.eof
    c.reading = True
    wait_for(c, done, "EOF")

def cmd_sleep(ms, c=None):
    """Waits MS milliseconds (reading); with c, fails if anything came for c."""
    deadline = time.monotonic() + int(ms) / 1000
    while time.monotonic() < deadline and not (c and (c.pending() or c.eof)):
        pump(deadline)
    if c and (c.pending() or c.eof):
        raise Fail(f"client {c.name}: expected nothing for {ms} ms" + c.context())

def cmd_fill(c, limit):
    c.reading, sent, stall = False, 0, time.monotonic() + 0.3
    while time.monotonic() < stall:
        if sent >= int(limit):
            raise Fail(f"client {c.name}: peer took {sent} bytes without pushing back")
        try:
            off = (c.filled + sent) % 256
            sent += c.sock.send(BLOCK[off:off + 65536])
            stall = time.monotonic() + 0.3
        except BlockingIOError:
            pump(stall, c.sock)
    c.filled += sent

def cmd_expect_fill(c):
    n, c.filled, c.reading = c.filled, 0, True
    cmd_expect_bytes(c, (BLOCK * (n // len(BLOCK) + 1))[:n])

def cmd_seen_max(c, n):
    if len(c.seen) > int(n):
        raise Fail(f"client {c.name}: {len(c.seen)} allowed lines came first, "
                   f"more than {n}" + c.context())

def cmd_time_limit(ms):
    global LIMIT
    LIMIT = time.monotonic() + int(ms) / 1000 if int(ms) else None

def cmd_exec(command):
    r = subprocess.run(subst(command), shell=True, timeout=TIMEOUT, capture_output=True, text=True)
    if r.returncode:
        raise Fail(f"command exited {r.returncode}: {(r.stderr + r.stdout).strip()}")

# Commands on a client get (Client, rest of line); the others (word, rest).
CLIENT_CMDS = {
    'dgram': lambda c, a: c.sock.send(bytespec(a)),
    'expect_dgram': lambda c, a: cmd_expect_dgram(c, bytespec(a)),
    'name': cmd_name,
    'send': lambda c, a: send(c, subst(a).encode('utf-8') + b'\n'),
    'sendraw': lambda c, a: send(c, bytespec(a)),
    'flood': cmd_flood,
    'blast': cmd_blast,
    'expect_within': cmd_expect_within,
    'echo_check': lambda c, a: (send(c, bytespec(a)), cmd_expect_bytes(c, bytespec(a))),
    'expect': lambda c, a: expect_line(c, compile_re(a), f"a line matching {a!r}"),
    'expect_seq': cmd_expect_seq,
    'allow': lambda c, a: c.allow.append(compile_re(a)),
    'expect_seen': cmd_expect_seen,
    'seen_max': cmd_seen_max,
    'expect_bytes': lambda c, a: cmd_expect_bytes(c, bytespec(a)),
    'expect_eof': lambda c, a: cmd_wait_eof(c, False),
    'expect_closed': lambda c, a: cmd_wait_eof(c, True),
    'quiet': lambda c, a: cmd_sleep(a, c),
    'pause': lambda c, a: setattr(c, 'reading', False),
    'resume': lambda c, a: setattr(c, 'reading', True),
    'fill': cmd_fill,
    'expect_fill': lambda c, a: cmd_expect_fill(c),
    'shut': lambda c, a: c.sock.shutdown(socket.SHUT_WR),
    'reset': lambda c, a: (c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0),
                           CLIENTS.pop(c.name).sock.close()),
    'close': lambda c, a: CLIENTS.pop(c.name).sock.close(),
}
OTHER_CMDS = {
    'open': cmd_open,
    'connect_wait': lambda n, a: cmd_open(n, a, wait=True),
    'openmany': lambda n, a: [cmd_open(f'{n}{i}', a.split()[1]) for i in range(int(a.split()[0]))],
    'refused_wait': lambda n, a: retry(lambda: (s := dial(n)) is None or s.close(),
                                       f"{n} still accepts connections"),
    'udp': cmd_udp,
    'sleep': lambda n, a: cmd_sleep(n),
    'time_limit': lambda n, a: cmd_time_limit(n),
    'kill': lambda n, a: os.kill(int(subst(a)),
                                 signal.Signals['SIG' + n.upper().removeprefix('SIG')]),
    'exec': lambda n, a: cmd_exec(f'{n} {a}'),
}

def run(cmd, rest):
    word, _, arg = rest.partition(' ')
    if cmd in OTHER_CMDS:
        return OTHER_CMDS[cmd](word, arg)
    if cmd not in CLIENT_CMDS:
        raise Fail(f"unknown command {cmd!r}")
    if word not in CLIENTS:
        raise Fail(f"no client named {word!r}")
    CLIENT_CMDS[cmd](CLIENTS[word], arg)

def wait_listen(addrs, pid):
    """Each address accepts a connection.  The probe then half-closes and
    waits (1 s at most) for the server to close its side, so the server has
    forgotten it before a test's own clients arrive."""
    def attempt(addr):
        if pid and sys.platform.startswith('linux') and not os.path.exists(f'/proc/{pid}'):
            raise Fail(f"process {pid} exited before {addr} was ready")
        return dial(addr)
    for addr in addrs:
        s = retry(lambda: attempt(addr), f"{addr} not accepting connections")
        s.shutdown(socket.SHUT_WR)
        s.settimeout(1.0)
        try:
            while s.recv(65536):
                pass
        except OSError:
            pass
        s.close()

def main(argv):
    global TIMEOUT
    ap = argparse.ArgumentParser(usage=__doc__.split('\n\n')[1].removeprefix('usage: '))
    ap.add_argument('-t', type=float, default=5.0)
    ap.add_argument('-f', type=argparse.FileType('r'), default=sys.stdin)
    ap.add_argument('-v', action='store_true')
    ap.add_argument('--pid')
    ap.add_argument('--wait-listen', nargs='+', metavar='ADDR')
    opts = ap.parse_args(argv)
    TIMEOUT = opts.t
    start, no, line = time.monotonic(), 0, '(probe)'
    try:
        if opts.wait_listen:
            return wait_listen(opts.wait_listen, opts.pid) or 0
        for no, line in enumerate(opts.f.read().split('\n'), 1):
            line = line.lstrip()
            if line and not line.startswith('#'):
                if opts.v:
                    print(f"{time.monotonic() - start:8.3f} {no}: {line[:100]}", file=sys.stderr)
                run(*line.partition(' ')[::2])
    except (Fail, OSError, ValueError, KeyError, TypeError, IndexError, re.error) as e:
        why = e if isinstance(e, Fail) else f"{type(e).__name__}: {e}"
        print(f"tclient: script line {no}: {line[:200]}\n  {why}", file=sys.stderr)
        return 1
    return 0

if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
