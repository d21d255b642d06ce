#!/usr/bin/env python3
"""The administrator's journey with the chatd .deb, run by nspawn-journey.sh.

Runs in the network namespace of a booted Debian container whose PID 1 (as
seen from the host) is --pid1: sockets opened here reach the container's
loopback, and container commands run through `nsenter -t PID1 -a`.
Every check prints "ok N - what" or "not ok N - what" with the evidence;
the last line is "N passed, M failed".  Exit 0 only when nothing failed.
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time

CONF = "/etc/chatd.conf"
UNITS = ["chatd.service", "chatd.socket", "chatd-echo.socket"]
SOCKETS = ["chatd.socket", "chatd-echo.socket"]

# An edit an administrator might make: more listeners, of every kind.  None
# of them is passed in by a socket unit, so chatd binds them itself, inside
# the sandbox of chatd.service: TCP over IPv6, a unix socket in its
# RuntimeDirectory, UDP echo, and one more TCP echo port.
def good_conf(ipv6):
    return """\
# written by nspawn-journey.py: the default listeners and more
listeners = (
  { name = "chat"; protocol = "chat"; bind = "127.0.0.1:1234"; },
%s  { name = "local"; protocol = "chat"; bind = "unix:/run/chatd/chat.sock"; mode = "0666"; room = "chat"; },
  { name = "echo"; protocol = "echo"; bind = "127.0.0.1:9001"; },
  { name = "echo-udp"; protocol = "echo"; bind = "udp:127.0.0.1:9001"; },
  { name = "extra"; protocol = "echo"; bind = "127.0.0.1:9002"; }
);
""" % ('  { name = "chat6"; protocol = "chat"; bind = "[::1]:1234"; room = "chat"; },\n'
       if ipv6 else "")


# A broken edit: the error is on line 4.
BAD_CONF = """\
# written by nspawn-journey.py: a syntax error on line 4
listeners = (
  { name = "chat"; protocol = "chat"; bind = "127.0.0.1:1234"; },
  { name = "echo"; protocol = "echo"; bind = "127.0.0.1:9001"; } }
);
"""
BAD_LINE = 4

ENV = ["env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
       "LANG=C.UTF-8", "TERM=dumb", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0",
       "DEBIAN_FRONTEND=noninteractive"]


class Journey:
    def __init__(self, pid1, deb, verbose):
        self.pid1 = str(pid1)
        self.deb = deb
        self.verbose = verbose
        self.passed = 0
        self.failed = 0
        self.n = 0

    # ---- plumbing ---------------------------------------------------------
    def ctr(self, *args, timeout=30, stdin=None):
        """Runs a command in the container; returns (rc, stdout+stderr)."""
        cmd = ["nsenter", "-t", self.pid1, "-a"] + ENV + list(args)
        if self.verbose:
            print("    $ " + " ".join(args), flush=True)
        try:
            p = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=timeout,
                               universal_newlines=True)
            return p.returncode, p.stdout
        except subprocess.TimeoutExpired as e:
            out = e.stdout or ""
            if isinstance(out, bytes):
                out = out.decode("utf-8", "replace")
            return 124, out + "\n(timed out after %s s)" % timeout

    def write_file(self, path, text):
        rc, out = self.ctr("sh", "-c", 'cat > "$1"', "sh", path, stdin=text)
        if rc != 0:
            raise RuntimeError("writing %s: %s" % (path, out))

    def prop(self, unit, name):
        rc, out = self.ctr("systemctl", "show", "-p", name, "--value", unit)
        return out.strip()

    def check(self, what, ok, evidence=""):
        self.n += 1
        if ok:
            self.passed += 1
            print("ok %d - %s" % (self.n, what), flush=True)
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.n, what), flush=True)
            for line in str(evidence).rstrip().splitlines()[-25:]:
                print("    # " + line, flush=True)
        return ok

    def wait_for(self, fn, timeout=10.0, step=0.1):
        end = time.monotonic() + timeout
        while True:
            v = fn()
            if v or time.monotonic() >= end:
                return v
            time.sleep(step)

    @staticmethod
    def listening():
        """Set of "ADDR:PORT" in LISTEN state in this network namespace."""
        return set(Journey.listen_list())

    @staticmethod
    def listen_list():
        """Every listening TCP socket here as "ADDR:PORT" (duplicates kept)."""
        res = []
        for f, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
            try:
                lines = open(f).read().splitlines()[1:]
            except OSError:
                continue
            for ln in lines:
                p = ln.split()
                if p[3] != "0A":
                    continue
                a, port = p[1].split(":")
                if v6:
                    addr = "[v6]"
                else:
                    addr = socket.inet_ntoa(bytes.fromhex(a)[::-1])
                res.append("%s:%d" % (addr, int(port, 16)))
        return res

    def cursor(self):
        rc, out = self.ctr("journalctl", "-n", "0", "--show-cursor", "--no-pager")
        m = re.search(r"-- cursor: (\S+)", out)
        return m.group(1) if m else None

    def journal(self, after=None, unit="chatd.service"):
        args = ["journalctl", "-u", unit, "-o", "json", "--no-pager"]
        if after:
            args += ["--after-cursor", after]
        rc, out = self.ctr(*args)
        ents = []
        for ln in out.splitlines():
            try:
                ents.append(json.loads(ln))
            except ValueError:
                pass
        return ents

    @staticmethod
    def from_chatd(e):
        return e.get("_COMM") == "chatd" or e.get("SYSLOG_IDENTIFIER") == "chatd"

    @staticmethod
    def msg(e):
        m = e.get("MESSAGE", "")
        if isinstance(m, list):  # journalctl gives bytes as a list of ints
            m = bytes(m).decode("utf-8", "replace")
        return m

    def journal_text(self, ents):
        return "\n".join("<%s> %s: %s" % (e.get("PRIORITY", "?"),
                                          e.get("SYSLOG_IDENTIFIER", "?"),
                                          self.msg(e)) for e in ents)

    # ---- the journey ------------------------------------------------------
    def run(self):
        try:
            self.journey()
        except Exception as e:  # a broken harness is a failure, not a crash
            self.check("journey ran to the end", False, "%s: %s" % (type(e).__name__, e))
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        return 0 if self.failed == 0 else 1

    def journey(self):
        # -- install ---------------------------------------------------------
        rc, out = self.ctr("apt-get", "install", "-y", "--no-install-recommends",
                           self.deb, timeout=180)
        if not self.check("apt-get install ./chatd.deb succeeds", rc == 0, out):
            return
        rc, out = self.ctr("dpkg-query", "-W", "-f", "${Conffiles}", "chatd")
        self.check("/etc/chatd.conf is a conffile", CONF in out, out)

        # -- sockets enabled and listening, service waiting --------------------
        rc, en = self.ctr("systemctl", "is-enabled", *SOCKETS)
        rc2, act = self.ctr("systemctl", "is-active", *SOCKETS)
        self.check("chatd.socket and chatd-echo.socket enabled and active",
                   en.split() == ["enabled", "enabled"] and act.split() == ["active", "active"],
                   en + act)
        rc, en = self.ctr("systemctl", "is-enabled", "chatd.service")
        rc, act = self.ctr("systemctl", "is-active", "chatd.service")
        self.check("chatd.service disabled and inactive after install",
                   en.strip() == "disabled" and act.strip() == "inactive", en + act)
        lis = self.wait_for(lambda: {"127.0.0.1:1234", "127.0.0.1:9001"} <= self.listening(), 5)
        self.check("127.0.0.1:1234 and 127.0.0.1:9001 listening (held by systemd)",
                   lis, sorted(self.listening()))

        rc, out = self.ctr("systemd-analyze", "verify", *UNITS)
        self.check("systemd-analyze verify prints nothing", rc == 0 and out.strip() == "",
                   "rc=%d\n%s" % (rc, out))
        rc, out = self.ctr("systemd-analyze", "security", "--offline=true", "--threshold=20",
                           "--no-pager", "/lib/systemd/system/chatd.service")
        score = re.search(r"Overall exposure level for \S+: (\S+)", out)
        self.check("installed chatd.service scores <= 2.0 in systemd-analyze security (%s)"
                   % (score.group(1) if score else "?"), rc == 0 and score, out)

        # -- a chat connection starts the service ------------------------------
        a = Client("127.0.0.1", 1234)
        b = Client("127.0.0.1", 1234)
        active = self.wait_for(lambda: self.prop("chatd.service", "ActiveState") == "active", 15)
        rc, st = self.ctr("systemctl", "status", "--no-pager", "-n", "20", "chatd.service")
        self.check("a chat connection activates chatd.service", active, st)
        pid = self.prop("chatd.service", "MainPID")
        a.send(b"hello from the journey\n")
        got_a = a.expect(rb": hello from the journey\r\n")
        got_b = b.expect(rb": hello from the journey\r\n")
        self.check("chat: a line reaches the sender and the other client",
                   got_a and got_b, "a: %r\nb: %r" % (a.data[-300:], b.data[-300:]))
        socks = self.listen_list()
        self.check("chatd adopted the inherited listeners (one socket per port)",
                   socks.count("127.0.0.1:1234") == 1 and socks.count("127.0.0.1:9001") == 1,
                   sorted(socks))

        payload = bytes(range(256)) * 8 + b"\r\nend\n"
        e = Client("127.0.0.1", 9001)
        e.send(payload)
        self.check("echo: 2 KiB of binary data come back byte-exact",
                   e.expect_exact(payload), "got %d bytes" % len(e.data))
        e.close()

        # -- an edit and a reload, a client stays connected ---------------------
        ipv6 = have_ipv6_loopback()
        if not ipv6:
            print("# no IPv6 on the container's loopback: no [::1] listener", flush=True)
        self.write_file(CONF, good_conf(ipv6))
        rc, out = self.ctr("chatd", "-t", "-c", CONF)
        self.check("chatd -t accepts the edited configuration",
                   rc == 0 and "configuration OK" in out, out)
        cur = self.cursor()
        rc, out = self.ctr("systemctl", "reload", "chatd")
        self.check("systemctl reload chatd succeeds", rc == 0, out)
        up = self.wait_for(lambda: "127.0.0.1:9002" in self.listening(), 10)
        self.check("reload applied: the new listener 127.0.0.1:9002 is bound by chatd",
                   up, self.journal_text(self.journal(cur)))
        if up:
            x = Client("127.0.0.1", 9002)
            x.send(b"extra\n")
            self.check("echo on the new listener", x.expect_exact(b"extra\n"), repr(x.data))
            x.close()
        try:
            d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            d.settimeout(5)
            d.sendto(b"datagram", ("127.0.0.1", 9001))
            got = d.recvfrom(100)[0]
            d.close()
        except OSError as e:
            got = e
        self.check("UDP echo on a listener chatd bound itself", got == b"datagram", got)
        sock = "/proc/%s/root/run/chatd/chat.sock" % self.pid1
        try:
            u = Client(None, sock)
            u.send(b"hello over unix\n")
            ok = a.expect(rb"unix:\d+: hello over unix\r\n")
            u.close()
        except OSError as e:
            ok = False
            a.data += str(e).encode()
        self.check("a unix-socket client in /run/chatd (RuntimeDirectory=) chats with the TCP room",
                   ok, repr(a.data[-300:]))
        if ipv6:
            try:
                v = Client("::1", 1234)
                v.send(b"hello over ipv6\n")
                ok = a.expect(rb"\[::1\]:\d+: hello over ipv6\r\n")
                v.close()
            except OSError as e:
                ok = False
                a.data += str(e).encode()
            self.check("an IPv6 client on [::1]:1234 chats with the same room",
                       ok, repr(a.data[-300:]))
        a.send(b"still here after reload\n")
        self.check("the connected chat client survived the reload",
                   a.expect(rb": still here after reload\r\n"), repr(a.data[-300:]))
        self.check("same main process after reload",
                   self.prop("chatd.service", "MainPID") == pid
                   and self.wait_for(lambda: self.prop("chatd.service", "ActiveState") == "active", 5),
                   "MainPID %s -> %s" % (pid, self.prop("chatd.service", "MainPID")))

        # -- a broken edit: the old configuration stays --------------------------
        self.write_file(CONF, BAD_CONF)
        rc, out = self.ctr("chatd", "-t", "-c", CONF)
        self.check("chatd -t rejects the broken file with exit 78 and %s:%d"
                   % (CONF, BAD_LINE),
                   rc == 78 and ("%s:%d" % (CONF, BAD_LINE)) in out, "rc=%d\n%s" % (rc, out))
        cur = self.cursor()
        rc, out = self.ctr("systemctl", "reload", "chatd")
        self.check("systemctl reload chatd (broken file) returns", rc == 0, out)
        where = "%s:%d" % (CONF, BAD_LINE)

        def err_logged():
            return [e for e in self.journal(cur)
                    if self.from_chatd(e) and where in self.msg(e)]
        errs = self.wait_for(err_logged, 10)
        self.check("the reload error (%s) is in the journal at priority err or warning" % where,
                   errs and all(int(e.get("PRIORITY", 9)) <= 4 for e in errs),
                   self.journal_text(self.journal(cur)))
        rc, st = self.ctr("systemctl", "status", "--no-pager", "-n", "20", "chatd.service")
        self.check("systemctl status chatd shows the error", where in st, st)
        ok = self.wait_for(lambda: self.prop("chatd.service", "ActiveState") == "active", 5)
        self.check("chatd still active with the same PID after the broken reload",
                   ok and self.prop("chatd.service", "MainPID") == pid, st)
        self.check("old configuration kept: 127.0.0.1:9002 still listening",
                   "127.0.0.1:9002" in self.listening(), sorted(self.listening()))
        a.send(b"still here after a failed reload\n")
        self.check("the chat client survived the failed reload",
                   a.expect(rb": still here after a failed reload\r\n"), repr(a.data[-300:]))
        self.write_file(CONF, good_conf(ipv6))

        # -- stop ---------------------------------------------------------------
        cur = self.cursor()
        rc, out = self.ctr("systemctl", "stop", "chatd.service", timeout=60)
        self.check("systemctl stop chatd succeeds", rc == 0, out)
        res = {k: self.prop("chatd.service", k)
               for k in ("Result", "ActiveState", "ExecMainStatus", "ExecMainCode")}
        self.check("stopped with Result=success and exit status 0",
                   res["Result"] == "success" and res["ActiveState"] == "inactive"
                   and res["ExecMainStatus"] == "0", res)
        self.check("the chat client got '* server shutting down' before the close",
                   a.expect(rb"\* server shutting down\r\n") and a.expect_eof(),
                   repr(a.data[-300:]))
        b.close()
        ents = self.journal(cur)
        mine = [e for e in ents if self.from_chatd(e)]
        shut = [e for e in mine if re.search(r"shut|stop|exit|terminat", self.msg(e), re.I)]
        self.check("journalctl -u chatd has a clean shutdown line from chatd at notice/info%s"
                   % (" (<%s> %s)" % (shut[0].get("PRIORITY"), self.msg(shut[0])[:60]) if shut else ""),
                   shut and all(e.get("PRIORITY") in ("5", "6") for e in shut),
                   self.journal_text(ents))
        conns = [e for e in self.journal() if self.from_chatd(e)
                 and re.search(r"\b(dis)?connected\b", self.msg(e))]
        self.check("connect/disconnect lines are logged at info (chatd.conf(5), logging)",
                   conns and all(e.get("PRIORITY") == "6" for e in conns),
                   self.journal_text(conns))
        blobs = [e for e in self.journal() if self.from_chatd(e)
                 and not isinstance(e.get("MESSAGE"), str)]
        self.check("every chatd message in the journal is text (no blob data)", not blobs,
                   self.journal_text(blobs))
        bad = [e for e in mine if int(e.get("PRIORITY", 9)) <= 3]
        self.check("no message at err or worse from chatd during the stop", not bad,
                   self.journal_text(bad))
        rc, out = self.ctr("test", "-e", "/run/chatd")
        self.check("the RuntimeDirectory /run/chatd is gone after the stop", rc == 1, out)
        self.check("the socket units keep listening after the service stopped",
                   {"127.0.0.1:1234", "127.0.0.1:9001"} <= self.listening()
                   and "127.0.0.1:9002" not in self.listening(), sorted(self.listening()))

        # -- on demand again, then remove while it runs ---------------------------
        c = Client("127.0.0.1", 9001)
        c.send(b"again\n")
        self.check("a new connection starts chatd again",
                   c.expect_exact(b"again\n") and self.wait_for(
                       lambda: self.prop("chatd.service", "ActiveState") == "active", 5),
                   repr(c.data))
        c.close()

        # -- the watchdog: a short WatchdogSec= in a drop-in ----------------------
        dropin = "/etc/systemd/system/chatd.service.d/journey-watchdog.conf"
        self.ctr("mkdir", "-p", os.path.dirname(dropin))
        self.write_file(dropin, "[Service]\nWatchdogSec=2s\n")
        self.ctr("systemctl", "daemon-reload")
        rc, out = self.ctr("systemctl", "restart", "chatd.service", timeout=60)
        wpid = self.prop("chatd.service", "MainPID")
        t0 = self.prop("chatd.service", "WatchdogTimestampMonotonic")
        time.sleep(3.5)
        t1 = self.prop("chatd.service", "WatchdogTimestampMonotonic")
        self.check("with WatchdogSec=2s chatd pings in time (same PID after 3.5 s, "
                   "watchdog timestamp advancing)",
                   rc == 0 and self.prop("chatd.service", "ActiveState") == "active"
                   and self.prop("chatd.service", "MainPID") == wpid
                   and t0.isdigit() and t1.isdigit() and int(t1) > int(t0),
                   "restart rc=%d %s\nMainPID %s -> %s, WatchdogTimestampMonotonic %s -> %s"
                   % (rc, out, wpid, self.prop("chatd.service", "MainPID"), t0, t1))
        self.ctr("rm", "-rf", os.path.dirname(dropin))
        self.ctr("systemctl", "daemon-reload")

        # -- the upgrade path: the same package again -----------------------------
        before = self.prop("chatd.service", "MainPID")
        rc, out = self.ctr("dpkg", "-i", self.deb, timeout=120)
        self.check("dpkg -i over the installed package (the upgrade path) succeeds", rc == 0, out)
        ok = self.wait_for(lambda: self.prop("chatd.service", "ActiveState") == "active"
                           and self.prop("chatd.service", "MainPID") not in ("0", before), 10)
        self.check("the upgrade restarted the running chatd.service (try-restart)", ok,
                   "MainPID %s -> %s" % (before, self.prop("chatd.service", "MainPID")))
        rc, act = self.ctr("systemctl", "is-active", *SOCKETS)
        c = Client("127.0.0.1", 9001)
        c.send(b"after upgrade\n")
        self.check("the socket units stayed active through the upgrade and chatd serves",
                   act.split() == ["active", "active"] and c.expect_exact(b"after upgrade\n"),
                   act + repr(c.data))
        c.close()

        rc, out = self.ctr("apt-get", "remove", "-y", "chatd", timeout=120)
        self.check("apt-get remove chatd succeeds", rc == 0, out)
        states = {u: self.prop(u, "ActiveState") for u in UNITS}
        self.check("apt remove stopped the service and both sockets",
                   all(s in ("inactive", "") for s in states.values()), states)
        rc, out = self.ctr("pgrep", "-x", "chatd")
        self.check("no chatd process left", rc == 1, out)
        left = self.listening() & {"127.0.0.1:1234", "127.0.0.1:9001", "127.0.0.1:9002"}
        self.check("nothing listens on the chatd ports any more", not left, sorted(left))
        rc, out = self.ctr("test", "-f", CONF)
        self.check("apt remove keeps the conffile %s" % CONF, rc == 0, out)

        rc, out = self.ctr("apt-get", "purge", "-y", "chatd", timeout=120)
        self.check("apt-get purge chatd succeeds", rc == 0, out)
        rc, out = self.ctr("sh", "-c", "ls -d /etc/chatd.conf /etc/systemd/system/*/chatd* "
                           "/lib/systemd/system/chatd* /usr/sbin/chatd /var/log/chatd "
                           "/var/log/private/chatd /run/chatd 2>/dev/null; true")
        self.check("apt purge removed the conffile, every unit and symlink and the log directory",
                   out.strip() == "", out)


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class Client:
    """A TCP client (host, port) or, with host None, a unix one (port = path)."""

    def __init__(self, host, port, timeout=5.0):
        self.timeout = timeout
        self.data = b""
        self.eof = False
        if host is None:
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.s.settimeout(timeout)
            self.s.connect(port)
        else:
            self.s = socket.create_connection((host, port), timeout=timeout)

    def send(self, b):
        self.s.sendall(b)

    def _fill(self, end):
        left = end - time.monotonic()
        if left <= 0 or self.eof:
            return False
        self.s.settimeout(left)
        try:
            chunk = self.s.recv(65536)
        except socket.timeout:
            return False
        except OSError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.data += chunk
        return True

    def expect(self, pattern):
        """Waits for a regex (bytes) in everything received so far."""
        end = time.monotonic() + self.timeout
        while not re.search(pattern, self.data):
            if not self._fill(end):
                return bool(re.search(pattern, self.data))
        return True

    def expect_exact(self, b):
        end = time.monotonic() + self.timeout
        while len(self.data) < len(b) and self._fill(end):
            pass
        return self.data == b

    def expect_eof(self):
        end = time.monotonic() + self.timeout
        while not self.eof and self._fill(end):
            pass
        return self.eof

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pid1", required=True, type=int)
    ap.add_argument("--deb", required=True)
    ap.add_argument("--verbose", action="store_true",
                    default=os.environ.get("CHATD_JOURNEY_VERBOSE") == "1")
    args = ap.parse_args()
    sys.exit(Journey(args.pid1, args.deb, args.verbose).run())


if __name__ == "__main__":
    main()
