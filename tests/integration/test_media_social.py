"""Agents' files out on Messenger (docs/media.md, docs/channels/
messenger-instagram.md). An agent uploads a PDF and an image over the
console websocket in a Messenger conversation and replies naming both:
the (fake) Graph API gets the text as a message of its own, then each file
through the Send API's attachment upload (multipart: recipient, message
{attachment {type, payload {is_reusable: false}}}, filedata) with the same
bytes, name and type. Oversized and wrong-type files are refused at the
upload, before anything is sent. A 5xx on a file is retried (the file goes
once); a 400 marks the message failed with Meta's reason. A comment
thread takes no files (the reply fails, saying so). Instagram does
not send files: its uploads are refused with no_files. The daemon keeps
running throughout."""
import hashlib

import omrtest
from fakes import FakeGraph, WA_TOKEN
from media_common import PAGE_ID, messenger_plugin, meta_hook, upload
from omrtest import check, eq, token_hash, Agent, Daemon, Redis, wait_for

IG_ID = "17841400000000001"
PSID = "6000000000000042"

AGENTS = """
agents:
  - id: alice
    name: Alice
    token: "%s"
    skills: { general: 3 }
    capacity: { messenger: 5, instagram: 5 }
""" % token_hash("alice-token-0123456789")

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n" + b"y" * 5000 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 6


def dm(d, channel, mid, text, psid=PSID):
    ev = {"object": "page" if channel == "messenger" else "instagram", "entry": [{
        "id": PAGE_ID if channel == "messenger" else IG_ID, "time": 1, "messaging": [{
            "sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": 1,
            "message": {"mid": mid, "text": text}}]}]}
    st, body = meta_hook(d, channel, ev)
    eq((st, body["messages"]), (200, 1), "the %s webhook %s" % (channel, mid))


def sha(data):
    return hashlib.sha256(data).hexdigest()


def file_posts(graph):
    return [p for p in graph.posts("/%s/messages" % PAGE_ID) if "form" in (p["body"] or {})]


def status_of(d, cid, mid):
    return next(m for m in d.conversation(cid)["messages"] if m["id"] == mid)


def reply(agent, cid, text, cmid, uploads):
    agent.send({"type": "reply", "conversation": cid, "text": text, "client_msg_id": cmid,
                "attachments": uploads})
    ack = agent.expect("ack", "error")
    eq(ack["type"], "ack", "the reply %s is stored (%r)" % (cmid, ack.get("message")))
    return ack["message"]["id"]


def texts(graph, text):
    return [p for p in graph.posts("/%s/messages" % PAGE_ID)
            if isinstance(p["body"], dict) and
            (p["body"].get("message") or {}).get("text") == text]


def files_out(d, graph, alice, cid):
    """Two files and a text: the text first, then each file, as sent."""
    eq(upload(alice, cid, PDF, name="offerte.pdf", uid="f1")["type"], "uploaded", "the PDF")
    eq(upload(alice, cid, PNG, name="kaart \"plan\".png", uid="f2")["type"], "uploaded",
       "the image")
    mid = reply(alice, cid, "Hierbij de offerte en de kaart.", "m1", ["f1", "f2"])
    wait_for(lambda: status_of(d, cid, mid)["status"] == "sent", what="the reply is sent")
    eq(len(texts(graph, "Hierbij de offerte en de kaart.")), 1, "the text went once, on its own")
    t = texts(graph, "Hierbij de offerte en de kaart.")[0]
    eq((t["body"]["recipient"], t["auth"]), ({"id": PSID}, "Bearer " + WA_TOKEN),
       "to the customer, with the page token")
    got = [(a["recipient"], a["type"], a["reusable"], a["name"], a["content_type"],
            sha(a["data"])) for a in graph.attachments]
    eq(got, [(PSID, "file", False, "offerte.pdf", "application/pdf", sha(PDF)),
             (PSID, "image", False, "kaart _plan_.png", "image/png", sha(PNG))],
       "each file once, in order: its bytes (sha256), name (a quote made _) and type")
    posts = [p for p in graph.posts("/%s/messages" % PAGE_ID)]
    order = ["text" if "form" not in p["body"] else "file" for p in posts]
    eq(order[-3:], ["text", "file", "file"], "the text before the files")
    eq(status_of(d, cid, mid).get("channel_msg_id", "")[:6], "m_FILE", "the last file's id is kept")


