#!/usr/bin/env python3
"""Replay speed of `omniroute --simulate`: conversations replayed per CPU
second.

Writes a recorded day of a busy contact center straight into a private
redis-server, in the shape the daemon's scripts leave it (conversation
hashes with their times, routing explanation and first message, customers,
the `convs` index, `agents:history`): `--agents` agents (200) on three
overlapping shifts with a lunch break each, `--convs` conversations (30,000)
over the day on web chat and e-mail, mostly answered, some abandoned, with
handling times of a few minutes. The recording is synthetic (the daemon
would take hours to record a day); its shape is what matters for the replay.
Then runs `--simulate` with the same routing and with a changed one (Dutch
billing to a smaller team), `--runs` times (3), and reports the best:

  - CPU seconds of the simulate process (user + system: it reads Redis,
    decides every conversation twice and replays the day twice);
  - conversations per CPU second (the replay speed) and events per second;
  - baseline: the same process with an empty window (configuration load and
    Redis connection only), and `redis-benchmark -t hgetall`-like reading
    cost: the time redis-server itself spent answering (INFO commandstats).

usage: bench/sim_bench.py [--agents 200] [--convs 30000] [--runs 3]
       (run from the source tree after building in ./build, or set OMR_BUILDDIR)
"""
import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import omrtest  # noqa: E402

P = "omr:{main}:"
DAY = 1796601600000       # 2026-12-07T00:00Z, a Monday

ROUTING = """
skills: [general, billing, tech, sales]
default_queue: general
queues:
  - name: general
    sla: { target: 80, within: 60s }
  - name: billing
    skills: { billing: 1 }
    sla: { target: 80, within: 60s }
    escalation:
      - { after: 5m, relax: 1 }
  - name: tech
    skills: { tech: 2 }
    sla: { target: 80, within: 120s }
    strategy: best_proficiency
  - name: sales
    skills: { sales: 1 }
    priority: 70
    sla: { target: 90, within: 30s }
%(extra)s
rules:
  - name: dutch billing
    when: 'language == "nl" and text:lower():find("factuur")'
    queue: %(billing)s
  - name: billing
    when: 'text:lower():find("invoice")'
    queue: billing
  - name: tech
    when: 'text:lower():find("router") or text:lower():find("login")'
    queue: tech
  - name: sales
    when: 'text:lower():find("contract")'
    queue: sales
reasons: [other]
outcomes: [resolved]
"""

TEXTS = [("nl", "Mijn factuur klopt niet", "billing"), ("en", "Question about my invoice", "billing"),
         ("en", "My router is broken", "tech"), ("en", "I cannot login", "tech"),
         ("en", "A new contract please", "sales"), ("en", "Where is my parcel", "general"),
         ("nl", "Waar is mijn pakket", "general"), ("en", "Change my address", "general")]


def agents_yaml(n):
    out = ["agents:"]
    rnd = random.Random(7)
    for i in range(n):
        skills = {"general": 3}
        for s in ("billing", "tech", "sales"):
            if rnd.random() < 0.4:
                skills[s] = rnd.randint(1, 5)
        langs = "[nl, en]" if rnd.random() < 0.3 else "[en]"
        out.append("  - id: a%03d\n    token: \"%s\"\n    skills: %s\n    languages: %s\n"
                   "    capacity: { webchat: 3, email: 5 }"
                   % (i, omrtest.token_hash("a%03d-token-0123456789ab" % i),
                      json.dumps(skills).replace('"', ""), langs))
    return "\n".join(out) + "\n"


