"""A customer's rights over their data (issue 16), end to end on a real
daemon and a real Redis: a customer with e-mail (an attachment stored on
disk), web chat and WhatsApp history, served by an agent who replied and
wrapped up, is exported (everything there: addresses, conversations,
messages, the attachment as a link that opens, routing explanations,
engagement), restricted and un-restricted, refused erasure while a
conversation is open (409) and erased with ?force=1 (200, counted).
Afterwards every Redis key and every value (strings, hashes, lists, sets,
sorted sets, streams) and every file under the attachment directory is
read: none holds their name, address, phone number or any text of theirs;
the other customer is untouched; the reports' buckets are unchanged; the
erasure is audited with ids and counts only; the agent's capacity is back.
Hostile requests: no token 401, a token without the admin scope 403, an
unknown id 404, a malformed id 400, other verbs 404/405; the daemon keeps
running.

Linking the three channels to one person: the e-mail channel vouches for
From; the web chat message is stored as a signed-in visitor's would be (the
channel vouches for the e-mail address: ingest.lua with verified); the
WhatsApp number is linked to the customer as a merge of identities would
link it (addr:whatsapp:<number>), since no channel can vouch for both."""
import email
import email.policy
import http.client
import json
import os
import re
import smtplib
import subprocess
import time

import omrtest
from fakes import (FakeGraph, FakeSmtp, WhatsAppHook, wa_envelope, wa_plugin, wa_text,
                   WA_TOKEN)
from omrtest import check, eq, log, token_hash, wait_for, Agent, Daemon, Redis

P = "omr:{main}:"
SAM_TOKEN = "sam-supervisor-token-0123"
ROOT_TOKEN = "root-admin-token-0123456"

AGENTS = """
agents:
  - id: alice
    name: Alice
    token: "%(alice)s"
    skills: { general: 3 }
    capacity: { email: 5, webchat: 5, whatsapp: 5 }
  - id: sam
    name: Sam
    password: "%(pw)s"
    roles: [supervisor]
    api_tokens:
      - { name: wallboard, hash: "%(sam)s", scopes: [read, act] }
  - id: root
    name: Root
    password: "%(pw)s"
    roles: [admin]
    api_tokens:
      - { name: ops, hash: "%(root)s" }
""" % dict(alice=token_hash("alice-token-0123456789"), sam=token_hash(SAM_TOKEN),
           root=token_hash(ROOT_TOKEN), pw=omrtest.password_hash("pw"))

NAME = "Marieke Verhoeven"
EMAIL = "marieke.verhoeven@example.org"
PHONE = "31611112222"
VISITOR = "v_mariekechat01"
TEXTS = ["Mijn factuur van maart klopt niet MV7781",
         "Ik wacht al twee weken op mijn terugbetaling MV5512",
         "Pakket MV9934 is beschadigd aangekomen"]
REPLIES = ["Dag mevrouw, we kijken naar MV7781R", "Excuses voor het wachten MV5512R",
           "Wat vervelend, MV9934R wordt vervangen"]
ATTACHMENT = "MV-ATTACHMENT-4471 bankafschrift van de klant"
SECRETS = [NAME, EMAIL, PHONE, VISITOR, ATTACHMENT, "MV7781", "MV5512", "MV9934"]

OTHER_TEXT = "Andere klant OT1234 vraagt iets"
OTHER_ATTACHMENT = "OT-ATTACHMENT-9911 contract"


def mail_with_attachment(frm, name, text, attachment, filename, msgid):
    return ("From: %s <%s>\r\nTo: support@example.com\r\nSubject: Factuur\r\n"
            "Message-ID: <%s@example.org>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0100\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n"
            "--b1\r\nContent-Type: text/plain; name=\"%s\"\r\n"
            "Content-Disposition: attachment; filename=\"%s\"\r\n\r\n%s\r\n"
            "--b1--\r\n" % (name, frm, msgid, text, filename, filename, attachment)).encode()


def deliver(port, data, sender):
    """A mail delivered by LMTP, as an MTA would: the reply code."""
    c = smtplib.LMTP("127.0.0.1", port)
    try:
        refused = c.sendmail(sender, ["support@example.com"], data)
        return 250 if not refused else refused
    finally:
        c.quit()


