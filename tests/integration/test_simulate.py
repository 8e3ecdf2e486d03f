"""`omniroute --simulate` (issue 20, replay recorded traffic), end to end.

A recorded "week", compressed: the real daemon and a real Redis, web chat
visitors and e-mails (LMTP), three agents who log in, go on and off shift
(available / away, one by a supervisor), accept every offer at once and
hold each conversation for a fixed time before they wrap it up, and a
customer who gives up waiting. Each "day" runs on the real clock for a
few seconds (service levels are 2 s and handling times 1.5 s, so that every
wait is either clearly within or clearly beyond them), and between Monday
and Tuesday the daemon's test clock (admin.test_clock) moves a day on, so
that the recording spans two days of Redis' clock as the scripts see it.
The daemon is then stopped and:

- the recording is there: agents:history holds every presence change with
  its reason and who set it; the conversations carry answered_at;
- replayed with the unchanged routing file, the simulation gives the
  recorded outcomes per queue: the same offered and answered counts (+-1
  abandon) and waits within 1 s (the tolerance: the replay accepts offers
  at once, the recording took the websocket round trips);
- with a changed rule (Dutch billing to a smaller team: a queue only the
  one Dutch billing expert serves), exactly the Dutch billing conversations
  are listed under `changed`, all in the new queue, and they wait longer;
- read-only: a digest of the whole keyspace (every key's type, DUMP and
  expiry) is identical before and after, and Redis counted only read
  commands (INFO commandstats);
- determinism: two runs print byte-identical JSON and tables;
- hostile input: bad dates, a window the wrong way round, a missing or
  broken routing file, a proposed file with an error, Redis down: a clear
  error and a non-zero exit code."""
import hashlib
import json
import os
import queue
import smtplib
import socket
import subprocess
import threading
import time

import omrtest
from omrtest import check, eq, log, token_hash, Agent, Daemon, Redis, Visitor

P = "omr:{main}:"
HOLD = 1.5          # s an agent keeps a conversation
SLA = 2             # s of the service levels

ROUTING = """
skills: [general, billing]
default_queue: general
queues:
  - name: general
    status_interval: 0
    sla: { target: 80, within: %(sla)ds }
  - name: billing
    skills: { billing: 1 }
    status_interval: 0
    sla: { target: 80, within: %(sla)ds }
%(extra_queue)s
rules:
  - name: dutch billing
    when: 'text:lower():find("factuur")'
    queue: %(billing)s
    language: nl
offers: { timeout: 10s, max_missed: 5, reject_cooldown: 1m }
sessions: { grace: 2s }
reasons: [other]
outcomes: [resolved]
"""

CURRENT = ROUTING % {"sla": SLA, "billing": "billing", "extra_queue": ""}
# the change: Dutch billing to a queue only an expert (billing 3) serves
PROPOSED = ROUTING % {"sla": SLA, "billing": "billing_nl", "extra_queue": """  - name: billing_nl
    skills: { billing: 3 }
    status_interval: 0
    sla: { target: 80, within: %ds }""" % SLA}

AGENTS = """
agents:
  - id: anna
    name: Anna
    token: "%s"
    skills: { general: 3, billing: 3 }
    languages: [nl, en]
    capacity: { webchat: 1, email: 1 }
  - id: bert
    name: Bert
    token: "%s"
    skills: { general: 3, billing: 2 }
    languages: [nl, en]
    capacity: { webchat: 1, email: 1 }
  - id: carl
    name: Carl
    token: "%s"
    skills: { general: 3 }
    languages: [en]
    capacity: { webchat: 1, email: 1 }
  - id: sue
    name: Sue
    token: "%s"
    roles: [supervisor]
""" % tuple(token_hash("%s-token-0123456789ab" % n) for n in ("anna", "bert", "carl", "sue"))


class Worker(threading.Thread):
    """An agent who accepts every offer at once and wraps up HOLD s later.
    The thread owns the websocket; presence changes go through cmds."""

    def __init__(self, d, name):
        super().__init__(daemon=True)
        self.agent = Agent(d, token="%s-token-0123456789ab" % name, available=False)
        self.name = name
        self.cmds = queue.Queue()
        self.stop = threading.Event()
        self.holding = {}       # conversation -> when to wrap up
        self.handled = []
        self.error = None

    def presence(self, status, reason=None):
        self.cmds.put({"type": "presence", "status": status,
                       **({"reason": reason} if reason else {})})

    def run(self):
        try:
            self.loop()
        except Exception as e:     # reported by the main thread
            self.error = e

    def loop(self):
        ws = self.agent.ws
        while not self.stop.is_set() or self.holding:
            now = time.time()
            for conv, at in sorted(self.holding.items()):
                if at <= now:
                    ws.send({"type": "close", "conversation": conv})
                    ws.send({"type": "wrapup", "conversation": conv, "reason": "other",
                             "outcome": "resolved"})
                    del self.holding[conv]
                    self.handled.append(conv)
            while not self.cmds.empty():
                ws.send(self.cmds.get())
            try:
                m = ws.recv(0.02)
            except (socket.timeout, TimeoutError):
                continue
            if m.get("type") == "offer":
                ws.send({"type": "accept", "offer": m["offer"]})
            elif m.get("type") == "assigned":
                c = m.get("conversation")
                cid = c.get("id") if isinstance(c, dict) else c
                self.holding[cid] = time.time() + HOLD


