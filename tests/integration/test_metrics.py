"""GET /metrics for supervisors: after scripted traffic (web chat visitors,
agents who accept, reject, miss and go offline, a bot that resolves one
conversation and hands another over) the queue gauges, the offer and bot
counters and the handle-time histogram have the expected values; they agree
with GET /api/v1/queues; the page is strict Prometheus text format; with
Redis down it is still served (omniroute_up 0, no queue gauges); the
Grafana dashboard is valid JSON that reads only metrics a real scrape has;
the new metrics are documented."""
import json
import math
import os
import re
import time

import omrtest
from omrtest import check, eq, log, Agent, Daemon, Redis, Visitor, wait_for, SRCDIR, token_hash

ROUTING = """
skills: [general, billing, tech, vip]
default_queue: general
queues:
  - name: general
    sla: { target: 80, within: 3s }
    status_interval: 0
  - name: billing
    skills: { billing: 1 }
    status_interval: 0
  - name: tech
    skills: { tech: 1 }
    status_interval: 0
  - name: vip
    skills: { vip: 1 }
    status_interval: 0
rules:
  - name: invoices
    when: 'text:lower():find("invoice")'
    queue: billing
  - name: faq
    when: 'text:lower():find("opening hours")'
    tier: bot
    queue: vip
bot: faqbot
offers: {timeout: 2s, max_missed: 5, reject_cooldown: 1m}
sessions: {grace: 1s}
reasons: [other]
outcomes: [resolved]
"""

AGENTS = "agents:\n" + "".join(
    "  - id: %s\n    token: \"%s\"\n    skills: %s\n    capacity: { webchat: 3 }\n"
    % (name, token_hash(name + "-token-0123456789abcdef"), skills) for name, skills in (
        ("alice", "{ general: 3, billing: 3 }"),
        ("bob", "{ general: 3, tech: 3 }"),
        ("carol", "{ general: 3 }"),
        ("dave", "{ tech: 3 }")))

NEW_FAMILIES = ["omniroute_queue_waiting", "omniroute_queue_oldest_wait_seconds",
                "omniroute_queue_agents", "omniroute_queue_sla_target_ratio",
                "omniroute_queue_sla_attainment_ratio", "omniroute_offers_total",
                "omniroute_bot_conversations_total", "omniroute_handle_seconds"]
QUEUE_FAMILIES = [f for f in NEW_FAMILIES if f.startswith("omniroute_queue_")]


# ---------------------------------------------------------------- the format

class FormatError(Exception):
    pass


NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def parse_value(s, where):
    if s in ("+Inf", "-Inf", "NaN"):
        return float(s.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", s):
        raise FormatError("%s: bad value %r" % (where, s))
    return float(s)


def parse_labels(s, i, where):
    """Labels from s[i] == '{': ({name: value}, index after '}')."""
    labels = {}
    i += 1
    while True:
        if s[i] == "}":
            if labels and s[i - 1] == ",":
                raise FormatError("%s: trailing comma" % where)
            return labels, i + 1
        m = LABEL.match(s, i)
        if not m:
            raise FormatError("%s: bad label name at %d" % (where, i))
        name = m.group(0)
        i = m.end()
        if s[i:i + 2] != '="':
            raise FormatError("%s: expected =\" after %s" % (where, name))
        i += 2
        value = []
        while s[i] != '"':
            if s[i] == "\\":
                esc = s[i + 1]
                if esc not in '\\"n':
                    raise FormatError("%s: bad escape \\%s" % (where, esc))
                value.append("\n" if esc == "n" else esc)
                i += 2
            elif s[i] == "\n":
                raise FormatError("%s: newline in a label value" % where)
            else:
                value.append(s[i])
                i += 1
        i += 1
        if name in labels:
            raise FormatError("%s: label %s twice" % (where, name))
        labels[name] = "".join(value)
        if s[i] == ",":
            i += 1
        elif s[i] != "}":
            raise FormatError("%s: expected , or } at %d" % (where, i))


def family_of(name, types):
    """The family a sample belongs to (histogram and summary suffixes)."""
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)] if name.endswith(suffix) else None
        if base and types.get(base) in ("histogram", "summary") and \
                (suffix != "_bucket" or types[base] == "histogram"):
            return base
    return name


