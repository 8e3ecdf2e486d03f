"""The seeds working by default (issue 18): the engagement balance steers
routing and the complaint paradox, with the shipped events and phrases.
Real daemon, real Redis, real websockets; the routing file is the shipped
one's rules and engagement defaults (a recovery window of 7 days), and the
daemon's test clock (admin.test_clock) is moved a week ahead rather than
waited for.

- a customer at risk (a complaint, then leaving the queue: -5 -3) who
  writes again goes to the care queue (priority 80), to the agent with the
  empathy skill, not to the other free agent; the complaint withdraws again;
- the complaint paradox: a complaint (-5) resolved at the first contact
  (+1 resolved, +2 first-contact resolution) and rated 5 (+2, and +8
  recovered) ends in a deposit; the report counts one complaint recovered;
- a resolved complaint followed by no new contact for recovery_window is
  recovered (+8) by the sweeper once the clock is a week further, not
  before; one whose customer writes again within the window is not;
- an agent may say at wrap-up that the customer complained;
- a transfer withdraws and the resolution after it is no first-contact
  resolution; the same contact reason again within repeat_days withdraws;
- a loyal customer (balance at engagement.high, 6 here) asking for a person gets
  the rule that keeps them from the bot; phrases match per language and
  ignore case.
"""
import time

from omrtest import check, eq, log, token_hash, Agent, Daemon, Redis, Visitor, wait_for

ROUTING = """
skills: [general, empathy]
default_queue: general
queues:
  - name: general
  - name: care
    skills: { empathy: 1 }
    priority: 80
    escalation:
      - after: 1m
        overflow: general
rules:
  - name: customer at risk
    when: 'customer.at_risk'
    queue: care
    tier: human
    tags: [at_risk]
  - name: loyal customer asks for a person
    when: 'customer.loyal and says.person'
    tier: human
    continue: true
  - name: complaint
    when: 'complaint'
    value: { customer: high, organisation: high }
    tags: [complaint]
engagement:
  high: 6
csat:
  enabled: true
  window: 1m
reasons: [other]
outcomes: [resolved, follow_up]
"""

ALICE, BOB = "alice-token-0123456789abcdef", "bob-token-0123456789abcdefgh"
AGENTS = """
agents:
  - id: alice
    token: "%s"
    skills: { general: 3, empathy: 3 }
    capacity: { webchat: 5 }
  - id: bob
    token: "%s"
    skills: { general: 3 }
    capacity: { webchat: 5 }
""" % (token_hash(ALICE), token_hash(BOB))


def balance(d, cid):
    return d.conversation(cid)["customer_profile"].get("balance", 0)


def events(d, cid):
    """the customer's balance moves, oldest first: [(event, points)]"""
    eng = d.conversation(cid)["customer_profile"].get("engagement", [])
    return [(e["event"], e["points"]) for e in reversed(eng)]


def serve(agent, cid):
    o = agent.offer_for(cid)
    agent.accept(o["offer"])
    return o


def resolve(agent, cid, outcome="resolved"):
    agent.send({"type": "close", "conversation": cid})
    eq(agent.expect("status")["status"], "wrapup", "%s closed" % cid)
    agent.send({"type": "wrapup", "conversation": cid, "reason": "other", "outcome": outcome})
    agent.expect("unassigned")


