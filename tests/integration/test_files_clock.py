"""Links to stored files expire (issue 19, 8), end to end: the daemon runs
under libfaketime (Debian's faketime package) with its wall clock read from
a file the test writes, so the test moves the daemon's clock a day ahead
instead of waiting a day. Monotonic time is left alone (timers, timeouts).

A link made now works; 25 hours later (by the daemon's clock) the same link
is refused with 403 and says why; opening the conversation again gives a
new link that works."""
import http.client
import os
import time

import omrtest
from omrtest import check, eq, log, token_hash, Agent, Daemon, Redis

FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

ROUTING = """
skills: [general]
default_queue: general
queues:
  - name: general
reasons: [other]
outcomes: [resolved]
"""

AGENTS = """
agents:
  - id: alice
    token: "%s"
    capacity: { email: 5 }
""" % token_hash("alice-token-0123456789ab")

PDF = "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PD4+CmVuZG9iagp0cmFpbGVyCjw8Pj4KJSVFT0YK"


def email_plugin(lmtp_port):
    return omrtest.email_plugin(lmtp_port)


class ClockDaemon(Daemon):
    """The daemon with its wall clock from clock_file (a libfaketime spec
    such as "+0" or "+25h", read again every second)."""

    clock_file = None

    def popen_extra(self):
        env = dict(os.environ)
        env["LD_PRELOAD"] = ":".join(p for p in (FAKETIME, env.get("LD_PRELOAD")) if p)
        env["FAKETIME_TIMESTAMP_FILE"] = self.clock_file
        env["FAKETIME_CACHE_DURATION"] = "1"
        env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
        # under AddressSanitizer, the preloaded library comes before its runtime
        env["ASAN_OPTIONS"] = ":".join(p for p in (env.get("ASAN_OPTIONS"),
                                                   "verify_asan_link_order=0") if p)
        return {"env": env}


def set_clock(d, spec):
    with open(d.clock_file, "w") as f:
        f.write(spec + "\n")


def get(d, url):
    c = http.client.HTTPConnection("127.0.0.1", d.ports["edge"], timeout=10)
    c.request("GET", url)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def deliver(lport):
    import smtplib
    mail = ("From: Eva <eva@example.net>\r\nTo: support@example.com\r\nSubject: invoice\r\n"
            "Message-ID: <clock-1@example.net>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            "--b1\r\nContent-Type: text/plain\r\n\r\nSee the attachment.\r\n"
            "--b1\r\nContent-Type: application/pdf; name=\"factuur.pdf\"\r\n"
            "Content-Disposition: attachment; filename=\"factuur.pdf\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--b1--\r\n" % PDF)
    c = smtplib.LMTP("127.0.0.1", lport)
    c.sendmail("eva@example.net", ["support@example.com"], mail.encode())
    c.quit()


def test(tmp):
    check(os.path.exists(FAKETIME), "libfaketime is installed (the faketime package)")
    redis = Redis(tmp)
    lport = omrtest.free_port()
    ClockDaemon.clock_file = os.path.join(tmp, "clock")
    d = ClockDaemon(tmp, redis, routing=ROUTING, agents=AGENTS,
                    extra_plugins=email_plugin(lport))
    set_clock(d, "+0")
    d.start()
    alice = Agent(d, token="alice-token-0123456789ab")
    deliver(lport)
    o = alice.expect("offer")
    conv = alice.accept(o["offer"])["conversation"]
    url = conv["messages"][0]["attachments"][0].get("url", "")
    check(url.startswith("/files/"), "the agent gets a link: %s" % url[:40])
    st, body = get(d, url)
    eq(st, 200, "the link works now")
    check(body.startswith(b"%PDF"), "and gives the file")

    # a day and an hour later, by the daemon's clock
    set_clock(d, "+25h")
    t0 = time.time()
    omrtest.wait_for(lambda: get(d, url)[0] != 200, timeout=10,
                     what="the daemon's clock moved")
    log("the daemon saw its clock move after %.1f s" % (time.time() - t0))
    st, body = get(d, url)
    eq(st, 403, "the same link is refused")
    check(b"expired" in body, "and says it expired: %r" % body[:80])

    # opening the conversation again signs a new link, valid from now
    alice.send({"type": "open", "conversation": conv["id"]})
    h = alice.expect("history")
    url2 = h["conversation"]["messages"][0]["attachments"][0].get("url", "")
    check(url2.startswith("/files/") and url2 != url, "a new link")
    st, body = get(d, url2)
    eq(st, 200, "the new link works")
    eq(get(d, url)[0], 403, "the old one still does not")
    eq(d.stop(), 0, "clean stop")


if __name__ == "__main__":
    omrtest.run(test)
