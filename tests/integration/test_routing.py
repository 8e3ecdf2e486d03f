"""The routing engine against a real Redis and the real daemon: the value
matrix (an automatic answer), position updates for waiting customers,
escalation and max-wait actions, out-of-hours, the customer's last agent,
the engagement balance, explanations and queue statistics."""
import datetime
import time

import omrtest
from omrtest import check, eq, log, Agent, Daemon, Redis, Visitor, wait_for, token_hash

TODAY = datetime.datetime.utcnow().date()
CLOSED_DAYS = "[%s, %s]" % (TODAY, TODAY + datetime.timedelta(days=1))

ROUTING = """
skills: [billing, tech, general]
calendars:
  - name: never
    timezone: UTC
    hours: { mon-sun: "00:00-24:00" }
    holidays: %(closed)s
default_queue: general
queues:
  - name: general
  - name: billing
    skills: { billing: 2 }
    sla: { target: 80, within: 30s }
    status_interval: 1s
  - name: tech
    skills: { tech: 2 }
    escalation:
      - after: 1s
        overflow: general
  - name: slow
    skills: { tech: 5 }
    max_wait: 1s
    on_max_wait: { action: message, text: "Sorry for the wait, we are on it." }
  - name: night
    calendar: never
    out_of_hours: { action: message, text: "We are closed; we answer from {next_open}." }
rules:
  - name: order status
    when: 'text:lower():find("where is my order")'
    value: { customer: low, organisation: low }
  - name: complaint
    when: 'text:lower():find("terrible")'
    queue: billing
    value: { customer: high, organisation: high }
    tags: [complaint]
  - name: billing
    when: 'text:lower():find("invoice")'
    queue: billing
    prefer_last_agent: 5s
  - name: tech
    when: 'text:lower():find("router")'
    queue: tech
  - name: slow
    when: 'text:lower():find("exotic")'
    queue: slow
  - name: night
    when: 'text:lower():find("tonight")'
    queue: night
value:
  eliminate:
    text: "Follow your order at https://example.com/track"
    reason: where is my order
engagement:
  deposits: { resolved: 1 }
  withdrawals: { complaint: 5, sla_breach: 3, repeat_contact: 2 }
offers: {timeout: 5s, max_missed: 3, reject_cooldown: 1m}
sessions: {grace: 5s}
reasons: [invoice unclear, other]
outcomes: [resolved, escalated]
""" % {"closed": CLOSED_DAYS}

