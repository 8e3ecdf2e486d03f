"""Callbacks (issue 14): the `callback` action of on_max_wait and
out_of_hours. Two real daemons on one real Redis, web chat visitors over
real websockets; the daemons' test clocks (admin.test_clock) are moved
rather than waited for, both by the same amount.

- max wait fires the callback: the customer leaves the queue and is told
  the next slots (30 minutes each, in business hours) to pick from;
- the customer answers "2": told the time, the callback moves to slot 2;
  ending the chat then keeps the promise;
- nothing is offered before the slot; at it, the conversation is offered
  once (across both nodes) to an agent, in the queue the rule named, with
  raised priority, tagged callback, the offer saying when it was promised;
- a customer who writes before the time cancels it and is routed normally;
  a Dutch one is told in Dutch;
- a customer who does not pick is given the first slot; the schedule
  survives a restart of both daemons;
- out of hours (a calendar closed now, pick: false) gives the next opening;
- the counts (scheduled, due, done, missed, cancelled) in /metrics;
- routing.yaml mistakes in callback settings fail -t with file:line."""
import datetime
import os
import re
import subprocess
import time

import omrtest
from omrtest import check, eq, log, token_hash, Agent, Daemon, Redis, Visitor, wait_for, DAEMON

P = "omr:{main}:"
SLOT = 30 * 60 * 1000


def routing(now_hour):
    # a calendar closed now (and for the two hours the test moves the
    # clock): open three hours from now, for an hour
    a = (now_hour + 3) % 24
    b = a + 1
    return """
skills: [general]
default_queue: general
calendars:
  - name: later
    timezone: UTC
    hours: { mon-sun: "%02d:00-%02d:00" }
queues:
  - name: general
    max_wait: 1m
    on_max_wait:
      action: callback
      text: "Sorry for the wait."
      texts: { nl: "Sorry voor het wachten." }
      queue: callbacks
      slots: 3
      slot_length: 30m
      priority_boost: 40
  - name: callbacks
    priority: 10
  - name: night
    calendar: later
    out_of_hours:
      action: callback
      text: "We are closed; we open {next_open}."
      pick: false
rules:
  - name: dutch
    when: 'text:lower():find("factuur")'
    language: nl
  - name: night
    when: 'text:lower():find("night")'
    queue: night
offers: {timeout: 30s, max_missed: 3, reject_cooldown: 1m}
reasons: [other]
outcomes: [resolved]
""" % (a, b if b <= 24 else 24)


AGENTS = """
agents:
  - id: alice
    token: "%s"
    skills: { general: 3 }
    capacity: { webchat: 5 }
""" % token_hash("alice-token-0123456789")


def told(v, needle, timeout=10):
    """The next system message to visitor v that contains needle."""
    deadline = time.time() + timeout
    while True:
        m = v.ws.recv(max(0.1, deadline - time.time()))
        if m.get("type") == "message" and needle in (m.get("text") or ""):
            return m["text"]


def counts(redis):
    h = redis.cmd("HGETALL", P + "callbacks:count") or []
    return {h[i]: int(h[i + 1]) for i in range(0, len(h), 2)}


def conv_of(d, visitor):
    convs = d.api("/api/v1/conversations?channel=webchat&limit=100")["conversations"]
    mine = [c for c in convs if c.get("thread") == visitor.id or c.get("address") == visitor.id]
    return mine[0]["id"] if mine else None


class Clock:
    """The daemons' test clocks, kept at one offset (set, not added, so
    that a restarted daemon gets it again)."""

    def __init__(self, nodes):
        self.nodes, self.offset = nodes, 0

    def set(self):
        now = None
        for d in self.nodes:
            st, body = d.http("POST", "/api/v1/debug/clock", {"offset_ms": self.offset})
            eq(st, 200, "clock of %s set" % d.node)
            now = body["now"]
        return now

    def advance(self, ms):
        self.offset += int(ms)
        return self.set()


def config_errors(tmp, redis):
    bad = {
        "queue": ("      queue: nowhere\n", "unknown callback queue 'nowhere'"),
        "slots": ("      slots: 12\n", "out of range"),
        "length": ("      slot_length: 1m\n", "out of range"),
        "texts": ("      texts: { nl: [1] }\n", "texts"),
    }
    for name, (line, want) in bad.items():
        sub = os.path.join(tmp, "bad-" + name)
        os.makedirs(sub)
        key = line.split(":")[0]
        text = re.sub(r"(?m)^%s:.*\n" % re.escape(key), line, routing(3), count=1)
        d = Daemon(sub, redis, routing=text, agents=AGENTS)
        p = subprocess.run([DAEMON, "-t", "-c", d.conf], capture_output=True, text=True,
                           timeout=60)
        eq(p.returncode, 1, "-t: bad callback %s: exit 1" % name)
        check(want in p.stderr and re.search(r"routing\.yaml:\d+:", p.stderr),
              "-t: %s: file:line and %r (%s)" % (name, want, p.stderr.strip()[-200:]))