def refused(d, graph, alice, cid):
    """Too large or of a type not taken: refused at the upload, nothing sent."""
    before = len(graph.requests)
    e = upload(alice, cid, PDF, uid="big", size=70000)
    eq((e["type"], e["code"]), ("error", "too_large"), "an oversized file is refused")
    e = upload(alice, cid, b"MZ\x90\x00 a program, named like a pdf", name="factuur.pdf",
               uid="exe")
    eq((e["type"], e["code"]), ("error", "type"), "a program named .pdf is refused")
    alice.send({"type": "reply", "conversation": cid, "text": "x", "client_msg_id": "bad",
                "attachments": ["exe"]})
    eq(alice.expect("error", "ack")["type"], "error", "a refused upload cannot be sent")
    eq(len(graph.requests), before, "nothing reached the Graph API")


def errors(d, graph, alice, cid):
    # a 5xx on the file: retried; the file goes once
    graph.file_failures = [503]
    eq(upload(alice, cid, PDF, uid="r1")["type"], "uploaded", "uploaded again")
    n, tries = len(graph.attachments), len(file_posts(graph))
    mid = reply(alice, cid, "Nog een keer.", "m2", ["r1"])
    wait_for(lambda: status_of(d, cid, mid)["status"] == "sent", timeout=15,
             what="sent after a retry")
    eq(len(file_posts(graph)) - tries, 2, "the upload was tried again after the 503")
    eq(len(graph.attachments) - n, 1, "and the file went once")
    eq(sha(graph.attachments[-1]["data"]), sha(PDF), "with its bytes")
    eq(len(texts(graph, "Nog een keer.")), 1, "and its text once")
    # a 400 on the file: the message failed, with Meta's reason
    graph.file_failures = [400]
    eq(upload(alice, cid, PDF, uid="r2")["type"], "uploaded", "uploaded for the 400")
    mid = reply(alice, cid, "Dit gaat mis.", "m3", ["r2"])
    wait_for(lambda: status_of(d, cid, mid)["status"] == "failed", what="failed")
    err = status_of(d, cid, mid).get("error", "")
    check("HTTP 400" in err and "Upload attachment failure" in err, "it says why: %s" % err)
    eq(len(graph.attachments) - n, 1, "nothing more was taken")


def comment_thread(d, graph, alice):
    """A public conversation (a comment) takes no file: the reply fails
    clearly and nothing is posted under the comment."""
    ev = {"object": "page", "entry": [{"id": PAGE_ID, "time": 2, "changes": [{
        "field": "feed", "value": {
            "from": {"id": "7000000000000002", "name": "Andy"}, "item": "comment", "verb": "add",
            "comment_id": "555_777", "post_id": "%s_555" % PAGE_ID,
            "parent_id": "%s_555" % PAGE_ID, "message": "Waar blijft de factuur?"}}]}]}
    st, body = meta_hook(d, "messenger", ev)
    eq((st, body["messages"]), (200, 1), "the comment webhook")
    o = alice.expect("offer")
    cid = alice.accept(o["offer"])["conversation"]["id"]
    eq(upload(alice, cid, PDF, uid="c1")["type"], "uploaded", "uploaded in the comment thread")
    before = len(graph.requests)
    mid = reply(alice, cid, "Zie de bijlage.", "c1", ["c1"])
    wait_for(lambda: status_of(d, cid, mid)["status"] == "failed", what="failed")
    eq(status_of(d, cid, mid).get("error"), "files are not sent in comment threads",
       "it says why")
    eq(len(graph.requests), before, "nothing was posted under the comment")


def instagram_no_files(d, alice):
    dm(d, "instagram", "ig_M1", "stuur de foto", psid="7000000000000001")
    o = alice.expect("offer")
    cid = alice.accept(o["offer"])["conversation"]["id"]
    e = upload(alice, cid, PNG, name="foto.png", uid="ig1")
    eq((e["type"], e["code"]), ("error", "no_files"), "Instagram does not send files")
    check("instagram does not send files" in e["message"], "and says so: %s" % e["message"])


def test(tmp):
    graph = FakeGraph(WA_TOKEN)
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=omrtest.ONE_QUEUE_ROUTING, agents=AGENTS,
               extra_plugins=messenger_plugin(graph.base) + messenger_plugin(graph.base, "instagram", IG_ID),
               conf_extra="media: {max_bytes: 65536}\n").start()
    alice = Agent(d, token="alice-token-0123456789")
    dm(d, "messenger", "m_IN1", "Kunt u de offerte sturen?")
    o = alice.expect("offer")
    cid = alice.accept(o["offer"])["conversation"]["id"]
    files_out(d, graph, alice, cid)
    refused(d, graph, alice, cid)
    errors(d, graph, alice, cid)
    comment_thread(d, graph, alice)
    instagram_no_files(d, alice)
    check(d.alive(), "the daemon keeps running")
    eq(d.stop(), 0, "clean stop")
    graph.close()


omrtest.run(test)
