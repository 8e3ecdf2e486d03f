"""Public posts are urgent by default (issue 18), with the shipped
conf/routing.yaml and no rule of the test's own: a Facebook comment (the
local fake of Meta's Graph API) and an X mention (the fake of X's API v2)
go to the `public` queue with its short service level and a raised
priority; the agent sees that the answer is public; answered publicly, the
fake gets a comment reply / a reply tweet; answered privately, it gets the
private message (Send API to recipient.comment_id / an X DM) and the short
public note under the post. Bad `private` flags are refused plainly, and
hostile webhook payloads (bad tweet ids, retweets, our own tweets, a
comment id made to climb the URL) are skipped with the daemon running."""
import json
import os

import omrtest
from fakes import FakeGraph, FakeX, meta_signature, x_signature
from omrtest import check, eq, Agent, Daemon, Redis, wait_for, BUILDDIR, SRCDIR, token_hash

META_SECRET = "test-meta-app-secret"
VERIFY = "test-verify-token"
PAGE_TOKEN = "EAAB-page-token"
PAGE_ID = "105000000000001"
X_SECRET = "test-consumer-secret"
X_TOKEN = "x-user-token-abc"
X_USER = "4337869213"
NOTE_EN = "We have sent you a private message."   # public_reply_note.en of the shipped file

AGENTS = """
agents:
  - id: alice
    name: Alice
    token: "%s"
    skills: { general: 3 }
    capacity: { messenger: 5, x: 5, webchat: 1 }
""" % token_hash("alice-token-0123456789")


def shipped_routing():
    with open(os.path.join(SRCDIR, "conf", "routing.yaml")) as f:
        return f.read()


def plugins(graph, xapi):
    return """  - name: faqbot
    path: %(b)s/plugins/faqbot/.libs/faqbot.so
    config_file: %(src)s/conf/faqbot.yaml
  - name: messenger
    path: %(b)s/plugins/social/.libs/messenger.so
    config:
      page_id: "%(page)s"
      app_secret: %(ms)s
      verify_token: %(vt)s
      access_token: %(pt)s
      api_base: %(gb)s
  - name: x
    path: %(b)s/plugins/social/.libs/x.so
    config:
      consumer_secret: %(xs)s
      access_token: %(xt)s
      user_id: "%(xu)s"
      api_base: %(xb)s
      rate_per_second: 20
""" % dict(b=BUILDDIR, src=SRCDIR, page=PAGE_ID, ms=META_SECRET, vt=VERIFY, pt=PAGE_TOKEN,
           gb=graph.base, xs=X_SECRET, xt=X_TOKEN, xu=X_USER, xb=xapi.base)


