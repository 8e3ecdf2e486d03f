"""Search past conversations (docs/search.md), against a real Redis and
daemon, through the console's websocket and the admin API:

- found by a name's prefix (accents folded), an e-mail address, a phone
  number typed any way, a conversation id, a word of a customer's message
  and of an agent's answer; several words must all be in one conversation;
- a word older than search.days is not found (test clock), and the
  retention timer trims it from the index; names still find the customer;
- an agent finds only the conversations of the queues they serve, a
  supervisor all; a closed result opens read-only for whom may find it;
- an erased customer is not found by anything, and leaves no index entry;
- hostile queries (empty, 10 kB, glob, Lua pattern, unicode, NUL, wrong
  types) get a clear error or nothing, and the daemon keeps running.
"""
import json
import time
import urllib.parse

import omrtest
from fakes import FakeGraph, WA_TOKEN, WhatsAppHook, wa_envelope, wa_plugin, wa_text
from omrtest import check, eq, log, wait_for, Agent, Daemon, Redis, Visitor

PREFIX = "omr:{main}:"
TESS_TOKEN = "tess-screen-0123456789abcdef"
DAY = 86400000

AGENTS = omrtest.quick_agents() + """  - id: sam
    name: Sam Supervisor
    password: "%s"
    roles: [supervisor]
  - id: tess
    name: Tess
    password: "%s"
    roles: [supervisor]
    queues: [tech]
    api_tokens:
      - { name: screen, hash: "%s", scopes: [read] }
""" % (omrtest.password_hash("sam"), omrtest.password_hash("tess"), omrtest.token_hash(TESS_TOKEN))


def search(agent, q, **kw):
    agent.send({"type": "search", "q": q, **kw})
    return agent.expect("search_results", "error")


def ids(res):
    return [r["conversation"] for r in res.get("results", [])]


def queued(d, conv):
    def q():
        c = d.conversation(conv)
        return c if c.get("queue") and c["status"] in ("queued", "offered", "assigned") else None
    return wait_for(q, what="conversation %s routed" % conv)


def conv_of(visitor, text):
    return visitor.say(text)["conversation"]


