"""The e-mail channel reads mail off the loop: each mail's MIME parsing,
hashing and attachment writes (with fsync) run on the daemon's worker pool
(limits.workers), and the loop only threads, stores and answers.

- omniroute_email_parse_jobs_total counts every mail read on the pool;
- while a 20 MiB mail with attachments is being read, the loop serves
  /metrics (which shows the job in flight) and acks a web chat message;
  then the mail is stored with its attachments;
- a daemon stopping while a mail is being read exits cleanly, and the MTA
  gets no 250 for it;
- with limits.workers 1 and limits.work_queue 1, mails that end at once on
  parallel connections each get 250 (stored) or 451 4.3.2 (not stored),
  at least one 451; delivered again, those are stored: none lost, none
  twice.

Behaviour, not timing: what is asserted is what the loop answers while a
job is out, and what the MTA is told."""
import base64
import os
import socket
import threading
import time

import omrtest
from omrtest import check, eq, log, Daemon, Redis, Visitor, free_port, wait_for

MiB = 1 << 20


def plugin(lmtp_port):
    return omrtest.email_plugin(lmtp_port, free_port(), max_size=64 * MiB,
                                attachment_max=32 * MiB)


def big_mail(msgid, attachments, size):
    """A mail with `attachments` random files of `size` bytes each."""
    parts = ["From: Groot <groot@example.net>\r\nTo: support@example.com\r\n"
             "Subject: Bijlagen\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n"
             "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
             "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nZie de bijlagen.\r\n" % msgid]
    for i in range(attachments):
        data = base64.encodebytes(os.urandom(size)).decode().replace("\n", "\r\n")
        parts.append("--b\r\nContent-Type: application/octet-stream; name=\"scan%d.bin\"\r\n"
                     "Content-Disposition: attachment; filename=\"scan%d.bin\"\r\n"
                     "Content-Transfer-Encoding: base64\r\n\r\n%s" % (i, i, data))
    parts.append("--b--\r\n")
    return "".join(parts).encode()


def small_mail(msgid):
    return ("From: Klein <klein@example.net>\r\nTo: support@example.com\r\nSubject: Kort\r\n"
            "Message-ID: %s\r\n\r\nEen korte vraag.\r\n" % msgid).encode()


