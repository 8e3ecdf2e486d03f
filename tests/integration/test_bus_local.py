"""Local delivery first (issue 13): a node delivers frames for its own
consoles and visitors itself; the bus (a Redis stream every node reads)
carries them only for other nodes, and nothing while a node is alone.

Node A alone: an agent and a visitor on A talk; every frame arrives, and
A writes nothing to the bus but its hello. Then node B starts, and at
once (well before A's next heartbeat would tell it) an agent on B serves a
visitor on A: B's hello made A publish again. Every message of the
conversation reaches the other side, none twice."""
import time

import omrtest
from omrtest import check, eq, Agent, Daemon, Redis, Visitor

def talk(agent, visitor, conv, n, tag):
    """n messages each way on an assigned conversation; each arrives once."""
    def inbound():
        # the agent also sees their own replies (direction "out")
        while True:
            m = agent.expect("message", timeout=10)
            if m["message"]["direction"] == "in":
                return m
    for i in range(n):
        visitor.say("%s question %d" % (tag, i))
        m = inbound()
        eq(m["message"]["text"], "%s question %d" % (tag, i), "%s: the agent gets message %d"
           % (tag, i))
        agent.send({"type": "reply", "conversation": conv, "text": "%s answer %d" % (tag, i),
                    "client_msg_id": "%s-%d" % (tag, i)})
        got = visitor.ws.recv_type("message", timeout=10)
        eq(got["text"], "%s answer %d" % (tag, i), "%s: the visitor gets answer %d" % (tag, i))
    agent.none_of("no such frame", wait=0.5)  # everything that came meanwhile is pending
    again = [m for m in agent.pending if m.get("type") == "message" and
             m["message"]["direction"] == "in"]
    eq(again, [], "%s: no customer message twice to the agent" % tag)


def test(tmp):
    redis = Redis(tmp)
    a = Daemon(tmp, redis, node="node-a").start()
    alice = Agent(a, "alice")
    v1 = Visitor(a, name="One")
    conv = v1.say("hello from one")["conversation"]
    o = alice.expect("offer")
    alice.accept(o["offer"])
    talk(alice, v1, conv, 5, "alone")
    eq(a.metric("bus_published_total"), 1, "a node alone writes only its hello to the bus")
    check(a.metric("bus_skipped_total") >= 10, "and delivers the rest itself (%d)"
          % a.metric("bus_skipped_total"))
    eq(redis.cmd("XLEN", "omr:{main}:bus"), 1, "the bus holds the hello only")

    # B starts; A learns at once from B's hello, not at its next heartbeat
    b = Daemon(tmp, redis, node="node-b").start()
    started = time.time()
    alice.presence("away")
    bob = Agent(b, "bob")
    v2 = Visitor(a, name="Two")
    conv2 = v2.say("hello from two")["conversation"]
    o = bob.expect("offer", timeout=10)
    eq(o["conversation"]["id"], conv2, "the agent on B is offered the conversation of A's visitor")
    bob.accept(o["offer"])
    talk(bob, v2, conv2, 5, "across")
    check(time.time() - started < 5, "within a heartbeat of B's start (%.1f s)"
          % (time.time() - started))
    check(a.metric("bus_published_total") + b.metric("bus_published_total") > 2,
          "the frames crossed on the bus")

    # one agent with a console on each node: what is accepted on A reaches
    # the console on B through the bus whole, the customer's earlier
    # conversations too (on A they are written into the frame as text)
    bob_a = Agent(a, "bob")
    bob.send({"type": "close", "conversation": conv2})
    eq(bob.expect("status")["status"], "wrapup", "closed: waits for wrap-up")
    bob.send({"type": "wrapup", "conversation": conv2, "reason": "other", "outcome": "resolved"})
    omrtest.wait_for(lambda: a.conversation(conv2)["status"] == "closed", what="closed")
    conv3 = v2.say("one more thing")["conversation"]
    check(conv3 != conv2, "after the wrap-up the visitor starts a new conversation")
    o = bob_a.expect("offer", timeout=10)
    on_a = bob_a.accept(o["offer"])
    on_b = bob.expect("assigned", timeout=10)
    eq(on_a["conversation"]["id"], conv3, "assigned on A")
    eq([p["id"] for p in on_a["conversation"]["customer"]["previous"]], [conv2],
       "the customer panel on A lists the earlier conversation")
    eq(on_b["conversation"], on_a["conversation"], "the console on B gets the same conversation")
    eq(b.stop(), 0, "B stops")
    eq(a.stop(), 0, "A stops")


if __name__ == "__main__":
    omrtest.run(test)
