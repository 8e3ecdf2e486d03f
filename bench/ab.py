#!/usr/bin/env python3
"""Before/after on a noisy machine: one benchmark run alternately against
two builds, figures compared pair by pair.

On a shared 2-core machine one run of a benchmark varies by 15-30 % from
the next; a change of a few per cent shows only over several runs where
the two builds take turns (old, new, new, old, ...) under the same noise.
This script runs BENCH (any of bench/*.py: it prints its figures as lines
"name value [note]") PAIRS times against each build, the build named by
OMR_BUILDDIR (and OMR_SRCDIR, the build's own source tree, read from its
Makefile), and prints for each figure both builds' medians, new / old, and
in how many pairs the new build did better (for the figures whose better
direction the name tells: *_per_s higher; *_ms, *_us_*, *round_trips*,
*commands* lower).

Run it with the same build on both sides first (an A/A comparison): the
spread it prints is the machine's noise, the least a real change has to
beat.

usage: bench/ab.py --old OLD_BUILDDIR --new NEW_BUILDDIR [--pairs 5]
         [--figures NAME,...] -- BENCH [ARGS...]
e.g.   bench/ab.py --old /work/old/build --new build --pairs 7 \\
         -- bench/route_bench.py --phases saturation --seconds 12
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

FIGURE = re.compile(r"^([a-z][a-z0-9_]*)\s+(-?[0-9]+(?:\.[0-9]+)?)(?:\s|$)")


def figures(text):
    """{name: value} of the lines "name value [note]" a benchmark prints"""
    out = {}
    for line in text.splitlines():
        m = FIGURE.match(line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def better(name):
    """+1: higher is better, -1: lower is better, 0: the name does not say"""
    if name.endswith("_per_s"):
        return 1
    if (name.endswith("_ms") or "_us_" in name or name.endswith("_us") or "round_trips" in name
            or "commands" in name or name.endswith("_errors") or "_cpu_" in name):
        return -1
    return 0


def srcdir_of(builddir):
    """the source tree a build was configured from (abs_top_srcdir in its
    Makefile): the Lua scripts the benchmarks load are that tree's"""
    try:
        with open(os.path.join(builddir, "Makefile")) as f:
            for line in f:
                if line.startswith("abs_top_srcdir = "):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return None


def run(bench, builddir, timeout):
    env = dict(os.environ, OMR_BUILDDIR=builddir)
    src = srcdir_of(builddir)
    if src:
        env["OMR_SRCDIR"] = src
    p = subprocess.run([sys.executable, "-u"] + bench, env=env, capture_output=True, text=True,
                       timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("%s against %s failed (exit %d):\n%s" % (
            " ".join(bench), builddir, p.returncode, (p.stdout + p.stderr)[-3000:]))
    return figures(p.stdout)


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        sys.exit("usage: bench/ab.py --old BUILDDIR --new BUILDDIR [--pairs N] "
                 "[--figures A,B] -- BENCH [ARGS...]")
    cut = argv.index("--")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", required=True, help="the build before (its build directory)")
    ap.add_argument("--new", required=True, help="the build after")
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--figures", default="",
                    help="the figures to compare, by name (default: every one printed)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds one run may take")
    a = ap.parse_args(argv[:cut])
    bench = argv[cut + 1:]
    if not bench or a.pairs < 1:
        ap.error("a benchmark to run after --, and at least one pair")
    builds = {"old": os.path.abspath(a.old), "new": os.path.abspath(a.new)}
    for side, d in builds.items():
        if not os.access(os.path.join(d, "omniroute"), os.X_OK):
            ap.error("--%s %s: no omniroute built there" % (side, d))
    wanted = [f for f in a.figures.split(",") if f]
    res = {"old": [], "new": []}
    print("# %s, %d pairs: old %s, new %s" % (" ".join(bench), a.pairs, builds["old"],
                                               builds["new"]), flush=True)
    for i in range(a.pairs):
        # old first in even pairs, new first in odd ones: a drift of the
        # machine over the run favours neither
        for side in (("old", "new") if i % 2 == 0 else ("new", "old")):
            t0 = time.time()
            try:
                res[side].append(run(bench, builds[side], a.timeout))
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                sys.exit("ab.py: pair %d: %s" % (i + 1, e))
            print("# pair %d %s: %.0f s" % (i + 1, side, time.time() - t0), flush=True)
    names = wanted or [n for n in res["new"][0] if n in res["old"][0]]
    print("%-44s %12s %12s %8s  %s" % ("figure", "old median", "new median", "new/old",
                                      "pairs the new build did better"))
    for n in names:
        olds = [r[n] for r in res["old"] if n in r]
        news = [r[n] for r in res["new"] if n in r]
        if not olds or not news:
            print("%-44s %12s %12s %8s  (not printed by both)" % (n, "-", "-", "-"))
            continue
        mo, mn = statistics.median(olds), statistics.median(news)
        ratio = "%.3f" % (mn / mo) if mo else "-"
        d = better(n)
        pairs = list(zip(olds, news))
        if d:
            won = "%d of %d" % (sum(1 for o, x in pairs if (x - o) * d > 0), len(pairs))
        else:
            won = "(direction unknown)"
        print("%-44s %12.2f %12.2f %8s  %s   old %s / new %s" % (
            n, mo, mn, ratio, won, " ".join("%g" % v for v in olds),
            " ".join("%g" % v for v in news)))


if __name__ == "__main__":
    main()
