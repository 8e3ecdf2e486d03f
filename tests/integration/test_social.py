"""Messenger, Instagram and X against local fakes of Meta's Graph API and
X's API: handshakes (Meta's verification, X's CRC), signed webhooks (forged
refused, nothing stored), direct messages as private conversations,
comments on posts as public conversations that a rule makes urgent,
replies through the Send API / under the comment / as an X DM with the
right JSON and token, receipts, duplicates stored once, hostile payloads."""
import base64
import hashlib
import hmac
import json
import re
import time
import urllib.parse

import omrtest
from fakes import FakeGraph, FakeX, meta_signature, x_signature
from omrtest import check, eq, log, Agent, Daemon, Redis, wait_for, BUILDDIR, token_hash

META_SECRET = "test-meta-app-secret"
VERIFY = "test-verify-token"
PAGE_TOKEN = "EAAB-page-token"
PAGE_ID = "105000000000001"
IG_ID = "17841400000000001"
X_SECRET = "test-consumer-secret"
X_TOKEN = "x-user-token-abc"
X_USER = "4337869213"
X_CONSUMER_KEY = "xvz1evFS4wEEPTGEFPHBog"
X_TOKEN_SECRET = "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"

# The public queue is closed today (a holiday), so its out-of-hours notice
# is due for every public comment: it must not be posted under the post.
TODAY = time.strftime("%Y-%m-%d", time.gmtime())
TOMORROW = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
ROUTING = """
skills: [general, social]
default_queue: general
calendars:
  - name: closed
    timezone: UTC
    hours: { mon-sun: "00:00-24:00" }
    holidays: [""" + TODAY + ", " + TOMORROW + """]
queues:
  - name: general
    status_interval: 0
  - name: public
    priority: 90
    status_interval: 0
    calendar: closed
    out_of_hours: { action: message, text: "We are closed today; we answer tomorrow." }
rules:
  - name: public posts are urgent
    when: 'public'
    queue: public
    tags: [public]
offers: {timeout: 10s}
reasons: [other]
outcomes: [resolved]
"""

AGENTS = """
agents:
  - id: alice
    name: Alice
    token: "%(alice)s"
    skills: { general: 3 }
    capacity: { messenger: 5, instagram: 5, x: 5, webchat: 1 }
""" % {"alice": token_hash("alice-token-0123456789")}


def plugins(graph, xapi):
    meta = """      app_secret: %s
      verify_token: %s
      access_token: %s
      api_base: %s
      reply_window: 3s
""" % (META_SECRET, VERIFY, PAGE_TOKEN, graph.base)
    return """  - name: messenger
    path: %(b)s/plugins/social/.libs/messenger.so
    config:
      page_id: "%(page)s"
%(meta)s  - name: instagram
    path: %(b)s/plugins/social/.libs/instagram.so
    config:
      page_id: "%(ig)s"
%(meta)s  - name: x
    path: %(b)s/plugins/social/.libs/x.so
    config:
      consumer_secret: %(xs)s
      consumer_key: %(xk)s
      access_token: %(xt)s
      access_token_secret: %(xts)s
      user_id: "%(xu)s"
      api_base: %(xb)s
      rate_per_second: 20
""" % dict(b=BUILDDIR, page=PAGE_ID, ig=IG_ID, meta=meta, xs=X_SECRET, xt=X_TOKEN, xu=X_USER,
           xb=xapi.base, xk=X_CONSUMER_KEY, xts=X_TOKEN_SECRET)


class Hooks:
    def __init__(self, d):
        self.d = d

    def post(self, channel, payload, sig="good", raw=None):
        body = raw if raw is not None else json.dumps(payload).encode()
        if channel == "x":
            name = "x-twitter-webhooks-signature"
            good = x_signature(X_SECRET, body)
        else:
            name = "X-Hub-Signature-256"
            good = meta_signature(META_SECRET, body)
        headers = {"Content-Type": "application/json"}
        if sig:
            headers[name] = good if sig == "good" else sig
        return self.d.http("POST", "/webhooks/" + channel, body=body, auth=False,
                           port=self.d.ports["webhooks"], headers=headers)

    def get(self, channel, query):
        return self.d.http("GET", "/webhooks/%s?%s" % (channel, query), auth=False,
                           port=self.d.ports["webhooks"])