DAY = 86400000  # ms


def lmtp(port, frm, subject, body, n):
    data = ("From: %s\r\nTo: support@example.com\r\nSubject: %s\r\nMessage-ID: <sim-%d@example.net>\r\n"
            "Date: Wed, 25 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n" % (frm, subject, n, body))
    c = smtplib.LMTP("127.0.0.1", port)
    c.sendmail(frm, ["support@example.com"], data.encode())
    c.quit()


def digest(redis):
    """Every key's type, content (DUMP) and expiry, hashed."""
    h = hashlib.sha256()
    keys = sorted(redis.cmd("KEYS", "*"))
    for k in keys:
        h.update(k.encode() + b"\0" + redis.cmd("TYPE", k).encode() + b"\0")
        d = redis.cmd("DUMP", k)
        h.update(d if isinstance(d, bytes) else str(d).encode("latin-1", "replace"))
        h.update(str(redis.cmd("PEXPIRETIME", k)).encode())
    return len(keys), h.hexdigest()


def simulate(conf, proposed, frm, to, *extra):
    p = subprocess.run([omrtest.DAEMON, "-c", conf, "--simulate", proposed, "--from", str(frm),
                        "--to", str(to)] + list(extra), capture_output=True, text=True,
                       timeout=120)
    return p.returncode, p.stdout, p.stderr


def record(d, redis, lmtp_port):
    """The compressed week; the ids of the Dutch billing conversations and
    of every conversation."""
    workers = {n: Worker(d, n) for n in ("anna", "bert", "carl")}
    for w in workers.values():
        w.start()
    sue = Agent(d, token="sue-token-0123456789ab", available=False)
    dutch, everything, visitors = [], [], []

    def chat(text):
        v = Visitor(d, name="V%d" % len(visitors))
        visitors.append(v)
        c = v.say(text)["conversation"]
        everything.append(c)
        return v, c

    def settle(what):
        omrtest.wait_for(lambda: all(not w.holding for w in workers.values()) and
                         not redis.cmd("ZCARD", P + "queue:general") and
                         not redis.cmd("ZCARD", P + "queue:billing"), timeout=30, what=what)

    # Monday: everybody on shift; a burst of Dutch invoices, English
    # questions, two e-mails
    for w in workers.values():
        w.presence("available", "start of shift")
    time.sleep(0.5)
    for i in range(4):
        dutch.append(chat("Mijn factuur %d klopt niet" % i)[1])
    for i in range(2):
        chat("A question about my account %d" % i)
    lmtp(lmtp_port, "jan@example.nl", "Factuur", "Graag uitleg over mijn factuur", 1)
    lmtp(lmtp_port, "joe@example.com", "Password", "I cannot log in", 2)
    settle("Monday's traffic handled")
    # Monday evening: bert and carl off shift (carl by the supervisor),
    # anna alone: one customer gives up waiting
    workers["bert"].presence("away", "end of shift")
    sue.send({"type": "agent_presence", "agent": "carl", "status": "away", "reason": "end of shift"})
    time.sleep(0.5)
    chat("Question about delivery")
    chat("Question about returns")
    time.sleep(0.2)
    v, gone = chat("Another question about my order")
    time.sleep(2.5)     # anna is busy until 3 s: this one gives up first
    v.ws.send({"type": "leave"})
    settle("the evening handled")
    # Tuesday: the daemon's test clock moves a day on (the night passes);
    # bert and carl back; Dutch invoices again, and general work
    d.advance_clock(DAY)
    workers["bert"].presence("available", "start of shift")
    workers["carl"].presence("available", "start of shift")
    time.sleep(0.5)
    for i in range(3):
        dutch.append(chat("Nog een factuur %d" % i)[1])
    for i in range(3):
        chat("General question %d" % i)
    settle("Tuesday's traffic handled")
    for w in workers.values():
        w.presence("away", "end of shift")
    time.sleep(0.5)
    for w in workers.values():
        w.stop.set()
        w.join(10)
        check(w.error is None, "%s worked without errors: %r" % (w.name, w.error))
    convs = redis.cmd("ZRANGE", P + "convs", "0", "-1")
    return dutch, gone, convs, workers