class Lmtp:
    """One raw LMTP transaction, in steps: open and send up to the data,
    send the final dot, read the answer."""

    def __init__(self, port, data):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.f = self.s.makefile("rb")
        self.line()
        self.s.sendall(b"LHLO mta.example\r\nMAIL FROM:<groot@example.net>\r\n"
                       b"RCPT TO:<support@example.com>\r\nDATA\r\n")
        for code in (b"250", b"250", b"250", b"354"):
            while True:
                line = self.line()
                if line[3:4] != b"-":
                    break
            if not line.startswith(code):
                raise RuntimeError("LMTP: %r" % line)
        self.data = data.replace(b"\r\n.", b"\r\n..")

    def line(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("closed")
        return line

    def body(self):
        self.s.sendall(self.data)

    def dot(self):
        self.s.sendall(b".\r\n")

    def answer(self):
        """(code, text) or (None, why) when the connection closed."""
        try:
            line = self.line().decode().rstrip()
            return int(line[:3]), line
        except (ConnectionError, OSError) as e:
            return None, str(e)
        finally:
            self.s.close()

    def deliver(self):
        self.body()
        self.dot()
        return self.answer()


def metrics(d):
    st, body = d.http("GET", "/metrics")
    return {k: int(v) for k, v in (l.split(" ", 1) for l in body.splitlines()
                                   if l.startswith("omniroute_email_"))}


def stored(d, msgid):
    """How many messages with this Message-ID are stored."""
    n = 0
    for c in d.api("/api/v1/conversations?channel=email&limit=200")["conversations"]:
        for m in d.conversation(c["id"])["messages"]:
            if (m.get("meta") or {}).get("message_id") == msgid:
                n += 1
    return n


def in_flight_while(d, t):
    """1 when /metrics showed a parse job in flight before thread t ended."""
    while t.is_alive():
        if metrics(d).get("omniroute_email_parse_jobs_in_flight", 0) >= 1:
            return True
    return False


def off_the_loop(tmp, redis):
    port = free_port()
    d = Daemon(tmp, redis, extra_plugins=plugin(port)).start()
    eq(metrics(d).get("omniroute_email_parse_jobs_total"), 0, "no mail read yet")
    eq(Lmtp(port, small_mail("<small-1@example.net>")).deliver()[0], 250, "a small mail: 250")
    eq(metrics(d).get("omniroute_email_parse_jobs_total"), 1, "it was read on the worker pool")

    visitor = Visitor(d, name="Chatter")
    big = big_mail("<big-1@example.net>", 2, 7 * MiB)
    log("a mail of %.1f MiB" % (len(big) / MiB))
    got = {}
    t = threading.Thread(target=lambda: got.update(r=Lmtp(port, big).deliver()))
    t.start()
    check(in_flight_while(d, t),
          "while the 20 MiB mail is read, the loop answers /metrics: a parse job in flight")
    ack = visitor.say("Hallo, is er iemand?")
    eq(ack.get("type"), "ack", "and a web chat message is acked meanwhile")
    t.join(120)
    eq(got["r"][0], 250, "then the big mail is stored (%s)" % got["r"][1])
    f = metrics(d)
    eq((f["omniroute_email_parse_jobs_total"], f["omniroute_email_parse_jobs_in_flight"]), (2, 0),
       "two mails read on the pool, none in flight")
    conv = d.api("/api/v1/conversations?channel=email&limit=200")["conversations"]
    msgs = [m for c in conv for m in d.conversation(c["id"])["messages"]
            if (m.get("meta") or {}).get("message_id") == "<big-1@example.net>"]
    atts = msgs[0]["attachments"]
    eq(sorted((a["name"], a["size"], a["stored"]) for a in atts),
       [("scan0.bin", 7 * MiB, True), ("scan1.bin", 7 * MiB, True)], "its attachments")
    for a in atts:
        path = os.path.join(tmp, "state", "attachments", "email", a["sha256"])
        eq(os.path.getsize(path), 7 * MiB, "%s is on disk" % a["name"])
    left = [n for n in os.listdir(os.path.join(tmp, "state", "attachments", "email"))
            if n.endswith(".tmp") or "." in n]
    eq(left, [], "no temporary files left")

    # ---- stopping while a mail is being read: a clean exit, no 250
    got = {}
    t = threading.Thread(target=lambda: got.update(
        r=Lmtp(port, big_mail("<stop-1@example.net>", 2, 7 * MiB)).deliver()))
    t.start()
    check(in_flight_while(d, t), "a mail is being read")
    visitor.close()
    rc = d.stop(timeout=60)
    t.join(60)
    eq(rc, 0, "the daemon stopping while a mail is read exits cleanly")
    log("the MTA was told: %r" % (got["r"],))
    if got["r"][0] == 250:
        # it was done before the signal came: then it must be durable
        d.start()
        eq(stored(d, "<stop-1@example.net>"), 1, "a 250 only for a stored mail")
        eq(d.stop(), 0, "clean stop")
    else:
        check(got["r"][0] in (None, 421, 451), "the MTA got no 250 for it, and tries again")


def queue_full(tmp, redis):
    port = free_port()
    d = Daemon(tmp, redis, node="busy", extra_plugins=plugin(port),
               conf_extra="limits: {workers: 1, work_queue: 1}").start()
    n = 6
    ids = ["<busy-%d@example.net>" % i for i in range(n)]
    mails = dict((i, big_mail(i, 1, 6 * MiB)) for i in ids)
    conns = dict((i, Lmtp(port, mails[i])) for i in ids)
    # every body first, in parallel; then the final dots at once, so that
    # the mails end together
    senders = [threading.Thread(target=c.body) for c in conns.values()]
    for s in senders:
        s.start()
    for s in senders:
        s.join(120)
    for c in conns.values():
        c.dot()
    answers = dict((i, conns[i].answer()) for i in ids)
    log("answers: %r" % answers)
    codes = [answers[i][0] for i in ids]
    check(all(c in (250, 451) for c in codes), "each mail: 250 or 451")
    busy = [i for i in ids if answers[i][0] == 451]
    check(busy, "one worker and a queue of one: some mails are answered 451")
    check(all("4.3.2" in answers[i][1] for i in busy), "451 4.3.2, try again later")
    check(len(busy) < n, "and some are stored")
    for i in ids:
        eq(stored(d, i), 1 if answers[i][0] == 250 else 0,
           "%s: %s" % (i, "stored" if answers[i][0] == 250 else "not stored"))
    eq(metrics(d).get("omniroute_email_busy_total"), len(busy), "metrics: busy_total")
    for i in busy:
        r = Lmtp(port, mails[i]).deliver()
        eq(r[0], 250, "%s delivered again: 250" % i)
    eq([stored(d, i) for i in ids], [1] * n, "every mail stored, once")
    eq(d.stop(), 0, "clean stop")


def test(tmp):
    redis = Redis(tmp)
    off_the_loop(tmp, redis)
    queue_full(tmp, redis)


omrtest.run(test)
