"""Who is who, and which key an id names.

- A mail with a forged From, to an e-mail channel that does not vouch for
  From (trust_from: false), never joins the customer who verified that
  address elsewhere (the verified index used to be the e-mail channel's own
  address key, addr:email:<address>).
- Ids from clients are ids omniroute made: "c_x:msgs" names no other key.
- Colleagues (issue 19, 7): an agent who serves a customer cannot open the
  customer's other conversation while a colleague has it (only once it is
  closed), and a reply to a colleague's WhatsApp chat is refused as
  not_yours, before the reply window is looked at (window_closed would tell
  when the colleague's customer last wrote).
"""
import os
import smtplib
import time
import uuid

import omrtest
from omrtest import check, eq, log, token_hash, wait_for, Agent, Daemon, Redis, BUILDDIR

PREFIX = "omr:{main}:"


def email_plugin(lmtp_port):
    return omrtest.email_plugin(lmtp_port, trust_from="false")


def stored(redis, channel, address, thread, text, email="", verified=False):
    """A message stored by the daemon's own ingest script, as a channel
    plugin would; returns (conversation, customer)."""
    u = uuid.uuid4().hex[:16]
    r = omrtest.lua_call(redis, "ingest", PREFIX, channel=channel, channel_msg_id="cm-" + u,
                         address=address, thread=thread, name="Eva", email=email, text=text,
                         attachments=[], attrs={}, meta={}, public=False,
                         ts=int(time.time() * 1000), customer="u_" + u, conversation="c_" + u,
                         message="m_" + u, dedup_ttl=604800000, kind="message",
                         verified=verified, reopen=0)
    return r[1], r[3]


def verified_customer(redis, email):
    """A customer whose address a channel vouched for (a user signed in on
    the web site)."""
    u = uuid.uuid4().hex[:16]
    return stored(redis, "webchat", "v-" + u, "v-" + u, "hi", email=email, verified=True)[1]


def forged_from(tmp):
    redis = Redis(tmp)
    lport = omrtest.free_port()
    d = Daemon(tmp, redis, extra_plugins=email_plugin(lport)).start()
    eva = verified_customer(redis, "eva@example.com")
    c = smtplib.LMTP("127.0.0.1", lport)
    c.sendmail("eva@example.com", ["support@example.com"],
               b"From: Eva <eva@example.com>\r\nTo: support@example.com\r\n"
               b"Subject: please change my IBAN\r\nMessage-ID: <forged-1@example.net>\r\n\r\n"
               b"New IBAN: NL00 FAKE 0000 0000 00\r\n")
    c.quit()

    def mail_conv():
        ids = redis.cmd("ZRANGE", PREFIX + "convs:ch:email", "0", "-1")
        return ids[0] if ids else None
    conv = wait_for(mail_conv, what="the mail stored")
    cust = redis.cmd("HGET", PREFIX + "conv:" + conv, "customer")
    check(cust != eva, "the forged mail is not Eva's (%s, Eva is %s)" % (cust, eva))
    eq(redis.cmd("HGET", PREFIX + "cust:" + cust, "claimed_email"), "eva@example.com",
       "the address is only claimed")
    eq(redis.cmd("GET", PREFIX + "email:eva@example.com"), eva,
       "the verified index still names Eva")
    eq(d.stop(), 0, "clean stop")


def foreign_ids(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis).start()
    alice = Agent(d, "alice")
    for bad in ("c_x:msgs", "c_", "c_0123456789AB", "u_0123456789ab", "c_0123456789ab/x",
                "c_" + "0" * 41):
        alice.send({"type": "open", "conversation": bad})
        m = alice.expect("error")
        eq(m["code"], "bad_request", "open %r: bad_request" % bad)
        alice.send({"type": "accept", "offer": bad.replace("c_", "o_")})
        eq(alice.expect("error")["code"], "bad_request", "accept %r: bad_request" % bad)
        st, body = d.http("GET", "/api/v1/conversations/" + bad.replace("/", "%2F"))
        eq(st, 404, "GET conversation %r: 404" % bad)
    alice.send({"type": "open", "conversation": "c_0123456789ab"})
    eq(alice.expect("error")["code"], "not_yours", "a well-formed id that is not hers")
    eq(d.stop(), 0, "clean stop")


