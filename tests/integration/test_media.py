"""Media both ways (docs/media.md). In: a WhatsApp image webhook makes the
daemon fetch the file from the (fake) Graph API (GET /{media-id}, then the
url it names, with the token), keep it in the attachment store, and the
agent opens it through its signed link with the same bytes; a Messenger
photo likewise from its payload url; a file too large, of a type not taken,
or one whose download keeps failing leaves the message stored with a clear
marker; 5xx answers are retried. Out: an agent's file uploaded over the
agent websocket (hostile uploads refused clearly) reaches the web chat
visitor as a link, an e-mail recipient as a MIME part, a WhatsApp customer
through the Cloud API's media upload. The daemon keeps running throughout."""
import os
import time
import email
import email.policy
import json
import smtplib

import omrtest
from fakes import (FakeGraph, FakeSmtp, WA_TOKEN, WhatsAppHook, wa_envelope,
                   wa_plugin)
from omrtest import (check, eq, log, token_hash, free_port, Agent, Daemon, Redis, Visitor,
                     wait_for)
from media_common import PAGE_ID, fetch_link, messenger_plugin, meta_hook, upload

AGENTS = """
agents:
  - id: alice
    name: Alice
    token: "%s"
    skills: { general: 3 }
    capacity: { whatsapp: 5, messenger: 5, webchat: 5, email: 5 }
  - id: bob
    name: Bob
    token: "%s"
    skills: { general: 3 }
    capacity: { whatsapp: 5, messenger: 5, webchat: 5, email: 5 }
""" % (token_hash("alice-token-0123456789"), token_hash("bob-token-0123456789ab"))

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n" + b"x" * 3000 + b"\n%%EOF\n"


def email_plugin(lmtp_port, smtp_port):
    return omrtest.email_plugin(lmtp_port, smtp_port, from_name="Example Support")


def take(agent, offer_conv=None):
    o = agent.expect("offer")
    return agent.accept(o["offer"])["conversation"]


def wa_image(wamid, media_id, frm="31612345678", caption="the box"):
    return {"from": frm, "id": wamid, "timestamp": "1732531201", "type": "image",
            "image": {"id": media_id, "mime_type": "image/jpeg", "caption": caption}}


def messages(d, cid):
    return d.conversation(cid)["messages"]


