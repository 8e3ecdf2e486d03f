"""Historical reports (issue 15), end to end: a scripted day on a real
daemon and a real Redis (web chat visitors over websockets, two agents who
accept, reject and miss offers, a transfer, two abandons, a bot hand-off
and a bot that resolves, wrap-ups with reasons), then the three reports
checked against figures computed by hand from what the conversations
recorded; the CSV read back with Python's csv module; the day's buckets
kept 400 days; a past day made from its buckets once and then read whole;
hostile query strings answered 400 with the daemon still running.

The clock: the figures are bucketed by Redis' clock (TIME in the scripts),
and nothing in the harness can move it (libfaketime cannot run
redis-server: jemalloc recurses into its clock_gettime while it starts; it
hangs the daemon under AddressSanitizer, see test_files_clock.py). So the
day runs on the real clock with a short service level (4 s), waits well
clear of it, and every expected time is computed from the times the
conversations themselves recorded (queued_at, requeued_at, assigned_at,
closed_at: Redis' clock, the same the scripts count with). A past day is
made by writing its buckets as report.lib would have."""
import csv
import http.client
import io
import time

import omrtest
from omrtest import (check, eq, log, token_hash, wait_for, Agent, Daemon, Redis, Visitor, SRCDIR,
                     BUILDDIR)

P = "omr:{main}:"
WITHIN_S = 4
HOSTILE_REASON = '=SUM(1,2) "x"'   # a formula, a comma and quotes: CSV must defuse and quote

ROUTING = """
skills: [general, billing]
default_queue: general
queues:
  - name: general
    status_interval: 0
    sla: { target: 80, within: %(within)ds }
  - name: billing
    skills: { billing: 1 }
    status_interval: 0
    sla: { target: 80, within: %(within)ds }
  - name: tech
    status_interval: 0
rules:
  - name: invoices
    when: 'text:lower():find("invoice")'
    queue: billing
    value: { customer: high, organisation: high }
  - name: questions to people
    when: 'text:lower():find("question")'
    value: { customer: high, organisation: high }
value:
  default: { customer: high, organisation: low }   # self-service: the bot first
bot: faqbot
offers: { timeout: 2s, max_missed: 5, reject_cooldown: 1m }
# the balance's events of this test (first-contact resolutions, abandons
# and the other defaults are test_seeds.py's)
engagement:
  low: -2
  deposits: { resolved: 1 }
  withdrawals: { escalated: 2, follow_up: 1, complaint: 5, sla_breach: 3, repeat_contact: 2 }
reasons: [invoice unclear, connection down, other, '%(hostile)s']
outcomes: [resolved, follow_up]
""" % {"within": WITHIN_S, "hostile": HOSTILE_REASON.replace("'", "''")}

AGENTS = """
agents:
  - id: alice
    name: Alice
    token: "%s"
    skills: { general: 3, billing: 3 }
    capacity: { webchat: 5 }
  - id: bob
    name: Bob
    token: "%s"
    skills: { general: 3 }
    capacity: { webchat: 5 }
""" % (token_hash("alice-token-0123456789ab"), token_hash("bob-token-0123456789ab"))


def faqbot():
    return "  - name: faqbot\n    path: %s/plugins/faqbot/.libs/faqbot.so\n" \
           "    config_file: %s/conf/faqbot.yaml\n" % (BUILDDIR, SRCDIR)


def get(d, path):
    """status, content type, body text"""
    c = http.client.HTTPConnection("127.0.0.1", d.ports["admin"], timeout=20)
    c.request("GET", path, headers={"Authorization": "Bearer " + omrtest.TOKEN})
    r = c.getresponse()
    body = r.read().decode("utf-8", "replace")
    c.close()
    return r.status, r.getheader("Content-Type") or "", body


def report(d, path):
    st, body = d.http("GET", path)
    if st != 200:
        raise RuntimeError("GET %s: %s %r" % (path, st, body))
    return body



def redis_day(redis):
    """Redis' clock: (ms, UTC day number)"""
    s, us = redis.cmd("TIME")
    ms = int(s) * 1000 + int(us) // 1000
    return ms, ms // 86400000


