#!/bin/sh
# layers.sh - the include graph of src/ has no circle and goes one way
# (HACKING.md "The layers").  A file foo.c and its header foo.h are one
# node, and so is a family of files sharing a prefix and an internal
# header (conn.c, conn-pool.c, conn-internal.h); the protocol registry is
# its own node.  An edge is `#include "bar.h"`.  Fails naming the circle or the
# upward include.
srcdir=${CHATD_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
exec "${PYTHON3:-python3}" - "$srcdir/src" <<'PY'
import os, re, sys
src = sys.argv[1]
def node(f):
    n = re.sub(r'\.[ch]$', '', f)
    return n if n == 'proto-registry' else n.split('-')[0]
edges = {}
for f in os.listdir(src):
    if not re.search(r'\.[ch]$', f) or f == 'autoconfig.h':
        continue
    n = node(f)
    for m in re.finditer(r'^#include "([^"]+)\.h"', open(os.path.join(src, f)).read(), re.M):
        if node(m[1] + '.h') != n and m[1] != 'autoconfig':
            edges.setdefault(n, set()).add(node(m[1] + '.h'))
        edges.setdefault(node(m[1] + '.h'), set())
    edges.setdefault(n, set())
# Layers, top first; a file may include only its own layer or lower ones.
layers = [
    {'main'},
    {'server'},
    {'listener', 'activation', 'privdrop', 'daemonize', 'notify'},
    {'proto-registry'},
    {'chat', 'echo', 'websocket', 'metrics', 'cluster', 'relay'},
    {'conn', 'proto', 'tls', 'http'},
]
rank = {n: i for i, layer in enumerate(layers) for n in layer}
bad = 0
for a, bs in sorted(edges.items()):
    for b in sorted(bs):
        if a in rank and b in rank and rank[b] < rank[a]:
            print(f"layers: {a} includes {b}, a layer above it"); bad = 1
state = {}
def visit(n, path):
    global bad
    state[n] = 1
    for m in sorted(edges[n]):
        if state.get(m) == 1:
            print("layers: include circle: " + " -> ".join(path[path.index(m):] + [m])); bad = 1
        elif m not in state:
            visit(m, path + [m])
    state[n] = 2
for n in sorted(edges):
    if n not in state:
        visit(n, [n])
print("layers: %d files, %d includes, %s" % (len(edges), sum(map(len, edges.values())),
      "one way" if not bad else "FAILED"))
sys.exit(bad)
PY
