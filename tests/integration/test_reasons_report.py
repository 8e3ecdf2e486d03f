"""Removing contact reasons (issue 18): the contact-reason report's rows per
reason (avoidable, count, share, weekly trend and its direction, channels
and queues, average handling time, hours per month, the treatment the
value matrix suggests) against figures computed by hand.

Two parts:
- today, through the real scripts: web chat visitors, an agent who accepts
  and wraps up with reasons (conv_act.lua writes r| and the handling time
  m| in the same step); the expected handling time is what the
  conversations recorded (closed_at - assigned_at, Redis' clock).
- a scripted month: nothing in the harness can move Redis' clock (see
  test_reports.py), so four whole ISO weeks in the past, and the four
  weeks before them, are written as report.lib would have written them:
  one 15-minute bucket per day with r|, m| and b| fields.
Also: `reasons:` with attributes checked by -t (file:line), and malformed
query strings answered 400 with the daemon running."""
import datetime
import os
import subprocess

import omrtest
from omrtest import check, eq, token_hash, Agent, Daemon, Redis, Visitor, DAEMON

P = "omr:{main}:"
HOUR_MS = 3600000.0

ROUTING = """
skills: [general]
default_queue: general
queues:
  - name: general
    status_interval: 0
  - name: billing
    status_interval: 0
rules:
  - name: order status
    when: 'text:lower():find("where is my order")'
    answer: { text: "Track it at https://example.com/track", reason: where is my order }
reasons:
  - { name: invoice unclear, avoidable: true }
  - { name: where is my order, avoidable: true }
  - { name: router setup unclear, avoidable: true, treatment: simplify }
  - { name: opening hours, avoidable: true }
  - connection down
  - other
outcomes: [resolved, follow_up]
"""

AGENTS = """
agents:
  - id: alice
    name: Alice
    token: "%s"
    skills: { general: 3 }
    capacity: { webchat: 5 }
""" % token_hash("alice-token-0123456789ab")


def close(val, want, what, tol=0.006):
    return check(val is not None and abs(val - want) <= tol,
                 "%s (got %r, want %.4f)" % (what, val, want))