def api(d, method, path, token=ROOT_TOKEN, body=None):
    return d.http(method, path, token=token, body=body)


def serve(d, alice, cid, reply, wrapup=True):
    """alice takes the conversation, answers, and (wrapup) wraps it up."""
    alice.accept(alice.offer_for(cid)["offer"])
    eq(alice.reply(cid, reply)["type"], "ack", "alice answers %s" % cid)
    if wrapup:
        alice.send({"type": "close", "conversation": cid})
        alice.expect("status")
        alice.send({"type": "wrapup", "conversation": cid, "reason": "other",
                    "outcome": "resolved"})
        eq(alice.expect("unassigned")["reason"], "wrapped_up", "%s wrapped up" % cid)


CSAT_ROUTING = omrtest.ONE_QUEUE_ROUTING + """
csat:
  enabled: true
  question: "How did we do? Reply 1 (poor) to 5 (great)."
  thanks: "Thanks for rating us!"
  window: 1h
"""


def chat_message(redis, text, rating=0, cmid="c1"):
    """A signed-in visitor's chat message (the channel vouches for the e-mail
    address), stored by the daemon's own ingest script."""
    u = "%016x" % int(time.time() * 1e6)
    r = omrtest.lua_call(redis, "ingest", P, channel="webchat", channel_msg_id=VISITOR + ":" + cmid,
                         address=VISITOR, thread=VISITOR, name=NAME, email=EMAIL, text=text,
                         attachments=[], attrs={}, meta={"client_msg_id": cmid}, public=False,
                         ts=int(time.time() * 1000), customer="u_" + u, conversation="c_" + u,
                         message="m_" + u, dedup_ttl=604800000, kind="message",
                         verified=True, reopen=0, rating=rating)
    return r[1], r[3]


def every_value(redis):
    """Every key of the Redis, with everything it holds, as text."""
    out, cursor = [], "0"
    while True:
        cursor, keys = redis.cmd("SCAN", cursor, "COUNT", "1000")
        for k in keys:
            t = redis.cmd("TYPE", k)
            if t == "string":
                v = redis.cmd("GET", k)
            elif t == "hash":
                v = redis.cmd("HGETALL", k)
            elif t == "list":
                v = redis.cmd("LRANGE", k, "0", "-1")
            elif t == "set":
                v = redis.cmd("SMEMBERS", k)
            elif t == "zset":
                v = redis.cmd("ZRANGE", k, "0", "-1", "WITHSCORES")
            elif t == "stream":
                v = redis.cmd("XRANGE", k, "-", "+")
            else:
                v = t
            out.append((k, json.dumps([k, v], ensure_ascii=False)))
        if cursor == "0":
            return out


def every_file(root):
    out = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                out.append((p, f + "\n" + fh.read().decode("utf-8", "replace")))
    return out


def stats(redis):
    keys = sorted(k for k, _ in every_value(redis) if k.startswith(P + "stats:"))
    return {k: redis.cmd("HGETALL", k) for k in keys}


def hostile(d, cust):
    base = "/api/v1/customers/" + cust
    eq(d.http("GET", base + "/export", auth=False)[0], 401, "no token: 401")
    st, body = api(d, "GET", base + "/export", token=SAM_TOKEN)
    eq(st, 403, "a supervisor's token without the admin scope: 403 (%s)" % body)
    eq(api(d, "DELETE", base, token=SAM_TOKEN)[0], 403, "erasure without the admin scope: 403")
    eq(api(d, "POST", base + "/restrict", token=SAM_TOKEN)[0], 403, "restrict: 403 too")
    eq(api(d, "GET", "/api/v1/customers/u_0000000000000000000000/export")[0], 404,
       "an unknown customer: 404")
    eq(api(d, "DELETE", "/api/v1/customers/u_0000000000000000000000")[0], 404,
       "erasing an unknown customer: 404")
    for bad in ("u_x", "c_01m89a9zq7q90cv47bm512", "u_01m89a9zq7q90cv47bm512:addrs",
                "u_" + "a" * 200, "%2e%2e", "u_01m89a9zq7q90cv47bm512%00"):
        st, body = api(d, "GET", "/api/v1/customers/%s/export" % bad)
        check(st in (400, 404), "a malformed id %r: %s %s" % (bad, st, body))
    eq(api(d, "GET", "/api/v1/customers/u_x/export")[0], 400, "not an id: 400")
    eq(api(d, "GET", base + "/photos")[0], 404, "an unknown verb: 404")
    eq(api(d, "GET", "/api/v1/customers")[0], 404, "no id: 404")
    eq(api(d, "POST", base + "/export")[0], 405, "export is GET: 405")
    eq(api(d, "PUT", base)[0], 405, "a customer is erased with DELETE: 405 for PUT")
    eq(api(d, "DELETE", base + "?force=yes")[0], 400, "force=yes: 400")
    eq(api(d, "POST", base + "/restrict", body=b"{nope")[0], 400, "a broken body: 400")
    eq(api(d, "POST", base + "/restrict", body={"restricted": "yes"})[0], 400,
       "restricted must be a boolean: 400")
    check(d.alive(), "the daemon keeps running")