def record(redis, agents, convs):
    rnd = random.Random(42)
    cmds = []

    def flush(force=False):
        if len(cmds) >= 5000 or (force and cmds):
            redis.pipeline(cmds)
            cmds.clear()

    # three shifts: 06-14, 10-18, 14-22 (UTC), a 30-minute lunch each
    for i in range(agents):
        start = DAY + (6 + 4 * (i % 3)) * 3600000 + rnd.randint(0, 600000)
        for at, p, why in ((start - 60000, "away", "logged in"), (start, "available", "start of shift"),
                           (start + 4 * 3600000, "away", "lunch"),
                           (start + 4 * 3600000 + 1800000, "available", ""),
                           (start + 8 * 3600000, "offline", "disconnected")):
            cmds.append(("XADD", P + "agents:history", "%d-%d" % (at, i), "at", at, "agent",
                         "a%03d" % i, "presence", p, "reason", why, "by", "agent"))
    # XADD needs ids in order: sort this stream's entries by id
    cmds.sort(key=lambda c: tuple(int(x) for x in c[2].split("-")))
    flush(True)
    for k in range(convs):
        created = DAY + 6 * 3600000 + int(rnd.random() * 16 * 3600000)
        lang, text, queue = rnd.choice(TEXTS)
        chan = "email" if rnd.random() < 0.25 else "webchat"
        cid = "c_%08d" % k
        mid = "m_%08d" % k
        cust = "u_%06d" % rnd.randint(0, convs // 3)
        queued = created + 5
        fields = ["id", cid, "channel", chan, "customer", cust, "address", "x" + cust,
                  "status", "closed", "attrs", json.dumps({"language": lang}),
                  "created_at", created, "queued_at", queued, "queue", queue,
                  "routing", json.dumps({"rules": [], "queue": queue, "tier": "human",
                                         "balance": 0, "repeat": False,
                                         "treatment": "not valued: a person"})]
        if rnd.random() < 0.06:      # gave up
            fields += ["closed_at", queued + rnd.randint(20000, 300000),
                       "wrapup", json.dumps({"left": True, "outcome": "abandoned"})]
        else:
            ans = queued + int(rnd.expovariate(1 / 40000.0))
            end = ans + rnd.randint(120000, 900000 if chan == "email" else 480000)
            fields += ["answered_at", ans, "assigned_at", ans, "ended_at", end, "closed_at",
                       end + 30000]
        cmds.append(("HSET", P + "conv:" + cid, *fields))
        cmds.append(("RPUSH", P + "conv:%s:msgs" % cid, mid))
        cmds.append(("HSET", P + "msg:" + mid, "id", mid, "direction", "in", "text", text))
        cmds.append(("HSET", P + "cust:" + cust, "id", cust, "name", "Customer " + cust))
        cmds.append(("ZADD", P + "convs", created, cid))
        flush()
    flush(True)


def cpu_run(argv):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(argv, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError("%s: %s" % (argv, p.stderr))
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=200)
    ap.add_argument("--convs", type=int, default=30000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="simbench-")
    redis = omrtest.Redis(tmp)
    try:
        d = omrtest.Daemon(tmp, redis, routing=ROUTING % {"billing": "billing", "extra": ""},
                           agents=agents_yaml(a.agents), log_level="warn")
        proposed = os.path.join(tmp, "proposed.yaml")
        with open(proposed, "w") as f:
            f.write(ROUTING % {"billing": "billing_nl", "extra": "  - name: billing_nl\n"
                               "    skills: { billing: 4 }\n    sla: { target: 80, within: 60s }"})
        t = time.time()
        record(redis, a.agents, a.convs)
        print("recorded: %d conversations, %d agents in %.1f s" % (a.convs, a.agents, time.time() - t))
        base = [omrtest.DAEMON, "-c", d.conf, "--simulate", proposed]
        empty, _ = cpu_run(base + ["--from", "2020-01-01", "--to", "2020-01-01", "--json"])
        best, out = None, None
        redis.cmd("CONFIG", "RESETSTAT")
        for _ in range(a.runs):
            cpu, out = cpu_run(base + ["--from", "2026-12-07", "--to", "2026-12-07", "--json"])
            best = cpu if best is None else min(best, cpu)
        stats = redis.cmd("INFO", "commandstats")
        redis_us = sum(float(part.split("=")[1]) for line in stats.splitlines()
                       if line.startswith("cmdstat_") for part in line.split(":")[1].split(",")
                       if part.startswith("usec="))
        r = json.loads(out)
        n = r["conversations"]
        print("replayed: %d conversations, %d presence changes, %d changed"
              % (n, r["presence_changes"], r["changed_count"]))
        print("cpu_s %.3f (best of %d; the empty window alone: %.3f)" % (best, a.runs, empty))
        print("conversations_per_cpu_s %.0f (each decided and replayed twice)" % (n / best))
        print("conversations_per_cpu_s_net %.0f (without the start-up of the empty window)"
              % (n / max(best - empty, 1e-6)))
        print("redis_cpu_s_per_run %.3f (redis-server answering the reads)" % (redis_us / 1e6 / a.runs))
        for q in sorted(r["current"]["queues"]):
            c = r["current"]["queues"][q]
            print("  %-10s offered %6d answered %6d within_sla %6d p90 %6.1f s" %
                  (q, c["offered"], c["answered"], c["within_sla"], c["wait_p90_s"]))
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