def test(tmp):
    redis = Redis(tmp)
    config_errors(tmp, redis)
    hour = datetime.datetime.now(datetime.timezone.utc).hour
    a = Daemon(tmp, redis, routing=routing(hour), agents=AGENTS, node="a", test_clock=True).start()
    b = Daemon(tmp, redis, routing=routing(hour), agents=AGENTS, node="b", test_clock=True).start()
    nodes = [a, b]
    clock = Clock(nodes)
    # just after a half hour: every callback below gets the same first slot
    now = clock.advance(0)
    clock.advance(SLOT - now % SLOT + 1000)

    # ---- max wait: the callback is promised, the customer picks slot 2
    anna = Visitor(a, name="Anna")
    anna.say("Hello, my invoice is wrong")
    cid = wait_for(lambda: conv_of(a, anna), what="Anna's conversation")
    wait_for(lambda: a.conversation(cid)["status"] == "queued", what="queued")
    now = clock.advance(61000)
    text = told(anna, "Reply with the number")
    check(text.startswith("Sorry for the wait.\n\n"), "the configured text first: %r" % text)
    lines = [l for l in text.split("\n") if re.match(r"^\d\) ", l)]
    eq(len(lines), 3, "three times offered: %r" % lines)
    c = wait_for(lambda: a.conversation(cid).get("status") == "callback" and a.conversation(cid),
                 what="parked as a callback")
    cb = c["callback"]
    eq(len(cb["slots"]), 3, "the slots kept with it")
    eq([s % SLOT for s in cb["slots"]], [0, 0, 0], "slots start on the half hour")
    eq([cb["slots"][i + 1] - cb["slots"][i] for i in range(2)], [SLOT, SLOT], "one after another")
    check(now < cb["slots"][0] <= now + SLOT, "the first is the next half hour")
    eq(cb["queue"], "callbacks", "to be offered in the queue the rule named")
    eq(redis.cmd("ZSCORE", P + "callbacks", cid), str(cb["slots"][0]),
       "parked in `callbacks` by the first slot (the default)")
    eq(redis.cmd("ZSCORE", P + "queue:general", cid), None, "no longer in its queue")
    anna.say("2")
    confirm = told(anna, "Thank you: we will get back to you")
    check(lines[1][3:] in confirm, "told the time picked: %r (%r)" % (confirm, lines[1]))
    cb = wait_for(lambda: a.conversation(cid)["callback"].get("picked") == 2 and
                  a.conversation(cid)["callback"], what="slot 2 picked")
    eq(cb["at"], cb["slots"][1], "promised slot 2")
    eq(redis.cmd("ZSCORE", P + "callbacks", cid), str(cb["slots"][1]), "scheduled at slot 2")
    eq(a.conversation(cid)["status"], "callback", "still parked: a pick is no new contact")
    anna.ws.send({"type": "leave"})
    eq(anna.ws.recv_type("left")["type"], "left", "Anna ends the chat")
    eq(a.conversation(cid)["status"], "callback", "the customer may end the chat: still promised")
    promised = cb["at"]

    # ---- a customer who writes first cancels the callback: routed normally
    bert = Visitor(b, name="Bert")
    bert.say("Waar is mijn factuur?")
    cid2 = wait_for(lambda: conv_of(a, bert), what="Bert's conversation")
    wait_for(lambda: a.conversation(cid2)["status"] == "queued", what="Bert queued")
    clock.advance(61000)
    text = told(bert, "Antwoord met het nummer")
    check(text.startswith("Sorry voor het wachten.\n\nWanneer komt het u uit?"),
          "a Dutch customer is told in Dutch (texts: nl): %r" % text)
    check(re.search(r"\n1\) (vandaag|morgen|[a-z]+dag) \d\d:\d\d\n", text),
          "with the times in Dutch: %r" % text)
    wait_for(lambda: a.conversation(cid2)["status"] == "callback", what="Bert parked")
    bert.say("Actually I am still here, can someone help now?")
    c2 = wait_for(lambda: a.conversation(cid2)["status"] == "queued" and a.conversation(cid2),
                  what="Bert routed again")
    eq(c2["queue"], "general", "routed normally (the rules: general)")
    eq(c2["callback"].get("cancelled_at") is not None, True, "the callback says it was cancelled")
    eq(redis.cmd("ZSCORE", P + "callbacks", cid2), None, "no longer scheduled")
    eq(counts(redis).get("cancelled"), 1, "one cancelled")

    # ---- a customer who does not pick gets the first slot; restart both
    cora = Visitor(a, name="Cora")
    cora.say("Question about my contract")
    cid3 = wait_for(lambda: conv_of(a, cora), what="Cora's conversation")
    wait_for(lambda: a.conversation(cid3)["status"] == "queued", what="Cora queued")
    # Bert waits again in general meanwhile: he was routed, not promised
    clock.advance(61000)
    told(cora, "Reply with the number")
    c3 = wait_for(lambda: a.conversation(cid3).get("callback") and a.conversation(cid3),
                  what="Cora parked")
    first = c3["callback"]["slots"][0]
    raised = min(100, c3.get("priority", 0) + 40)
    eq(counts(redis).get("scheduled"), 3, "three callbacks scheduled so far")
    log("both daemons stop and start again")
    for d in nodes:
        eq(d.stop(), 0, "clean stop")
    for d in nodes:
        d.start()
    clock.set()  # the test clock is the daemon's: set again
    eq(redis.cmd("ZSCORE", P + "callbacks", cid3), str(first), "the schedule survived")
    eq(redis.cmd("ZSCORE", P + "callbacks", cid), str(promised), "Anna's too")

    # ---- at the first slot: Cora's callback is offered; Anna's (slot 2) not yet
    alice = Agent(a, token="alice-token-0123456789")
    o = alice.expect("offer", timeout=10)  # Bert, routed normally
    eq(o["conversation"]["id"], cid2, "Bert (routed normally) is offered first")
    alice.accept(o["offer"])
    eq(first, promised - SLOT, "Cora's first slot is Anna's first")
    clock.advance(first - clock.advance(0) + 1000)
    o = alice.offer_for(cid3, timeout=10)
    oc = o["conversation"]
    eq(oc["callback"]["at"], first, "the offer says when the callback was promised")
    eq(oc["queue"], "callbacks", "in the queue the rule named")
    eq(oc["priority"], raised, "with the priority raised by priority_boost (+40)")
    check("callback" in (oc.get("tags") or ["callback"]), "tagged callback")
    check(alice.none_of("offer", wait=1.0), "Anna's callback (slot 2) is not due yet")
    alice.accept(o["offer"])
    eq(a.conversation(cid3)["status"], "assigned", "the agent has it: reaches out on web chat")

    # ---- slot 2: Anna's callback offered once across both nodes
    clock.advance(promised - first)
    o = alice.offer_for(cid, timeout=10)
    eq(o["conversation"]["callback"]["at"], promised, "Anna's promised time")
    check(alice.none_of("offer", wait=2.5), "offered once")
    alice.accept(o["offer"])
    c = counts(redis)
    eq((c.get("scheduled"), c.get("due"), c.get("done"), c.get("cancelled")), (3, 2, 2, 1),
       "scheduled, due, done and cancelled counted once each")
    eq(redis.cmd("ZCARD", P + "callbacks"), 0, "nothing left scheduled")
    wait_for(lambda: a.metric("callbacks_due_total") == 2 and b.metric("callbacks_done_total") == 2,
             what="metrics on both nodes")
    eq(a.metric("callbacks_missed_total"), 0, "none missed")

    # ---- out of hours: slots from the next opening, in its calendar
    alice.presence("away")
    dora = Visitor(b, name="Dora")
    dora.say("A question at night")
    text = told(dora, "We will get back to you")
    check(re.match(r"We are closed; we open (today|tomorrow) (\d\d:00)\.\n\nWe will get back to "
                   r"you (today|tomorrow) \2\.$", text),
          "out of hours, pick: false: given the next opening: %r" % text)
    cid4 = conv_of(a, dora)
    cb = wait_for(lambda: a.conversation(cid4).get("callback"), what="Dora parked")
    eq(cb["at"] % 3600000, 0, "from the next opening, on the hour")
    eq(cb.get("slots"), None, "no times to pick from")
    eq(a.conversation(cid4)["callback_state"], "scheduled", "scheduled at once")
    check(cb["at"] > clock.advance(0), "in the future")

    # ---- missed: no agent takes a due callback in its slot
    clock.advance(cb["at"] - clock.advance(0) + 1000)
    wait_for(lambda: a.conversation(cid4)["status"] == "queued", what="Dora due")
    eq(a.conversation(cid4)["queue"], "night", "in its own queue (no queue named)")
    clock.advance(SLOT)
    wait_for(lambda: counts(redis).get("missed") == 1, what="counted missed")
    eq(a.conversation(cid4)["status"], "queued", "a missed callback still waits for an agent")
    for d in nodes:
        check(d.alive(), "node %s keeps running" % d.node)
        eq(d.stop(), 0, "clean stop")


omrtest.run(test)