def exported(d, cust, att_path):
    st, x = api(d, "GET", "/api/v1/customers/%s/export" % cust)
    eq(st, 200, "the export: 200")
    c = x["customer"]
    eq((c["id"], c["name"], c["email"]), (cust, NAME, EMAIL), "the customer")
    eq(sorted(c["addresses"]), sorted(["email:" + EMAIL, "webchat:" + VISITOR,
                                       "whatsapp:" + PHONE]), "every address")
    check(isinstance(c["engagement"], list), "the engagement history")
    eq(sorted(v["channel"] for v in x["conversations"]), ["email", "webchat", "whatsapp"],
       "every conversation")
    texts = [m["text"] for v in x["conversations"] for m in v["messages"]]
    for t in TEXTS + REPLIES:
        check(any(t in s for s in texts), "the message %r is there" % t)
    for v in x["conversations"]:
        check(isinstance(v.get("routing"), dict), "%s: its routing explanation" % v["id"])
    eq([v.get("csat") for v in x["conversations"] if v["channel"] == "webchat"], [5],
       "the satisfaction answer")
    atts = [a for v in x["conversations"] for m in v["messages"] for a in m["attachments"]]
    eq(len(atts), 1, "the attachment")
    check(atts[0].get("url", "").startswith("/files/"), "as a signed link")
    c = http.client.HTTPConnection("127.0.0.1", d.ports["edge"], timeout=10)
    c.request("GET", atts[0]["url"])
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    eq((r.status, ATTACHMENT in body), (200, True), "the link opens the file")
    check(os.path.exists(att_path), "the file is on disk")
    return x


def omnictl(d, *args):
    p = subprocess.run([os.path.join(omrtest.BUILDDIR, "omnictl"), "--url",
                        "http://127.0.0.1:%d" % d.ports["admin"], "--token", ROOT_TOKEN] +
                       list(args), capture_output=True, timeout=30,
                       env={k: v for k, v in os.environ.items() if not k.startswith("OMNIROUTE_")})
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def with_omnictl(d, cust, wa_conv):
    rc, out, err = omnictl(d, "customer", "export", cust)
    eq(rc, 0, "omnictl customer export (%s)" % err)
    eq(len(json.loads(out)["conversations"]), 3, "omnictl prints the export as JSON")
    rc, out, _ = omnictl(d, "customer", "restrict", cust)
    check(rc == 0 and "restricted" in out, "omnictl customer restrict: %r" % out)
    rc, out, _ = omnictl(d, "customer", "restrict", cust, "--off")
    check(rc == 0 and "not restricted" in out, "omnictl customer restrict --off: %r" % out)
    rc, out, err = omnictl(d, "customer", "erase", cust)
    check(rc == 1 and "conversations_open" in err + out,
          "omnictl customer erase with an open conversation: exit 1 (%s)" % err)
    rc, _, err = omnictl(d, "customer", "erase", "u_0000000000000000000000")
    check(rc == 1 and "no such customer" in err,
          "omnictl customer erase of nobody: exit 1 (%s)" % err)


def refused_open(d, cust, wa_conv):
    st, body = api(d, "DELETE", "/api/v1/customers/" + cust)
    eq(st, 409, "erasure while a conversation is open: 409")
    eq((body["error"]["code"], body["conversations"]), ("conversations_open", [wa_conv]),
       "names the open conversation")
    eq(d.conversation(wa_conv)["status"], "assigned", "and nothing was erased")


