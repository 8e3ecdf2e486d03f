"""Customer satisfaction (issue 15): a question at close, answered 1-5, on
web chat (buttons) and WhatsApp (a reply), stored on the conversation and
counted per agent and per queue in the reports; real daemon, real Redis,
real websockets, the fake Graph API for WhatsApp.

- the question is sent when the agent closes (not on a public thread, not
  when csat is off); web chat gets buttons 1-5 with it;
- the thread's next message, if it is just a digit 1-5, is the answer: it
  is stored on the rated conversation (kind csat), thanked, and opens no
  new conversation; anything else ("4 stars", "44", "0", "6", a second
  answer) is a normal message;
- GET /api/v1/reports/agents and /queues count the answers and average them.
"""
import omrtest
from fakes import (FakeGraph, WA_PHONE_ID as PHONE_ID, WA_TOKEN as TOKEN, WhatsAppHook as Hook,
                   wa_envelope as envelope, wa_plugin as plugin, wa_text as text_msg)
from omrtest import check, eq, log, token_hash, Agent, Daemon, Redis, Visitor, wait_for

ROUTING = omrtest.ONE_QUEUE_ROUTING + """
csat:
  enabled: true
  question: "How did we do? Reply 1 (poor) to 5 (great)."
  thanks: "Thanks for rating us!"
  window: 1m
"""

ALICE_TOKEN = "alice-token-0123456789abcdef"
AGENTS = """
agents:
  - id: alice
    name: Alice
    token: "%s"
    skills: { general: 3 }
    capacity: { webchat: 5, whatsapp: 5 }
""" % token_hash(ALICE_TOKEN)


def convs(d):
    return d.api("/api/v1/conversations?limit=100")["conversations"]


def serve(alice, cid):
    o = alice.expect("offer")
    eq(o["conversation"]["id"], cid, "alice is offered %s" % cid)
    alice.accept(o["offer"])


def close(alice, cid):
    alice.send({"type": "close", "conversation": cid})
    eq(alice.expect("status")["status"], "wrapup", "closed: wrap-up")


def visitor_says(v, kind="message", timeout=10):
    return v.ws.recv_type(kind, timeout=timeout)