def post(d, channel, payload=None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    if channel == "x":
        headers = {"x-twitter-webhooks-signature": x_signature(X_SECRET, body)}
    else:
        headers = {"X-Hub-Signature-256": meta_signature(META_SECRET, body)}
    headers["Content-Type"] = "application/json"
    return d.http("POST", "/webhooks/" + channel, body=body, auth=False,
                  port=d.ports["webhooks"], headers=headers)


def fb_comment(cid, text, who="7000000000000002", name="Angry Andy", parent=None):
    return {"object": "page", "entry": [{"id": PAGE_ID, "time": 1732531300, "changes": [{
        "field": "feed", "value": {
            "from": {"id": who, "name": name}, "item": "comment", "verb": "add",
            "comment_id": cid, "post_id": "%s_555" % PAGE_ID,
            "parent_id": parent or "%s_555" % PAGE_ID, "message": text,
            "created_time": 1732531300}}]}]}


def tweet(tid, text, who="2244994945", name="Joe", reply_to=None, mention=True, **extra):
    t = {"created_at": "Sat Dec 05 18:00:00 +0000 2026", "id_str": tid, "text": text,
         "timestamp_ms": "1796493600000",
         "user": {"id_str": who, "name": name, "screen_name": name.lower()},
         "entities": {"user_mentions": [{"id_str": X_USER, "screen_name": "shop"}]
                      if mention else []}}
    if reply_to:
        t.update({"in_reply_to_status_id_str": reply_to, "in_reply_to_user_id_str": X_USER})
    t.update(extra)
    return {"for_user_id": X_USER, "tweet_create_events": [t]}


def offer_public(alice, channel):
    while True:
        o = alice.expect("offer", timeout=10)
        if o["conversation"]["channel"] == channel:
            return o


def reply(alice, conv, text, cmid, **kw):
    f = {"type": "reply", "conversation": conv, "text": text, "client_msg_id": cmid}
    f.update(kw)
    alice.send(f)
    return alice.expect("ack", "error")


def test(tmp):
    graph = FakeGraph(PAGE_TOKEN)
    xapi = FakeX(X_TOKEN)
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=shipped_routing(), agents=AGENTS,
               extra_plugins=plugins(graph, xapi)).start()
    alice = Agent(d, token="alice-token-0123456789")

    # ---- the shipped public queue: short service level, raised priority
    q = next(q for q in d.api("/api/v1/queues")["queues"] if q["name"] == "public")
    eq((q["sla"]["target"], q["sla"]["within_s"], q["priority"]), (90, 900, 80),
       "the shipped `public` queue: 90% within 15 minutes, priority 80")

    # ---- a Facebook comment: to the public queue, urgent, public marker
    eq(post(d, "messenger", fb_comment("555_777", "Worst service ever!!"))[1]["messages"], 1,
       "a comment is stored")
    o = offer_public(alice, "messenger")
    c = o["conversation"]
    eq((c["queue"], c["priority"], c["public"]), ("public", 100, True),
       "the comment waits in `public` with priority 80 + 20 (a moment of truth), marked public")
    conv = alice.accept(o["offer"])["conversation"]
    check("public" in conv.get("tags", []), "tagged public")
    routing = d.conversation(conv["id"])["routing"]
    eq(routing["rules"], ["public posts"], "the shipped rule placed it (no rule of the test's)")

    # answered publicly: a reply under the comment
    a = reply(alice, conv["id"], "Sorry Andy, what went wrong?", "p1")
    eq(a["type"], "ack", "a public answer is stored")
    r = wait_for(lambda: graph.posts("/555_777/comments"), what="the comment reply")[-1]
    eq(r["body"], {"message": "Sorry Andy, what went wrong?"}, "answered under the comment")
    eq(graph.posts("/%s/messages" % PAGE_ID), [], "and nothing privately")

    # answered privately: Send API to the comment, the note under it
    a = reply(alice, conv["id"], "Andy, your order number please?", "p2", private=True)
    eq(a["type"], "ack", "a private answer is stored")
    eq(a["message"]["meta"].get("public_note") if isinstance(a["message"].get("meta"), dict)
       else json.loads(a["message"].get("meta") or "{}").get("public_note"), NOTE_EN,
       "the stored message says which note went public")
    s = wait_for(lambda: graph.posts("/%s/messages" % PAGE_ID), what="the private reply")[-1]
    eq(s["body"], {"recipient": {"comment_id": "555_777"},
                   "message": {"text": "Andy, your order number please?"}},
       "a private reply to the comment through the Send API (recipient.comment_id)")
    eq(s["auth"], "Bearer " + PAGE_TOKEN, "with the page token")
    notes = wait_for(lambda: [p["body"] for p in graph.posts("/555_777/comments")
                              if p["body"] == {"message": NOTE_EN}], what="the public note")
    eq(len(notes), 1, "the note is posted under the comment, once")
    check(all("order number" not in json.dumps(p["body"]) for p in graph.posts("/555_777/comments")),
          "the private text is not posted publicly")
    mid = a["message"]["id"]
    wait_for(lambda: next(m for m in d.conversation(conv["id"])["messages"] if m["id"] == mid)
             ["status"] == "sent", what="the private message's status: sent")

    # Meta takes one private reply per comment: a second one fails, and
    # its note is not posted (a note goes out only after its message)
    a = reply(alice, conv["id"], "Andy, one more thing in private", "p3", private=True)
    eq(a["type"], "ack", "a second private answer is stored")
    mid3 = a["message"]["id"]
    wait_for(lambda: next(m for m in d.conversation(conv["id"])["messages"] if m["id"] == mid3)
             ["status"] == "failed", what="the second private reply: failed (#10903)")
    eq(len([p for p in graph.posts("/555_777/comments") if p["body"] == {"message": NOTE_EN}]), 1,
       "no public note about a private message that never arrived")

    # refused plainly
    for bad, want in (({"private": "yes"}, "private"), ({"private": 1}, "private")):
        a = reply(alice, conv["id"], "x", "bad%s" % bad["private"], **bad)
        eq((a["type"], a.get("code")), ("error", "bad_request"), "private %r refused" % bad)
        check(want in a.get("message", ""), "and says why")

    # ---- an X mention and a reply to the company's tweet
    eq(post(d, "x", tweet("1865000000000000001", "@shop my router is dead again"))[1]["messages"],
       1, "an X mention is stored")
    o = offer_public(alice, "x")
    eq((o["conversation"]["queue"], o["conversation"]["priority"], o["conversation"]["public"]),
       ("public", 100, True), "an X mention goes to the public queue, urgent, public")
    xc = alice.accept(o["offer"])["conversation"]
    eq((xc["attrs"]["tweet_id"], xc["attrs"]["source"]), ("1865000000000000001", "mention"),
       "with the tweet it answers")
    # a reply tweet takes 280 characters: a longer public answer is refused
    # before it is stored, and says how to send it (privately)
    long = "@joe " + "x" * 276
    a = reply(alice, xc["id"], long, "x0")
    eq((a["type"], a.get("code")), ("error", "text_too_long"), "281 characters in public: refused")
    check("280" in a.get("message", "") and "privately" in a.get("message", ""),
          "the message says the limit and the way out: %r" % a.get("message"))
    eq(len(xapi.posts("/2/tweets")), 0, "nothing was posted")
    a = reply(alice, xc["id"], "@joe " + "x" * 275, "x0b")
    eq(a["type"], "ack", "280 characters in public: taken")
    wait_for(lambda: len(xapi.posts("/2/tweets")) == 1, what="the 280-character reply tweet")
    xapi.requests.clear()
    a = reply(alice, xc["id"], "@joe sorry! We are on it.", "x1")
    eq(a["type"], "ack", "a public X answer is stored")
    t = wait_for(lambda: xapi.posts("/2/tweets"), what="the reply tweet")[-1]
    eq(t["body"], {"text": "@joe sorry! We are on it.",
                   "reply": {"in_reply_to_tweet_id": "1865000000000000001"}},
       "POST /2/tweets in reply to the mention")
    eq(t["auth"], "Bearer " + X_TOKEN, "with the user token")
    xid = wait_for(lambda: next(m for m in d.conversation(xc["id"])["messages"]
                                if m["id"] == a["message"]["id"]).get("channel_msg_id"),
                   what="the reply tweet's id kept")
    check(xid.startswith("19"), "the tweet id from data.id")

    eq(post(d, "x", tweet("1865000000000000002", "is the outage over?", who="2244994946",
                          name="Ann", reply_to="1865000000000000000", mention=False))[1]
       ["messages"], 1, "a reply to the company's tweet is stored")
    o = offer_public(alice, "x")
    eq((o["conversation"]["queue"], o["conversation"]["public"]), ("public", True),
       "a reply to our post: public queue too")
    xr = alice.accept(o["offer"])["conversation"]
    eq(xr["attrs"]["source"], "reply", "known as a reply")
    a = reply(alice, xr["id"], "Ann, please send us your customer number.", "x2", private=True)
    eq(a["type"], "ack", "a private X answer")
    dm = wait_for(lambda: xapi.posts("/2/dm_conversations/with/2244994946/messages"),
                  what="the DM")[-1]
    eq(dm["body"], {"text": "Ann, please send us your customer number."}, "the answer as a DM")
    note = wait_for(lambda: [p for p in xapi.posts("/2/tweets")
                             if p["body"].get("reply", {}).get("in_reply_to_tweet_id") ==
                             "1865000000000000002"], what="the public note")
    eq([p["body"]["text"] for p in note], [NOTE_EN], "and the note as a reply tweet")
    check(xapi.requests.index(note[0]) > xapi.requests.index(dm),
          "posted after the DM was taken")

    # a DM X refuses: no note about it
    xapi.fail_next(1, status=403, retry_after=None)
    a = reply(alice, xr["id"], "Ann, are you there?", "x2b", private=True)
    wait_for(lambda: next(m for m in d.conversation(xr["id"])["messages"]
                          if m["id"] == a["message"]["id"])["status"] == "failed",
             what="the refused DM: failed")
    eq(len([p for p in xapi.posts("/2/tweets")
            if p["body"].get("reply", {}).get("in_reply_to_tweet_id") == "1865000000000000002"]),
       1, "no second note for a DM that failed")

    # a private answer on a private conversation: refused
    dm_ev = {"for_user_id": X_USER, "direct_message_events": [
        {"type": "message_create", "id": "1855000000000000009", "created_timestamp": "1",
         "message_create": {"target": {"recipient_id": X_USER}, "sender_id": "3001969357",
                            "message_data": {"text": "hello in private"}}}]}
    eq(post(d, "x", dm_ev)[1]["messages"], 1, "an X DM")
    o = offer_public(alice, "x")
    eq((o["conversation"]["queue"], o["conversation"]["public"]), ("general", False),
       "a DM is not public: the general queue")
    pc = alice.accept(o["offer"])["conversation"]
    a = reply(alice, pc["id"], "hi", "x3", private=True)
    eq((a["type"], a.get("code")), ("error", "bad_request"),
       "private on a private conversation: refused")

    # ---- hostile payloads: skipped, not fatal
    before = len(d.api("/api/v1/conversations?channel=x&limit=100")["conversations"])
    hostile = [
        tweet("../../2/tweets", "@shop climb"),                      # an id that is no number
        tweet("1865000000000000010", "RT @shop", retweeted_status={"id_str": "1"}),
        tweet("1865000000000000011", "our own", who=X_USER),
        tweet("1865000000000000012", "not about us", mention=False),
        tweet("1" * 40, "@shop too long an id"),
        {"for_user_id": X_USER, "tweet_create_events": [None, 7, "x", [], {"id_str": 5},
                                                        {"id_str": "1", "user": []}]},
        {"for_user_id": X_USER, "tweet_create_events": "nope"},
    ]
    for h in hostile:
        st, body = post(d, "x", h)
        eq((st, body.get("messages")), (200, 0), "X: hostile tweet skipped (%.40s)" %
           json.dumps(h["tweet_create_events"]))
    eq(len(d.api("/api/v1/conversations?channel=x&limit=100")["conversations"]), before,
       "no conversation from them")
    for cid in ("../../me/feed", "555_777?x=1", "", "9" * 200):
        st, body = post(d, "messenger", fb_comment(cid, "hostile"))
        eq((st, body.get("messages")), (200, 0), "Meta: a comment id %r is skipped" % cid[:20])
    st, _ = post(d, "x", raw=b'{"for_user_id":"%s","tweet_create_events":[{' % X_USER.encode())
    eq(st, 400, "a truncated body: 400")
    check(d.alive(), "the daemon keeps running")
    eq(d.stop(), 0, "clean stop")
    graph.close()
    xapi.close()


omrtest.run(test)