def restricted(d, redis, cust):
    st, body = api(d, "POST", "/api/v1/customers/%s/restrict" % cust)
    eq((st, body["restricted"]), (200, True), "restricted")
    check(body["restricted_at"] > 0, "since when")
    eq(redis.cmd("HGET", P + "cust:" + cust, "restricted"), "1", "the flag is stored")
    st, body = api(d, "POST", "/api/v1/customers/%s/restrict" % cust, body={"restricted": False})
    eq((st, body["restricted"]), (200, False), "lifted by the body")
    api(d, "POST", "/api/v1/customers/%s/restrict" % cust)
    st, body = api(d, "DELETE", "/api/v1/customers/%s/restrict" % cust)
    eq((st, body["restricted"]), (200, False), "lifted by DELETE")
    eq(redis.cmd("HGET", P + "cust:" + cust, "restricted"), None, "the flag is gone")


def no_trace(tmp, redis, secrets):
    for key, text in every_value(redis):
        for s in secrets:
            check(s not in text, "no key holds %r (found in %s)" % (s, key))
    for path, text in every_file(os.path.join(tmp, "state", "attachments")):
        for s in secrets:
            check(s not in text, "no attachment file holds %r (found in %s)" % (s, path))


def audited(redis, cust, counts):
    entries = [dict(zip(e[1][::2], e[1][1::2])) for e in redis.cmd("XRANGE", P + "audit", "-", "+")]
    erase = [e for e in entries if e["action"] == "customer.erase" and e["target"] == cust]
    eq([e["result"] for e in erase], ["conversations_open", "conversations_open", "ok",
                                      "not_found"],
       "every erasure request audited: refused, done, again")
    detail = json.loads([e for e in erase if e["result"] == "ok"][0]["detail"])
    eq({k: detail[k] for k in counts}, counts, "with the counts")
    eq(detail.get("force"), True, "and that it was forced")
    check(any(e["action"] == "customer.export" and e["target"] == cust for e in entries),
          "the export too")
    for e in entries:
        for s in SECRETS:
            check(s not in json.dumps(e, ensure_ascii=False), "no audit entry holds %r" % s)


BOT_ROUTING = """
skills: [general]
default_queue: general
queues:
  - name: general
    status_interval: 0
value:
  default: { customer: high, organisation: low }   # self-service: the bot first
bot: faqbot
offers: {timeout: 10s}
reasons: [other]
outcomes: [resolved]
"""


def stored(redis, cust, thread, kind="message"):
    """A web chat message of customer u_<cust> on a thread, stored by the
    daemon's own ingest script (the daemon routes it)."""
    u = "%016x" % int(time.time() * 1e6)
    r = omrtest.lua_call(redis, "ingest", P, channel="webchat", channel_msg_id=thread + ":" + u,
                         address="v_" + cust, thread=thread, name="", email="",
                         text="what are your opening hours?", attachments=[], attrs={}, meta={},
                         public=False, ts=int(time.time() * 1000), customer="u_" + cust,
                         conversation="c_" + u, message="m_" + u, dedup_ttl=604800000,
                         kind=kind, verified=False, reopen=0)
    return r[1]


def routed(d, conv):
    return wait_for(lambda: d.conversation(conv)["status"] in ("bot", "queued") and
                    d.conversation(conv), what="%s routed" % conv)


def restriction(tmp):
    """A restricted customer is never given to the bot tier; others are,
    and so is the customer once the restriction is lifted."""
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=BOT_ROUTING, agents=AGENTS,
               extra_plugins="  - name: faqbot\n    path: %s/plugins/faqbot/.libs/faqbot.so\n"
               "    config_file: %s/conf/faqbot.yaml\n" % (omrtest.BUILDDIR, omrtest.SRCDIR)).start()
    stored(redis, "rrrr0000000000", "t-r0", kind="auto")  # the customer, no routing
    st, _ = api(d, "POST", "/api/v1/customers/u_rrrr0000000000/restrict")
    eq(st, 200, "restricted")
    c = routed(d, stored(redis, "rrrr0000000000", "t-r1"))
    eq((c["status"], c["routing"].get("restricted"), "restricted" in c["routing"]["treatment"]),
       ("queued", True, True), "a restricted customer goes to people, and the explanation "
       "says why (%s)" % c["routing"]["treatment"])
    c = routed(d, stored(redis, "ssss0000000000", "t-s1"))
    eq(c["status"], "bot", "another customer goes to the bot")
    api(d, "DELETE", "/api/v1/customers/u_rrrr0000000000/restrict")
    c = routed(d, stored(redis, "rrrr0000000000", "t-r2"))
    eq(c["status"], "bot", "once lifted, the bot again")
    export_cursor(redis)
    long_history(d, redis)
    check(d.alive(), "the daemon keeps running")
    eq(d.stop(), 0, "clean stop")