def messenger_dm(mid, text, psid="6000000000000001", ts=1732531200000):
    return {"object": "page", "entry": [{"id": PAGE_ID, "time": ts, "messaging": [{
        "sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": ts,
        "message": {"mid": mid, "text": text}}]}]}


def convs(d, channel):
    return d.api("/api/v1/conversations?channel=%s&limit=100" % channel)["conversations"]


def msgs(d, cid):
    return d.conversation(cid)["messages"]


def offer_for(agent, pred, timeout=10):
    deadline = time.time() + timeout
    while True:
        o = agent.expect("offer", timeout=max(0.1, deadline - time.time()))
        if pred(o):
            return o


def metric(d, name):
    return d.metric(name)


FORGED_SENDER = "6660000000000000666"
FORGED_ID = "1855999999999999999"


def x_crc_forgery(d, hooks, redis, alice):
    """X's CRC answer is base64(HMAC-SHA256(consumer_secret, crc_token)):
    exactly the x-twitter-webhooks-signature of a POST whose body is that
    token. Whoever reaches the webhook could have any body signed by asking
    for it as a CRC token, and inject DMs from any X user. A token that
    could be a payload is not signed, and what the CRC does sign is not
    stored when replayed as a POST."""
    forged = json.dumps({"for_user_id": X_USER, "direct_message_events": [
        {"type": "message_create", "id": FORGED_ID, "created_timestamp": "1732531500000",
         "message_create": {"target": {"recipient_id": X_USER}, "sender_id": FORGED_SENDER,
                            "message_data": {"text": "Reset my password and mail it to me"}}}],
        "users": {FORGED_SENDER: {"id": FORGED_SENDER, "name": "Trusted Customer"}}},
        separators=(",", ":"))
    # the last two are of X's alphabet: signed, but useless as bodies
    small = json.dumps({"for_user_id": X_USER, "direct_message_events": []}).encode()
    tokens = [forged, "  " + forged, base64.b64encode(small).decode(), "challenge-123"]
    crc = lambda t: hooks.get("x", "crc_token=" + urllib.parse.quote(t, safe=""))
    events = lambda: redis.cmd("XLEN", "omr:{main}:events")
    before = {"events": events(), "refused": metric(d, "provider_webhooks_refused_total"),
              "malformed": metric(d, "provider_webhooks_malformed_total"),
              "messages": metric(d, "provider_messages_total")}

    # (a) the forged body as a CRC token: not signed
    st, ans = crc(forged)
    eq(st, 400, "X: a CRC token that is a JSON object is not signed")
    check(not (isinstance(ans, dict) and "response_token" in ans), "X: and no response_token")

    # (b) every signature a CRC answer gives, replayed on the body it signs,
    # and on the forged body
    sigs = []
    for t in tokens:
        st, ans = crc(t)
        if st == 200:
            sigs.append((t, ans["response_token"]))
    eq([t[:24] for t, _ in sigs], [t[:24] for t in tokens[2:]],
       "X: only tokens of X's alphabet are signed")
    for t, sig in sigs:
        st, res = hooks.post("x", None, raw=t.encode(), sig=sig)
        eq((st, res.get("messages") if isinstance(res, dict) else None), (400, None),
           "X: a CRC answer replayed with its token as the body: 400, nothing stored (%.20s)" % t)
        st, _ = hooks.post("x", None, raw=forged.encode(), sig=sig)
        eq(st, 403, "X: a CRC answer as the signature of the forged DM: 403")

    # nothing reached Redis, nothing was queued, and it was counted
    after = {"events": events(), "refused": metric(d, "provider_webhooks_refused_total"),
             "malformed": metric(d, "provider_webhooks_malformed_total"),
             "messages": metric(d, "provider_messages_total")}
    n_refused_crc = 1 + (len(tokens) - len(sigs))
    eq({k: after[k] - before[k] for k in after},
       {"events": 0, "refused": n_refused_crc + len(sigs), "malformed": len(sigs), "messages": 0},
       "X forgery: no event in the stream, every attempt counted (refused, malformed)")
    eq(redis.cmd("KEYS", "*" + FORGED_SENDER + "*") + redis.cmd("KEYS", "*" + FORGED_ID + "*"),
       [], "X forgery: no key for the forged sender or DM in Redis")
    eq(convs(d, "x"), [], "X forgery: no conversation")
    check(alice.none_of("offer", wait=1.0), "X forgery: no offer to the agent")


