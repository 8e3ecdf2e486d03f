"""Head-of-line blocking (issue 19, 5): many conversations that only a busy
agent can take must not hide, however many of them wait, the ones that an
idle agent can take. 60 Dutch chats wait for the one Dutch agent (busy);
5 English chats wait behind them; two idle English agents with 6 free slots
between them must each get offers for all 5, and nothing else: no Dutch
chat offered to them, none offered twice."""
import time

import omrtest
from omrtest import check, eq, log, Agent, Daemon, Redis, Visitor, token_hash

ROUTING = """
skills: [general]
default_queue: chat
queues:
  - name: chat
rules:
  - name: dutch
    when: 'text:lower():find("hallo")'
    language: nl
  - name: english
    when: 'text:lower():find("hello")'
    language: en
offers: {timeout: 60s, max_missed: 3, reject_cooldown: 1m}
reasons: [other]
"""

AGENTS = """
agents:
  - id: daan
    token: "%(daan)s"
    languages: [nl]
    capacity: { webchat: 1 }
  - id: emma
    token: "%(emma)s"
    languages: [en]
    capacity: { webchat: 3 }
  - id: finn
    token: "%(finn)s"
    languages: [en]
    capacity: { webchat: 3 }
""" % {"daan": token_hash("daan-token-0123456789x"), "emma": token_hash("emma-token-0123456789x"),
       "finn": token_hash("finn-token-0123456789x")}

DUTCH = 60
ENGLISH = 5


def offers_within(agents, want, seconds):
    """Offers to the agents until want of them came or the time is up."""
    got = {}
    end = time.time() + seconds
    while len(got) < want and time.time() < end:
        for ag in agents:
            try:
                o = ag.expect("offer", timeout=0.2)
            except TimeoutError:
                continue
            cid = o["conversation"]["id"]
            check(cid not in got, "conversation %s offered once" % cid)
            got[cid] = (ag.id, o)
    return got


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=ROUTING, agents=AGENTS).start()

    daan = Agent(d, token="daan-token-0123456789x")
    first = Visitor(d, name="Anne")
    c0 = first.say("Hallo, een vraag")["conversation"]
    o = daan.expect("offer")
    eq(o["conversation"]["id"], c0, "the Dutch agent gets the first Dutch chat")
    daan.accept(o["offer"])                  # and is busy from now on

    dutch, english = [], []
    visitors = []
    for i in range(DUTCH):
        v = Visitor(d, name="nl%d" % i)
        dutch.append(v.say("Hallo, vraag %d" % i)["conversation"])
        visitors.append(v)
    for i in range(ENGLISH):
        v = Visitor(d, name="en%d" % i)
        english.append(v.say("Hello, question %d" % i)["conversation"])
        visitors.append(v)
    omrtest.wait_for(lambda: d.conversation(english[-1]).get("status") == "queued",
                     what="the last English chat waits")
    q = {x["name"]: x for x in d.api("/api/v1/queues")["queues"]}["chat"]
    eq(q["waiting"], DUTCH + ENGLISH, "everything waits in one queue")
    check(d.conversation(english[0])["language"] == "en", "the English chats are English")

    # two idle English agents come: all five English chats, within a second
    # or so, however many Dutch chats are ahead of them
    t0 = time.time()
    emma = Agent(d, token="emma-token-0123456789x")
    finn = Agent(d, token="finn-token-0123456789x")
    got = offers_within([emma, finn], ENGLISH, 10)
    took = time.time() - t0
    log("%d of %d English chats offered in %.2f s behind %d Dutch"
        % (len(got), ENGLISH, took, DUTCH))
    eq(sorted(got), sorted(english), "every English chat is offered")
    check(not set(got) & set(dutch), "no Dutch chat to an English agent")
    per = {}
    for agent, _ in got.values():
        per[agent] = per.get(agent, 0) + 1
    check(max(per.values()) <= 3, "nobody over capacity: %s" % per)

    # the Dutch keep waiting for daan, in their order; none was lost
    for ag in (emma, finn):
        ag.none_of("offer", wait=1.0)
    waiting = d.api("/api/v1/queues")["queues"][0]["waiting"]
    eq(waiting, DUTCH, "the Dutch chats still wait")
    daan.send({"type": "close", "conversation": c0})
    daan.expect("status")
    daan.send({"type": "wrapup", "conversation": c0, "reason": "other", "outcome": "resolved"})
    o = daan.expect("offer", timeout=10)
    eq(o["conversation"]["id"], dutch[0], "when daan is free: the Dutch chat that waited longest")

    lost = [c for c in dutch + english
            if d.conversation(c).get("status") not in ("queued", "offered", "assigned")]
    eq(lost, [], "no conversation lost")
    for v in visitors:
        v.close()
    d.stop()


if __name__ == "__main__":
    omrtest.run(test)
