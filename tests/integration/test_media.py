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
import http.client
import json

import omrtest
from fakes import (FakeGraph, WA_TOKEN, WhatsAppHook, meta_signature, wa_envelope, wa_plugin)
from omrtest import check, eq, log, token_hash, Agent, Daemon, Redis, wait_for, BUILDDIR

META_SECRET = "test-meta-app-secret"
PAGE_ID = "105000000000001"

AGENTS = """
agents:
  - id: alice
    name: Alice
    token: "%s"
    skills: { general: 3 }
    capacity: { whatsapp: 5, messenger: 5, webchat: 5 }
  - id: bob
    name: Bob
    token: "%s"
    skills: { general: 3 }
    capacity: { whatsapp: 5, messenger: 5, webchat: 5 }
""" % (token_hash("alice-token-0123456789"), token_hash("bob-token-0123456789"))

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n" + b"x" * 3000 + b"\n%%EOF\n"


def messenger_plugin(base):
    return """  - name: messenger
    path: %s/plugins/social/.libs/messenger.so
    config:
      page_id: "%s"
      app_secret: %s
      verify_token: v-token
      access_token: %s
      api_base: %s
""" % (BUILDDIR, PAGE_ID, META_SECRET, WA_TOKEN, base)


def wa_image(wamid, media_id, frm="31612345678", caption="the box"):
    return {"from": frm, "id": wamid, "timestamp": "1732531201", "type": "image",
            "image": {"id": media_id, "mime_type": "image/jpeg", "caption": caption}}


def fetch_link(d, url):
    c = http.client.HTTPConnection("127.0.0.1", d.ports["edge"], timeout=10)
    c.request("GET", url)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, r.getheader("Content-Type"), body


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
    for wamid, mid in (("wamid.M4", "9003"), ("wamid.M5", "9004"), ("wamid.M6", "nope")):
        st, body = hook.post(wa_envelope([wa_image(wamid, mid)]))
        eq((st, body["messages"]), (200, 1), "%s is stored whatever its file" % wamid)
    ms = {x.get("channel_msg_id"): x for x in messages(d, conv["id"])}
    for wamid, want in (("wamid.M3", "download failed: HTTP 500"),
                        ("wamid.M4", "attachment refused: too large"),
                        ("wamid.M5", "attachment refused: type unknown"),
                        ("wamid.M6", "download failed: HTTP 404")):
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
    raw = json.dumps(ev).encode()
    st, body = d.http("POST", "/webhooks/messenger", body=raw, auth=False,
                      port=d.ports["webhooks"],
                      headers={"Content-Type": "application/json",
                               "X-Hub-Signature-256": meta_signature(META_SECRET, raw)})
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


def test(tmp):
    graph = FakeGraph(WA_TOKEN)
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=omrtest.ONE_QUEUE_ROUTING, agents=AGENTS,
               extra_plugins=wa_plugin(graph.base) + messenger_plugin(graph.base),
               conf_extra="media: {max_bytes: 65536, fetch_tries: 3}\n").start()
    alice = Agent(d, token="alice-token-0123456789")
    inbound(d, graph, alice)
    check(d.alive(), "the daemon keeps running")
    eq(d.stop(), 0, "clean stop")
    graph.close()


omrtest.run(test)
