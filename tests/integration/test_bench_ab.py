"""bench/ab.py, the before/after comparison: it runs a benchmark alternately
against two builds (old first in odd pairs, new first in even ones), gives
each run its build's OMR_BUILDDIR and, from the build's Makefile, its
OMR_SRCDIR, and prints both medians, new / old and the pairs the new build
won for each figure, the way the figure's name says is better. A benchmark
that fails stops it with the build named; a directory without a build is
refused before anything runs. The benchmark here is a stand-in that prints
figures from a file of values per build (the real ones take minutes and
print noise: what is checked is the arithmetic and the alternation)."""
import json
import os
import subprocess
import sys

import omrtest
from omrtest import check, eq, SRCDIR, BUILDDIR

AB = os.path.join(SRCDIR, "bench", "ab.py")

FAKE = r'''
import json, os, sys
side = os.path.basename(os.environ["OMR_BUILDDIR"])
state = sys.argv[1]
with open(state) as f:
    s = json.load(f)
s["order"].append(side)
s["src"].append(os.environ.get("OMR_SRCDIR", ""))
n = s["order"].count(side) - 1
with open(state, "w") as f:
    json.dump(s, f)
if side in s.get("fail", []):
    sys.stderr.write("the stand-in fails on purpose\n")
    sys.exit(3)
print("# a comment line 1 2 3")
for name, values in s["values"][side].items():
    print("%-44s %12s  a note" % (name, values[n]))
'''


def build(tmp, name, src):
    """a build directory: the daemon built here, and a Makefile naming src"""
    d = os.path.join(tmp, name)
    os.makedirs(d)
    os.symlink(os.path.join(BUILDDIR, "omniroute"), os.path.join(d, "omniroute"))
    with open(os.path.join(d, "Makefile"), "w") as f:
        f.write("abs_builddir = %s\nabs_top_srcdir = %s\n" % (d, src))
    return d


def ab(tmp, old, new, state, *extra):
    fake = os.path.join(tmp, "fake_bench.py")
    with open(fake, "w") as f:
        f.write(FAKE)
    return subprocess.run([sys.executable, AB, "--old", old, "--new", new] + list(extra) +
                          ["--", fake, state], capture_output=True, text=True, timeout=60)


def rows(out):
    """figure -> (old median, new median, new/old, pairs won text)"""
    r = {}
    for line in out.splitlines():
        p = line.split()
        if len(p) >= 4 and p[0] != "figure" and not line.startswith("#"):
            r[p[0]] = (p[1], p[2], p[3], " ".join(p[4:]))
    return r


def test(tmp):
    old = build(tmp, "old", "/src/of/old")
    new = build(tmp, "new", "/src/of/new")
    state = os.path.join(tmp, "state.json")
    values = {
        "old": {"routed_per_s": [100, 120, 90], "p99_ms": [50, 40, 60], "colour": [1, 2, 3]},
        "new": {"routed_per_s": [110, 115, 100], "p99_ms": [45, 41, 50], "colour": [4, 5, 6],
                "only_new_per_s": [7, 7, 7]},
    }
    with open(state, "w") as f:
        json.dump({"order": [], "src": [], "values": values}, f)
    p = ab(tmp, old, new, state, "--pairs", "3")
    eq(p.returncode, 0, "three pairs run: " + p.stderr[-500:])
    with open(state) as f:
        s = json.load(f)
    eq(s["order"], ["old", "new", "new", "old", "old", "new"],
       "the builds take turns: old first, then new first, then old first")
    eq(s["src"], ["/src/of/old", "/src/of/new", "/src/of/new", "/src/of/old", "/src/of/old",
                  "/src/of/new"], "each run gets its build's source tree (abs_top_srcdir)")
    r = rows(p.stdout)
    eq(r.get("routed_per_s", ())[:3], ("100.00", "110.00", "1.100"),
       "medians and new/old of a rate (100 120 90 against 110 115 100)")
    check(r.get("routed_per_s", ("", "", "", ""))[3].startswith("2 of 3"),
          "a rate: higher is better, the new build ahead in 2 of 3 pairs: %r" % (r.get("routed_per_s"),))
    check(r.get("p99_ms", ("", "", "", ""))[3].startswith("2 of 3"),
          "a latency: lower is better (45<50, 41>40, 50<60): 2 of 3: %r" % (r.get("p99_ms"),))
    check("direction unknown" in r.get("colour", ("", "", "", ""))[3],
          "a figure whose name says no direction is compared without a winner")
    check("only_new_per_s" not in r, "a figure only one build prints is left out by default")
    check("a" not in r, "comment lines are no figures")

    # --figures: the ones asked for, in that order, and one neither printed
    with open(state, "w") as f:
        json.dump({"order": [], "src": [], "values": values}, f)
    p = ab(tmp, old, new, state, "--pairs", "1", "--figures", "p99_ms,nothing")
    eq(p.returncode, 0, "--figures runs")
    r = rows(p.stdout)
    eq(sorted(r), ["nothing", "p99_ms"], "only the figures asked for")
    check("not printed by both" in r["nothing"][3], "a figure nobody printed says so")

    # a failing run stops it, naming the build and showing what it printed
    with open(state, "w") as f:
        json.dump({"order": [], "src": [], "values": values, "fail": ["new"]}, f)
    p = ab(tmp, old, new, state, "--pairs", "2")
    check(p.returncode != 0, "a benchmark that fails fails the comparison")
    check(new in p.stderr and "fails on purpose" in p.stderr,
          "the error names the build and shows the benchmark's output: " + p.stderr[-300:])

    # refused before anything runs: a directory without a build, no benchmark
    with open(state, "w") as f:
        json.dump({"order": [], "src": [], "values": values}, f)
    p = ab(tmp, tmp, new, state)
    check(p.returncode == 2 and "no omniroute built there" in p.stderr,
          "--old without a build is refused: " + p.stderr[-200:])
    with open(state) as f:
        eq(json.load(f)["order"], [], "nothing ran")
    p = subprocess.run([sys.executable, AB, "--old", old, "--new", new], capture_output=True,
                       text=True, timeout=60)
    check(p.returncode != 0 and "usage" in p.stderr, "no benchmark after --: the usage")


if __name__ == "__main__":
    omrtest.run(test)