def test(tmp):
    graph = FakeGraph(WA_TOKEN)
    redis = Redis(tmp)
    d = Daemon(tmp, redis, agents=AGENTS, test_clock=True, extra_plugins=wa_plugin(graph.base),
               conf_extra="search: {days: 30}\nretention: {every: 1s}\n").start()
    sam = Agent(d, "sam", available=False)
    alice = Agent(d, "alice")
    bob = Agent(d, "bob", available=False)

    # ---- three customers on two channels, in three queues
    anna = Visitor(d, name="Anna de Boer", email="Anna@Example.com")
    c_anna = conv_of(anna, "Hallo, mijn factuur klopt niet: de kosten zijn te hoog")
    jorg = Visitor(d, name="Jörg Müller")
    c_jorg = conv_of(jorg, "Mijn internet router is kapot")
    st, _ = WhatsAppHook(d).post(wa_envelope([wa_text("wamid.S1", "Mijn pakket is niet aangekomen")]))
    eq(st, 200, "a WhatsApp message stored")
    c_kerry = wait_for(lambda: (redis.cmd("ZRANGE", PREFIX + "convs:ch:whatsapp", "0", "-1") or [None])[0],
                       what="the WhatsApp conversation")
    eq(queued(d, c_anna)["queue"], "billing", "Anna waits in billing")
    eq(queued(d, c_jorg)["queue"], "tech", "Jörg waits in tech")
    eq(queued(d, c_kerry)["queue"], "general", "Kerry waits in general")
    kerry = d.conversation(c_kerry)["customer"]

    # alice answers Anna: her words are found too
    o = alice.offer_for(c_anna)
    eq(alice.accept(o["offer"])["type"], "assigned", "alice has Anna's chat")
    eq(alice.reply(c_anna, "Ik kijk naar uw facturen van augustus")["type"], "ack", "alice answers")

    # ---- found by what a customer is known by (a supervisor sees every queue)
    def one(q, conv, match, what):
        r = search(sam, q)
        eq(r["type"], "search_results", "%s: answered (%r)" % (what, r))
        check(r.get("results") and r["results"][0]["conversation"] == conv,
              "%s: %s first (%r)" % (what, conv, ids(r)))
        if r.get("results"):
            eq(r["results"][0]["match"], match, "%s: matched by %s" % (what, match))
        return r
    one("ann", c_anna, "name", "a name's prefix")
    one("de bo", c_anna, "name", "prefixes of two words of a name")
    one("muller", c_jorg, "name", "a name without its accent")
    one("MÜLLER", c_jorg, "name", "a name in capitals with its accent")
    r = one("anna@example.com", c_anna, "address", "an e-mail address (lower case)")
    eq(r["results"][0]["name"], "Anna de Boer", "the result names the customer")
    one("06 1234 5678", c_kerry, "phone", "a national phone number")
    one("+31 (6) 12-34-56-78", c_kerry, "phone", "an international phone number")
    one(c_jorg, c_jorg, "id", "a conversation id")
    one(kerry, c_kerry, "id", "a customer id")
    one("KOSTEN", c_anna, "text", "a word of a message")
    one("factuur hoog", c_anna, "text", "two words of one message")
    one("facturen augustus", c_anna, "text", "words of the agent's answer")
    eq(ids(search(sam, "factuur router")), [], "words of two conversations: nothing")
    eq(ids(search(sam, "de het een")), [], "stop words only: nothing")
    r = search(sam, "mijn")   # a stop word: names of nobody
    eq(r["type"], "search_results", "a stop word is no error")

    # ranked: the exact address first, then the rest by time
    r = search(sam, "anna")
    eq(ids(r)[0], c_anna, "Anna's by name")
    # paging
    r1 = search(sam, "mijn pakket kapot factuur", limit=1)
    eq(r1["results"], [], "words of no single conversation")
    page = search(sam, "a", limit=1)
    eq(page["type"], "search_results", "a one-letter query is answered")

    # ---- roles: agents their queues, supervisors all
    eq(ids(search(alice, "router")), [], "alice (billing, general) does not find a tech chat")
    eq(ids(search(bob, "router")), [c_jorg], "bob (tech) finds it")
    eq(ids(search(bob, "kosten")), [], "bob does not find a billing chat")
    eq(ids(search(alice, "kosten")), [c_anna], "alice finds her own")
    eq(ids(search(bob, "pakket")), [c_kerry], "general: bob finds it")
    eq(ids(search(alice, "pakket")), [c_kerry], "general: alice finds it")

    # ---- a closed result opens read-only, for whom may find it
    alice.send({"type": "close", "conversation": c_anna})
    alice.expect("status")
    alice.send({"type": "wrapup", "conversation": c_anna, "reason": "invoice unclear",
                "outcome": "resolved"})
    wait_for(lambda: d.conversation(c_anna)["status"] == "closed", what="Anna's chat closed")
    sam.send({"type": "open", "conversation": c_anna})
    h = sam.expect("history", "error")
    eq((h["type"], h.get("conversation", {}).get("id")), ("history", c_anna),
       "the supervisor opens a closed result")
    bob.send({"type": "open", "conversation": c_anna})
    eq(bob.expect("history", "error").get("code"), "not_yours", "bob may not read a billing chat")
    bob.send({"type": "open", "conversation": c_jorg})
    eq(bob.expect("history", "error").get("code"), "not_yours",
       "an open chat of someone else is not read through the search")

    # ---- the admin API
    st, body = d.http("GET", "/api/v1/search?q=" + urllib.parse.quote("kosten"))
    eq((st, [x["conversation"] for x in body["results"]]), (200, [c_anna]), "GET /api/v1/search")
    st, body = d.http("GET", "/api/v1/search")
    eq(st, 400, "no q: 400")
    st, body = d.http("GET", "/api/v1/search?q=" + "x" * 10000)
    eq((st, body["error"]["code"]), (400, "bad_query"), "10 kB: 400")
    st, body = d.http("GET", "/api/v1/search?q=kosten", auth=False)
    eq(st, 401, "no token: 401")
    st, body = d.http("GET", "/api/v1/search?q=kosten", token=TESS_TOKEN)
    eq((st, body["results"]), (200, []), "a token limited to tech does not find a billing chat")
    st, body = d.http("GET", "/api/v1/search?q=router", token=TESS_TOKEN)
    eq([x["conversation"] for x in body["results"]], [c_jorg], "... but a tech one")
    tess = Agent(d, "tess", available=False)
    eq(ids(search(tess, "kosten")), [], "a supervisor of tech does not find a billing chat")
    eq(ids(search(tess, "router")), [c_jorg], "... but a tech one")

    # ---- hostile queries: a clear error or nothing; the daemon keeps running
    for q, want in (("", "bad_query"), ("   ", "bad_query"), ("x" * 10240, "bad_query"),
                    ("é" * 200, "bad_query"), (None, "bad_request"), (42, "bad_request"),
                    (["a"], "bad_request")):
        r = search(sam, q)
        eq((r["type"], r.get("code")), ("error", want), "query %r: %s" % (str(q)[:20], want))
    for q in ("*", "*?[", "[[[", "a*b?c[d]", "%", "%s%d%n", "%[^a]", "(.-)", "^$",
              "\\x00", "日本語", "🙂🙂", "'; FLUSHALL; --", "' or 1=1", "\u202e", "[\xff",
              "ab" * 100):
        r = search(sam, q)
        eq(r["type"], "search_results", "query %r answered" % q[:20])
    sam.ws.send_frame(1, b'{"type":"search","q":"a\\u0000b"}')
    r = sam.expect("search_results", "error")
    eq(r["type"], "error", "a NUL in the query: an error")
    for kw in ({"offset": -1}, {"offset": 100000}, {"limit": 0}, {"limit": 51},
               {"limit": "10"}, {"offset": 1.5}):
        r = search(sam, "kosten", **kw)
        eq((r["type"], r.get("code")), ("error", "bad_request"), "paging %r refused" % kw)
    check(d.healthy(), "the daemon kept running")

    # ---- older than search.days: not found, trimmed; names still find it
    d.advance_clock(31 * DAY)
    eq(conv_of(jorg, "Een vraag over de garantie"), c_jorg, "Jörg writes again in his chat")
    eq(ids(search(sam, "router")), [], "a word older than 30 days is not found")
    eq(ids(search(sam, "garantie")), [c_jorg], "a new word is")
    eq(ids(search(sam, "muller")), [c_jorg], "the name still finds the customer")
    wait_for(lambda: redis.cmd("EXISTS", PREFIX + "s:w:router") == 0, timeout=20,
             what="the old word trimmed from the index")
    eq(redis.cmd("EXISTS", PREFIX + "s:w:garantie"), 1, "the new word stays")

    # ---- an erased customer is found by nothing
    st, body = d.http("DELETE", "/api/v1/customers/%s?force=1" % kerry)
    eq(st, 200, "Kerry erased (%r)" % body)
    for q in ("06 1234 5678", "pakket", "kerry", "fisher", kerry, c_kerry):
        eq(ids(search(sam, q)), [], "erased: %r finds nothing" % q)
    for key in ("s:names", "s:addrs"):
        left = [m for m in redis.cmd("ZRANGE", PREFIX + key, "0", "-1") if kerry in m]
        eq(left, [], "erased: nothing of Kerry in %s" % key)
    eq(redis.cmd("EXISTS", PREFIX + "conv:%s:terms" % c_kerry), 0, "erased: its terms gone")
    eq(redis.cmd("EXISTS", PREFIX + "s:w:pakket"), 0, "erased: its word gone from the index")
    eq(redis.cmd("ZSCORE", PREFIX + "s:terms", "pakket"), None, "erased: its word not listed either")
    eq(redis.cmd("EXISTS", PREFIX + "s:cn:" + kerry), 0, "erased: its name terms gone")

    check(d.healthy(), "the daemon is still healthy")
    eq(d.stop(), 0, "clean stop")


if __name__ == "__main__":
    omrtest.run(test)