def date_of(day):
    return time.strftime("%Y-%m-%d", time.gmtime(day * 86400))


def close(val, want, what, tol=0.0015):
    return check(val is not None and abs(val - want) <= tol,
                 "%s (got %r, want %.4f)" % (what, val, want))


def bucket_names(redis):
    """report.lib's bucket of a time, as Redis runs it, against Python's
    calendar: midnight, leap days, the last millisecond of a bucket."""
    with open(SRCDIR + "/src/lua/report.lib") as f:
        lib = f.read()
    times = [0, 899999, 900000, 946684799999, 951825600000 + 7 * 60000, 1735688700000,
             4107542399999, 4107542400000, 253402300799999]
    script = "local P = '' local NOW = 0\n" + lib + \
        "\nlocal out = {} for i, t in ipairs(ARGV) do out[i] = T.bucket(tonumber(t)) end return out"
    got = redis.cmd("EVAL", script, "0", *[str(t) for t in times])
    want = ["stats:" + time.strftime("%Y-%m-%d:%H", time.gmtime(t // 1000)) +
            "%02d" % (time.gmtime(t // 1000).tm_min // 15 * 15) for t in times]
    eq(got, want, "buckets: 15 minutes of UTC, named by their day and start")


def test(tmp):
    redis = Redis(tmp)
    bucket_names(redis)
    d = Daemon(tmp, redis, routing=ROUTING, agents=AGENTS, extra_plugins=faqbot()).start()
    start_ms, first_day = redis_day(redis)
    alice = Agent(d, token="alice-token-0123456789ab")
    bob = Agent(d, token="bob-token-0123456789ab", available=False)
    waits = {"general": [], "billing": []}     # ms from (re)queued to accepted
    handles = {"general": [], "billing": []}   # ms from accepted to wrap-up

    def accept(agent, conv, queue):
        o = agent.offer_for(conv)
        eq(agent.accept(o["offer"])["type"], "assigned", "%s accepts %s" % (agent.id, conv))
        c = d.conversation(conv)
        waits[queue].append(c["assigned_at"] - max(c.get("queued_at", 0), c.get("requeued_at", 0)))
        return c

    def finish(agent, conv, queue, reason, outcome):
        agent.send({"type": "close", "conversation": conv})
        agent.expect("status")
        agent.send({"type": "wrapup", "conversation": conv, "reason": reason, "outcome": outcome})
        eq(agent.expect("unassigned")["reason"], "wrapped_up", "%s wrapped up" % conv)
        c = d.conversation(conv)
        handles[queue].append(c["closed_at"] - c["assigned_at"])

    # c1: answered at once, resolved
    v1 = Visitor(d, name="V1")
    c1 = v1.say("I have a question about my account")["conversation"]
    accept(alice, c1, "general")
    alice.reply(c1, "Let me look")
    finish(alice, c1, "general", "other", "resolved")

    # c2: alice rejects, bob misses it, then the customer leaves, later
    # than the service level: a late abandon
    v2 = Visitor(d, name="V2")
    c2 = v2.say("Another question")["conversation"]
    t2 = time.time()
    o = alice.offer_for(c2)
    alice.send({"type": "reject", "offer": o["offer"], "reason": "busy"})
    eq(alice.expect("revoked")["reason"], "rejected", "alice rejects c2")
    bob.presence("available")
    bob.offer_for(c2)
    # away before it expires: missed, and not offered back to him (who only
    # missed it gets it again when nobody else is ready: offer.lua)
    bob.presence("away")
    eq(bob.expect("revoked", timeout=6)["reason"], "expired", "bob misses c2")
    time.sleep(max(0, WITHIN_S + 1.5 - (time.time() - t2)))
    v2.ws.send({"type": "leave"})
    eq(v2.ws.recv_type("left")["type"], "left", "the visitor leaves")
    c = d.conversation(c2)
    eq((c["status"], c["wrapup"]["outcome"]), ("closed", "abandoned"), "c2 closed as abandoned")
    eq(redis.cmd("ZSCORE", P + "queue:general", c2), None, "and out of its queue")

    # c3: waits past the service level (alice away), answered late, then
    # transferred to billing and answered there in time
    alice.presence("away")
    v3 = Visitor(d, name="V3")
    c3 = v3.say("A question about something else")["conversation"]
    time.sleep(WITHIN_S + 1.5)
    alice.presence("available")
    accept(alice, c3, "general")
    alice.send({"type": "transfer", "conversation": c3, "queue": "billing"})
    eq(alice.expect("unassigned")["reason"], "transferred", "c3 transferred to billing")
    accept(alice, c3, "billing")
    finish(alice, c3, "billing", "invoice unclear", "follow_up")

    # c4: the bot answers, then hands over on request; answered, resolved
    v4 = Visitor(d, name="V4")
    c4 = v4.say("What are your opening hours?")["conversation"]
    v4.ws.recv_type("message")
    v4.say("I want to talk to a person", cmid="p1")
    accept(alice, c4, "general")
    finish(alice, c4, "general", "connection down", "resolved")

    # c5: the bot resolves it (contained)
    v5 = Visitor(d, name="V5")
    c5 = v5.say("What are your opening hours?")["conversation"]
    v5.ws.recv_type("message")
    v5.say("thanks", cmid="t1")
    wait_for(lambda: d.conversation(c5)["status"] == "closed", what="c5 resolved by the bot")

    # c6: offered, and the customer leaves before alice answers
    v6 = Visitor(d, name="V6")
    c6 = v6.say("Quick question")["conversation"]
    o6 = alice.offer_for(c6)
    v6.ws.send({"type": "leave"})
    v6.ws.recv_type("left")
    r = alice.expect("revoked")
    eq((r["offer"], r["reason"]), (o6["offer"], "customer_left"),
       "the agent's offer is revoked: the customer left")
    eq(d.conversation(c6)["wrapup"]["outcome"], "abandoned", "c6 abandoned")
    ags = {a["id"]: a for a in d.api("/api/v1/agents")["agents"]}
    eq(ags["alice"]["load"].get("webchat", 0), 0, "alice has her room back")

    # c7: billing, a reason that looks like a formula
    v7 = Visitor(d, name="V7")
    c7 = v7.say("An invoice question")["conversation"]
    accept(alice, c7, "billing")
    finish(alice, c7, "billing", HOSTILE_REASON, "resolved")

    # a visitor who leaves with nothing open, and one whose conversation an
    # agent has: nothing changes for the agent
    v8 = Visitor(d, name="V8")
    v8.ws.send({"type": "leave"})
    eq(v8.ws.recv_type("left")["type"], "left", "leaving with nothing open is fine")
    v9 = Visitor(d, name="V9")
    c9 = v9.say("One more question")["conversation"]
    accept(alice, c9, "general")
    v9.ws.send({"type": "leave"})
    v9.ws.recv_type("left")
    eq(d.conversation(c9)["status"], "assigned", "an agent's conversation stays theirs")
    finish(alice, c9, "general", "other", "resolved")

    end_ms, last_day = redis_day(redis)
    frm, to = date_of(first_day), date_of(last_day)
    q = "from=%s&to=%s" % (frm, to)

    # ---- queues, by hand
    rep = report(d, "/api/v1/reports/queues?" + q)
    eq((rep["from"], rep["to"], rep["days"]), (frm, to, last_day - first_day + 1), "the period")
    qs = {x["queue"]: x for x in rep["queues"]}
    eq(sorted(qs), ["billing", "general", "tech"], "every configured queue, idle ones too")
    g, b = qs["general"], qs["billing"]
    # general: entered by c1, c2, c3, c4 (the hand-over), c6, c9; answered
    # c1, c3 (late), c4, c9; abandoned c2 (late), c6
    eq((g["offered"], g["answered"], g["handled"], g["abandoned"]), (6, 4, 3, 2),
       "general: offered, answered, handled, abandoned")
    eq((g["answered_within_sla"], g["abandoned_after_sla"]), (3, 1), "general: within the SLA")
    eq(g["sla_attainment"], 60.0, "general: SLA attainment = 3 / (4 answered + 1 late abandon)")
    eq((g["transfers"], g["bot_contained"], g["bot_handoffs"]), (1, 1, 1),
       "general: transfers, bot contained, bot hand-offs")
    eq(g["handoff_reasons"], [{"reason": "the customer asked for a person", "count": 1}],
       "general: why the bot handed over")
    eq(g["sla"], {"target": 80, "within_s": WITHIN_S}, "general: its service level")
    check(max(waits["general"][:1] + waits["general"][2:]) < WITHIN_S * 1000 < waits["general"][1],
          "the waits fall where the test means them to (%r)" % waits["general"])
    close(g["avg_speed_of_answer_s"], sum(waits["general"]) / 4 / 1000, "general: speed of answer")
    close(g["avg_handle_s"], sum(handles["general"]) / 3 / 1000, "general: handle time")
    hours = (min((last_day + 1) * 86400000, rep["generated_at"]) - first_day * 86400000) / 3600000
    close(g["conversations_per_hour"], round(6 / hours, 2), "general: conversations per hour",
          tol=0.011)
    eq((b["offered"], b["answered"], b["handled"], b["abandoned"], b["answered_within_sla"]),
       (2, 2, 2, 0, 2), "billing: offered (a transfer in, c7), answered, handled, in the SLA")
    eq(b["sla_attainment"], 100.0, "billing: SLA attainment")
    close(b["avg_speed_of_answer_s"], sum(waits["billing"]) / 2 / 1000, "billing: speed of answer")
    close(b["avg_handle_s"], sum(handles["billing"]) / 2 / 1000, "billing: handle time")
    t = qs["tech"]
    eq((t["offered"], t["sla_attainment"], t["avg_handle_s"], t["sla"]), (0, None, None, None),
       "an idle queue without an SLA: zeros and nulls")
    eq([(c["channel"], c["offered"], c["abandoned"]) for c in rep["channels"]],
       [("webchat", 8, 2)], "per channel")
    # today's service level on /api/v1/queues comes from the same buckets
    if first_day == last_day:
        live = {x["name"]: x for x in d.api("/api/v1/queues")["queues"]}
        eq((live["general"]["sla"]["answered"], live["general"]["sla"]["within"]), (4, 3),
           "/api/v1/queues: today's answers and those within the SLA")

    # ---- agents
    rep = report(d, "/api/v1/reports/agents?" + q)
    ags = {x["agent"]: x for x in rep["agents"]}
    a = ags["alice"]
    # offers: c1, c2, c3, c3 in billing, c4, c6, c7, c9
    eq((a["offered"], a["accepted"], a["rejected"], a["missed"], a["handled"], a["transfers"]),
       (8, 6, 1, 0, 5, 1), "alice: offered, accepted, rejected, missed, handled, transfers")
    close(a["avg_handle_s"], (sum(handles["general"]) + sum(handles["billing"])) / 5 / 1000,
          "alice: handle time")
    eq((ags["bob"]["offered"], ags["bob"]["missed"], ags["bob"]["accepted"], ags["bob"]["name"]),
       (1, 1, 0, "Bob"), "bob: offered one, missed it")

    # ---- contact reasons, a past day and the trend
    # yesterday as report.lib would have counted it: 4 x "other", 1 outcome
    yday = first_day - 1
    bucket = P + "stats:%s:0915" % date_of(yday)
    redis.cmd("HSET", bucket, "r|general|webchat|other", 4, "o|general|webchat|resolved", 4,
              "q|general|webchat|offered", 5)
    rep = report(d, "/api/v1/reports/contact-reasons?" + q)
    eq([{"reason": r["reason"], "count": r["count"]} for r in rep["reasons"]], sorted([{"reason": r, "count": 1} for r in
                               ("invoice unclear", "connection down", "thanks", HOSTILE_REASON)] +
                              [{"reason": "other", "count": 2}],
                              key=lambda x: (-x["count"], x["reason"])),
       "reasons, most first (a bot's resolve counts its reason; abandons none)")
    eq(rep["total"], 6, "total")
    eq({x["outcome"]: x["count"] for x in rep["outcomes"]},
       {"resolved": 4, "follow_up": 1, "resolved by bot": 1, "abandoned": 2}, "outcomes")
    eq({x["queue"]: x["total"] for x in rep["by_queue"]}, {"general": 4, "billing": 2},
       "by queue")
    eq([(x["channel"], x["total"]) for x in rep["by_channel"]], [("webchat", 6)], "by channel")
    eq(sum(w["total"] for w in rep["by_week"]), 6, "by ISO week")
    eq(rep["by_week"][-1]["week"], time.strftime("%G-W%V", time.gmtime(last_day * 86400)),
       "the ISO week's name")
    if first_day == last_day:
        eq(rep["previous"], {"from": date_of(yday), "to": date_of(yday)}, "the period before")
        trend = {x["reason"]: x for x in rep["trend"]}
        eq((trend["other"]["count"], trend["other"]["previous"], trend["other"]["change"]),
           (2, 4, -2), "trend: other shrinks")
        eq((trend["connection down"]["change"], trend["connection down"]["growth_pct"]),
           (1, None), "trend: a new reason grows (no percentage from nothing)")
        check(rep["trend"][-1]["reason"] == "other", "the growing reasons come first")
    e = rep["engagement"]
    eq((e["threshold"], e["at_risk"]), (-2, 1), "engagement: one customer below -2 (V3)")
    eq([(x["name"], x["balance"]) for x in e["lowest"]], [("V3", -4)],
       "V3: -3 for the late answer, -1 for the follow-up")
    eq(e["deposits"], {"points": 4, "by_event": [{"event": "resolved", "points": 4}]},
       "engagement: deposits")
    eq(e["withdrawals"]["points"], 4, "engagement: withdrawals (sla_breach 3, follow_up 1)")

    # the past day alone: made from its bucket once, then read whole
    past = "from=%s&to=%s" % (date_of(yday), date_of(yday))
    r1 = report(d, "/api/v1/reports/queues?" + past)
    eq({x["queue"]: x["offered"] for x in r1["queues"]}["general"], 5, "a past day's figures")
    ttl = redis.cmd("TTL", P + "stats:" + date_of(yday))
    check(398 * 86400 < ttl <= 400 * 86400, "the day is kept whole, 400 days from its start (%s)"
          % ttl)
    redis.cmd("HINCRBY", bucket, "q|general|webchat|offered", 100)
    r2 = report(d, "/api/v1/reports/queues?" + past)
    eq({x["queue"]: x["offered"] for x in r2["queues"]}["general"], 5,
       "the second read takes the whole day, not the buckets")
    eq(report(d, "/api/v1/reports/contact-reasons?days=2")["total"], 6 + 4,
       "the older form ?days=N counts the last N days")

    # the buckets: 15 minutes of Redis' clock, kept 400 days
    keys = redis.cmd("KEYS", P + "stats:????-??-??:????")
    check(len(keys) >= 2, "the day's 15-minute buckets (%d)" % len(keys))
    ttl = redis.cmd("TTL", sorted(keys)[-1])
    check(399 * 86400 < ttl <= 400 * 86400, "a bucket is kept 400 days (%s s)" % ttl)

    # ---- series: the steps add up to the totals
    for step in ("15m", "hour", "day"):
        rep = report(d, "/api/v1/reports/queues?%s&interval=%s" % (q, step))
        s = {}
        for st in rep["series"]:
            for row in st["queues"]:
                s[row["queue"]] = s.get(row["queue"], 0) + row["offered"]
        eq((rep["interval"], s.get("general"), s.get("billing")), (step, 6, 2),
           "interval=%s: the steps add up" % step)
    rep = report(d, "/api/v1/reports/agents?%s&interval=hour" % q)
    eq(sum(r["accepted"] for st in rep["series"] for r in st["agents"] if r["agent"] == "alice"),
       6, "agents by the hour add up")

    # ---- CSV
    st, ctype, body = get(d, "/api/v1/reports/queues?%s&format=csv" % q)
    eq((st, ctype.split(";")[0]), (200, "text/csv"), "CSV: text/csv")
    check("\r\n" in body, "CSV: CRLF line ends")
    rows = list(csv.DictReader(io.StringIO(body, newline="")))
    eq(rows[0]["queue"] if rows else None, "general", "CSV: a header row, then the queues")
    byq = {r["queue"]: r for r in rows}
    eq((byq["general"]["offered"], byq["general"]["sla_attainment"], byq["tech"]["sla_attainment"]),
       ("6", "60", ""), "CSV: the same figures (null: an empty field)")
    eq(byq["general"]["handoff_reasons"], "the customer asked for a person: 1",
       "CSV: hand-off reasons in one field")
    st, ctype, body = get(d, "/api/v1/reports/contact-reasons?%s&format=csv" % q)
    rows = list(csv.reader(io.StringIO(body, newline="")))
    eq(rows[0], ["section", "group", "name", "count", "previous", "change"], "CSV: reasons header")
    names = [r[2] for r in rows[1:] if r[0] == "reason"]
    check("'" + HOSTILE_REASON in names and HOSTILE_REASON not in names,
          "CSV: a field that starts with = gets a leading ' (and its quotes and comma survive)")
    check(all(not c or c[0] not in "=+-@" for r in rows for c in r[:3]),
          "CSV: no text field starts a formula")
    st, ctype, body = get(d, "/api/v1/reports/agents?%s&format=csv&interval=day" % q)
    rows = list(csv.DictReader(io.StringIO(body, newline="")))
    check(rows and rows[0]["interval_start"].endswith("T00:00:00Z") and
          sum(int(r["accepted"]) for r in rows if r["agent"] == "alice") == 6,
          "CSV series: interval_start first, the steps add up")

    # ---- hostile queries: clear 400s, the daemon keeps running
    bad = [
        ("from=2031-13-01", "bad_parameter", "from:"),
        ("from=2031-02-29", "bad_parameter", "from:"),
        ("to=yesterday", "bad_parameter", "to:"),
        ("from=2031-05-07&to=2031-05-06", "bad_parameter", "from:"),
        ("from=2021-01-01&to=2031-01-01", "bad_parameter", "from:"),   # ten years
        ("days=0", "bad_parameter", "days:"),
        ("days=1e3", "bad_parameter", "days:"),
        ("days=7&from=2031-05-01", "bad_parameter", "days:"),
        ("format=xlsx", "bad_parameter", "format:"),
        ("interval=week", "bad_parameter", "interval:"),
        ("interval=15m&from=2031-01-01&to=2031-05-01", "bad_parameter", "interval:"),
        ("from=2031-05-01&from=2031-05-02", "bad_parameter", "from:"),
        ("from=%00", "bad_query", ""),
        ("from=2031-05-01%00", "bad_query", ""),
        ("from=%zz", "bad_query", ""),
        ("from=" + "9" * 1500, "bad_parameter", "from:"),              # long, cut short
        ("x=" + "a" * 3000, "bad_query", ""),                          # longer than 2048
    ]
    for query, code, starts in bad:
        st, body = d.http("GET", "/api/v1/reports/queues?" + query)
        ok = st == 400 and isinstance(body, dict) and body["error"]["code"] == code and \
            body["error"]["message"].startswith(starts) and len(body["error"]["message"]) < 300
        check(ok, "%.60s: 400 %s (%s %s)" % (query, code, st,
                                             body["error"] if isinstance(body, dict) else body))
    st, body = d.http("GET", "/api/v1/reports/contact-reasons?interval=hour")
    eq((st, body["error"]["code"]), (400, "bad_parameter"), "contact reasons: no series")
    st, body = d.http("GET", "/api/v1/reports/nope")
    eq(st, 404, "an unknown report: 404")
    st, body = d.http("GET", "/api/v1/reports/queues", auth=False)
    eq(st, 401, "reports need the token")
    try:
        st, _ = d.http("GET", "/api/v1/reports/queues?x=" + "a" * 100000)
        check(400 <= st < 500, "a 100 KB query: refused (%s)" % st)
    except (ConnectionError, http.client.HTTPException, OSError) as e:
        log("a 100 KB query: connection closed (%s)" % e)
    check(d.alive() and d.healthy(), "the daemon still runs")
    eq(report(d, "/api/v1/reports/agents")["from"], date_of(int(time.time()) // 86400),
       "no parameters: today (UTC)")
    eq(d.stop(), 0, "clean stop")


omrtest.run(test)
