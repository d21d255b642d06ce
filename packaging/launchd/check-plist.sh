#!/bin/sh
# check-plist.sh [PLIST [CHATD_CONF]] - validate the launchd job of chatd:
# it parses as a property list (python3 plistlib; plutil -lint too on
# macOS) and its keys are what chatd and launchd expect: the Label and
# file name, chatd run in the foreground with -c, one Sockets entry per
# listener of the sample configuration keyed by the listener's name with
# its address, KeepAlive and the log paths.
# Defaults: the plist beside this script, etc/chatd.conf of the tree.
# Exit 0 passed, 1 failed, 77 skipped (no python3).  The last line is
# "N passed, M failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
plist=${1:-$here/org.chatd.chatd.plist}
conf=${2:-${CHATD_SRCDIR:-$here/../..}/etc/chatd.conf}
command -v python3 >/dev/null 2>&1 || { echo "check-plist.sh: SKIP: python3 not found"; exit 77; }

lint=
if command -v plutil >/dev/null 2>&1 && [ "$(uname -s)" = Darwin ]; then
	lint=$(plutil -lint "$plist" 2>&1) && lint=ok
fi

exec python3 - "$plist" "$conf" "$lint" <<'PY'
import os, plistlib, re, sys

plist, conf, lint = sys.argv[1], sys.argv[2], sys.argv[3]
passed = failed = 0

def check(what, ok, evidence=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok - " + what)
    else:
        failed += 1
        print("not ok - " + what)
        for line in str(evidence).splitlines():
            print("    # " + line)

def listeners(path):
    """name -> bind of each uncommented listener of a chatd.conf."""
    try:
        text = open(path, encoding="utf-8").read()
    except OSError:
        return None
    text = re.sub(r"(#|//)[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    res = {}
    for entry in re.findall(r"\{[^{}]*\}", text):
        n = re.search(r'\bname\s*[=:]\s*"([^"]*)"', entry)
        b = re.search(r'\bbind\s*[=:]\s*"([^"]*)"', entry)
        if n and b:
            res[n.group(1)] = b.group(1)
    return res

try:
    with open(plist, "rb") as f:
        p = plistlib.load(f)
    check("%s parses as a property list" % os.path.basename(plist), isinstance(p, dict), type(p))
except Exception as e:
    check("%s parses as a property list" % os.path.basename(plist), False, e)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1)
if lint:
    check("plutil -lint", lint == "ok", lint)
head = open(plist, "rb").read(300)
check("XML property list with the Apple DTD",
      head.startswith(b"<?xml") and b"-//Apple//DTD PLIST 1.0//EN" in head, head)

label = p.get("Label")
check("Label is org.chatd.chatd and names the file",
      label == "org.chatd.chatd" and os.path.basename(plist) == "%s.plist" % label, label)

args = p.get("ProgramArguments")
ok = isinstance(args, list) and args and all(isinstance(a, str) for a in args)
check("ProgramArguments is a list of strings", ok, args)
if ok:
    check("ProgramArguments[0] is an absolute path to chatd",
          args[0].startswith("/") and args[0].endswith("/chatd"), args[0])
    c = args[args.index("-c") + 1] if "-c" in args[:-1] else ""
    check("chatd gets -c with an absolute chatd.conf",
          c.startswith("/") and c.endswith("/chatd.conf"), args)
    check("chatd stays in the foreground (no -d), as launchd expects",
          not any(re.match(r"^-[A-Za-z]*d", a) for a in args[1:]), args)
check("no Program key next to ProgramArguments", "Program" not in p)

socks = p.get("Sockets")
want = listeners(conf)
if want is None:
    want = {"chat": "127.0.0.1:1234", "echo": "127.0.0.1:9001"}
    print("# %s not readable: expecting the default listeners" % conf)
check("Sockets is a dictionary", isinstance(socks, dict), socks)
socks = socks if isinstance(socks, dict) else {}
tcp = {n: b for n, b in want.items() if not b.startswith(("unix:", "udp:"))}
check("one Sockets entry per TCP listener of chatd.conf, keyed by its name (%s)"
      % ", ".join(sorted(tcp)), set(socks) == set(tcp),
      "Sockets: %s\nlisteners: %s" % (sorted(socks), sorted(tcp)))
for name in sorted(socks):
    s = socks[name]
    if isinstance(s, list):  # launchd allows an array of socket dicts
        s = s[0] if s else {}
    bind = tcp.get(name, "")
    m = re.match(r"^\[?([^\]]*)\]?:(\d+)$", bind)
    host, port = (m.group(1), m.group(2)) if m else ("?", "?")
    check("Sockets.%s is a stream socket on %s port %s" % (name, host, port),
          isinstance(s, dict) and s.get("SockType", "stream") == "stream"
          and s.get("SockNodeName") == host and str(s.get("SockServiceName")) == port,
          s)
    fam = s.get("SockFamily") if isinstance(s, dict) else None
    check("Sockets.%s SockFamily fits the address" % name,
          fam is None or (fam == "IPv4") == ("." in host and ":" not in host), fam)

ka = p.get("KeepAlive")
check("KeepAlive is set (a boolean or a dictionary of conditions)",
      isinstance(ka, (bool, dict)) and ka != {}, ka)
for k in ("StandardOutPath", "StandardErrorPath"):
    v = p.get(k)
    check("%s is an absolute path" % k, isinstance(v, str) and v.startswith("/"), v)
allowed = {"Label", "ProgramArguments", "Sockets", "KeepAlive", "RunAtLoad", "ExitTimeOut",
           "StandardOutPath", "StandardErrorPath", "UserName", "GroupName",
           "WorkingDirectory", "EnvironmentVariables", "ThrottleInterval", "ProcessType",
           "SoftResourceLimits", "HardResourceLimits", "Umask", "Disabled"}
check("only known launchd.plist(5) keys", set(p) <= allowed, sorted(set(p) - allowed))

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
PY