def report(d, day0):
    """from the first day of the test to the (moved) clock's today"""
    days = [time.strftime("%Y-%m-%d", time.gmtime(x * 86400))
            for x in (day0, d.advance_clock(0) // 86400000)]
    return d.api("/api/v1/reports/contact-reasons?from=%s&to=%s" % tuple(days))["engagement"]


def at_risk(d, alice, bob):
    """a complaint, then leaving the queue; the next contact goes to care"""
    alice.presence("away")
    bob.presence("away")
    ann = Visitor(d, name="Ann")
    c1 = ann.say("I want to file a complaint about my bill")["conversation"]
    wait_for(lambda: d.conversation(c1)["status"] == "queued", what="c1 queued")
    conv = d.conversation(c1)
    eq((conv["queue"], conv["priority"]), ("general", 70),
       "a complaint of a customer not at risk: the complaint rule (a moment of truth: +20)")
    ann.ws.send({"type": "leave"})
    ann.ws.recv_type("left")
    wait_for(lambda: balance(d, c1) == -8, what="complaint -5, abandoned -3")
    eq(events(d, c1), [("complaint", -5), ("abandoned", -3)], "the withdrawals, in order")

    # she is at risk now (below -5): care, before others, by the empathy agent
    c2 = ann.say("Dit is echt ONACCEPTABEL")["conversation"]
    check(c2 != c1, "a new conversation")
    wait_for(lambda: d.conversation(c2)["status"] == "queued", what="c2 queued")
    conv = d.conversation(c2)
    eq((conv["queue"], conv["priority"]), ("care", 80), "at risk: the care queue, priority 80")
    eq(conv["routing"]["rules"], ["customer at risk"], "explained by the at-risk rule")
    check("at_risk" in conv["tags"], "tagged at_risk: %r" % conv["tags"])
    eq(events(d, c2)[-1], ("complaint", -5), "a complaint in Dutch, any case, withdraws too")
    bob.presence("available")
    check(bob.none_of("offer", wait=1.0), "bob (no empathy) is not offered the care conversation")
    alice.presence("available")
    o = serve(alice, c2)
    eq(o["conversation"]["id"], c2, "alice (empathy 3) gets it")
    resolve(alice, c2)
    return c2


def paradox_by_rating(d, alice):
    eve = Visitor(d, name="Eve")
    c = eve.say("This is unacceptable, my order never came")["conversation"]
    serve(alice, c)
    alice.send({"type": "close", "conversation": c})
    eq(alice.expect("status")["status"], "wrapup", "closed")
    eve.ws.recv_type("message")  # the rating question
    alice.send({"type": "wrapup", "conversation": c, "reason": "other", "outcome": "resolved"})
    alice.expect("unassigned")
    wait_for(lambda: balance(d, c) == -2, what="complaint -5, resolved +1, first contact +2")
    eve.say("5")
    wait_for(lambda: balance(d, c) == 8, what="rated 5: +2, and the complaint recovered: +8")
    eq(events(d, c), [("complaint", -5), ("resolved", 1), ("first_contact_resolution", 2),
                      ("csat_good", 2), ("complaint_recovered", 8)],
       "the complaint paradox: a complaint resolved well deposits more than it took")
    eq(d.conversation(c).get("csat"), 5, "the rating is kept")
    return c


def quiet_complaints(d, alice):
    """Kim's complaint, resolved; Lea's, resolved, and Lea writes again"""
    kim = Visitor(d, name="Kim")
    c = kim.say("I am very disappointed with the service")["conversation"]
    serve(alice, c)
    resolve(alice, c)
    wait_for(lambda: balance(d, c) == -2, what="complaint -5, resolved +1, first contact +2")
    lea = Visitor(d, name="Lea")
    c2 = lea.say("Formal complaint: the router does not work")["conversation"]
    serve(alice, c2)
    resolve(alice, c2)
    c3 = lea.say("It still does not work")["conversation"]
    check(c3 != c2, "Lea writes again: a new contact")
    serve(alice, c3)
    resolve(alice, c3)
    wait_for(lambda: ("repeat_reason", -3) in events(d, c3),
             what="the same reason again within repeat_days: not solved, -3")
    eq(events(d, c3)[-3:], [("repeat_contact", -1), ("repeat_reason", -3), ("resolved", 1)],
       "a repeat is no first-contact resolution")
    return kim, c, c3


def marked_at_wrapup(d, alice):
    """no complaint words, but the agent says it was one (the wrap-up's
    complaint box): a complaint, resolved, waiting for its recovery"""
    max_ = Visitor(d, name="Max")
    c = max_.say("My invoice is wrong again")["conversation"]
    serve(alice, c)
    check(d.conversation(c).get("complaint") is None, "not recognised as a complaint by words")
    alice.send({"type": "close", "conversation": c})
    eq(alice.expect("status")["status"], "wrapup", "closed")
    alice.send({"type": "wrapup", "conversation": c, "reason": "other", "outcome": "resolved",
                "complaint": True})
    alice.expect("unassigned")
    wait_for(lambda: balance(d, c) == -2, what="complaint -5, resolved +1, first contact +2")
    eq(events(d, c), [("complaint", -5), ("resolved", 1), ("first_contact_resolution", 2)],
       "the agent's word makes it a complaint, before the outcome")
    eq(d.conversation(c).get("complaint"), True, "marked a complaint")
    return c


def transfer(d, alice, bob):
    tom = Visitor(d, name="Tom")
    c = tom.say("How do I change my address?")["conversation"]
    serve(alice, c)  # bob is away
    alice.presence("away")  # so that bob gets it back
    bob.presence("available")
    alice.send({"type": "transfer", "conversation": c, "queue": "general"})
    alice.expect("unassigned")
    serve(bob, c)
    resolve(bob, c)
    alice.presence("available")
    wait_for(lambda: balance(d, c) == 0, what="transfer -1, resolved +1")
    eq(events(d, c), [("transfer", -1), ("resolved", 1)],
       "after a transfer, a resolution is no first-contact resolution")


def loyal(d, alice, kim, c_kim):
    """Kim (6 after her recovered complaint: engagement.high here) asks for
    a person: the loyal rule; a new customer asking the same: not"""
    c = kim.say("Could I TALK TO someone about my contract?")["conversation"]
    check(c != c_kim, "a new contact")
    wait_for(lambda: d.conversation(c)["status"] in ("queued", "offered"), what="routed")
    eq(d.conversation(c)["routing"]["rules"], ["loyal customer asks for a person"],
       "a loyal customer asking for a person: the rule that keeps the bot away")
    serve(alice, c)
    resolve(alice, c)
    new = Visitor(d, name="Nina")
    c2 = new.say("Could I talk to someone about my contract?")["conversation"]
    wait_for(lambda: d.conversation(c2)["status"] in ("queued", "offered"), what="routed")
    eq(d.conversation(c2)["routing"]["rules"], [], "a new customer (balance 0) is not loyal")
    serve(alice, c2)
    resolve(alice, c2)


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=ROUTING, agents=AGENTS, test_clock=True).start()
    day0 = d.advance_clock(0) // 86400000  # the test's first day (it may run past midnight)
    alice, bob = Agent(d, token=ALICE), Agent(d, token=BOB)

    at_risk(d, alice, bob)
    bob.presence("away")
    paradox_by_rating(d, alice)
    kim, c_kim, c_lea = quiet_complaints(d, alice)
    c_max = marked_at_wrapup(d, alice)
    transfer(d, alice, bob)
    bob.presence("away")

    # the recovery window (7 days): nothing before it ends; a week later
    # the sweeper recovers the quiet ones, not Lea's
    time.sleep(2.5)
    eq((balance(d, c_kim), balance(d, c_max)), (-2, -2), "not recovered within the window")
    d.advance_clock(7 * 86400000 + 60000)
    wait_for(lambda: balance(d, c_kim) == 6, what="a week without a new contact: +8 for Kim")
    eq(events(d, c_kim)[-1], ("complaint_recovered", 8), "recovered by the sweeper")
    wait_for(lambda: balance(d, c_max) == 6, what="and for Max")
    check(("complaint_recovered", 8) not in events(d, c_lea),
          "Lea wrote again within the window: not recovered: %r" % events(d, c_lea))
    loyal(d, alice, kim, c_kim)

    rep = report(d, day0)
    eq(rep["complaints"], {"received": 6, "recovered": 4},
       "the report: six complaints (Ann twice, Eve, Kim, Lea, Max), four recovered (Ann's "
       "second, Kim's and Max's by silence, Eve's by her rating); not Lea's")
    dep = {x["event"]: x["points"] for x in rep["deposits"]["by_event"]}
    eq(dep.get("complaint_recovered"), 32, "recovered complaints deposited 8 each")
    # the test clock refuses what it cannot do: backwards, both, not a number, a reader
    now = d.advance_clock(0)
    for body in ({"advance_ms": -1}, {"offset_ms": 0}, {"advance_ms": "7d"},
                 {"offset_ms": 10 ** 20}, {"advance_ms": 1, "offset_ms": 1}, [1]):
        st, r = d.http("POST", "/api/v1/debug/clock", body)
        check(st == 400 and r["error"]["code"] in ("bad_parameter", "bad_request"),
              "clock: %r refused: %s %r" % (body, st, r))
    st, r = d.http("POST", "/api/v1/debug/clock", "{not json")
    eq(st, 400, "clock: not JSON")
    check(abs(d.advance_clock(0) - now) < 60000, "the clock did not move")
    check(d.alive(), "the daemon runs")
    d.stop()
    redis.stop()


if __name__ == "__main__":
    from omrtest import run
    run(test)