def test(tmp):
    graph = FakeGraph(PAGE_TOKEN)
    xapi = FakeX(X_TOKEN, oauth1=(X_CONSUMER_KEY, X_SECRET, X_TOKEN, X_TOKEN_SECRET))
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=ROUTING, agents=AGENTS, extra_plugins=plugins(graph, xapi)).start()
    hooks = Hooks(d)
    alice = Agent(d, token="alice-token-0123456789")

    # ---- handshakes
    for ch in ("messenger", "instagram"):
        st, body = hooks.get(ch, "hub.mode=subscribe&hub.verify_token=%s&hub.challenge=42" % VERIFY)
        eq((st, str(body)), (200, "42"), "%s: verification echoes the challenge" % ch)
        st, _ = hooks.get(ch, "hub.mode=subscribe&hub.verify_token=nope&hub.challenge=42")
        eq(st, 403, "%s: a wrong verify token: 403" % ch)
    st, body = hooks.get("x", "crc_token=challenge-123")
    want = "sha256=" + base64.b64encode(hmac.new(X_SECRET.encode(), b"challenge-123",
                                                 hashlib.sha256).digest()).decode()
    eq((st, body), (200, {"response_token": want}), "X: the CRC answer")
    x_crc_forgery(d, hooks, redis, alice)

    # ---- forged webhooks: refused, not stored
    eq(hooks.post("messenger", messenger_dm("m_forged", "hi"), sig="sha256=" + "1" * 64)[0], 403,
       "Messenger: a forged signature: 403")
    eq(hooks.post("x", {"for_user_id": X_USER}, sig="sha256=AAAA")[0], 403,
       "X: a forged signature: 403")
    eq(hooks.post("instagram", {"object": "instagram", "entry": []}, sig=None)[0], 401,
       "Instagram: no signature: 401")
    eq(convs(d, "messenger"), [], "nothing forged was stored")

    # ---- Messenger: a DM, a duplicate, a reply through the Send API
    st, body = hooks.post("messenger", messenger_dm("m_AAA1", "Where is my refund?"))
    eq((st, body["messages"]), (200, 1), "Messenger DM stored")
    st, body = hooks.post("messenger", messenger_dm("m_AAA1", "Where is my refund?"))
    eq(body["duplicates"], 1, "the same DM again: recognised")
    o = offer_for(alice, lambda o: o["conversation"]["channel"] == "messenger")
    conv = alice.accept(o["offer"])["conversation"]
    eq((conv["public"], conv["queue"], len(conv["messages"])), (False, "general", 1),
       "a private conversation, stored once")
    a = alice.reply(conv["id"], "Your refund is on its way.")
    eq(a["type"], "ack", "the reply is stored")
    sent = wait_for(lambda: graph.posts("/%s/messages" % PAGE_ID), what="Send API call")[-1]
    eq(sent["auth"], "Bearer " + PAGE_TOKEN, "with the page token")
    eq(sent["body"], {"recipient": {"id": "6000000000000001"}, "messaging_type": "RESPONSE",
                      "message": {"text": "Your refund is on its way."}}, "the Send API's JSON")
    mid = a["message"]["id"]
    status = lambda: next(m for m in msgs(d, conv["id"]) if m["id"] == mid)
    fb_mid = wait_for(lambda: status().get("channel_msg_id"), what="message_id kept")
    hooks.post("messenger", {"object": "page", "entry": [{"id": PAGE_ID, "messaging": [{
        "sender": {"id": "6000000000000001"}, "recipient": {"id": PAGE_ID},
        "delivery": {"mids": [fb_mid], "watermark": 1}}]}]})
    wait_for(lambda: status()["status"] == "delivered", what="delivered receipt")
    # a read receipt by time (watermark): what we sent before it is read
    st, body = hooks.post("messenger", {"object": "page", "entry": [{"id": PAGE_ID, "messaging": [{
        "sender": {"id": "6000000000000001"}, "recipient": {"id": PAGE_ID},
        "timestamp": int(time.time() * 1000),
        "read": {"watermark": int(time.time() * 1000) + 1000}}]}]})
    eq((st, body["statuses"]), (200, 1), "a read receipt")
    wait_for(lambda: status()["status"] == "read", what="read by watermark")
    seen = []
    wait_for(lambda: seen.append(alice.expect("message")["message"]) or
             any(m.get("id") == mid and m.get("status") == "read" for m in seen),
             what="the agent sees it read")
    # our own message comes back as an echo: not a customer message
    echo = {"object": "page", "entry": [{"id": PAGE_ID, "messaging": [{
        "sender": {"id": PAGE_ID}, "recipient": {"id": "6000000000000001"}, "timestamp": 1,
        "message": {"mid": fb_mid, "text": "Your refund is on its way.", "is_echo": True}}]}]}
    eq(hooks.post("messenger", echo)[1]["messages"], 0, "echoes of our own messages are skipped")
    # attachments and a postback
    att = messenger_dm("m_AAA2", "", ts=1732531201000)
    att["entry"][0]["messaging"][0]["message"]["attachments"] = [
        {"type": "image", "payload": {"url": graph.base + "/cdn/img.jpg"}}]
    graph.cdn["img.jpg"] = b"\xff\xd8\xff\xe0" + b"\x00" * 60
    pb = {"object": "page", "entry": [{"id": PAGE_ID, "messaging": [{
        "sender": {"id": "6000000000000001"}, "recipient": {"id": PAGE_ID},
        "timestamp": 1732531202000, "postback": {"title": "Talk to a person", "payload": "HUMAN",
                                                 "mid": "m_PB1"}}]}]}
    eq(hooks.post("messenger", att)[1]["messages"], 1, "a photo")
    eq(hooks.post("messenger", pb)[1]["messages"], 1, "a postback")
    ms = {m.get("channel_msg_id"): m for m in msgs(d, conv["id"])}
    eq((ms["m_AAA2"]["attachments"][0]["stored"], ms["m_AAA2"]["attachments"][0]["size"]),
       (True, 64), "the photo is fetched into the store (test_media.py has the rest)")
    eq(ms["m_PB1"]["text"], "Talk to a person", "the button's title")
    # the 24-hour window (3 s here) applies to DMs
    time.sleep(3.3)
    alice.send({"type": "reply", "conversation": conv["id"], "text": "late", "client_msg_id": "l1"})
    eq(alice.expect("error", "ack").get("code"), "window_closed", "Messenger DM after the window")

    # ---- a public comment: a public conversation, urgent, answered under the comment
    comment = {"object": "page", "entry": [{"id": PAGE_ID, "time": 1732531300, "changes": [{
        "field": "feed", "value": {
            "from": {"id": "7000000000000002", "name": "Angry Andy"}, "item": "comment",
            "verb": "add", "comment_id": "555_777", "post_id": "%s_555" % PAGE_ID,
            "parent_id": "%s_555" % PAGE_ID, "message": "Worst service ever!!",
            "created_time": 1732531300}}]}]}
    eq(hooks.post("messenger", comment)[1]["messages"], 1, "a comment is stored")
    o = offer_for(alice, lambda o: o["conversation"]["queue"] == "public")
    eq((o["conversation"]["priority"], o["conversation"]["customer"]["name"]), (90, "Angry Andy"),
       "a public comment goes to the urgent queue")
    pconv = alice.accept(o["offer"])["conversation"]
    eq((pconv["public"], pconv["attrs"]["comment_id"]), (True, "555_777"), "public, with its comment")
    time.sleep(3.3)  # the DM window does not apply to public answers
    a = alice.reply(pconv["id"], "Sorry Andy, we sent you a DM.")
    eq(a["type"], "ack", "a public answer any time")
    r = wait_for(lambda: graph.posts("/555_777/comments"), what="comment reply")[-1]
    eq(r["body"], {"message": "Sorry Andy, we sent you a DM."}, "answered under the comment")
    # a reply in that comment thread joins the same conversation
    reply = json.loads(json.dumps(comment))
    v = reply["entry"][0]["changes"][0]["value"]
    v.update({"comment_id": "555_778", "parent_id": "555_777", "message": "Still waiting..."})
    hooks.post("messenger", reply)
    wait_for(lambda: len([m for m in msgs(d, pconv["id"]) if m["direction"] != "note"]) == 3,
             what="the thread's reply joins")
    notes = [m["text"] for m in msgs(d, pconv["id"]) if m["direction"] == "note"]
    eq(notes, ["Not posted on the public thread: We are closed today; we answer tomorrow."],
       "the out-of-hours notice of a public thread is a note for the agent")
    check(all("closed today" not in (r["body"] or {}).get("message", "")
              for r in graph.posts("/comments")), "and was not posted under the post")
    # our own answer coming back as a comment is not a customer message
    own = json.loads(json.dumps(comment))
    own["entry"][0]["changes"][0]["value"].update({"from": {"id": PAGE_ID, "name": "Shop"},
                                                   "comment_id": "555_779"})
    eq(hooks.post("messenger", own)[1]["messages"], 0, "the page's own comments are skipped")

    # ---- Instagram: a DM with a read receipt, and a comment
    ig_dm = {"object": "instagram", "entry": [{"id": IG_ID, "time": 1, "messaging": [{
        "sender": {"id": "8000000000000003"}, "recipient": {"id": IG_ID}, "timestamp": 1732531400000,
        "message": {"mid": "aWdfZAG1", "text": "Do you ship to Belgium?"}}]}]}
    eq(hooks.post("instagram", ig_dm)[1]["messages"], 1, "an Instagram DM")
    o = offer_for(alice, lambda o: o["conversation"]["channel"] == "instagram")
    ig = alice.accept(o["offer"])["conversation"]
    a = alice.reply(ig["id"], "Yes, we do!")
    igs = wait_for(lambda: graph.posts("/%s/messages" % IG_ID), what="IG send")[-1]
    eq(igs["body"]["recipient"], {"id": "8000000000000003"}, "Instagram through the Send API")
    ig_mid = wait_for(lambda: next(m for m in msgs(d, ig["id"]) if m["id"] == a["message"]["id"])
                      .get("channel_msg_id"), what="IG message id")
    hooks.post("instagram", {"object": "instagram", "entry": [{"id": IG_ID, "messaging": [{
        "sender": {"id": "8000000000000003"}, "recipient": {"id": IG_ID}, "timestamp": 2,
        "read": {"mid": ig_mid}}]}]})
    wait_for(lambda: next(m for m in msgs(d, ig["id"]) if m["id"] == a["message"]["id"])["status"]
             == "read", what="IG read")
    ig_comment = {"object": "instagram", "entry": [{"id": IG_ID, "time": 2, "changes": [{
        "field": "comments", "value": {"from": {"id": "8000000000000004", "username": "bea"},
                                       "media": {"id": "1790000001"}, "id": "1790000099",
                                       "text": "Love it! Price?"}}]}]}
    eq(hooks.post("instagram", ig_comment)[1]["messages"], 1, "an Instagram comment")
    o = offer_for(alice, lambda o: o["conversation"]["channel"] == "instagram")
    igc = alice.accept(o["offer"])["conversation"]
    eq((igc["public"], igc["customer"]["name"]), (True, "bea"), "public, by username")
    alice.reply(igc["id"], "29 euro!")
    r = wait_for(lambda: graph.posts("/1790000099/replies"), what="IG comment reply")[-1]
    eq(r["body"], {"message": "29 euro!"}, "answered under the Instagram comment")

    # ---- X: a DM, our own DM skipped, a reply, a read receipt
    x_ev = {"for_user_id": X_USER, "direct_message_events": [
        {"type": "message_create", "id": "1855000000000000001", "created_timestamp": "1732531500000",
         "message_create": {"target": {"recipient_id": X_USER}, "sender_id": "3001969357",
                            "message_data": {"text": "My order never arrived", "entities": {}}}},
        {"type": "message_create", "id": "1855000000000000002", "created_timestamp": "1732531500001",
         "message_create": {"target": {"recipient_id": "3001969357"}, "sender_id": X_USER,
                            "message_data": {"text": "(sent by us)"}}}],
        "users": {"3001969357": {"id": "3001969357", "name": "Joe Doe", "screen_name": "joedoe"},
                  X_USER: {"id": X_USER, "name": "Shop", "screen_name": "shop"}}}
    st, body = hooks.post("x", x_ev)
    eq((st, body["messages"]), (200, 1), "an X DM stored, our own skipped")
    eq(hooks.post("x", x_ev)[1]["duplicates"], 1, "X retries: recognised")
    o = offer_for(alice, lambda o: o["conversation"]["channel"] == "x")
    eq(o["conversation"]["customer"]["name"], "Joe Doe", "the X user's name")
    xc = alice.accept(o["offer"])["conversation"]
    eq(xc["attrs"]["screen_name"], "joedoe", "and @name")
    a = alice.reply(xc["id"], "Let me check, Joe.")
    xs = wait_for(lambda: xapi.posts("/2/dm_conversations/with/3001969357/messages"),
                  what="X send")[-1]
    eq(xs["body"], {"text": "Let me check, Joe."}, "the DM through API v2")
    check(xs["auth"].startswith("OAuth ") and 'oauth_token="%s"' % X_TOKEN in xs["auth"],
          "signed with OAuth 1.0a (the fake checked the signature)")
    xid = wait_for(lambda: next(m for m in msgs(d, xc["id"]) if m["id"] == a["message"]["id"])
                   .get("channel_msg_id"), what="dm_event_id kept")
    hooks.post("x", {"for_user_id": X_USER, "direct_message_mark_read_events": [{
        "created_timestamp": "1732531600000", "sender_id": "3001969357",
        "target": {"recipient_id": X_USER}, "last_read_event_id": xid}]})
    wait_for(lambda: next(m for m in msgs(d, xc["id"]) if m["id"] == a["message"]["id"])["status"]
             == "read", what="X read receipt")
    # a 429, then the retry: signed anew (X takes a nonce once)
    xapi.fail_next(1, status=429, retry_after="1")
    a2 = alice.reply(xc["id"], "Still checking, Joe.")
    wait_for(lambda: next(m for m in msgs(d, xc["id"]) if m["id"] == a2["message"]["id"])
             ["status"] == "sent", what="sent after the retry")
    tries = [r["auth"] for r in xapi.posts("/2/dm_conversations/with/3001969357/messages")
             if r["body"] == {"text": "Still checking, Joe."}]
    nonces = [re.search(r'oauth_nonce="([^"]+)"', t).group(1) for t in tries]
    check(len(nonces) == 2 and nonces[0] != nonces[1],
          "the retry after a 429 has its own nonce (%r)" % nonces)
    eq(hooks.post("x", {"for_user_id": "999", "direct_message_events": x_ev[
        "direct_message_events"]})[1]["messages"], 0, "events for another account are skipped")

    # ---- hostile payloads on every webhook
    for ch in ("messenger", "instagram", "x"):
        for raw in (b"", b"{", b"null", b'{"object":"page","entry":"x"}', b"\xff\xfe",
                    b'{"for_user_id": 5}'):
            st, _ = hooks.post(ch, None, raw=raw)
            eq(st, 400, "%s: malformed %r: 400" % (ch, raw[:20]))
    weird = {"object": "page", "entry": [{"messaging": [None, 1, "x", {"sender": 5},
                                                        {"sender": {"id": "1"}, "message": 7}]}]}
    eq(hooks.post("messenger", weird)[0], 200, "odd items are skipped, not fatal")
    st, _ = hooks.get("x", "crc_token=")
    eq(st, 400, "an empty CRC token: 400")
    check(d.alive(), "the daemon keeps running")
    eq(d.stop(), 0, "clean stop")
    graph.close()
    xapi.close()


omrtest.run(test)