def inbound(d, graph, alice):
    hook = WhatsAppHook(d)

    # ---- a WhatsApp image: looked up, fetched with the token, kept, linked
    graph.media["9001"] = (JPEG, "image/jpeg")
    st, body = hook.post(wa_envelope([wa_image("wamid.M1", "9001")]))
    eq((st, body["messages"]), (200, 1), "the image webhook is answered once stored")
    check([r for r in graph.gets("/v21.0/9001") if r["auth"] == "Bearer " + WA_TOKEN],
          "the media id was looked up with the token")
    check(graph.gets("/media-file/9001"), "and the file behind its url fetched")
    o = alice.expect("offer")
    conv = alice.accept(o["offer"])["conversation"]
    att = conv["messages"][0]["attachments"][0]
    eq((att["type"], att["size"], att.get("stored")), ("image/jpeg", len(JPEG), True),
       "the attachment is kept, typed by its bytes")
    check("fetch" not in json.dumps(messages(d, conv["id"])) and WA_TOKEN not in
          json.dumps(messages(d, conv["id"])), "the fetch and its token are not stored")
    st, ctype, data = fetch_link(d, att["url"])
    check((st, ctype, data == JPEG) == (200, "image/jpeg", True), "the agent opens it: the same bytes")

    # ---- 5xx: retried, then kept
    graph.media["9002"] = (JPEG[:500], "image/jpeg")
    graph.fail_next_get(2, 503)
    st, body = hook.post(wa_envelope([wa_image("wamid.M2", "9002")]))
    eq(st, 200, "a webhook whose download failed twice is answered")
    m = [x for x in messages(d, conv["id"]) if x.get("channel_msg_id") == "wamid.M2"][0]
    eq((m["attachments"][0].get("stored"), m["attachments"][0]["size"]), (True, 500),
       "503s are retried until the file comes")

    # ---- refused: too large, wrong type, unavailable; the message is kept
    graph.media["9003"] = (b"\xff\xd8\xff" + b"z" * (70 * 1024), "image/jpeg")
    graph.media["9004"] = (b"MZ\x90\x00 this is a windows program", "image/jpeg")
    graph.fail_next_get(10, 500)
    hook.post(wa_envelope([wa_image("wamid.M3", "9003")]))  # fails (500s)
    graph.get_failures.clear()
    # a file named over plain http to another host: the token is not sent there
    graph.media["9005"] = (JPEG, "image/jpeg")
    graph.media_url["9005"] = "http://files.example.invalid/9005"
    bad = ["http://127.0.0.1.files.example.invalid/9006",
           "http://127.0.0.1:x@files.example.invalid/9006",
           "http://localhost:pw@files.example.invalid/9006",
           "http://[::1]@files.example.invalid/9006",
           "http://[::1]:80@files.example.invalid/9006",
           "http://127.999999999/9006"]
    for k, url in enumerate(bad):
        graph.media["90%02d" % (60 + k)] = (JPEG, "image/jpeg")
        graph.media_url["90%02d" % (60 + k)] = url
    # this host, but no URL curl reads: refused at once, not tried again
    graph.media["9008"] = (JPEG, "image/jpeg")
    graph.media_url["9008"] = "http://127.0.0.1:99999/9008"
    for wamid, mid in (("wamid.M4", "9003"), ("wamid.M5", "9004"), ("wamid.M6", "nope"),
                       ("wamid.M8", "9008"), ("wamid.M7", "9005")) + tuple(
                           ("wamid.B%d" % k, "90%02d" % (60 + k)) for k in range(len(bad))):
        st, body = hook.post(wa_envelope([wa_image(wamid, mid)]))
        eq((st, body["messages"]), (200, 1), "%s is stored whatever its file" % wamid)
    ms = {x.get("channel_msg_id"): x for x in messages(d, conv["id"])}
    for wamid, want in (("wamid.M3", "download failed: HTTP 500"),
                        ("wamid.M4", "attachment refused: too large"),
                        ("wamid.M5", "attachment refused: type unknown"),
                        ("wamid.M6", "download failed: HTTP 404"),
                        ("wamid.M8", "download failed: the provider named a file by no URL"),
                        ("wamid.M7", "download failed: the provider named a file over plain http")) + tuple(
                        ("wamid.B%d" % k, "download failed: the provider named a file over plain http")
                        for k in range(len(bad))):
        a = ms[wamid]["attachments"][0]
        check(a.get("unavailable") is True and a.get("error", "").startswith(want),
              "%s: marked %r (%r)" % (wamid, want, a.get("error")))
        eq(ms[wamid]["text"], "the box", "%s keeps its caption" % wamid)

    # ---- Messenger: the payload url, no token
    graph.cdn["photo.png"] = b"\x89PNG\r\n\x1a\n" + b"p" * 200
    ev = {"object": "page", "entry": [{"id": PAGE_ID, "time": 1, "messaging": [{
        "sender": {"id": "6000000000000009"}, "recipient": {"id": PAGE_ID}, "timestamp": 1,
        "message": {"mid": "m_IMG1", "attachments": [
            {"type": "image", "payload": {"url": graph.base + "/cdn/photo.png"}}]}}]}]}
    st, body = meta_hook(d, "messenger", ev)
    eq((st, body["messages"]), (200, 1), "the Messenger photo webhook")
    eq([r["auth"] for r in graph.gets("/cdn/photo.png")], [None],
       "the CDN url is fetched once, without our token")
    o = alice.expect("offer")
    conv2 = alice.accept(o["offer"])["conversation"]
    att = conv2["messages"][0]["attachments"][0]
    st, ctype, data = fetch_link(d, att["url"])
    check((st, ctype, data == graph.cdn["photo.png"]) == (200, "image/png", True),
       "the agent opens the Messenger photo: the same bytes")
    return conv