def test(tmp):
    redis = Redis(tmp)
    lmtp_port = omrtest.free_port()
    d = Daemon(tmp, redis, routing=CURRENT, agents=AGENTS, test_clock=True,
               extra_plugins=omrtest.email_plugin(lmtp_port)).start()
    t0 = int(time.time() * 1000) - 2000
    dutch_chats, gone, convs, workers = record(d, redis, lmtp_port)
    t1 = d.advance_clock(0) + 2000  # the recording ends a day later by the moved clock
    d.stop()
    conf = d.conf
    proposed = os.path.join(tmp, "proposed.yaml")
    with open(proposed, "w") as f:
        f.write(PROPOSED)
    current = os.path.join(tmp, "routing.yaml")

    # the recording
    hist = redis.cmd("XRANGE", P + "agents:history", "-", "+")
    entries = [dict(zip(e[1][::2], e[1][1::2])) for e in hist]
    by = {(e["agent"], e["presence"], e["reason"], e["by"]) for e in entries}
    check(("anna", "away", "logged in", "system") in by, "a log-in is recorded: %r" % sorted(by))
    check(("bert", "available", "start of shift", "agent") in by, "set by the agent")
    check(("carl", "away", "end of shift", "supervisor:sue") in by, "set by a supervisor")
    check(all(int(e["at"]) > 0 for e in entries), "each with its time")
    routed = [c for c in convs if redis.cmd("HGET", P + "conv:" + c, "queue")]
    eq(len(convs), 17, "17 conversations recorded (15 chats, 2 e-mails)")
    answered = [c for c in convs if redis.cmd("HGET", P + "conv:" + c, "answered_at")]
    eq(len(answered), len(convs) - 1, "every conversation but the abandoned one has answered_at")
    dutch = [c for c in convs if json.loads(redis.cmd("HGET", P + "conv:" + c, "routing"))
             ["rules"] == ["dutch billing"]]
    eq(len(dutch), 8, "8 Dutch billing conversations (7 chats, 1 e-mail)")
    check(set(dutch_chats) <= set(dutch), "the chats among them")
    check(len(routed) == len(convs), "all routed")

    # read-only: the keyspace, and what Redis was asked
    before = digest(redis)
    redis.cmd("CONFIG", "RESETSTAT")
    rc, out, err = simulate(conf, current, t0, t1, "--json")
    stats = redis.cmd("INFO", "commandstats")
    eq(rc, 0, "the simulation runs: %s" % err)
    cmds = sorted(l.split(":")[0][len("cmdstat_"):] for l in stats.splitlines()
                  if l.startswith("cmdstat_"))
    check(set(cmds) <= {"zrangebyscore", "hgetall", "hmget", "lrange", "xrange",
                        "config|resetstat", "info"}, "only read commands: %r" % cmds)
    after = digest(redis)
    eq(after, before, "the keyspace is unchanged (%d keys)" % before[0])

    # unchanged: the recorded outcomes
    same = json.loads(out)
    eq(same["conversations"], 17, "17 conversations replayed")
    check(same["presence_changes"] >= 9, "with the agents' history: %d" % same["presence_changes"])
    for q in ("general", "billing"):
        r, c = same["recorded"]["queues"][q], same["current"]["queues"][q]
        log("%s recorded %r\n%s simulated %r" % (q, r, q, c))
        eq(c["offered"], r["offered"], "%s: offered as recorded" % q)
        check(abs(c["answered"] - r["answered"]) <= 1, "%s: answered as recorded (+-1)" % q)
        check(abs(c["abandoned"] - r["abandoned"]) <= 1, "%s: abandoned as recorded (+-1)" % q)
        check(abs(c["wait_p90_s"] - r["wait_p90_s"]) <= 1.0,
              "%s: p90 wait as recorded within 1 s (%.1f, %.1f)" % (q, c["wait_p90_s"],
                                                                   r["wait_p90_s"]))
        check(abs(c["within_sla"] - r["within_sla"]) <= 1, "%s: within the SLA (+-1)" % q)
    eq(same["recorded"]["queues"]["general"]["abandoned"], 1, "the recorded abandon")
    eq(same["changed"], [], "the same file changes nothing")
    eq(same["warnings"], [], "a recording by this version: no warnings")
    check(len(same["assumptions"]) >= 5 and "abandons" in same["weakest"],
          "the assumptions and the weakest point are stated")
    eq(same["current"]["queues"]["billing"]["channels"]["email"]["offered"], 1,
       "per channel: the Dutch e-mail in billing")

    # the change: Dutch billing to a smaller team
    rc, out, err = simulate(conf, proposed, t0, t1, "--json")
    eq(rc, 0, "the proposed file simulates: %s" % err)
    ch = json.loads(out)
    eq(sorted(x["id"] for x in ch["changed"]), sorted(dutch), "exactly the Dutch billing "
       "conversations route differently")
    check(all(x["current"]["queue"] == "billing" and x["proposed"]["queue"] == "billing_nl"
              for x in ch["changed"]), "from billing to billing_nl, with both explanations")
    check(all(x["proposed"]["rules"] == ["dutch billing"] for x in ch["changed"]),
          "each with its rules")
    nl, cur = ch["proposed"]["queues"]["billing_nl"], ch["current"]["queues"]["billing"]
    eq(nl["offered"], 8, "billing_nl gets the 8")
    check("billing" not in ch["proposed"]["queues"] or
          ch["proposed"]["queues"]["billing"]["offered"] == 0, "billing gets none")
    log("billing now %r\nbilling_nl proposed %r" % (cur, nl))
    # one expert: longer waits; the customers who waited (in the recording)
    # less than the one who gave up may now give up too (the patience model)
    waited = [sum(x[side]["simulated"]["wait_s"] for x in ch["changed"])
              for side in ("current", "proposed")]
    check(waited[1] >= waited[0] + HOLD, "the Dutch billing conversations wait longer: "
          "%.1f s against %.1f s in all" % (waited[1], waited[0]))
    check(nl["wait_p90_s"] > cur["wait_p90_s"] or nl["abandoned"] > cur["abandoned"],
          "a longer p90 wait or more abandons")
    check(nl["within_sla"] < cur["within_sla"], "fewer within the service level")
    eq(ch["current"], same["current"], "the current side does not depend on the proposal")

    # the bot tier: a proposal that sends everything not valued high to a
    # bot first (nothing was with the bot in the recording: no containment
    # rate is known, so every one is handed over, at once)
    botfile = os.path.join(tmp, "bot.yaml")
    with open(botfile, "w") as f:
        f.write(CURRENT + "bot: faqbot\nvalue:\n  default: { customer: high, organisation: low }\n")
    rc, botout, err = simulate(conf, botfile, t0, t1, "--json")
    eq(rc, 0, "a proposal with a bot tier simulates: %s" % err)
    b = json.loads(botout)
    eq(sum(q["bot"] for q in b["proposed"]["queues"].values()), 17, "all 17 to the bot first")
    eq(sum(q["bot_handoffs"] for q in b["proposed"]["queues"].values()), 17, "and handed over")
    eq(b["proposed"]["quadrants"], {"self_service": 17}, "the quadrant mix")
    eq(b["proposed"]["tiers"], {"bot": 17}, "the tiers")
    eq(b["changed_count"], 17, "every conversation routes differently")

    # determinism
    rc2, out2, _ = simulate(conf, proposed, t0, t1, "--json")
    eq((rc2, out2), (0, out), "two runs print byte-identical JSON")
    rc, table, err = simulate(conf, proposed, t0, t1)
    rc2, table2, _ = simulate(conf, proposed, t0, t1)
    eq((rc, rc2, table), (0, 0, table2), "and the same table")
    for want in ("queue billing_nl", "recorded", "proposed", "Routed differently: 8",
                 "Assumptions:", "Weakest where:"):
        check(want in table, "the table shows %r" % want)

    # an empty window: nothing, but a valid answer
    rc, out, err = simulate(conf, proposed, "2020-01-01", "2020-01-02", "--json")
    eq((rc, json.loads(out)["conversations"]), (0, 0), "a window with nothing recorded")

    # hostile input
    bad_yaml = os.path.join(tmp, "bad.yaml")
    with open(bad_yaml, "w") as f:
        f.write("queues: [\n  {name: x\n")
    bad_rule = os.path.join(tmp, "badrule.yaml")
    with open(bad_rule, "w") as f:
        f.write(CURRENT.replace("queue: billing\n    language", "queue: nowhere\n    language"))
    for args, want in (
            ((proposed, "yesterday", t1), "--from"),
            ((proposed, t0, "2026-13-45"), "--to"),
            ((proposed, t1, t0), "after --from"),
            ((proposed, "2020-01-01", "2022-01-01"), "400 days"),
            ((os.path.join(tmp, "missing.yaml"), t0, t1), "missing.yaml"),
            ((tmp, t0, t1), "simulate"),
            ((bad_yaml, t0, t1), "bad.yaml"),
            ((bad_rule, t0, t1), "nowhere")):
        rc, out, err = simulate(conf, *args)
        check(rc != 0 and want in err and out == "",
              "%r: refused with a clear error (%d %r)" % (args, rc, err.strip()))
    p = subprocess.run([omrtest.DAEMON, "-c", conf, "--from", "2020-01-01"],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 2, "--from without --simulate: usage")
    redis.stop()
    rc, out, err = simulate(conf, proposed, t0, t1, "--json")
    check(rc == 1 and "Redis" in err and out == "", "Redis down: %d %r" % (rc, err.strip()))


if __name__ == "__main__":
    omrtest.run(test)
