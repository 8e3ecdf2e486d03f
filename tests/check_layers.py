"""The shape of src/: the core is the composition root, nothing reaches back
into it, the modules' include graph has no cycle, and no C file is larger
than a reader can hold (docs/architecture.md, "A tour of the source").

A module is a header omr_NAME.h and the files omr_NAME*.c/.h that have no
header of their own (omr_agents_auth.c belongs to agents, omr_agents_conf.c
has omr_agents_conf.h and is a module of its own).
"""

import os
import re
import sys

SRCDIR = os.environ.get("OMR_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), ".."))
MAX_LINES = 800
ROOTS = {"core", "main"}          # may include anything
PRIVATE = re.compile(r"^omr_(.*)_int\.h$")

failures = []


def fail(msg):
    failures.append(msg)
    sys.stderr.write("# FAIL: %s\n" % msg)


def modules(files):
    heads = sorted({f[4:-2] for f in files
                    if f.startswith("omr_") and f.endswith(".h") and not PRIVATE.match(f)},
                   key=len, reverse=True)

    def owner(f):
        m = PRIVATE.match(f)
        stem = m.group(1) if m else f[4:].rsplit(".", 1)[0]
        for h in heads:
            if stem == h or stem.startswith(h + "_"):
                return h
        return stem
    return owner


def main():
    src = os.path.join(SRCDIR, "src")
    files = [f for f in os.listdir(src) if f.startswith("omr_") and f[-2:] in (".c", ".h")]
    owner = modules(files)
    graph = {}
    for f in sorted(files):
        me = owner(f)
        with open(os.path.join(src, f)) as fh:
            text = fh.read()
        for inc in re.findall(r'^#include "(omr_[a-z0-9_]+\.h)"', text, re.M):
            if inc == "omr_scripts.h":
                continue
            dep = owner(inc)
            if dep == me:
                continue
            m = PRIVATE.match(inc)
            if m:
                fail("%s includes %s, private to %s" % (f, inc, dep))
            if dep in ROOTS and me not in ROOTS:
                fail("%s (module %s) reaches back into the core (%s)" % (f, me, inc))
            graph.setdefault(me, set()).add(dep)
    # cycles (depth-first, colour marking)
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for d in sorted(graph.get(n, ())):
            if state.get(d) == 1:
                fail("include cycle: %s" % " -> ".join(stack[stack.index(d):] + [d]))
            elif d not in state:
                visit(d)
        stack.pop()
        state[n] = 2
    for n in sorted(graph):
        if n not in state:
            visit(n)
    # file sizes
    for top in ("src", "plugins"):
        for dirpath, _, names in os.walk(os.path.join(SRCDIR, top)):
            for name in names:
                if name.endswith(".c"):
                    path = os.path.join(dirpath, name)
                    with open(path) as fh:
                        n = sum(1 for _ in fh)
                    if n > MAX_LINES:
                        fail("%s has %d lines (at most %d)" % (os.path.relpath(path, SRCDIR),
                                                              n, MAX_LINES))
    sys.stderr.write("# %d modules, %d include edges\n" %
                     (len(graph), sum(len(v) for v in graph.values())))
    for n in sorted(graph):
        sys.stderr.write("#   %s -> %s\n" % (n, " ".join(sorted(graph[n]))))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