def hostile(d, alice, bob, conv):
    """Uploads refused with clear errors; the daemon keeps running."""
    cid = conv["id"]
    for what, kw, code in (
            ("too large", dict(size=70000), "too_large"),
            ("zero bytes", dict(size=0), "empty"),
            ("a negative size", dict(size=-5), "empty"),
            ("not base64", dict(uid="u-b64"), None)):
        if what == "not base64":
            alice.send({"type": "upload", "upload": "u-b64", "conversation": cid,
                        "name": "x.pdf", "size": 10})
            eq(alice.expect("upload", "error")["status"], "ready", "announced")
            alice.send({"type": "upload_chunk", "upload": "u-b64", "data": "!!!notbase64"})
            e = alice.expect("error", "upload_progress")
            eq((e["type"], e["code"]), ("error", "bad_chunk"), "not base64: refused")
            continue
        e = upload(alice, cid, PDF, uid="h", **kw)
        eq((e["type"], e["code"]), ("error", code), "%s: refused (%s)" % (what, e.get("message")))
    e = upload(alice, cid, b"MZ\x90\x00 a program, named like a pdf", name="invoice.pdf",
               uid="exe")
    eq((e["type"], e["code"]), ("error", "type"), "a program named .pdf: refused by its bytes")
    check("type" in e["message"], "and says why: %s" % e["message"])
    # more bytes than announced (a bomb): refused at the first extra byte
    e = upload(alice, cid, PDF * 3, uid="bomb", size=len(PDF))
    eq((e["type"], e["code"]), ("error", "bad_chunk"), "more bytes than announced: refused")
    # someone else's conversation
    e = upload(bob, cid, PDF, uid="theirs")
    eq((e["type"], e["code"]), ("error", "not_yours"), "a conversation of another agent")
    # a reply naming an upload of another connection or conversation
    r = bob.send({"type": "reply", "conversation": cid, "text": "x", "client_msg_id": "b1",
                  "attachments": ["u1"]})
    eq(bob.expect("error", "ack")["type"], "error", "another connection's upload cannot be sent")
    # not logged in
    ws = d.ws("/agent", "omniroute.agent.v1")
    ws.send({"type": "upload", "upload": "x", "conversation": cid, "name": "a.pdf", "size": 10})
    eq(ws.recv_type("error")["code"], "auth_required", "no log-in: refused")
    ws.close()
    # a path in the name: only its last part is kept
    r = upload(alice, cid, PDF, name="../../../etc/passwd.pdf", uid="path")
    eq((r["type"], r["attachment"]["name"]), ("uploaded", "passwd.pdf"),
       "a path in the name is cut to its last part")
    # an upload under way does not lift the command rate: small chunks and
    # other frames meanwhile are counted (before, one announcement let a
    # connection send anything without limit)
    alice.send({"type": "upload", "upload": "u-rate", "conversation": cid, "name": "r.pdf",
                "size": 60000})
    eq(alice.expect("upload", "error")["status"], "ready", "an upload announced")
    for i in range(120):
        alice.send({"type": "upload_chunk", "upload": "u-rate", "data": "QQ=="} if i % 2 else
                   {"type": "ping"})
    limited = 0
    while True:
        try:
            e = alice.expect("error", timeout=2)
        except TimeoutError:
            break
        limited += e.get("code") == "rate_limited"
    check(limited > 0, "small chunks and pings during an upload are rate limited (%d)" % limited)
    time.sleep(3)  # the rate's bucket fills again
    alice.send({"type": "upload_chunk", "upload": "u-rate", "data": "!!!"})
    eq(alice.expect("error")["code"], "bad_chunk", "a bad chunk ends that upload")
    alice.pending = [m for m in alice.pending if m.get("type") not in ("pong", "upload_progress")]
    check(d.alive(), "the daemon keeps running after hostile uploads")


def outbound(d, alice, bob, smtp, lport):
    # ---- web chat: the visitor gets a message frame with a link
    v = Visitor(d, name="Vera")
    v.say("Kunt u mij de offerte sturen?")
    conv = take(alice)
    r = upload(alice, conv["id"], PDF)
    eq(r["type"], "uploaded", "the PDF is uploaded")
    att = r["attachment"]
    eq((att["name"], att["type"], att["size"]), ("offerte.pdf", "application/pdf", len(PDF)),
       "named, typed by its bytes, sized")
    st, ctype, data = fetch_link(d, att["url"])
    check((st, data == PDF), "the agent can open the upload")
    alice.send({"type": "reply", "conversation": conv["id"], "text": "Hierbij de offerte.",
                "client_msg_id": "pdf1", "attachments": ["u1"]})
    ack = alice.expect("ack", "error")
    eq(ack["type"], "ack", "the reply with the file is stored (%r)" % ack.get("message"))
    eq(ack["message"]["attachments"][0]["name"], "offerte.pdf", "the stored reply names the file")
    while True:
        m = v.ws.recv()
        if m.get("type") == "message" and m.get("from") == "agent":
            break
    eq(m["text"], "Hierbij de offerte.", "the visitor gets the text")
    a = m["attachments"][0]
    eq(sorted(a), ["name", "size", "type", "url"], "and {name, type, size, url}")
    eq((a["name"], a["type"], a["size"]), ("offerte.pdf", "application/pdf", len(PDF)), "of the file")
    st, ctype, data = fetch_link(d, a["url"])
    check(st == 200 and data == PDF, "the visitor's browser fetches the link: the same bytes")
    hostile(d, alice, bob, conv)

    # ---- e-mail: a MIME attachment
    with smtplib.LMTP("127.0.0.1", lport) as lm:
        lm.sendmail("anna@example.net", ["support@example.com"],
                    b"From: Anna <anna@example.net>\r\nTo: support@example.com\r\n"
                    b"Subject: offerte\r\nMessage-ID: <m1@example.net>\r\n\r\nStuur maar.\r\n")
    conv = take(alice)
    r = upload(alice, conv["id"], PDF, uid="e1")
    eq(r["type"], "uploaded", "uploaded for the e-mail")
    alice.send({"type": "reply", "conversation": conv["id"], "text": "Zie bijlage.",
                "client_msg_id": "mail1", "attachments": ["e1"]})
    eq(alice.expect("ack", "error")["type"], "ack", "the e-mail reply is stored")
    wait_for(lambda: smtp.mails, what="the mail is sent")
    msg = email.message_from_bytes(smtp.mails[-1][2], policy=email.policy.default)
    parts = [p for p in msg.iter_attachments()]
    eq([(p.get_filename(), p.get_content_type()) for p in parts],
       [("offerte.pdf", "application/pdf")], "the mail has the PDF as an attachment")
    check(parts[0].get_content() == PDF, "its bytes are the file's")
    check("Zie bijlage." in msg.get_body(("plain",)).get_content(), "beside the text")