def parse(text):
    """Strict text format 0.0.4: every line a HELP, a TYPE or a sample
    `name{labels} value`; HELP and TYPE at most once per family and before
    its samples; a family's samples together; no series twice; every
    family typed. Returns {(name, frozenset(labels)): value} and
    {family: type}."""
    if not text.endswith("\n"):
        raise FormatError("no newline at the end")
    samples, types, helps = {}, {}, set()
    done, current = set(), None
    for n, line in enumerate(text[:-1].split("\n"), 1):
        where = "line %d (%r)" % (n, line[:80])
        if line.startswith("#"):
            m = re.fullmatch(r"# (HELP|TYPE) (\S+) (.*)", line)
            if not m or not NAME.fullmatch(m.group(2)):
                raise FormatError("%s: a comment that is not HELP or TYPE" % where)
            kind, fam, rest = m.groups()
            if fam in done or fam == current and (fam, None) in samples:
                raise FormatError("%s: %s after the samples of %s" % (where, kind, fam))
            if kind == "HELP":
                if fam in helps:
                    raise FormatError("%s: HELP twice" % where)
                helps.add(fam)
            else:
                if fam in types or rest not in TYPES:
                    raise FormatError("%s: TYPE twice or unknown" % where)
                types[fam] = rest
            if current != fam:
                if current:
                    done.add(current)
                current = fam
            continue
        m = NAME.match(line)
        if not m:
            raise FormatError("%s: not a sample" % where)
        name, i = m.group(0), m.end()
        labels = {}
        if i < len(line) and line[i] == "{":
            labels, i = parse_labels(line + "\n", i, where)
        rest = line[i:]
        if not rest.startswith(" ") or rest.startswith("  "):
            raise FormatError("%s: one space before the value" % where)
        parts = rest[1:].split(" ")
        if len(parts) > 2 or (len(parts) == 2 and not re.fullmatch(r"-?\d+", parts[1])):
            raise FormatError("%s: value [timestamp] expected" % where)
        value = parse_value(parts[0], where)
        fam = family_of(name, types)
        if fam not in types:
            raise FormatError("%s: no TYPE for %s before its samples" % (where, fam))
        if fam != current:
            if fam in done:
                raise FormatError("%s: the samples of %s are not together" % (where, fam))
            if current:
                done.add(current)
            current = fam
        samples[(fam, None)] = True
        key = (name, frozenset(labels.items()))
        if key in samples:
            raise FormatError("%s: the same series twice" % where)
        samples[key] = value
        t = types[fam]
        if t == "counter" and (value < 0 or math.isnan(value)):
            raise FormatError("%s: a counter below 0" % where)
        if t == "histogram" and name == fam:
            raise FormatError("%s: a histogram sample without _bucket/_sum/_count" % where)
        if (t == "histogram" and name.endswith("_bucket")) != ("le" in labels):
            raise FormatError("%s: le belongs on (and only on) histogram buckets" % where)
    series = {k: v for k, v in samples.items() if k[1] is not None}
    check_histograms(series, types)
    return series, types


def check_histograms(series, types):
    """Buckets cumulative in le order, +Inf present and equal to _count, a
    _sum for every label set."""
    for fam, t in types.items():
        if t != "histogram":
            continue
        groups = {}
        for (name, labels), v in series.items():
            if name == fam + "_bucket":
                rest = frozenset((k, x) for k, x in labels if k != "le")
                le = dict(labels)["le"]
                groups.setdefault(rest, []).append((parse_value(le, fam), v))
        for rest, buckets in groups.items():
            buckets.sort()
            counts = [v for _, v in buckets]
            if counts != sorted(counts):
                raise FormatError("%s%s: buckets not cumulative" % (fam, dict(rest)))
            if buckets[-1][0] != float("inf"):
                raise FormatError("%s%s: no +Inf bucket" % (fam, dict(rest)))
            if series.get((fam + "_count", rest)) != buckets[-1][1]:
                raise FormatError("%s%s: +Inf bucket != _count" % (fam, dict(rest)))
            if (fam + "_sum", rest) not in series:
                raise FormatError("%s%s: no _sum" % (fam, dict(rest)))
        for (name, labels) in series:
            if name in (fam + "_sum", fam + "_count") and labels not in groups:
                raise FormatError("%s%s: _sum/_count without buckets" % (fam, dict(labels)))