def script_calls(d, name):
    st, text = d.http("GET", "/metrics")
    m = re.search(r'^omniroute_script_calls_total\{script="%s"\} (\d+)$' % name, text, re.M)
    return int(m.group(1)) if m else 0


def export_cursor(redis):
    """An export goes on with its conversation found again by id: one
    removed between two calls (retention, an erasure) shifts nothing, and
    when the conversation it goes on with is gone, the next one follows."""
    cust = "cccc0000000000"
    convs = [stored(redis, cust, "t-c%d" % i, kind="auto") for i in range(4)]
    time.sleep(0.002)

    def step(conv="", score="0", frm=0):
        r = omrtest.lua_call(redis, "cust_export", P, customer="u_" + cust, conv=conv,
                             score=score, **{"from": frm}, budget=2)
        got = [dict(zip(c[0][::2], c[0][1::2])).get("id") for c in r[4] if c[0]]
        return got, r[5], r[6], r[7], r[8]

    got, done, nconv, nscore, nfrom = step()
    eq((got, done, nconv), ([convs[0]], 0, convs[1]), "the first call: the oldest conversation")
    redis.cmd("ZREM", P + "cust:u_%s:convs" % cust, convs[0])  # removed meanwhile
    got, done, nconv2, nscore2, nfrom2 = step(nconv, nscore, nfrom)
    eq((got, nconv2), ([convs[1]], convs[2]), "the next goes on with the second, none skipped")
    redis.cmd("ZREM", P + "cust:u_%s:convs" % cust, convs[2])  # the one it goes on with
    got, done, nconv3, _, _ = step(nconv2, nscore2, nfrom2)
    eq((got, done, nconv3), ([convs[3]], 1, ""), "gone: the one after it, then done")


def long_history(d, redis, n=1200):
    """A customer with a long history is exported and erased in steps (a
    script call per 500 messages), every message there and counted."""
    cust = "llll0000000000"
    stored(redis, cust, "t-l0", kind="auto")
    api(d, "POST", "/api/v1/customers/u_%s/restrict" % cust)  # no bot: they wait queued
    src = omrtest.lua_source("ingest")
    cmds = []
    for i in range(n):
        u = "%016x%05d" % (int(time.time() * 1e6), i)
        keys, argv = omrtest.lua_keys_argv(
            "ingest", P, channel="webchat", channel_msg_id="t-l1:" + u, address="v_" + cust,
            thread="t-l1", name="", email="", text="message %d" % i, attachments=[], attrs={},
            meta={}, public=False, ts=int(time.time() * 1000), customer="u_" + cust,
            conversation="c_" + u, message="m_" + u, dedup_ttl=604800000, kind="message",
            verified=False, reopen=0)
        cmds.append(["EVAL", src, len(keys)] + keys + argv)
    redis.pipeline(cmds)
    calls = script_calls(d, "cust_export")
    st, x = api(d, "GET", "/api/v1/customers/u_%s/export" % cust)
    eq((st, sum(len(v["messages"]) for v in x["conversations"])), (200, n + 1),
       "the long history exported whole")
    eq([m["text"] for m in x["conversations"][1]["messages"]], ["message %d" % i for i in range(n)],
       "in order")
    check(script_calls(d, "cust_export") - calls >= 3, "read in steps")
    calls = script_calls(d, "cust_erase")
    st, body = api(d, "DELETE", "/api/v1/customers/u_%s?force=1" % cust)
    eq((st, body["erased"]["messages"], body["erased"]["conversations"]), (200, n + 1, 2),
       "and erased, counted")
    check(script_calls(d, "cust_erase") - calls >= 3, "in steps")
    long_conv = x["conversations"][1]["id"]
    eq((redis.cmd("ZSCORE", P + "queue:general", long_conv),
        [k for k, v in every_value(redis) if long_conv in v and k != P + "events"]), (None, []),
       "the queued conversation left its queue, and no key names it (but the event "
       "stream of ids)")