COLLEAGUES_ROUTING = """
skills: [general]
default_queue: general
queues:
  - name: general
offers: {timeout: 30s}
reasons: [other]
outcomes: [resolved]
"""

COLLEAGUES_AGENTS = """
agents:
  - id: alice
    token: "%s"
    capacity: { whatsapp: 1 }
  - id: bob
    token: "%s"
    capacity: { whatsapp: 1 }
""" % (token_hash("alice-token-0123456789ab"), token_hash("bob-token-0123456789abcd"))


def whatsapp_plugin():
    # the Graph API is never called here: nothing is sent to the customer
    return """  - name: whatsapp
    path: %s/plugins/whatsapp/.libs/whatsapp.so
    config:
      app_secret: test-app-secret-0123
      verify_token: test-verify-token
      access_token: EAAG-test-access-token
      phone_number_id: "1098765432"
      api_base: http://127.0.0.1:9
      reply_window: 1s
""" % BUILDDIR


def wa_message(redis, thread, text):
    """A WhatsApp message from +31 6 1234 5678 (as the plugin would store it
    after a signed webhook)."""
    return stored(redis, "whatsapp", "31612345678", thread, text)[0]


def colleagues(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=COLLEAGUES_ROUTING, agents=COLLEAGUES_AGENTS,
               extra_plugins=whatsapp_plugin()).start()
    alice = Agent(d, token="alice-token-0123456789ab")
    ca = wa_message(redis, "thread-a", "My IBAN is NL00 BANK 0123 4567 89")
    o = alice.expect("offer")
    eq(o["conversation"]["id"], ca, "alice is offered the first chat")
    alice.accept(o["offer"])
    bob = Agent(d, token="bob-token-0123456789abcd")
    cb = wa_message(redis, "thread-b", "And another question")
    o = bob.expect("offer")
    eq(o["conversation"]["id"], cb, "bob is offered the same customer's second chat")
    bob.accept(o["offer"])
    eq(d.conversation(ca)["customer"], d.conversation(cb)["customer"], "one customer")

    # open: a colleague's open conversation of his customer is not shown
    bob.send({"type": "open", "conversation": ca})
    m = bob.expect("history", "error")
    eq((m["type"], m.get("code")), ("error", "not_yours"), "bob cannot open alice's open chat")
    check("IBAN" not in str(m), "nothing of it is in the answer")

    # reply: whose it is comes before the window (1 s here, long closed)
    time.sleep(1.5)
    bob.send({"type": "reply", "conversation": ca, "text": "hi", "client_msg_id": "x1"})
    m = bob.expect("error", "ack")
    eq((m["type"], m.get("code")), ("error", "not_yours"),
       "a reply to alice's chat: not_yours, not window_closed")
    check("closed_at" not in m, "and no time of hers")
    bob.send({"type": "reply", "conversation": cb, "text": "hi", "client_msg_id": "x2"})
    m = bob.expect("error", "ack")
    eq((m["type"], m.get("code")), ("error", "window_closed"), "his own: the window applies")

    # once alice closed it, it is an earlier contact of his customer
    alice.send({"type": "close", "conversation": ca})
    alice.expect("status")
    alice.send({"type": "wrapup", "conversation": ca, "reason": "other", "outcome": "resolved"})
    alice.expect("unassigned")
    wait_for(lambda: d.conversation(ca)["status"] == "closed", what="closed")
    bob.send({"type": "open", "conversation": ca})
    m = bob.expect("history", "error")
    eq(m["type"], "history", "a closed conversation of his customer can be read")
    eq(d.stop(), 0, "clean stop")


def test(tmp):
    for part in (forged_from, foreign_ids, colleagues):
        sub = os.path.join(tmp, part.__name__)
        os.makedirs(sub)
        log("---- " + part.__name__)
        part(sub)


omrtest.run(test)