def whatsapp_out(d, graph, alice, conv):
    """The agent's PDF to the WhatsApp customer: uploaded to the Cloud API,
    then sent as a document by its id, with the text as its caption."""
    WhatsAppHook(d).post(wa_envelope([{"from": "31612345678", "id": "wamid.T9",
                                       "timestamp": "1732531209", "type": "text",
                                       "text": {"body": "stuur maar"}}]))
    r = upload(alice, conv["id"], PDF, uid="w1")
    eq(r["type"], "uploaded", "uploaded for WhatsApp")
    alice.send({"type": "reply", "conversation": conv["id"], "text": "Uw offerte",
                "client_msg_id": "wa1", "attachments": ["w1"]})
    eq(alice.expect("ack", "error")["type"], "ack", "the WhatsApp reply is stored")
    sent = wait_for(lambda: [p for p in graph.posts("/messages")
                             if (p["body"] or {}).get("type") == "document"], what="sent")
    doc = sent[0]["body"]["document"]
    eq((doc["filename"], doc["caption"]), ("offerte.pdf", "Uw offerte"), "a document, captioned")
    data, typ = graph.uploaded[doc["id"]]
    check(data == PDF and typ == "application/pdf", "the Graph API got the file's bytes and type")
    up = graph.posts("/media")[0]
    eq(up["auth"], "Bearer " + WA_TOKEN, "uploaded with the token")


class ProxiedDaemon(Daemon):
    """A daemon whose environment names a proxy for everything, one that
    answers nobody: a file or a send to this host (the Graph API fake)
    still goes straight there (omr_curl's no-proxy list); through the
    proxy it would fail, with the token in clear on the way."""

    def popen_extra(self):
        dead = "http://127.0.0.1:%d" % free_port()
        env = {k: v for k, v in os.environ.items() if k.lower() != "no_proxy"}
        env.update(http_proxy=dead, https_proxy=dead, ALL_PROXY=dead)
        return {"env": env}


def test(tmp):
    graph = FakeGraph(WA_TOKEN)
    smtp = FakeSmtp()
    redis = Redis(tmp)
    lport = free_port()
    d = ProxiedDaemon(tmp, redis, routing=omrtest.ONE_QUEUE_ROUTING, agents=AGENTS,
               extra_plugins=wa_plugin(graph.base) + messenger_plugin(graph.base) +
               email_plugin(lport, smtp.port),
               conf_extra="media: {max_bytes: 65536, fetch_tries: 3}\n").start()
    alice = Agent(d, token="alice-token-0123456789")
    conv = inbound(d, graph, alice)
    whatsapp_out(d, graph, alice, conv)
    bob = Agent(d, token="bob-token-0123456789ab", available=False)
    eq(bob.welcome["type"], "welcome", "bob is logged in (%r)" % bob.welcome)
    outbound(d, alice, bob, smtp, lport)
    check(d.alive(), "the daemon keeps running")
    eq(d.stop(), 0, "clean stop")
    graph.close()
    smtp.close()


omrtest.run(test)
