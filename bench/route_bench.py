#!/usr/bin/env python3
"""Routing benchmark: conversations routed per second end to end, as a
contact center loads the daemon.

Starts a private redis-server (unix socket) and the real daemon with all
features on (queue positions every 2 s, rules, explanations, statistics),
and a load generator (bench/route/load.mjs, Node.js) with AGENTS agents who
accept every offer, then close and wrap up, and visitors who each open a
new conversation. A conversation counts when its offer reaches an agent's
socket; its latency runs from the visitor's message.

Phases (each prints its figures):
  rate        a fixed RATE conversations/s for SECONDS: p50/p99 latency
  saturation  INFLIGHT conversations always open: routed/s, p50/p99, and
              Redis calls per routed conversation (INFO commandstats); the
              CPU per conversation of Redis, the daemon and the load
              generator (all three share the machine's cores), and the
              frames the generator reads per conversation
  relay       one assigned conversation per agent; visitors and agents
              write back and forth: messages/s in each direction
  offer       the offer script alone, pipelined, with 50 and with 5,000
              candidate agents: calls/s
  idle        IDLE agents logged in: the daemon's RSS and idle CPU, then a
              restart of the daemon: time until every agent is back

Baselines, measured in the same run on the same Redis: redis-benchmark -t
set (and each figure as a ratio of it), redis-benchmark PING.

usage: bench/route_bench.py [--agents 50] [--rate 1000] [--inflight 200]
         [--seconds 10] [--idle 10000] [--phases rate,saturation,relay,offer,idle]
"""
import argparse
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import omrtest  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LOAD = os.path.join(HERE, "route", "load.mjs")

ROUTING = """
skills: [billing, general]
default_queue: general
queues:
  - name: general
    status_interval: 2s
    sla: { target: 80, within: 30s }
  - name: billing
    skills: { billing: 2 }
    status_interval: 2s
rules:
  - name: billing
    when: 'text:lower():find("refund")'
    queue: billing
offers: { timeout: 20s, max_missed: 3, reject_cooldown: 1m }
reasons: [other]
outcomes: [resolved]
"""


def agents_yaml(n):
    lines = ["agents:"]
    tokens = []
    for i in range(n):
        tok = "bench-agent-token-%06d-0123456789" % i
        tokens.append(tok)
        lines.append('  - id: a%05d\n    token: "%s"\n    skills: { general: 3, billing: 3 }\n'
                     '    capacity: { webchat: 10 }' % (i, omrtest.token_hash(tok)))
    return "\n".join(lines) + "\n", tokens


def redis_benchmark(sock, args, n=200000, clients=50):
    p = subprocess.run(["redis-benchmark", "-s", sock, "-n", str(n), "-c", str(clients), "-q"]
                       + args, capture_output=True, text=True, timeout=300)
    m = re.search(r"([\d.]+) requests per second", p.stdout)
    return float(m.group(1)) if m else 0.0


def round_trips(d):
    """The daemon's Redis round trips so far, {what: count}: each script
    by name (omniroute_script_calls_total) and the plain commands (the
    commands sent on every connection less the scripts)."""
    st, text = d.http("GET", "/metrics")
    out, total = {}, 0
    for m in re.finditer(r'^omniroute_script_calls_total\{script="(\w+)"\} (\d+)$', text, re.M):
        out[m.group(1)] = int(m.group(2))
    for m in re.finditer(r"^omniroute_redis(?:_bus|_block)?_commands_total (\d+)$", text, re.M):
        total += int(m.group(1))
    out["(commands)"] = total - sum(out.values())
    return out