def self_test_parser():
    """The parser refuses what it should (a parser that accepts anything
    proves nothing)."""
    good = ('# HELP a_total x\n# TYPE a_total counter\na_total{k="v\\"\\\\\\n"} 1\n'
            '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3.5\nh_count 2\n')
    series, _ = parse(good)
    eq(series[("a_total", frozenset({("k", 'v"\\\n')}))], 1.0, "parser: escaped label values")
    bad = {
        "untyped sample": "x 1\n",
        "TYPE after samples": "# TYPE x gauge\nx 1\n# HELP x y\n",
        "split family": "# TYPE x gauge\nx{a=\"1\"} 1\n# TYPE y gauge\ny 1\nx{a=\"2\"} 1\n",
        "bad escape": '# TYPE x gauge\nx{a="\\t"} 1\n',
        "duplicate": "# TYPE x gauge\nx 1\nx 1\n",
        "no value": "# TYPE x gauge\nx\n",
        "bad value": "# TYPE x gauge\nx one\n",
        "not cumulative": '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\n'
                          'h_sum 1\nh_count 1\n',
        "+Inf != count": '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n',
        "no +Inf": '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
        "other comment": "# hello\n",
        "no final newline": "# TYPE x gauge\nx 1",
    }
    for what, text in bad.items():
        try:
            parse(text)
            check(False, "parser refuses: " + what)
        except FormatError:
            check(True, "parser refuses: " + what)


# ---------------------------------------------------------------- helpers

def scrape(d):
    st, text = d.http("GET", "/metrics")
    eq(st, 200, "GET /metrics answers 200")
    try:
        series, types = parse(text)
        check(True, "the page is valid Prometheus text format")
    except FormatError as e:
        check(False, "the page is valid Prometheus text format: %s" % e)
        raise
    return series, types, text


def val(series, name, **labels):
    return series.get((name, frozenset(labels.items())))



def status(d, conv):
    return d.conversation(conv)["status"]


def agents_in(series, queue):
    return {st: val(series, "omniroute_queue_agents", queue=queue, state=st)
            for st in ("available", "busy", "away", "offline")}


def offers(series):
    return {o: val(series, "omniroute_offers_total", outcome=o)
            for o in ("accepted", "rejected", "missed", "withdrawn")}


def matches_api(d, series, what):
    """The gauges say what GET /api/v1/queues says."""
    for q in d.api("/api/v1/queues")["queues"]:
        name = q["name"]
        eq(val(series, "omniroute_queue_waiting", queue=name), q["waiting"],
           "%s: waiting as the API says (%s)" % (name, what))
        a = agents_in(series, name)
        eq(a["available"] + a["busy"], q["agents_available"],
           "%s: available + busy = the API's agents_available (%s)" % (name, what))
        if q["sla"] and q["sla"]["answered"]:
            eq(val(series, "omniroute_queue_sla_attainment_ratio", queue=name),
               round(q["sla"]["within"] / q["sla"]["answered"], 6),
               "%s: attainment as the API's within/answered (%s)" % (name, what))


# ---------------------------------------------------------------- the test

