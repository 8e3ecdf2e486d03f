"""Park and snooze (issue 17), with a real daemon, real Redis, the real
e-mail channel over LMTP and real consoles, on the test clock:

- parking frees the agent's capacity (a second mail is offered to her while
  the first is parked) and lists it; it comes back to her at its time
  (`assigned`, unparked "time"), or when the customer answers;
- hostile parks: a past time, too soon, absurdly far, both kinds of time,
  not a number, a live chat, someone else's conversation: refused, nothing
  changes;
- the agent gone (offline), it comes back to its queue, waiting for her
  first, then for anyone;
- it survives a restart of the daemon (Redis' sorted set, Redis' clock);
- each comes back once: counted, none twice.
"""
import smtplib
import time

import omrtest
from omrtest import check, eq, log, Agent, Daemon, Redis, Visitor, free_port, password_hash
from omrtest import wait_for

PREFIX = "omr:{main}:"

ROUTING = """
skills: [general]
default_queue: general
queues:
  - name: general
    status_interval: 0
offers: {timeout: 2s, max_missed: 100}
sessions: {grace: 1s}
reasons: [other]
outcomes: [resolved]
"""


def agents():
    pw = password_hash("pw")
    return """agents:
  - id: alice
    name: Alice
    password: "%(pw)s"
    skills: { general: 3 }
    capacity: { email: 1, webchat: 1 }
  - id: bob
    name: Bob
    password: "%(pw)s"
    skills: { general: 3 }
    capacity: { email: 3, webchat: 1 }
""" % dict(pw=pw)