def commandstats(redis):
    """{command: (calls, usec)} from INFO commandstats: every command Redis
    ran, those inside scripts included (noise-free, unlike CPU time)"""
    text = redis.cmd("INFO", "commandstats")
    text = text.decode() if isinstance(text, bytes) else text
    out = {}
    for m in re.finditer(r"^cmdstat_([\w|]+):calls=(\d+),usec=(\d+)", text, re.M):
        out[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return out


def commands_per(before, after, per):
    """print the commands Redis ran per unit of work (scripts' inner
    commands included); returns their number"""
    diff = {}
    for k, (calls, us) in after.items():
        c0, u0 = before.get(k, (0, 0))
        if calls > c0 and k not in ("info",):
            diff[k] = (calls - c0, us - u0)
    inner = sum(c for k, (c, _) in diff.items() if k not in ("evalsha", "eval", "fcall"))
    print("# Redis commands per conversation offered (INFO commandstats, scripts' inner "
          "commands included): %.1f; " % (inner / per) + ", ".join(
              "%s %.2f" % (k, c / per) for k, (c, _) in
              sorted(diff.items(), key=lambda kv: -kv[1][0])[:16]))
    for cmd in ("fcall", "evalsha"):
        ev = diff.get(cmd, (0, 0))
        if ev[0]:
            print("# %s: %.1f a conversation, %.1f us a call (its inner commands included)"
                  % (cmd.upper(), ev[0] / per, ev[1] / ev[0]))
    return inner / per


def script_names():
    """{sha1: name} of every script in src/lua, as the daemon loads them"""
    import hashlib
    out = {}
    for f in os.listdir(os.path.join(omrtest.SRCDIR, "src", "lua")):
        if f.endswith(".lua"):
            src = omrtest.lua_source(f[:-4])
            out[hashlib.sha1(src.encode()).hexdigest()] = f[:-4]
    return out


class ScriptProfile:
    """--profile: Redis' own time in each script and command (SLOWLOG with
    every call kept), printed per unit of work; SLOWLOG's bookkeeping
    costs Redis a little, so the phase's other figures are not comparable
    with a run without it"""

    def __init__(self, redis, verbose=False):
        self.redis, self.verbose = redis, verbose
        self.names = script_names()
        redis.cmd("CONFIG", "SET", "slowlog-max-len", "1000000")
        redis.cmd("SLOWLOG", "RESET")
        redis.cmd("CONFIG", "SET", "slowlog-log-slower-than", "0")

    def report(self, per, unit):
        self.redis.cmd("CONFIG", "SET", "slowlog-log-slower-than", "10000")
        log = self.redis.cmd("SLOWLOG", "GET", "-1")
        self.redis.cmd("SLOWLOG", "RESET")
        # newest first; a script's own commands come just before it
        agg, inner, pending = {}, {}, []
        for e in reversed(log):
            us, argv = int(e[2]), [a.decode() if isinstance(a, bytes) else a for a in e[3]]
            name = argv[0].lower()
            if name in ("evalsha", "eval", "fcall") and len(argv) > 1:
                # a Function is omr_<version>_<script>
                name = (argv[1].split("_", 2)[2] if name == "fcall" and argv[1].count("_") >= 2
                        else self.names.get(argv[1], argv[1][:8]))
                inn = inner.setdefault(name, {})
                for cmd, cus in pending:
                    c = inn.setdefault(cmd, [0, 0])
                    c[0] += 1
                    c[1] += cus
                pending = []
            elif name in ("slowlog", "config"):
                continue
            else:
                pending.append((name, us))
                if len(pending) < 2000:
                    continue
            c = agg.setdefault(name, [0, 0])
            c[0] += 1
            c[1] += us
        total = sum(v[1] for v in agg.values())
        print("# Redis time per %s: %.0f us (SLOWLOG: scripts and commands)" % (unit, total / per))
        for k, v in sorted(agg.items(), key=lambda kv: -kv[1][1])[:10]:
            inn = inner.get(k, {})
            ius = sum(c[1] for c in inn.values())
            icalls = sum(c[0] for c in inn.values())
            print("#   %-16s %6.2f calls %7.1f us  (%5.1f us a call: %4.1f commands, %5.1f us "
                  "in them)" % (k, v[0] / per, v[1] / per, v[1] / v[0], icalls / v[0], ius / v[0]))
            if self.verbose:
                for cmd, c in sorted(inn.items(), key=lambda kv: -kv[1][1])[:12]:
                    print("#       %-12s %5.1f a call %6.1f us" % (cmd, c[0] / v[0], c[1] / v[0]))


def npm_ready():
    if not os.path.isdir(os.path.join(HERE, "route", "node_modules", "ws")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=os.path.join(HERE, "route"),
                       check=True, stdout=subprocess.DEVNULL)


def build_loadgen(tmp):
    """bench/route/loadgen.c (the C generator), built for this run; None
    when it cannot be (no compiler or no jansson headers: load.mjs then)"""
    exe = os.path.join(tmp, "loadgen")
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return None
    src = os.path.join(omrtest.SRCDIR, "src")
    p = subprocess.run([cc, "-O2", "-I", src, "-o", exe, os.path.join(HERE, "route", "loadgen.c"),
                        os.path.join(src, "omr_jscan.c"), "-ljansson"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write("loadgen.c did not build, load.mjs instead:\n%s\n" % p.stderr[-1500:])
        return None
    return exe


GENERATOR = {"c": None}  # the C generator's path once built


def load(mode, port, tokens_file, **opts):
    c = GENERATOR["c"] if mode in ("route", "relay") else None
    args = [c] if c else ["node", LOAD]
    args += [mode, str(port), tokens_file]
    for k, v in opts.items():
        args += ["--" + k, str(v)]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(args, capture_output=True, text=True, timeout=600)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError("load.mjs %s failed: %s" % (mode, p.stderr[-2000:]))
    out = json.loads(p.stdout.strip().splitlines()[-1])
    # the generator's own CPU: it shares the two cores with Redis and the daemon
    out["cpu_s"] = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    if out.get("errors"):
        sys.stderr.write("load.mjs %s: %s\n" % (mode, p.stderr[-1500:]))
    return out


def daemon_knows(key):
    """Whether the daemon under test has a configuration key (the bench
    also runs against older builds, for before/after figures)."""
    out = subprocess.run([omrtest.DAEMON, "--describe-config"], capture_output=True,
                         text=True).stdout
    return ("`%s`" % key) in out


def daemon(tmp, redis, agents):
    # robot agents click far faster than people: the per-console limit is
    # raised (nothing else)
    limits = dict(
        # every robot comes from 127.0.0.1: no per-address caps (as behind
        # a proxy whose addresses the edge trusts)
        edge="{max_connections: 0, max_per_ip: 0, rate_per_ip: 0}",
        login="{rate_per_ip: 0}", login_queue="100000")
    if daemon_knows("admission.agent_rate"):
        limits.update(agent_rate="100000", agent_burst="100000")
    return omrtest.Daemon(tmp, redis, log_level="warn", routing=ROUTING, agents=agents,
                          webchat_extra="      rate_per_min: 600000\n      burst: 1000",
                          admission=omrtest.admission(**limits))


def offer_calls(redis, ncands, n=20000):
    """The offer script alone, pipelined, one conversation per call: n
    waiting conversations offered to one of ncands available agents with
    room (the first call carries the list and builds the pool; the others
    name the pool). calls/s."""
    prefix = "omr:{offerbench}:"
    redis.cmd("FLUSHALL")
    redis.cmd("SET", prefix + "node:n1:alive", "1")
    sha = redis.cmd("SCRIPT", "LOAD", omrtest.lua_source("offer"))
    pipe = []
    for i in range(ncands):
        pipe.append(["HSET", prefix + "agent:b%05d" % i, "presence", "available", "node", "n1",
                     "sessions", "1", "load:webchat", "0", "last_assigned_at", str(i)])
        pipe.append(["HSET", prefix + "agent:b%05d:nodes" % i, "n1", "1"])
    for i in range(n):
        pipe.append(["HSET", prefix + "conv:c%06d" % i, "status", "queued", "queue", "q",
                     "channel", "webchat"])
        pipe.append(["ZADD", prefix + "queue:q", str(i), "c%06d" % i])
    redis.pipeline(pipe)
    cands = []
    for i in range(ncands):
        # room for every offer of the run
        cands += ["b%05d" % i, "1000000", "3"]
    # nothing of the pass missed yet: no restart (omr_router_int.h)
    keys, argv = omrtest.lua_keys_argv("offer", prefix, queue="q", timeout=20000,
                                       **{"pass": 1 << 62})
    calls = []
    for i in range(n):
        rest = ["c%06d" % i, "o%06d" % i, "longest_idle", "bench%d" % ncands]
        rest += [str(len(cands))] + cands if i == 0 else ["0"]
        calls.append(["EVALSHA", sha, str(len(keys))] + keys + argv + rest)
    t0 = time.perf_counter()
    for k in range(0, n, 500):
        redis.pipeline(calls[k:k + 500])
    took = time.perf_counter() - t0
    ok = redis.cmd("ZCARD", prefix + "offers")
    if ok != n:
        raise RuntimeError("offer bench: %d of %d offered" % (ok, n))
    redis.cmd("FLUSHALL")
    return n / took


def cpu_pct(pid, seconds):
    c0 = omrtest.cpu_s(pid)
    time.sleep(seconds)
    return 100.0 * (omrtest.cpu_s(pid) - c0) / seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", type=int, default=50)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--inflight", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--phases", default="rate,saturation,relay,offer,idle")
    ap.add_argument("--generator", choices=("c", "node"), default="c",
                    help="the load generator of the route and relay phases: loadgen.c "
                    "(default: it leaves the cores to the system under test) or load.mjs")
    ap.add_argument("--profile", action="count", default=0,
                    help="print Redis' time per script (saturation and relay); "
                    "twice: and per command in each")
    a = ap.parse_args()
    phases = a.phases.split(",")
    npm_ready()
    tmp = tempfile.mkdtemp(prefix="omr-route-bench-")
    if a.generator == "c":
        GENERATOR["c"] = build_loadgen(tmp)
    print("# load generator: %s" % ("loadgen.c" if GENERATOR["c"] else "load.mjs"))
    redis = omrtest.Redis(tmp)
    redis.cmd("CONFIG", "SET", "appendfsync", "everysec")
    out = []

    def say(name, value, fmt="%.0f", note=""):
        out.append((name, fmt % value if value is not None else "-", note))
        print("%-44s %12s  %s" % out[-1], flush=True)

    def bounds(redis_us, daemon_us, loadgen_us, what):
        """what these CPU costs allow at most: Redis runs its commands on one
        thread, and the three share the machine's cores"""
        cores = os.cpu_count() or 1
        print("# at these costs: at most %.0f %s by Redis' one thread on a core of its own, "
              "%.0f %s by the three on %d cores" % (
                  1e6 / max(1, redis_us), what,
                  cores * 1e6 / max(1, redis_us + daemon_us + loadgen_us), what, cores))

    try:
        base_set = redis_benchmark(redis.sock, ["-t", "set"])
        say("baseline_redis_set_per_s", base_set)
        agents_text, tokens = agents_yaml(a.agents)
        tokens_file = os.path.join(tmp, "tokens")
        with open(tokens_file, "w") as f:
            f.write("\n".join(tokens) + "\n")
        def fresh():
            """each phase on a fresh daemon and an empty Redis: what one
            phase left waiting does not load the next"""
            redis.cmd("FLUSHALL")
            return daemon(tmp, redis, agents_text).start()
        for phase in [p for p in ("rate", "saturation", "relay") if p in phases]:
            d = fresh()
            try:
                if phase == "rate":
                    r = load("route", d.ports["edge"], tokens_file, rate=a.rate,
                             seconds=a.seconds)
                    say("rate_offered_per_s", a.rate)
                    say("rate_routed_per_s", r["per_s"])
                    say("rate_p50_ms", r["p50_ms"], "%.2f")
                    say("rate_p99_ms", r["p99_ms"], "%.2f", "target <= 10 at 1000/s")
                    say("rate_errors", r["errors"], "%d", "generator behind: %d" % r["generator_behind"])
                if phase == "saturation":
                    calls0 = round_trips(d)
                    prof = ScriptProfile(redis, a.profile > 1) if a.profile else None
                    stats0 = commandstats(redis)
                    cpu0 = (omrtest.cpu_s(redis.proc.pid), omrtest.cpu_s(d.proc.pid))
                    r = load("route", d.ports["edge"], tokens_file, inflight=a.inflight,
                             seconds=a.seconds)
                    cpu1 = (omrtest.cpu_s(redis.proc.pid), omrtest.cpu_s(d.proc.pid))
                    stats1 = commandstats(redis)
                    calls1 = round_trips(d)
                    diff = {k: v - calls0.get(k, 0) for k, v in calls1.items()}
                    calls = sum(diff.values())
                    say("saturation_routed_per_s", r["per_s"], "%.0f",
                        "%.2f%% of set (target >= 7%%)" % (100 * r["per_s"] / base_set))
                    say("saturation_p50_ms", r["p50_ms"], "%.2f")
                    say("saturation_p99_ms", r["p99_ms"], "%.2f", "target <= 100")
                    # the warm-up second and the wind-down are in the calls
                    # too: divide by every offer made, not only those counted
                    say("redis_round_trips_per_routed", calls / max(1, r["offers"]), "%.1f",
                        "target <= 8")
                    say("saturation_errors", r["errors"], "%d")
                    # CPU per conversation offered, over the whole load
                    # (log-ins and warm-up included): where the time goes
                    offers = max(1, r["offers"])
                    say("saturation_redis_cpu_us_per_offered", 1e6 * (cpu1[0] - cpu0[0]) / offers,
                        "%.0f")
                    say("saturation_daemon_cpu_us_per_offered", 1e6 * (cpu1[1] - cpu0[1]) / offers,
                        "%.0f")
                    say("saturation_redis_commands_per_offered",
                        commands_per(stats0, stats1, offers), "%.1f",
                        "inside scripts included (INFO commandstats)")
                    say("saturation_loadgen_cpu_us_per_offered", 1e6 * r["cpu_s"] / offers, "%.0f",
                        "the load generator's own, on the same two cores")
                    bounds(1e6 * (cpu1[0] - cpu0[0]) / offers, 1e6 * (cpu1[1] - cpu0[1]) / offers,
                           1e6 * r["cpu_s"] / offers, "conversations/s")
                    fr = r.get("frames") or {}
                    print("# frames the generator read per conversation offered: " + ", ".join(
                        "%s %.2f (%.0f B)" % (k, v["n"] / offers, v["bytes"] / max(1, v["n"]))
                        for k, v in sorted(fr.items(), key=lambda kv: -kv[1]["n"])
                        if v["n"] >= offers / 20))
                    top = sorted(diff.items(), key=lambda kv: -kv[1])[:8]
                    print("# round trips per routed: " + ", ".join(
                        "%s %.1f" % (k, v / max(1, r["offers"])) for k, v in top))
                    if prof:
                        prof.report(offers, "conversation offered")
                if phase == "relay":
                    calls0 = round_trips(d)
                    prof = ScriptProfile(redis, a.profile > 1) if a.profile else None
                    cpu0 = (omrtest.cpu_s(redis.proc.pid), omrtest.cpu_s(d.proc.pid))
                    r = load("relay", d.ports["edge"], tokens_file, seconds=a.seconds, window=4)
                    cpu1 = (omrtest.cpu_s(redis.proc.pid), omrtest.cpu_s(d.proc.pid))
                    calls1 = round_trips(d)
                    say("relay_to_agent_per_s", r["to_agent_per_s"], "%.0f",
                        "%.1f%% of set (target >= 25%%)" % (100 * r["to_agent_per_s"] / base_set))
                    say("relay_to_visitor_per_s", r["to_visitor_per_s"], "%.0f",
                        "%.1f%% of set (target >= 25%%)" % (100 * r["to_visitor_per_s"] / base_set))
                    say("relay_errors", r["errors"], "%d")
                    # per message relayed (either way), over the whole load
                    # (the log-ins and the first conversations included)
                    msgs = max(1, r["to_agent"] + r["to_visitor"])
                    diff = {k: v - calls0.get(k, 0) for k, v in calls1.items()}
                    say("relay_redis_round_trips_per_message", sum(diff.values()) / msgs, "%.1f")
                    say("relay_redis_cpu_us_per_message", 1e6 * (cpu1[0] - cpu0[0]) / msgs, "%.0f")
                    say("relay_daemon_cpu_us_per_message", 1e6 * (cpu1[1] - cpu0[1]) / msgs, "%.0f")
                    say("relay_loadgen_cpu_us_per_message", 1e6 * r["cpu_s"] / msgs, "%.0f",
                        "the load generator's own, on the same two cores")
                    bounds(1e6 * (cpu1[0] - cpu0[0]) / msgs, 1e6 * (cpu1[1] - cpu0[1]) / msgs,
                           1e6 * r["cpu_s"] / msgs, "messages/s, both ways")
                    top = sorted(diff.items(), key=lambda kv: -kv[1])[:8]
                    print("# round trips per message: " + ", ".join(
                        "%s %.2f" % (k, v / msgs) for k, v in top))
                    if prof:
                        prof.report(msgs, "message relayed")
            finally:
                d.stop()
        if "offer" in phases:
            o50 = offer_calls(redis, 50)
            o5k = offer_calls(redis, 5000)
            say("offer_script_50_candidates_per_s", o50)
            say("offer_script_5000_candidates_per_s", o5k, "%.0f",
                "%.1fx slower than 50 (target <= 2x)" % (o50 / o5k if o5k else 0))
        if "idle" in phases:
            redis.cmd("FLUSHALL")
            agents_text, tokens = agents_yaml(a.idle)
            with open(tokens_file, "w") as f:
                f.write("\n".join(tokens) + "\n")
            d = daemon(tmp, redis, agents_text).start()
            hold = 120
            p = subprocess.Popen(["node", LOAD, "idle", str(d.ports["edge"]), tokens_file,
                                  "--hold", str(hold)], stdout=subprocess.PIPE, text=True)
            try:
                first = json.loads(p.stdout.readline())
                say("idle_agents_logged_in", first["agents"], "%d",
                    "in %.1f s" % first["seconds"])
                time.sleep(5)
                say("idle_rss_mb", omrtest.rss_kb(d.proc.pid) / 1024, "%.1f", "target <= 150")
                say("idle_cpu_pct_of_a_core", cpu_pct(d.proc.pid, 10), "%.2f", "target <= 2")
                d.stop()
                d.start()
                back = json.loads(p.stdout.readline())
                say("idle_relogin_after_restart_s", back["seconds_since_first_lost"], "%.1f",
                    "target <= 15")
            finally:
                p.send_signal(signal.SIGTERM)
                p.wait(10)
                d.stop()
    finally:
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("# %d agents, rate %d/s, %d in flight, %.0f s per phase; 2 cores shared by the load "
          "generator, the daemon and Redis" % (a.agents, a.rate, a.inflight, a.seconds))


if __name__ == "__main__":
    main()