AGENTS = """
agents:
  - id: alice
    token: "%(alice)s"
    skills: { billing: 4, general: 3 }
    capacity: { webchat: 1 }
  - id: bob
    token: "%(bob)s"
    skills: { billing: 3, general: 3 }
    capacity: { webchat: 3 }
""" % {"alice": token_hash("alice-token-0123456789"), "bob": token_hash("bob-token-0123456789ab")}


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=ROUTING, agents=AGENTS).start()

    # ---- eliminate: the automatic answer, closed, counted
    v = Visitor(d, name="Olga")
    c = v.say("Hi, where is my order?")["conversation"]
    m = v.ws.recv_type("message")
    eq((m["from"], m["text"]), ("system", "Follow your order at https://example.com/track"),
       "low/low: answered automatically")
    conv = wait_for(lambda: (lambda x: x if x["status"] == "closed" else None)(d.conversation(c)),
                    what="closed")
    eq(conv["routing"]["quadrant"], "eliminate", "explained: quadrant")
    eq(conv["routing"]["rules"], ["order status"], "explained: the rule")
    eq(conv["wrapup"]["reason"], "where is my order", "the trigger is the contact reason")
    rep = d.api("/api/v1/reports/contact-reasons")
    eq([(r["reason"], r["count"]) for r in rep["reasons"]], [("where is my order", 1)],
       "counted in the report")

    # ---- transparency: position and estimated wait while nobody is there
    v1 = Visitor(d, name="First")
    c1 = v1.say("A question about my invoice")["conversation"]
    s1 = v1.ws.recv_type("status")
    eq(s1["position"], 1, "the first waiting customer is told position 1")
    check(s1["eta_s"] > 0, "with an estimated wait (%ss)" % s1["eta_s"])
    v2 = Visitor(d, name="Second")
    c2 = v2.say("Another invoice question")["conversation"]
    eq(v2.ws.recv_type("status")["position"], 2, "the second is told position 2")
    eq(v1.ws.recv_type("status", timeout=5)["position"], 1, "updates keep coming")

    qs = {q["name"]: q for q in d.api("/api/v1/queues")["queues"]}
    eq(qs["billing"]["waiting"], 2, "queues API: waiting count")
    check(qs["billing"]["oldest_wait_s"] >= 0, "queues API: oldest wait")
    eq(qs["billing"]["agents_available"], 0, "queues API: nobody available")
    eq(qs["night"]["open"], False, "queues API: calendar closed")

    # ---- an agent comes: the best waiting conversation is offered at once
    alice = Agent(d, token="alice-token-0123456789")   # capacity 1: one at a time
    o = alice.expect("offer")
    eq(o["conversation"]["id"], c1, "the longest waiting conversation is offered first")
    a = alice.accept(o["offer"])
    conv1 = d.conversation(c1)
    disp = conv1["dispatch"]
    eq(disp["chosen"], "alice", "dispatch explains the chosen agent")
    eq((disp["eligible"], disp["ready"], disp["passed_over"]), (2, 1, 0),
       "and how many fit (alice, bob) and could take it then (bob is offline)")
    eq(disp["strategy"], "longest_idle", "and by which strategy")
    qs = {q["name"]: q for q in d.api("/api/v1/queues")["queues"]}
    eq((qs["billing"]["sla"]["answered"], qs["billing"]["sla"]["within"]), (1, 1),
       "queues API: answered within the SLA")
    eq(qs["billing"]["sla"]["attainment"], 100.0, "queues API: SLA attainment")
    alice.send({"type": "wrapup", "conversation": c1, "reason": "invoice unclear",
                "outcome": "resolved"})
    alice.expect("unassigned")
    o2 = alice.expect("offer")
    eq(o2["conversation"]["id"], c2, "when she is free, the next one")
    alice.accept(o2["offer"])
    alice.send({"type": "wrapup", "conversation": c2, "reason": "other", "outcome": "resolved"})
    alice.expect("unassigned")
    wait_for(lambda: d.conversation(c1)["customer_profile"].get("balance") == 1,
             what="resolved deposits into the engagement balance")

    # ---- the customer's last agent is preferred when they come back
    bob = Agent(d, token="bob-token-0123456789ab")   # bob is idle longer than alice
    v1.ws.close()
    v1b = Visitor(d, visitor=v1.id, token=v1.token)
    c1b = v1b.say("One more thing about the invoice", cmid="again")["conversation"]
    check(c1b != c1, "a new conversation")
    o = alice.expect("offer", timeout=8)
    eq(o["conversation"]["id"], c1b, "offered to the customer's last agent, not the idle bob")
    r = d.conversation(c1b)["routing"]
    eq(r["preferred_agent"], "alice", "the preference is explained")
    alice.accept(o["offer"])
    check(d.conversation(c1b)["customer_profile"]["balance"] == -1,
          "a repeat contact withdrew 2 from the balance of 1")
    alice.send({"type": "wrapup", "conversation": c1b, "reason": "other", "outcome": "escalated"})
    alice.expect("unassigned")

    # ---- complaint: a moment of truth withdraws
    vc = Visitor(d, name="Angry")
    cc = vc.say("This is terrible service")["conversation"]
    conv = wait_for(lambda: (lambda x: x if x.get("routing") else None)(d.conversation(cc)))
    eq(conv["routing"]["quadrant"], "encourage", "high/high: encourage")
    eq(conv["routing"]["strategy"], "best_proficiency", "moments of truth: best proficiency")
    check(conv["priority"] >= 70, "priority raised")
    wait_for(lambda: d.conversation(cc)["customer_profile"].get("balance") == -5,
             what="a complaint withdraws 5")
    eng = d.conversation(cc)["customer_profile"]["engagement"]
    eq((eng[0]["event"], eng[0]["points"], eng[0]["balance"]), ("complaint", -5, -5),
       "the change is recorded on the customer")
    for ag in (alice, bob):
        try:
            o = ag.expect("offer", timeout=2)
            ag.accept(o["offer"])
            eq(ag.id, "alice", "the best-proficiency agent (alice, billing 4) gets the complaint")
            break
        except TimeoutError:
            pass

    # ---- escalation: tech has nobody; after 1s it overflows to general
    vt = Visitor(d, name="Tech")
    ct = vt.say("My router blinks red")["conversation"]
    o = None
    for ag in (bob, alice):
        try:
            o = ag.expect("offer", timeout=6)
            break
        except TimeoutError:
            pass
    check(o is not None and o["conversation"]["id"] == ct,
          "after the escalation step the conversation reaches a general agent")
    conv = d.conversation(ct)
    eq(conv["queue"], "general", "it moved to the overflow queue")
    eq(conv["escalations"][0]["overflow"], "general", "the move is explained")

    # ---- max wait: the customer is told
    vs = Visitor(d, name="Slow")
    vs.say("An exotic question")
    m = vs.ws.recv_type("message", timeout=8)
    eq(m["text"], "Sorry for the wait, we are on it.", "max wait: the configured message")
    check("callback" not in (d.conversation(vs.welcome.get("conversation") or
                                            vs.say("x", cmid="x2")["conversation"])["tags"] or []),
          "no callback tag for a message action")

    # ---- out of hours
    vn = Visitor(d, name="Night")
    vn.say("Can someone help tonight?")
    m = vn.ws.recv_type("message", timeout=5)
    check(m["text"].startswith("We are closed; we answer from ") and "{" not in m["text"],
          "out of hours: told when we open (%s)" % m["text"])

    eq(d.stop(), 0, "clean stop")


omrtest.run(test)
