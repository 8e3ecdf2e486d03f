"""WhatsApp Business (Cloud API) against a local fake Graph API: the
verification handshake, signed webhooks (forged and unsigned refused and not
stored), every message type mapped, duplicates stored once, an agent's reply
delivered with the right JSON and token, statuses applied in any order, 429
retried, the 24-hour window enforced with a template after it, hostile
payloads answered clearly while the daemon keeps running."""
import copy
import json
import os
import time

import omrtest
from fakes import (FakeGraph, meta_signature, WA_PHONE_ID as PHONE_ID, WA_SECRET as SECRET,
                   WA_TOKEN as TOKEN, WA_VERIFY as VERIFY, WhatsAppHook as Hook,
                   wa_envelope as envelope, wa_plugin as plugin, wa_text as text_msg)
from omrtest import check, eq, log, token_hash, Agent, Daemon, Redis, wait_for, BUILDDIR

ROUTING = omrtest.ONE_QUEUE_ROUTING

AGENTS = """
agents:
  - id: alice
    name: Alice
    token: "%s"
    skills: { general: 3 }
    capacity: { whatsapp: 5, webchat: 1 }
""" % token_hash("alice-token-0123456789")


def wa_convs(d):
    return d.api("/api/v1/conversations?channel=whatsapp&limit=100")["conversations"]


def messages(d, cid):
    return d.conversation(cid)["messages"]