def redis_today(redis):
    s, us = redis.cmd("TIME")
    return datetime.datetime.utcfromtimestamp(int(s)).date()


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=ROUTING, agents=AGENTS).start()

    # ---- -t: the same file with broken reasons
    with open(d.conf) as f:
        conf = f.read()
    bad = ROUTING.replace("reasons:\n", """reasons:
  - { name: bad one, avoidable: maybe }
  - { name: wrong cure, treatment: magic }
  - { name: not avoidable, avoidable: false, treatment: eliminate }
  - { avoidable: true }
  - { name: extra, colour: red }
  - { name: other }
""")
    bad_dir = os.path.join(tmp, "bad")
    os.makedirs(bad_dir)
    with open(os.path.join(bad_dir, "routing.yaml"), "w") as f:
        f.write(bad)
    with open(os.path.join(bad_dir, "agents.yaml"), "w") as f:
        f.write(AGENTS)
    bad_conf = os.path.join(bad_dir, "omniroute.yaml")
    with open(bad_conf, "w") as f:
        f.write(conf)   # routing.yaml and agents.yaml are found beside it
    p = subprocess.run([DAEMON, "-t", "-c", bad_conf], capture_output=True, text=True, timeout=60)
    eq(p.returncode, 1, "-t: broken reasons fail")
    line = lambda s: bad.split("\n").index(next(l for l in bad.split("\n") if s in l)) + 1
    for want in ("routing.yaml:%d: expected true or false" % line("bad one"),
                 "routing.yaml:%d: reason 'wrong cure': treatment must be one of" % line("wrong cure"),
                 "routing.yaml:%d: reason 'not avoidable': a treatment is for an avoidable" %
                 line("not avoidable"),
                 "routing.yaml:%d: reason: missing required key 'name'" % line("{ avoidable: true }"),
                 "routing.yaml:%d: unknown key 'colour'" % line("colour")):
        check(want in p.stderr, "-t says: " + want)
    check("routing.yaml:%d: reason 'other' is listed twice" % line("  - other") in p.stderr,
          "-t: a reason listed twice")
    check("6 error(s)" in p.stderr, "every mistake at once (%r)" % p.stderr[-200:])
    p = subprocess.run([DAEMON, "-t", "-c", d.conf], capture_output=True, text=True, timeout=60)
    eq(p.returncode, 0, "-t: the mixed list (strings and mappings) is valid")

    # ---- today, through the real scripts
    alice = Agent(d, token="alice-token-0123456789ab")
    eq(alice.welcome["reasons"], ["invoice unclear", "where is my order", "router setup unclear",
                                  "opening hours", "connection down", "other"],
       "the console's reasons: the names, in order")
    handled = {"invoice unclear": [], "connection down": []}
    for i, reason in enumerate(["invoice unclear", "invoice unclear", "connection down"]):
        v = Visitor(d, name="V%d" % i)
        conv = v.say("I have a question %d" % i)["conversation"]
        o = alice.offer_for(conv)
        eq(alice.accept(o["offer"])["type"], "assigned", "accepted %s" % conv)
        alice.reply(conv, "Let me look")
        alice.send({"type": "close", "conversation": conv})
        alice.expect("status")
        alice.send({"type": "wrapup", "conversation": conv, "reason": reason,
                    "outcome": "resolved"})
        eq(alice.expect("unassigned")["reason"], "wrapped_up", "wrapped up")
        c = d.conversation(conv)
        handled[reason].append(c["closed_at"] - c["assigned_at"])
    # an automatic answer: counted under its reason, no agent's time
    v = Visitor(d, name="W")
    v.say("Where is my order?")
    today = redis_today(redis)
    keys = redis.cmd("KEYS", P + "stats:%s:*" % today.isoformat())
    ms = sum(int(redis.cmd("HGET", k, "m|general|webchat|invoice unclear") or 0) for k in keys)
    eq(ms, sum(handled["invoice unclear"]), "conv_act counts the handling time per reason (m|)")
    omrtest.wait_for(lambda: d.api("/api/v1/reports/contact-reasons")["total"] == 4,
                     what="the automatic answer counted")
    rep = d.api("/api/v1/reports/contact-reasons")
    rows = {r["reason"]: r for r in rep["reasons"]}
    inv = rows["invoice unclear"]
    eq((inv["count"], inv["avoidable"], inv["share"]), (2, True, 0.5),
       "today: invoice unclear 2 of 4, avoidable")
    close(inv["avg_handle_s"], sum(handled["invoice unclear"]) / 2 / 1000.0, "today: its AHT",
          tol=0.051)
    close(inv["hours_per_month"], sum(handled["invoice unclear"]) * 30 / HOUR_MS,
          "today: hours per month = count x 30 / 1 day x AHT")
    eq((rows["connection down"]["avoidable"], rows["connection down"]["treatment"]),
       (False, None), "connection down: not avoidable, no treatment")
    wimo = rows["where is my order"]
    eq((wimo["count"], wimo["hours_per_month"], wimo["treatment"], wimo["treatment_basis"]),
       (1, 0.0, "eliminate", "automatic_answer"),
       "where is my order: answered automatically, no agent time, eliminate")
    eq([c["channel"] for c in inv["channels"]], ["webchat"], "its channels")
    eq([(q["queue"], q["count"]) for q in inv["queues"]], [("general", 2)], "its queues")

    # ---- a scripted month: four whole ISO weeks before this one, and the
    # four before them (the previous period), one bucket per day
    monday = today - datetime.timedelta(days=today.weekday())
    start = monday - datetime.timedelta(weeks=4)
    end = monday - datetime.timedelta(days=1)
    prev_start = start - datetime.timedelta(weeks=4)
    weekly = {   # reason: (queue, channel, counts per week, ms per contact, bot resolved per week)
        "invoice unclear": ("billing", "email", [10, 12, 15, 20], 300000, 0),
        "where is my order": ("general", "webchat", [40, 40, 40, 40], 0, 0),
        "router setup unclear": ("general", "webchat", [2, 2, 2, 2], 600000, 0),
        "opening hours": ("general", "webchat", [8, 0, 0, 0], 0, 2),
        "connection down": ("general", "email", [5, 5, 5, 5], 900000, 0),
    }
    previous = {"invoice unclear": 30, "where is my order": 200}
    for reason, (q, ch, counts, per, bot) in weekly.items():
        for w, n in enumerate(counts):
            if not n:
                continue
            day = start + datetime.timedelta(weeks=w, days=2)     # the Wednesday
            key = P + "stats:%s:0915" % day.isoformat()
            redis.cmd("HINCRBY", key, "r|%s|%s|%s" % (q, ch, reason), n)
            if per:
                redis.cmd("HINCRBY", key, "m|%s|%s|%s" % (q, ch, reason), n * per)
            if bot:
                redis.cmd("HINCRBY", key, "b|%s|%s|%s" % (q, ch, reason), bot)
    for reason, n in previous.items():
        key = P + "stats:%s:1000" % (prev_start + datetime.timedelta(days=3)).isoformat()
        redis.cmd("HINCRBY", key, "r|general|webchat|%s" % reason, n)
    q = "from=%s&to=%s" % (start.isoformat(), end.isoformat())
    rep = d.api("/api/v1/reports/contact-reasons?" + q)
    eq(rep["days"], 28, "four weeks")
    rows = {r["reason"]: r for r in rep["reasons"]}
    total = sum(sum(x[2]) for x in weekly.values())                      # 253
    avoid = sum(sum(x[2]) for r, x in weekly.items() if r != "connection down")   # 233
    eq(rep["total"], total, "the month's contacts")
    eq((rep["avoidable"]["count"], rep["avoidable"]["share"]), (avoid, round(avoid / total, 4)),
       "avoidable: count and share (%d of %d)" % (avoid, total))
    for reason, (qq, ch, counts, per, bot) in weekly.items():
        r = rows[reason]
        n = sum(counts)
        eq(r["count"], n, "%s: count" % reason)
        close(r["share"], n / total, "%s: share" % reason, tol=0.00006)
        eq([w["count"] for w in r["trend"]["weeks"]], counts, "%s: the weekly counts" % reason)
        close(r["hours_per_month"], n * per * 30 / 28 / HOUR_MS, "%s: hours per month" % reason)
        if per:
            close(r["avg_handle_s"], per / 1000.0, "%s: AHT" % reason)
        eq(r["channels"], [{"channel": ch, "count": n}], "%s: channel" % reason)
    weeks = [(start + datetime.timedelta(weeks=w)).isocalendar() for w in range(4)]
    eq([w["week"] for w in rows["invoice unclear"]["trend"]["weeks"]],
       ["%d-W%02d" % (y, wk) for y, wk, _ in weeks], "ISO weeks, oldest first")
    # direction: the later two weeks against the earlier two, 10% either way
    eq({r: rows[r]["trend"]["direction"] for r in weekly},
       {"invoice unclear": "up",          # 35 against 22
        "where is my order": "flat",      # 80 against 80
        "router setup unclear": "flat",
        "opening hours": "down",          # 0 against 8
        "connection down": "flat"}, "trend directions")
    eq((rows["invoice unclear"]["trend"]["previous"], rows["where is my order"]["trend"]["previous"]),
       (30, 200), "the period before, per reason")
    # treatments: configured, automatic answer, the bot resolves it, the cause
    eq({r: (rows[r]["treatment"], rows[r].get("treatment_basis")) for r in weekly},
       {"invoice unclear": ("eliminate", "remove_cause"),
        "where is my order": ("eliminate", "automatic_answer"),
        "router setup unclear": ("simplify", "configured"),
        "opening hours": ("self_service", "bot_resolves"),
        "connection down": (None, None)}, "suggested treatments")
    eq([r["reason"] for r in rep["avoidable"]["ranked"]],
       ["invoice unclear", "router setup unclear", "where is my order", "opening hours"],
       "avoidable reasons ranked by hours per month (then by count)")
    close(rep["avoidable"]["hours_per_month"],
          (57 * 300000 + 8 * 600000) * 30 / 28 / HOUR_MS, "avoidable hours per month")
    eq([r["reason"] for r in rep["reasons"]][:2], ["where is my order", "invoice unclear"],
       "reasons: most first, as before")

    # ---- malformed query strings: 400, the daemon keeps running
    for bad_q in ("from=2026-13-01&to=2026-12-01", "from=x&to=y", "days=abc", "days=0",
                  "days=401", "interval=hour", "format=xml", "from=2026-12-01&to=",
                  "a" * 5000, "from=%00", "to=2026-01-01&from=2026-02-01"):
        st, body = d.http("GET", "/api/v1/reports/contact-reasons?" + bad_q)
        eq(st, 400, "400 for %.30r" % bad_q)
        check(isinstance(body, dict) and body.get("error"), "with an error body")
    check(d.alive(), "the daemon keeps running")
    eq(d.stop(), 0, "clean stop")


omrtest.run(test)