def deliver(port, msgid, subject, body, extra=""):
    data = ("From: Eva <eva@example.net>\r\nTo: support@example.com\r\nSubject: %s\r\n"
            "Message-ID: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "%s\r\n%s\r\n" % (subject, msgid, extra, body))
    c = smtplib.LMTP("127.0.0.1", port)
    try:
        c.ehlo_or_helo_if_needed()
        c.mail("eva@example.net")
        c.rcpt("support@example.com")
        c.putcmd("data")
        eq(c.getreply()[0], 354, "DATA")
        c.send(smtplib.quotedata(data).encode() + b"\r\n.\r\n")
        eq(c.getreply()[0], 250, "mail %s stored" % msgid)
    finally:
        c.quit()


def take(agent, timeout=20):
    o = agent.expect("offer", timeout=timeout)
    a = agent.accept(o["offer"])
    eq(a["type"], "assigned", "%s takes it" % agent.id)
    return a["conversation"]["id"]


def back(agent, conv, timeout=20):
    while True:
        a = agent.expect("assigned", timeout=timeout)
        if a["conversation"]["id"] == conv:
            return a


def test(tmp):
    redis = Redis(tmp)
    lmtp = free_port()
    d = Daemon(tmp, redis, routing=ROUTING, agents=agents(), test_clock=True,
               extra_plugins=omrtest.email_plugin(lmtp)).start()
    alice = Agent(d, "alice", password="pw")
    deliver(lmtp, "<p1@example.net>", "Verhuizing", "Ik ga verhuizen, wat nu?")
    c1 = take(alice)

    # ---- hostile parks change nothing
    now_ms = d.advance_clock(0)
    for bad in ({"until": now_ms - 1000}, {"until": now_ms + 5000}, {"in_ms": 10},
                {"in_ms": 40 * 86400000}, {"until": now_ms + 86400000, "in_ms": 3600000},
                {"in_ms": "soon"}, {"in_ms": -5}, {"until": 1e300}, {"in_ms": 2 ** 62}):
        alice.send(dict(bad, type="park", conversation=c1))
        e = alice.expect("error", "unassigned")
        eq((e["type"], e.get("code")), ("error", "bad_request"), "refused: %r" % (bad,))
    bob = Agent(d, "bob", password="pw", available=False)
    bob.send({"type": "park", "conversation": c1, "in_ms": 120000})
    eq(bob.expect("error")["code"], "not_yours", "bob cannot park alice's conversation")
    eq(redis.cmd("HGET", PREFIX + "conv:" + c1, "status"), "assigned", "still assigned")
    eq(redis.cmd("ZCARD", PREFIX + "snoozed"), 0, "nothing parked")
    v = Visitor(d, name="Vera")
    v.say("hallo")
    cw = take(alice)
    alice.send({"type": "park", "conversation": cw, "in_ms": 120000})
    eq(alice.expect("error")["code"], "bad_request", "a live chat cannot be parked")

    # ---- park until a time: capacity freed, back at the time
    alice.send({"type": "park", "conversation": c1, "in_ms": 120000})
    u = alice.expect("unassigned")
    eq((u["conversation"], u["reason"], u["on_reply"]), (c1, "parked", False), "parked")
    check(u["until"] >= now_ms + 120000, "until its time")
    eq(redis.cmd("HGET", PREFIX + "agent:alice", "load:email"), "0", "its capacity is free")
    alice.send({"type": "parked"})
    lst = alice.expect("parked")["conversations"]
    eq([(x["conversation"], x["channel"], x["on_reply"]) for x in lst], [(c1, "email", False)],
       "listed as parked")
    deliver(lmtp, "<p2@example.net>", "Factuur", "Mijn factuur klopt niet")
    c2 = take(alice)   # her one e-mail place is free again
    check(c2 != c1, "a second e-mail while the first is parked")
    check(alice.none_of("assigned", wait=1.0), "not back before its time")
    d.advance_clock(121000)
    a = back(alice, c1)
    eq(a["conversation"].get("unparked"), "time", "back at its time")
    eq(redis.cmd("HGET", PREFIX + "conv:" + c1, "status"), "assigned", "assigned again")
    eq(redis.cmd("HGET", PREFIX + "conv:" + c1, "agent"), "alice", "to alice")
    eq(redis.cmd("HGET", PREFIX + "agent:alice", "load:email"), "2",
       "counted again (above her capacity of 1: it is hers)")

    # ---- park until the customer answers
    alice.send({"type": "park", "conversation": c1})
    eq(alice.expect("unassigned")["on_reply"], True, "parked until the customer writes")
    d.advance_clock(3600000)
    check(alice.none_of("assigned", wait=1.5), "an hour later still parked")
    deliver(lmtp, "<p3@example.net>", "Re: Verhuizing", "Het nieuwe adres is Kerkstraat 1",
            "In-Reply-To: <p1@example.net>\r\nReferences: <p1@example.net>\r\n")
    a = back(alice, c1)
    eq(a["conversation"].get("unparked"), "answer", "back on the customer's answer")
    check(any("Kerkstraat" in m.get("text", "") for m in a["conversation"]["messages"]),
          "with the answer")

    # ---- the agent takes it back early
    alice.send({"type": "park", "conversation": c1, "in_ms": 86400000})
    alice.expect("unassigned")
    bob.send({"type": "unpark", "conversation": c1})
    eq(bob.expect("error")["code"], "not_yours", "bob cannot unpark alice's")
    alice.send({"type": "unpark", "conversation": c1})
    eq(back(alice, c1)["conversation"].get("unparked"), "agent", "back when she asks")
    alice.send({"type": "unpark", "conversation": c1})
    eq(alice.expect("error")["code"], "gone", "not parked any more")

    # ---- across a restart
    alice.send({"type": "park", "conversation": c1, "in_ms": 300000})
    alice.expect("unassigned")
    before = d.advance_clock(0)
    alice.close()
    bob.close()
    d.stop()
    d.start()
    alice = Agent(d, "alice", password="pw")
    eq([c["id"] for c in alice.welcome["conversations"] if c["id"] == c1], [],
       "parked: not among her conversations after the restart")
    # the test clock starts again at Redis' time: move it to where it was
    d.advance_clock(max(0, before - d.advance_clock(0)) + 301000)
    eq(back(alice, c1)["conversation"].get("unparked"), "time", "back after the restart")

    # ---- the agent gone: its queue, her first, then anyone
    alice.send({"type": "park", "conversation": c1, "in_ms": 120000})
    alice.expect("unassigned")
    alice.presence("offline")
    alice.close()
    bob = Agent(d, "bob", password="pw")
    d.advance_clock(121000)
    wait_for(lambda: redis.cmd("HGET", PREFIX + "conv:" + c1, "status") == "queued",
             what="back in its queue")
    eq(redis.cmd("HGET", PREFIX + "conv:" + c1, "prefer_agent"), "alice", "waiting for alice")
    # her other conversations went to bob when she went offline; not this one
    offered = []
    while not bob.none_of("offer", wait=1.0):
        offered.append(bob.expect("offer")["conversation"]["id"])
    check(c1 not in offered, "it waits for alice first (bob was offered %r)" % offered)
    d.advance_clock(13000)   # six offer timeouts
    o = bob.offer_for(c1, timeout=20)
    eq(bob.accept(o["offer"])["type"], "assigned", "then anyone: bob")
    eq(redis.cmd("ZCARD", PREFIX + "snoozed"), 0, "nothing left parked")
    returns = d.log_text().count("conversation %s: back from parking" % c1)
    eq(returns, 5, "five parks, five returns: none twice")

    # ---- another node: bob's console on node b, the time comes on node a
    b = Daemon(tmp, redis, node="node-b", routing=ROUTING, agents=agents(),
               test_clock=True).start()
    bob.close()
    bob = Agent(b, "bob", password="pw")
    bob.send({"type": "park", "conversation": c1, "in_ms": 120000})
    eq(bob.expect("unassigned")["reason"], "parked", "bob parks it from node b")
    d.advance_clock(121000)    # only node a's clock: node a brings it back
    a = back(bob, c1)
    eq(a["conversation"].get("unparked"), "time", "bob, on node b, gets it from node a")
    check("conversation %s: back from parking to bob" % c1 in d.log_text(), "node a brought it back")
    check("back from parking" not in b.log_text(), "node b did not")
    check(d.alive() and b.alive(), "the daemons kept running")
    eq(b.stop(), 0, "node b stops cleanly")
    eq(d.stop(), 0, "node d stops cleanly")


if __name__ == "__main__":
    omrtest.run(test)
