"""An agent takes back a conversation whose offer they missed or declined
(issue 17, problem 5: "a missed offer cannot be taken back"), while it
still waits: `take` puts it at the front of its queue for them, the offer
comes again at once and they accept it. Nobody else may take it that way,
nor take one that is no longer waiting; hostile frames get clear errors.
Counted: the conversation is assigned once, to alice."""
import omrtest
from omrtest import check, eq, log, Agent, Daemon, Redis, Visitor, BASE_ROUTING

# billing (alice's) offers last 2 s and may not come back to a decliner for
# a minute: without `take`, what alice declined would wait that long
ROUTING_SUFFIX = "offers: {timeout: 2s, max_missed: 5, reject_cooldown: 1m}\n"


def test(tmp):
    routing = BASE_ROUTING.replace("offers: {timeout: 3s, max_missed: 2, reject_cooldown: 1m}\n",
                                   ROUTING_SUFFIX)
    check(routing != BASE_ROUTING, "the test's offers section replaces the base one")
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=routing).start()
    alice = Agent(d, "alice")
    bob = Agent(d, "bob")

    anna = Visitor(d, name="Anna")
    conv = anna.say("Goedemiddag, een vraag over mijn factuur")["conversation"]
    o = alice.offer_for(conv)

    # before any miss: not hers to take back
    alice.send({"type": "take", "conversation": conv})
    e = alice.expect("error")
    eq((e["code"], e.get("conversation")), ("conflict", conv),
       "a conversation on offer is not waiting: conflict")

    alice.send({"type": "reject", "offer": o["offer"]})
    eq(alice.expect("revoked")["reason"], "rejected", "alice declines it")
    st = d.conversation(conv)["status"]
    eq(st, "queued", "it waits (only alice takes billing, and she declined it)")

    # bob never had it
    bob.send({"type": "take", "conversation": conv})
    e = bob.expect("error")
    eq(e["code"], "forbidden", "bob did not miss or decline it: forbidden")
    log("bob: %s" % e["message"])

    # hostile and malformed frames
    for frame, code in (({"type": "take"}, "bad_request"),
                        ({"type": "take", "conversation": 42}, "bad_request"),
                        ({"type": "take", "conversation": "c_" + "x" * 5000}, "bad_request"),
                        ({"type": "take", "conversation": "../../etc"}, "bad_request"),
                        ({"type": "take", "conversation": "c_00000000000000000000zz"},
                         "not_found")):
        alice.send(frame)
        e = alice.expect("error")
        eq(e["code"], code, "take %.40r: %s" % (frame.get("conversation"), code))

    # alice takes it back: the offer comes again at once, she accepts
    alice.send({"type": "take", "conversation": conv})
    done = alice.expect("done")
    eq((done["action"], done["target"]), ("conversation.take", conv), "take: done")
    o2 = alice.offer_for(conv, timeout=5)
    a = alice.accept(o2["offer"])
    eq(a["type"], "assigned", "alice has it again")

    # a second take of the same conversation: no longer waiting
    alice.send({"type": "take", "conversation": conv})
    eq(alice.expect("error")["code"], "conflict", "take of an assigned one: conflict")

    c = d.conversation(conv)
    eq((c["status"], c.get("agent")), ("assigned", "alice"), "assigned to alice")
    st, body = d.http("GET", "/healthz", auth=False)
    eq(st, 200, "the daemon still serves")
    ins = [m for m in c["messages"] if m["direction"] == "in"]
    eq(len(ins), 1, "the customer's message stored once")


if __name__ == "__main__":
    omrtest.run(test)