def test(tmp):
    graph = FakeGraph(TOKEN)
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=ROUTING, agents=AGENTS, extra_plugins=plugin(graph.base, "4s"),
               conf_extra="limits: {resend_after: 3s, resend_tries: 2}\n").start()
    hook = Hook(d)

    # ---- Meta's verification handshake
    st, body = hook.get("hub.mode=subscribe&hub.verify_token=%s&hub.challenge=1158201444" % VERIFY)
    eq((st, str(body)), (200, "1158201444"), "verification: the challenge is echoed")
    st, _ = hook.get("hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1158201444")
    eq(st, 403, "verification with a wrong token: 403")
    st, _ = hook.get("hub.mode=unsubscribe&hub.verify_token=%s&hub.challenge=1" % VERIFY)
    eq(st, 403, "verification with another mode: 403")
    st, _ = hook.get("foo=bar")
    eq(st, 400, "a GET that is no handshake: 400")

    # ---- signatures: forged and unsigned refused, nothing stored
    forged = envelope([text_msg("wamid.FORGED1", "I am not Meta")])
    st, _ = hook.post(forged, sig="sha256=" + "0" * 64)
    eq(st, 403, "a forged signature: 403")
    st, _ = hook.post(forged, sig=None)
    eq(st, 401, "no signature: 401")
    st, _ = hook.post(forged, sig="sha256=" + meta_signature("another-secret", b"x")[7:])
    eq(st, 403, "a signature with another secret: 403")
    eq(wa_convs(d), [], "nothing refused was stored")

    # ---- a text message: stored, routed, the customer's name from contacts
    alice = Agent(d, token="alice-token-0123456789")
    st, body = hook.post(envelope([text_msg("wamid.HBgL001", "Hallo, mijn pakket is niet aangekomen")]))
    eq((st, body["messages"], body["duplicates"]), (200, 1, 0), "webhook answered after storing")
    o = alice.expect("offer")
    eq(o["conversation"]["customer"]["name"], "Kerry Fisher", "the customer's WhatsApp profile name")
    conv = alice.accept(o["offer"])["conversation"]
    cid = conv["id"]
    eq(conv["channel"], "whatsapp", "a WhatsApp conversation")
    check(conv["reply_window"]["closes_at"] > int(time.time() * 1000),
          "the console is told when the reply window closes")
    eq(conv["reply_window"]["templates"][0]["name"], "follow_up", "and which templates it may send")

    # ---- the same delivery again (providers retry): stored once
    st, body = hook.post(envelope([text_msg("wamid.HBgL001", "Hallo, mijn pakket is niet aangekomen")]))
    eq((st, body["duplicates"]), (200, 1), "a resent webhook is recognised")
    eq(len(messages(d, cid)), 1, "and stored once")

    # ---- every kind of message
    kinds = [
        {"from": "31612345678", "id": "wamid.IMG", "timestamp": "1732531201", "type": "image",
         "image": {"id": "media-1", "mime_type": "image/jpeg", "sha256": "abc", "caption": "the box"}},
        {"from": "31612345678", "id": "wamid.DOC", "timestamp": "1732531202", "type": "document",
         "document": {"id": "media-2", "mime_type": "application/pdf", "filename": "bon.pdf"}},
        {"from": "31612345678", "id": "wamid.LOC", "timestamp": "1732531203", "type": "location",
         "location": {"latitude": 52.37, "longitude": 4.89, "name": "Depot", "address": "Damrak 1"}},
        {"from": "31612345678", "id": "wamid.BTN", "timestamp": "1732531204", "type": "interactive",
         "interactive": {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes please"}}},
        {"from": "31612345678", "id": "wamid.RCT", "timestamp": "1732531205", "type": "reaction",
         "reaction": {"message_id": "wamid.HBgL001", "emoji": "\U0001F44D"}},
        {"from": "31612345678", "id": "wamid.CON", "timestamp": "1732531206", "type": "contacts",
         "contacts": [{"name": {"formatted_name": "Piet Jansen"}, "phones": [{"phone": "+31 6 1111"}]}]},
        {"from": "31612345678", "id": "wamid.UNK", "timestamp": "1732531207", "type": "unsupported",
         "errors": [{"code": 131051, "title": "Message type unknown"}]},
        {"from": "31612345678", "id": "wamid.AUD", "timestamp": "1732531208", "type": "audio",
         "audio": {"id": "media-3", "mime_type": "audio/ogg; codecs=opus"}},
    ]
    st, body = hook.post(envelope(kinds))
    eq((st, body["messages"]), (200, len(kinds)), "a batch of every type is stored")
    ms = {m["channel_msg_id"]: m for m in messages(d, cid) if m.get("channel_msg_id")}
    eq((ms["wamid.IMG"]["text"], ms["wamid.IMG"]["attachments"][0]["type"],
        ms["wamid.IMG"]["attachments"][0]["media_id"]), ("the box", "image/jpeg", "media-1"),
       "an image: caption and media")
    eq(ms["wamid.DOC"]["attachments"][0]["name"], "bon.pdf", "a document keeps its file name")
    check(ms["wamid.LOC"]["text"].startswith("Location: Depot, Damrak 1 (52.37"),
          "a location in words: %s" % ms["wamid.LOC"]["text"])
    eq(ms["wamid.BTN"]["text"], "Yes please", "an interactive reply: its title")
    eq((ms["wamid.RCT"]["text"], ms["wamid.RCT"]["meta"]["reaction"]["message_id"]),
       ("\U0001F44D", "wamid.HBgL001"), "a reaction, and what it reacts to")
    eq(ms["wamid.CON"]["text"], "Contact: Piet Jansen +31 6 1111", "a shared contact")
    eq(ms["wamid.UNK"]["meta"]["unsupported"], "unsupported", "an unsupported type is kept, marked")
    eq(ms["wamid.AUD"]["attachments"][0]["kind"], "audio", "a voice note")
    pushed = [alice.expect("message") for _ in range(len(kinds))]
    eq(len(pushed), len(kinds), "the agent sees each of them live")

    # ---- the agent's reply reaches the Graph API
    a = alice.reply(cid, "We zoeken het uit, Kerry.")
    eq(a["type"], "ack", "the reply is stored")
    sent = wait_for(lambda: graph.posts("/%s/messages" % PHONE_ID), what="the API call")[-1]
    eq(sent["auth"], "Bearer " + TOKEN, "with the access token")
    eq(sent["body"], {"messaging_product": "whatsapp", "recipient_type": "individual",
                      "to": "31612345678", "type": "text",
                      "text": {"preview_url": False, "body": "We zoeken het uit, Kerry."}},
       "the Cloud API's JSON")
    mid = a["message"]["id"]

    def status_of(m):
        return next(x for x in messages(d, cid) if x["id"] == m)

    wamid = wait_for(lambda: status_of(mid).get("channel_msg_id"), what="wamid stored")
    eq(status_of(mid)["status"], "sent", "sent, with the wamid kept")

    # ---- statuses, out of order: read first, then a late delivered
    st, body = hook.post(envelope(statuses=[{"id": wamid, "status": "read", "timestamp": "1",
                                             "recipient_id": "31612345678"}]))
    eq((st, body["statuses"]), (200, 1), "a status webhook")
    wait_for(lambda: status_of(mid)["status"] == "read", what="read")
    hook.post(envelope(statuses=[{"id": wamid, "status": "delivered", "timestamp": "0",
                                  "recipient_id": "31612345678"}]))
    time.sleep(0.3)
    eq(status_of(mid)["status"], "read", "a late 'delivered' does not undo 'read'")
    seen = []
    wait_for(lambda: seen.append(alice.expect("message")["message"]["status"]) or "read" in seen,
             what="the agent sees it read")
    check("read" in seen, "the agent sees it read (%s)" % seen)

    # ---- the provider's status webhook beats its answer to the send: kept, applied
    def early(path, body, answer):
        wid = answer["messages"][0]["id"]
        for s in ("sent", "delivered"):
            r = hook.post(envelope(statuses=[{"id": wid, "status": s, "timestamp": "2",
                                              "recipient_id": "31612345678"}]))
            eq(r[0], 200, "an early '%s' status is taken" % s)
    graph.before_answer = early
    a2 = alice.reply(cid, "Het pakket is onderweg.")
    wait_for(lambda: status_of(a2["message"]["id"]).get("channel_msg_id"), what="sent")
    graph.before_answer = None
    eq(status_of(a2["message"]["id"])["status"], "delivered",
       "a status that came before the send's result is applied to it")

    # ---- 429 twice, then success: retried with Retry-After
    before = len(graph.posts("/%s/messages" % PHONE_ID))
    graph.fail_next(2, 429, "1")
    a = alice.reply(cid, "Nog even geduld.")
    mid2 = a["message"]["id"]
    wait_for(lambda: status_of(mid2)["status"] == "sent", timeout=15, what="sent after retries")
    eq(len(graph.posts("/%s/messages" % PHONE_ID)) - before, 3, "two 429s, then it went through")

    # ---- a send that takes longer than limits.resend_after (3 s here) is
    # not sent twice: the node holds a lease on it while it retries
    graph.fail_next(3, 429, "2")
    a = alice.reply(cid, "Geduld graag.")
    mid_l = a["message"]["id"]
    wait_for(lambda: status_of(mid_l)["status"] == "sent", timeout=20, what="sent after 6 s")
    time.sleep(6)  # a resend would come within one more sweep
    tries = [p for p in graph.posts("/messages")
             if p["body"].get("text", {}).get("body") == "Geduld graag."]
    eq(len(tries), 4, "three 429s, one success, no resend while it was under way")

    # ---- a permanent error: failed, with Meta's reason
    hook.post(envelope([text_msg("wamid.KEEP1", "nog steeds hier")]))  # the window opens again
    alice.expect("message")
    graph.fail_next(1, 400, None)
    a = alice.reply(cid, "Dit gaat mis.")
    mid3 = a["message"]["id"]
    wait_for(lambda: status_of(mid3)["status"] == "failed", what="failed")
    check("HTTP 400" in status_of(mid3).get("error", ""), "the error says why: %s" %
          status_of(mid3).get("error"))
    st, body = hook.post(envelope(statuses=[{
        "id": wamid, "status": "failed", "timestamp": "2", "recipient_id": "31612345678",
        "errors": [{"code": 131047, "title": "Re-engagement message",
                    "error_data": {"details": "More than 24 hours have passed"}}]}]))
    eq(st, 200, "a failed status with Meta's error code")

    # ---- the agent's reply is limited to WhatsApp's 4096 characters
    alice.send({"type": "reply", "conversation": cid, "text": "x" * 4097, "client_msg_id": "long"})
    e = alice.expect("error", "ack")
    eq((e["type"], e.get("code")), ("error", "text_too_long"), "too long for WhatsApp: refused")

    # ---- the 24-hour window (4 s here): a free-form reply refused, a template sent
    time.sleep(4.5)
    alice.send({"type": "reply", "conversation": cid, "text": "Are you still there?",
                "client_msg_id": "late1"})
    e = alice.expect("error", "ack")
    eq((e["type"], e.get("code")), ("error", "window_closed"), "outside the window: refused")
    eq(e["templates"][0]["name"], "follow_up", "the agent is offered the templates")
    alice.send({"type": "reply", "conversation": cid, "template": "follow_up",
                "client_msg_id": "late2"})
    a = alice.expect("ack", "error")
    eq(a["type"], "ack", "a template may be sent after the window")
    eq(a["message"]["text"], "Hello again! Reply to continue our conversation.",
       "its text is in the transcript")
    t = wait_for(lambda: [p for p in graph.posts("/messages") if p["body"].get("type") == "template"],
                 what="template sent")[-1]
    eq(t["body"]["template"], {"name": "follow_up", "language": {"code": "en_US"}},
       "the template by name and language")
    alice.send({"type": "reply", "conversation": cid, "template": "nonesuch",
                "client_msg_id": "late3"})
    eq(alice.expect("error", "ack").get("code"), "bad_request", "an unknown template: refused")
    hook.post(envelope([text_msg("wamid.BACK", "Yes, still here")]))
    alice.expect("message")
    eq(alice.reply(cid, "Great!")["type"], "ack", "the customer wrote again: the window is open")

    # ---- hostile and odd payloads
    for raw, want in ((b"{", 400), (b"[]", 400), (b'{"object":"page","entry":[]}', 400),
                      (b'{"object":"whatsapp_business_account","entry":{}}', 400),
                      ("\u00ff".encode("latin-1"), 400)):
        st, _ = hook.post(None, raw=raw)
        eq(st, want, "malformed %r: %d" % (raw[:30], want))
    odd = envelope([{"from": "31612345678", "id": "wamid.ODD", "type": "text"},  # no text
                    {"id": "wamid.NOFROM", "type": "text", "text": {"body": "x"}},
                    {"from": "not a number!", "id": 7, "type": "text", "text": {"body": "x"}}])
    st, body = hook.post(odd)
    eq(st, 200, "items that cannot be stored do not fail the others")
    st, body = hook.post(envelope([text_msg("wamid.OTHER", "hi")], phone_id="555"))
    eq((st, body["messages"]), (200, 0), "messages for another number are skipped")
    st, _ = hook.post(None, raw=b"{" + b" " * 70000 + b"}")
    eq(st, 413, "an oversized body: 413")
    deep = b'{"object":"whatsapp_business_account","entry":' + b"[" * 5000 + b"]" * 5000 + b"}"
    st, _ = hook.post(None, raw=deep)
    check(st in (200, 400), "deeply nested JSON answered (%d)" % st)
    st, _ = d.http("PUT", "/webhooks/whatsapp", body=b"{}", auth=False, port=d.ports["webhooks"])
    eq(st, 405, "PUT: 405")
    check(d.alive(), "the daemon keeps running")

    # ---- a provider that keeps failing: the tries run out, the message fails
    graph.fail_next(5, 503, "0")
    a = alice.reply(cid, "Dit komt niet aan.")
    mid4 = a["message"]["id"]
    wait_for(lambda: status_of(mid4)["status"] == "failed", timeout=20, what="failed after tries")
    err = status_of(mid4)["error"]
    check("HTTP 503" in err and "after 5 tries" in err, "failed after 5 tries, and says so: %s" % err)

    # ---- kill -9 while the provider is answering: the new daemon sends it again
    graph.delay_next(6)
    n0 = len(graph.posts("/%s/messages" % PHONE_ID))
    a = alice.reply(cid, "Na de crash.")
    mid5 = a["message"]["id"]
    wait_for(lambda: len(graph.posts("/%s/messages" % PHONE_ID)) > n0, what="the first try")
    d.kill9()
    log("daemon killed with SIGKILL while the provider was answering")
    d.start()
    wait_for(lambda: status_of(mid5)["status"] == "sent", timeout=25, what="resent after restart")
    again = [p for p in graph.posts("/%s/messages" % PHONE_ID)
             if p["body"].get("text", {}).get("body") == "Na de crash."]
    eq(len(again), 2, "the message that was not confirmed is sent again (at least once)")
    eq(d.stop(), 0, "clean stop")
    graph.close()
    plain_http(tmp, redis)


def plain_http(tmp, redis):
    """The access token goes with every request: an api_base over plain
    http is refused at start, unless it is this host."""
    for base, ok in (("http://graph.example.com/v21.0", False),
                     ("http://127.0.0.1@graph.example.com/v21.0", False),
                     ("http://localhost:8/v21.0", True)):
        sub = os.path.join(tmp, "base%d" % len(base))
        os.makedirs(sub)
        d = Daemon(sub, redis, routing=ROUTING, agents=AGENTS, extra_plugins=plugin(base, "4s"),
                   node="plain%d" % len(base))
        try:
            d.start()
            started = True
        except omrtest.DaemonExited:
            started = False
        eq(started, ok, "api_base %s: %s" % (base, "taken" if ok else "refused at start"))
        if started:
            eq(d.stop(), 0, "clean stop")
        else:
            check("api_base must start with https://" in d.log_text(),
                  "the refusal says why")


omrtest.run(test)