def test(tmp):
    restriction(os.path.join(tmp, "restrict"))
    tmp = os.path.join(tmp, "erase")
    os.makedirs(tmp)
    smtp, graph = FakeSmtp(), FakeGraph(WA_TOKEN)
    redis = Redis(tmp)
    lport = omrtest.free_port()
    d = Daemon(tmp, redis, routing=CSAT_ROUTING, agents=AGENTS,
               extra_plugins=omrtest.email_plugin(lport, smtp.port, trust_from="true") +
               wa_plugin(graph.base)).start()
    alice = Agent(d, token="alice-token-0123456789")

    # ---- e-mail with an attachment, answered and wrapped up
    eq(deliver(lport, mail_with_attachment(EMAIL, NAME, TEXTS[0], ATTACHMENT,
                                           "bankafschrift.txt", "mv-1"), EMAIL), 250,
       "the mail is delivered")
    mail_conv = wait_for(lambda: [c["id"] for c in d.api("/api/v1/conversations?channel=email")
                                  ["conversations"]], what="the e-mail conversation")[0]
    cust = d.conversation(mail_conv)["customer"]
    att = d.conversation(mail_conv)["messages"][0]["attachments"][0]
    att_path = os.path.join(tmp, "state", "attachments", "email", att["sha256"])
    check(os.path.exists(att_path), "the attachment is stored on disk")
    serve(d, alice, mail_conv, REPLIES[0])

    # ---- web chat, signed in: the same customer
    chat_conv, chat_cust = chat_message(redis, TEXTS[1])
    eq(chat_cust, cust, "the signed-in visitor is the same customer")
    serve(d, alice, chat_conv, REPLIES[1])
    eq(chat_message(redis, "5", rating=5, cmid="c2")[0], chat_conv, "the customer rates the chat")
    eq(d.conversation(chat_conv)["csat"], 5, "the rating is stored")
    mail_thread = d.conversation(mail_conv)["thread"]
    eq(redis.cmd("GET", P + "csat:email:" + mail_thread), mail_conv,
       "the e-mail's satisfaction question waits for an answer")
    # it went out as a mail of the thread: a subject with the thread's token
    # (a reply to the customer's "Factuur"), the question as its text
    def question_mail():
        for _, rcpts, data in smtp.mails:
            m = email.message_from_bytes(data, policy=email.policy.default)
            body = m.get_body(preferencelist=("plain",))
            if body and "How did we do? Reply 1 (poor) to 5 (great)." in body.get_content():
                return rcpts, m
        return None
    rcpts, q = wait_for(question_mail, what="the question at the SMTP sink")
    eq((q["Subject"], rcpts), ("Re: Factuur [#%s]" % mail_thread, ["<%s>" % EMAIL]),
       "the question's subject and recipient, though the conversation was wrapped up meanwhile")
    eq(q["In-Reply-To"], "<mv-1@example.org>", "and it answers the customer's mail")

    # ---- WhatsApp, the number linked to the customer; left open
    redis.cmd("SET", P + "addr:whatsapp:" + PHONE, cust)
    redis.cmd("SADD", P + "cust:" + cust + ":addrs", "whatsapp:" + PHONE)
    hook = WhatsAppHook(d)
    st, _ = hook.post(wa_envelope([wa_text("wamid.MV1", TEXTS[2], frm=PHONE)],
                                  contacts=[{"profile": {"name": NAME}, "wa_id": PHONE}]))
    eq(st, 200, "the WhatsApp message is stored")
    wa_conv = wait_for(lambda: [c["id"] for c in d.api("/api/v1/conversations?channel=whatsapp")
                                ["conversations"]], what="the WhatsApp conversation")[0]
    eq(d.conversation(wa_conv)["customer"], cust, "the same customer")
    serve(d, alice, wa_conv, REPLIES[2], wrapup=False)
    wait_for(lambda: graph.requests, what="the reply reaches the Graph API")
    alice.presence("away")

    # ---- another customer: web chat and an e-mail with an attachment
    other = omrtest.Visitor(d, name="Otto Ander")
    other.say(OTHER_TEXT)
    eq(deliver(lport, mail_with_attachment("otto@example.net", "Otto Ander", OTHER_TEXT,
                                           OTHER_ATTACHMENT, "contract.txt", "ot-1"),
               "otto@example.net"), 250, "the other customer's mail")
    wait_for(lambda: len([c for c in d.api("/api/v1/conversations?limit=50")["conversations"]
                          if c["customer"] != cust]) == 2, what="both of them")
    others = [c for c in d.api("/api/v1/conversations?limit=50")["conversations"]
              if c["customer"] != cust]
    other_files = [p for p, _ in every_file(os.path.join(tmp, "state", "attachments"))
                   if p != att_path]
    eq(len(other_files), 1, "the other customer's attachment is on disk")

    hostile(d, cust)
    x = exported(d, cust, att_path)
    msgs = sum(len(v["messages"]) for v in x["conversations"])
    restricted(d, redis, cust)
    with_omnictl(d, cust, wa_conv)
    refused_open(d, cust, wa_conv)

    # ---- erasure
    # frames between nodes as another node writes them (fields n, m): one
    # about the customer's conversation goes with the erasure, the other stays
    bus_mine = redis.cmd("XADD", P + "bus", "*", "n", "other-node", "m", json.dumps(
        {"to": "alice", "frame": {"type": "message", "conversation": wa_conv,
                                  "message": {"text": TEXTS[2]}}}))
    bus_other = redis.cmd("XADD", P + "bus", "*", "n", "other-node", "m", json.dumps(
        {"to": "alice", "frame": {"type": "message", "conversation": others[0]["id"],
                                  "message": {"text": OTHER_TEXT}}}))
    before = stats(redis)
    check(before, "the reports counted something")
    other_before = {c["id"]: d.conversation(c["id"]) for c in others}
    st, body = api(d, "DELETE", "/api/v1/customers/%s?force=1" % cust)
    eq(st, 200, "erased: 200 (%s)" % body)
    counts = {"conversations": 3, "messages": msgs, "attachments": 1, "addresses": 3}
    eq((body["customer"], body["erased"]), (cust, counts), "what was erased, counted")
    wait_for(lambda: not os.path.exists(att_path), what="the attachment file deleted")
    eq(api(d, "GET", "/api/v1/customers/%s/export" % cust)[0], 404, "the customer is gone")
    eq(api(d, "DELETE", "/api/v1/customers/%s" % cust)[0], 404, "erasing again: 404")
    for c in (mail_conv, chat_conv, wa_conv):
        eq(d.http("GET", "/api/v1/conversations/" + c)[0], 404, "%s is gone" % c)
    eq((redis.cmd("HGET", P + "agent:alice", "load:whatsapp"),
        redis.cmd("SMEMBERS", P + "agent:alice:convs")), ("0", []),
       "the agent's capacity is back")

    eq(redis.cmd("EXISTS", P + "csat:email:" + mail_thread), 0, "the pending question is gone")
    bus = [e[0] for e in redis.cmd("XRANGE", P + "bus", "-", "+")]
    eq((bus_mine in bus, bus_other in bus), (False, True),
       "the node bus loses the frame about the customer, keeps the one about another")
    no_trace(tmp, redis, SECRETS)
    eq(stats(redis), before, "the reports' counts are unchanged")
    for cid, conv in other_before.items():
        # (the dispatcher may have looked at it again meanwhile: the agent's capacity came back)
        now = d.conversation(cid)
        eq({k: v for k, v in now.items() if k != "dispatch"},
           {k: v for k, v in conv.items() if k != "dispatch"},
           "the other customer's conversation %s is untouched" % cid)
    for p in other_files:
        with open(p) as f:
            eq(f.read().strip(), OTHER_ATTACHMENT, "the other customer's file is untouched")
    audited(redis, cust, counts)
    eq((d.metric("customers_erased_total"), d.metric("customer_erasures_refused_total"),
        d.metric("attachment_files_deleted_total")), (1, 2, 1), "the figures")
    log("customer %s erased: %s" % (cust, body["erased"]))
    check(d.alive(), "the daemon keeps running")
    alice.close()
    other.close()
    eq(d.stop(), 0, "clean stop")


if __name__ == "__main__":
    omrtest.run(test)
