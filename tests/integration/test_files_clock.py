"""Links to stored files expire (issue 19, 8), end to end.

How long a link works is edge.file_link_ttl (a day by default; here 3 s,
so the test waits seconds, not a day; the default itself is checked by the
unit test of omr_files). A link made now works; once its time is up (by the
daemon's clock) the same link is refused with 403 and says why; opening the
conversation again gives a new link that works; a reload changes the time
of the links made from then on."""
import http.client
import smtplib
import time

import omrtest
from omrtest import check, eq, log, token_hash, wait_for, Agent, Daemon, Redis

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


def get(d, url):
    c = http.client.HTTPConnection("127.0.0.1", d.ports["edge"], timeout=10)
    c.request("GET", url)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def deliver(lport):
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


def link_of(frame):
    return frame["conversation"]["messages"][0]["attachments"][0].get("url", "")


def test(tmp):
    redis = Redis(tmp)
    lport = omrtest.free_port()
    d = Daemon(tmp, redis, routing=ROUTING, agents=AGENTS, edge_extra="  file_link_ttl: 3s\n",
               extra_plugins=omrtest.email_plugin(lport)).start()
    alice = Agent(d, token="alice-token-0123456789ab")
    deliver(lport)
    o = alice.expect("offer")
    a = alice.accept(o["offer"])
    url = link_of(a)
    made = time.time()
    check(url.startswith("/files/"), "the agent gets a link: %s" % url[:40])
    st, body = get(d, url)
    eq(st, 200, "the link works now")
    check(body.startswith(b"%PDF"), "and gives the file")

    wait_for(lambda: get(d, url)[0] != 200, timeout=10, interval=0.2, what="the link expired")
    log("the link stopped working %.1f s after it was made (file_link_ttl 3 s)"
        % (time.time() - made))
    check(time.time() - made >= 2.0, "not before its time")
    st, body = get(d, url)
    eq(st, 403, "the expired link is refused")
    check(b"expired" in body, "and says it expired: %r" % body[-120:])

    # opening the conversation again signs a new link, valid from now
    alice.send({"type": "open", "conversation": a["conversation"]["id"]})
    url2 = link_of(alice.expect("history"))
    check(url2.startswith("/files/") and url2 != url, "a new link")
    eq(get(d, url2)[0], 200, "the new link works")
    eq(get(d, url)[0], 403, "the old one still does not")

    # a reload: links made from then on work for an hour
    with open(d.conf) as f:
        conf = f.read()
    with open(d.conf, "w") as f:
        f.write(conf.replace("file_link_ttl: 3s", "file_link_ttl: 1h"))
    st, _ = d.http("POST", "/api/v1/reload")
    eq(st, 200, "reloaded with file_link_ttl: 1h")
    alice.send({"type": "open", "conversation": a["conversation"]["id"]})
    url3 = link_of(alice.expect("history"))
    time.sleep(4)
    eq(get(d, url3)[0], 200, "a link made after the reload works past 3 s")
    eq(d.stop(), 0, "clean stop")


if __name__ == "__main__":
    omrtest.run(test)