def test(tmp):
    graph = FakeGraph(TOKEN)
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=ROUTING, agents=AGENTS,
               extra_plugins=plugin(graph.base, "1h")).start()
    alice = Agent(d, token=ALICE_TOKEN)

    # ---- web chat: the question with buttons, the answer, the thanks
    anna = Visitor(d, name="Anna")
    c1 = anna.say("Where is my parcel?")["conversation"]
    serve(alice, c1)
    alice.reply(c1, "It arrives tomorrow.")
    eq(visitor_says(anna)["text"], "It arrives tomorrow.", "the reply reaches Anna")
    close(alice, c1)
    q = visitor_says(anna)
    eq((q["text"], q.get("buttons")), ("How did we do? Reply 1 (poor) to 5 (great).",
                                       ["1", "2", "3", "4", "5"]),
       "at close Anna gets the question, with buttons 1-5")
    before = len(convs(d))
    ack = anna.say(" 4 ")
    eq((ack["type"], ack["conversation"]), ("ack", c1), "the answer belongs to the rated conversation")
    eq(visitor_says(anna)["text"], "Thanks for rating us!", "Anna is thanked")
    conv = d.conversation(c1)
    eq(conv["csat"], 4, "the rating is stored on the conversation")
    eq([m["kind"] for m in conv["messages"] if m["direction"] == "in"][-1], "csat",
       "the answer is in the transcript, marked csat")
    eq(len(convs(d)), before, "the answer opens no conversation")
    check(alice.none_of("offer", wait=0.5), "and nothing is offered")
    alice.send({"type": "wrapup", "conversation": c1, "reason": "other", "outcome": "resolved"})
    alice.expect("unassigned")

    # once answered, the next digit is an ordinary message
    again = anna.say("5")
    check(again["type"] == "ack" and again["conversation"] != c1,
          "a second answer is a new message, not a new rating: %r" % again)
    eq(d.conversation(c1)["csat"], 4, "the rating stays 4")
    serve(alice, again["conversation"])
    close(alice, again["conversation"])
    visitor_says(anna)  # the question for that one
    for text in ("4 stars", "44", "0", "6", "4.5"):
        r = anna.say(text)
        check(r["conversation"] != c1 and "csat" not in d.conversation(r["conversation"]),
              "%r is no rating" % text)
        wait_for(lambda: d.conversation(r["conversation"])["status"] in ("queued", "offered",
                                                                         "assigned", "wrapup"),
                 what="%r routed as a message" % text)
    st = d.conversation(again["conversation"])
    check("csat" not in st, "the conversation the question was for has no rating: %r" %
          {k: st.get(k) for k in ("csat", "status")})

    # ---- a thread without a pending question: a digit is a message
    tom = Visitor(d, name="Tom")
    t1 = tom.say("3")
    check(t1["type"] == "ack" and "csat" not in d.conversation(t1["conversation"]),
          "a lone digit with no question pending is an ordinary message")

    # ---- WhatsApp: the question as text, the answer as a reply
    hook = Hook(d)
    st, _ = hook.post(envelope([text_msg("wamid.CS1", "Hallo, mijn factuur klopt niet")]))
    eq(st, 200, "a WhatsApp message")
    wa = wait_for(lambda: [c for c in convs(d) if c["channel"] == "whatsapp"], what="wa conv")[0]
    o = alice.expect("offer")
    while o["conversation"]["id"] != wa["id"]:  # the web chat ones wait too
        alice.send({"type": "reject", "offer": o["offer"]})
        o = alice.expect("offer")
    alice.accept(o["offer"])
    close(alice, wa["id"])
    sent = wait_for(lambda: [p for p in graph.posts("/%s/messages" % PHONE_ID)
                             if "How did we do" in str(p["body"])], what="the question")
    eq(sent[-1]["body"]["text"]["body"], "How did we do? Reply 1 (poor) to 5 (great).",
       "the WhatsApp customer gets the question as text")
    st, _ = hook.post(envelope([text_msg("wamid.CS2", "5")]))
    eq(st, 200, "the answer")
    wait_for(lambda: d.conversation(wa["id"]).get("csat") == 5, what="WhatsApp rating stored")
    wait_for(lambda: [p for p in graph.posts("/%s/messages" % PHONE_ID)
                      if "Thanks for rating" in str(p["body"])], what="the thanks on WhatsApp")
    st, _ = hook.post(envelope([text_msg("wamid.CS2", "5")]))
    eq(st, 200, "the same answer again (a webhook retry)")
    eq(d.conversation(wa["id"])["csat"], 5, "stored once")
    eq(sum(1 for m in d.conversation(wa["id"])["messages"] if m.get("kind") == "csat"), 1,
       "one answer in the transcript")

    # ---- the reports count and average the answers
    rep = d.api("/api/v1/reports/agents")
    row = [r for r in rep["agents"] if r["agent"] == "alice"][0]
    eq((row["csat_responses"], row["csat_avg"]), (2, 4.5), "alice: two answers, 4 and 5")
    rep = d.api("/api/v1/reports/queues")
    row = [r for r in rep["queues"] if r["queue"] == "general"][0]
    eq((row["csat_responses"], row["csat_avg"]), (2, 4.5), "the general queue: the same")
    st, csv_text = d.http("GET", "/api/v1/reports/agents?format=csv")
    eq(st, 200, "the CSV")
    check("csat_avg" in csv_text.splitlines()[0], "the CSV has the csat columns")
    check(d.alive(), "the daemon runs on")
    d.stop()
    redis.stop()


if __name__ == "__main__":
    omrtest.run(test)