def test(tmp):
    self_test_parser()
    redis = Redis(tmp)
    faqbot = "  - name: faqbot\n    path: %s/plugins/faqbot/.libs/faqbot.so\n" \
             "    config_file: %s/conf/faqbot.yaml\n" % (omrtest.BUILDDIR, SRCDIR)
    d = Daemon(tmp, redis, routing=ROUTING, agents=AGENTS, extra_plugins=faqbot).start()

    # ---- before any traffic: every series there, at zero
    series, types, _ = scrape(d)
    for fam in NEW_FAMILIES:
        check(fam in types, "%s is on the page" % fam)
    eq(types.get("omniroute_handle_seconds"), "histogram", "handle time is a histogram")
    eq(offers(series), {"accepted": 0, "rejected": 0, "missed": 0, "withdrawn": 0},
       "no offers yet")
    eq(val(series, "omniroute_queue_waiting", queue="general"), 0, "nothing waiting")
    eq(agents_in(series, "general"), {"available": 0, "busy": 0, "away": 0, "offline": 4},
       "general: every agent offline (all four have its skills: none)")
    eq(agents_in(series, "billing"), {"available": 0, "busy": 0, "away": 0, "offline": 1},
       "billing: alice only")
    eq(agents_in(series, "vip"), {"available": 0, "busy": 0, "away": 0, "offline": 0},
       "vip: nobody has the skill")
    eq(val(series, "omniroute_queue_sla_target_ratio", queue="general"), 0.8,
       "general's service level target")
    eq(val(series, "omniroute_queue_sla_target_ratio", queue="billing"), None,
       "billing has no service level")
    eq(val(series, "omniroute_queue_sla_attainment_ratio", queue="general"), None,
       "no attainment before the first answer of the day")
    eq(val(series, "omniroute_handle_seconds_count", queue="general"), 0,
       "a handle-time series per configured queue from the start")

    # ---- offers: accepted, rejected, missed, withdrawn
    alice = Agent(d, token="alice-token-0123456789abcdef")
    v1 = Visitor(d, name="One")
    c1 = v1.say("hello")["conversation"]
    o = alice.offer_for(c1)
    eq(alice.accept(o["offer"])["type"], "assigned", "alice accepts the first conversation")
    accepted_at = time.time()

    v2 = Visitor(d, name="Two")
    c2 = v2.say("hello again")["conversation"]
    c2_queued = time.time()
    o = alice.offer_for(c2)
    alice.send({"type": "reject", "offer": o["offer"], "reason": "busy"})
    eq(alice.expect("revoked")["reason"], "rejected", "alice rejects the second")

    v3 = Visitor(d, name="Three")
    c3 = v3.say("a question about my invoice")["conversation"]
    alice.offer_for(c3)
    eq(alice.expect("revoked", timeout=10)["reason"], "expired", "alice lets the third expire")
    # the only billing agent, she gets it again at once (offer.lua); she rejects it
    o = alice.offer_for(c3, timeout=5)
    alice.send({"type": "reject", "offer": o["offer"]})
    eq(alice.expect("revoked")["reason"], "rejected", "missed, it came back to her; she rejects it")

    carol = Agent(d, token="carol-token-0123456789abcdef")
    o = carol.offer_for(c2)
    carol.presence("offline")
    eq(carol.expect("revoked")["reason"], "withdrawn",
       "carol goes offline: her offer is withdrawn")
    carol.presence("away")   # connected, away
    wait_for(lambda: status(d, c2) == "queued" and status(d, c3) == "queued",
             what="both conversations waiting again")

    series, _, _ = scrape(d)
    eq(offers(series), {"accepted": 1, "rejected": 2, "missed": 1, "withdrawn": 1},
       "offers of each outcome")
    eq((val(series, "omniroute_queue_waiting", queue="general"),
        val(series, "omniroute_queue_waiting", queue="billing"),
        val(series, "omniroute_queue_waiting", queue="tech")), (1, 1, 0),
       "waiting: the rejected one in general, the missed one in billing")
    oldest = val(series, "omniroute_queue_oldest_wait_seconds", queue="general")
    check(0 < oldest <= time.time() - c2_queued + 1,
          "general's oldest wait is the second conversation's (%.3f s)" % oldest)
    check(val(series, "omniroute_queue_oldest_wait_seconds", queue="billing") > 0,
          "billing's oldest wait")
    eq(val(series, "omniroute_queue_oldest_wait_seconds", queue="tech"), 0,
       "tech: nothing waits, 0")
    eq(agents_in(series, "general"), {"available": 0, "busy": 1, "away": 1, "offline": 2},
       "general: alice busy (a conversation), carol away, bob and dave offline")
    eq(agents_in(series, "billing"), {"available": 0, "busy": 1, "away": 0, "offline": 0},
       "billing: alice busy")
    eq(agents_in(series, "tech"), {"available": 0, "busy": 0, "away": 0, "offline": 2},
       "tech: bob and dave offline")
    matches_api(d, series, "after the offers")

    # ---- wrap-up: the handle time
    alice.send({"type": "wrapup", "conversation": c1, "reason": "other", "outcome": "resolved"})
    eq(alice.expect("unassigned")["reason"], "wrapped_up", "alice wraps the first up")
    handled = time.time() - accepted_at
    series, _, _ = scrape(d)
    eq(val(series, "omniroute_handle_seconds_count", queue="general"), 1,
       "one handle time observed in general")
    hsum = val(series, "omniroute_handle_seconds_sum", queue="general")
    check(0 < hsum <= handled + 1, "its sum is the time from accept to wrap-up (%.3f s)" % hsum)
    eq((val(series, "omniroute_handle_seconds_bucket", queue="general", le="30"),
        val(series, "omniroute_handle_seconds_bucket", queue="general", le="7200"),
        val(series, "omniroute_handle_seconds_bucket", queue="general", le="+Inf")), (1, 1, 1),
       "in the first bucket (30 s), and every one above")
    eq(val(series, "omniroute_handle_seconds_count", queue="billing"), 0, "none in billing")
    eq(agents_in(series, "general")["available"], 1, "alice available again (no conversation)")

    # ---- the service level: a second answer, past `within`
    time.sleep(max(0, c2_queued + 3.5 - time.time()))
    bob = Agent(d, token="bob-token-0123456789abcdef")
    o = bob.offer_for(c2)
    eq(bob.accept(o["offer"])["type"], "assigned", "bob accepts the second, late")
    series, _, _ = scrape(d)
    q = {x["name"]: x for x in d.api("/api/v1/queues")["queues"]}["general"]
    eq(q["sla"]["answered"], 2, "the API counts two answers in general today")
    if omrtest.SLOW == 1:
        eq(q["sla"]["within"], 1, "the first within the service level, the second not")
    eq(val(series, "omniroute_queue_sla_attainment_ratio", queue="general"),
       round(q["sla"]["within"] / 2, 6), "attainment = within / answered")
    eq(val(series, "omniroute_queue_sla_attainment_ratio", queue="billing"), None,
       "no attainment for a queue without a service level")
    eq(offers(series)["accepted"], 2, "two accepted")
    eq(agents_in(series, "general"), {"available": 1, "busy": 1, "away": 1, "offline": 1},
       "general: alice available, bob busy, carol away, dave offline")
    eq(agents_in(series, "tech"), {"available": 0, "busy": 1, "away": 0, "offline": 1},
       "tech: bob busy, dave offline")
    matches_api(d, series, "after the second answer")

    # ---- the bot: one contained, one handed over (to vip, where nobody is)
    v4 = Visitor(d, name="Four")
    v4.say("what are your opening hours?")
    eq(v4.ws.recv_type("message")["from"], "bot", "the bot answers")
    v4.say("thanks", cmid="t1")
    v4.ws.recv_type("message")
    v5 = Visitor(d, name="Five")
    c5 = v5.say("what are your opening hours?")["conversation"]
    v5.ws.recv_type("message")
    v5.say("I want a person", cmid="p1")
    wait_for(lambda: status(d, c5) == "queued", what="handed over")
    series = wait_for(lambda: (lambda s: s if val(s, "omniroute_bot_conversations_total",
                                                  result="contained") == 1 else None)(
        scrape(d)[0]), what="the contained conversation counted")
    eq((val(series, "omniroute_bot_conversations_total", result="contained"),
        val(series, "omniroute_bot_conversations_total", result="handoff")), (1, 1),
       "bot: one contained, one handed over")
    eq(val(series, "omniroute_queue_waiting", queue="vip"), 1, "the hand-off waits in vip")
    eq(offers(series), {"accepted": 2, "rejected": 2, "missed": 1, "withdrawn": 1},
       "the bot's conversations made no offers")
    full = series

    # ---- the dashboard reads only what a scrape has
    with open(os.path.join(SRCDIR, "contrib", "grafana", "omniroute.json")) as f:
        try:
            dash = json.load(f)
            check(True, "contrib/grafana/omniroute.json is valid JSON")
        except ValueError as e:
            check(False, "contrib/grafana/omniroute.json is valid JSON: %s" % e)
            raise
    names = set(re.findall(r"omniroute_[a-zA-Z0-9_:]*", json.dumps(dash)))
    have = {n for n, _ in full} | set(types)
    for n in sorted(names):
        check(n in have, "the dashboard's %s is on the page" % n)
    for fam in ("omniroute_queue_waiting", "omniroute_queue_oldest_wait_seconds",
                "omniroute_queue_agents", "omniroute_queue_sla_attainment_ratio",
                "omniroute_offers_total", "omniroute_bot_conversations_total",
                "omniroute_handle_seconds_bucket"):
        check(fam in names, "the dashboard shows %s" % fam)
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    check(any("histogram_quantile(0.5" in e for e in exprs) and
          any("histogram_quantile(0.9" in e for e in exprs), "handle time p50 and p90")

    # ---- documented
    with open(os.path.join(SRCDIR, "docs", "admin-api.md")) as f:
        doc = f.read()
    for fam in NEW_FAMILIES:
        check(re.search(r"^\| `%s[{`]" % fam, doc, re.M) is not None,
              "%s is in admin-api.md's table" % fam)

    # ---- Redis down: the page is still served, without the queue gauges
    redis.stop()
    wait_for(lambda: d.http("GET", "/healthz", auth=False)[0] == 503, what="Redis seen down")
    series, types, text = scrape(d)
    eq(val(series, "omniroute_up"), 0, "omniroute_up 0 while Redis is down")
    for fam in QUEUE_FAMILIES:
        check(fam not in types and fam not in text, "no %s while Redis is down" % fam)
    eq(offers(series), offers(full), "the counters are still there")
    eq(val(series, "omniroute_handle_seconds_count", queue="general"), 1, "and the histogram")

    redis.start()
    wait_for(lambda: d.healthy(), timeout=30, what="Redis back")
    series = wait_for(lambda: (lambda s: s if val(s, "omniroute_up") == 1 else None)(
        scrape(d)[0]), what="omniroute_up 1")
    eq(val(series, "omniroute_queue_waiting", queue="vip"), 1, "the queue gauges are back")
    for a in (alice, bob, carol):
        a.close()
    eq(d.stop(), 0, "clean stop")


omrtest.run(test)
