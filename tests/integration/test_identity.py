"""Who is who, and which key an id names.

- A mail with a forged From, to an e-mail channel that does not vouch for
  From (trust_from: false), never joins the customer who verified that
  address elsewhere (the verified index used to be the e-mail channel's own
  address key, addr:email:<address>).
- Ids from clients are ids omniroute made: "c_x:msgs" names no other key.
"""
import os
import smtplib
import time
import uuid

import omrtest
from omrtest import check, eq, log, wait_for, Agent, Daemon, Redis, SRCDIR, BUILDDIR

PREFIX = "omr:{main}:"


def email_plugin(lmtp_port):
    return """  - name: email
    path: %s/plugins/email/.libs/email.so
    config:
      address: support@example.com
      domain: mail.example.com
      lmtp_port: %d
      smtp_url: smtp://127.0.0.1:9
      trust_from: false
""" % (BUILDDIR, lmtp_port)


def verified_customer(redis, email):
    """A customer whose address a channel vouched for (a user signed in on
    the web site), stored with the daemon's own ingest script."""
    with open(os.path.join(SRCDIR, "src", "lua", "ingest.lua")) as f:
        script = f.read()
    u = uuid.uuid4().hex[:16]
    now = str(int(time.time() * 1000))
    argv = [PREFIX, "webchat", "cm-" + u, "v-" + u, "v-" + u, "Eva", email, "hi", "[]", "{}",
            "{}", "0", now, now, "u_" + u, "c_" + u, "m_" + u, "604800000", "0", "message",
            "1", "0"]
    r = omrtest.Redis.cmd(redis, "EVAL", script, "1", PREFIX + "events", *argv)
    return r[3]


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


def test(tmp):
    for part in (forged_from, foreign_ids):
        sub = os.path.join(tmp, part.__name__)
        os.makedirs(sub)
        log("---- " + part.__name__)
        part(sub)


omrtest.run(test)
