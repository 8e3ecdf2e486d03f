#!/usr/bin/env python3
"""LMTP benchmark: e-mails acknowledged with 250 per second, end to end.

Starts a private redis-server and the real daemon with the email plugin, and
delivers realistic mails (2-4 KB of text/plain, every ATTACH_EVERY-th one
multipart with a small base64 attachment; a unique Message-ID and From each
time) from CLIENTS threads, each keeping one LMTP connection (LHLO once,
then MAIL FROM / RCPT TO / DATA per message), for SECONDS. The 250 after the
end of DATA is sent only once the mail is parsed, its attachment written and
fsynced, and the message stored in Redis by the ingest script. Latency is
from the end of DATA to that reply. At the end every acknowledged message
is looked up in Redis (the message the 250 named, with the Message-ID that
was sent), and the stored e-mail messages are counted: none may be missing.

Baseline, measured in the same run on the same Redis: redis-benchmark
running the same ingest script (the storage ceiling), and SET.

usage: bench/lmtp_bench.py [--seconds 8] [--clients 8] [--attach-every 10] [--procs 1]
"""
import argparse
import base64
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
sys.path.insert(0, HERE)
import omrtest  # noqa: E402
from ingest_bench import baselines, collect, percentile_ms  # noqa: E402

ADDRESS = "support@example.com"
P = "omr:{main}:"

FIRST = ["Anna", "Bram", "Chloé", "Daan", "Emma", "Finn", "Grace", "Hugo", "Iris", "Jesse",
         "Karin", "Lars", "Mila", "Noah", "Olga", "Pieter", "Rosa", "Sven", "Tess", "Yusuf"]
LAST = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "de Boer",
        "Peters", "Hendriks", "O'Brien", "Müller", "García", "Kowalski", "Nguyen"]
SUBJECTS = ["Question about my invoice", "Factuur klopt niet", "Internet connection keeps dropping",
            "Change of address", "Refund for order", "Router does not start",
            "Vraag over mijn abonnement", "Cancel my subscription", "Wrong amount charged",
            "Delivery has not arrived", "Login problem", "Storing sinds gisteren"]
SENTENCES = [
    "I am writing to you because the amount on my last invoice is higher than what we agreed.",
    "Since yesterday evening the internet connection drops every few minutes, mostly after 8 pm.",
    "I already restarted the router twice and checked all the cables, but nothing helps.",
    "Could you please tell me when the refund for my order will be transferred to my account?",
    "Mijn factuur van deze maand klopt niet: er staat een bedrag op dat ik niet herken.",
    "Ik heb vorige week al gebeld, maar ik heb nog steeds geen antwoord gekregen.",
    "The customer number on the letter is different from the one in my online account.",
    "We moved to a new address last month and the post is still sent to the old one.",
    "Please find attached a photo of the error message that the device shows on start-up.",
    "I would like to know whether it is possible to pay in instalments this time.",
    "The package was marked as delivered, but nobody rang the bell and it is not here.",
    "Kunt u mij laten weten wanneer de monteur langs kan komen? Ik ben thuis op dinsdag.",
    "I have been a customer for more than ten years and this is the first time I complain.",
    "When I try to log in I get the message that my password has expired, yet I just changed it.",
    "Thank you in advance for looking into this; I hope to hear from you soon.",
    "It would help if you could call me back in the afternoon, between two and five.",
]


def wrap(text, width=72):
    out, line = [], ""
    for w in text.split():
        if line and len(line) + 1 + len(w) > width:
            out.append(line)
            line = w
        else:
            line = (line + " " + w) if line else w
    if line:
        out.append(line)
    return out


def message(rnd, tag, n, attach):
    """A realistic mail: (envelope sender, bytes). Unique Message-ID and From."""
    first, last = rnd.choice(FIRST), rnd.choice(LAST)
    addr = "%s.%s.%d@customer%d.example.net" % (tag, re.sub(r"[^a-z]", "", last.lower()), n,
                                                 rnd.randrange(50))
    msgid = "<%s.%d.%08x@mail.customer.example.net>" % (tag, n, rnd.getrandbits(32))
    subject = "%s (%d)" % (rnd.choice(SUBJECTS), rnd.randrange(1000, 99999))
    size = rnd.randrange(1200, 2900)  # body bytes: with the headers, 2-4 KB
    paras, total = [], 0
    while total < size:
        p = " ".join(rnd.choice(SENTENCES) for _ in range(rnd.randrange(2, 5)))
        paras.append("\r\n".join(wrap(p)))
        total += len(p) + 4
    body = ("Hello,\r\n\r\n" + "\r\n\r\n".join(paras) + "\r\n\r\nKind regards,\r\n%s %s\r\n"
            "\r\n-- \r\n%s %s\r\nTel +31 6 %08d\r\n" % (first, last, first, last,
                                                       rnd.randrange(10 ** 8)))
    head = ("Return-Path: <%(a)s>\r\n"
            "Received: from mail.customer.example.net (mail.customer.example.net [192.0.2.%(ip)d])\r\n"
            "\tby mx1.example.com (Postfix) with ESMTPS id %(qid)X\r\n"
            "\tfor <%(to)s>; Wed, 25 Nov 2026 10:%(mm)02d:%(ss)02d +0100 (CET)\r\n"
            "From: %(name)s <%(a)s>\r\nTo: Example Support <%(to)s>\r\nSubject: %(subj)s\r\n"
            "Date: Wed, 25 Nov 2026 10:%(mm)02d:%(ss)02d +0100\r\nMessage-ID: %(mid)s\r\n"
            "User-Agent: Mozilla Thunderbird\r\nContent-Language: en-US\r\nMIME-Version: 1.0\r\n"
            % dict(a=addr, ip=rnd.randrange(1, 255), qid=rnd.getrandbits(40), to=ADDRESS,
                   mm=rnd.randrange(60), ss=rnd.randrange(60), subj=subject, mid=msgid,
                   name="=?UTF-8?B?%s?=" % base64.b64encode(("%s %s" % (first, last)).encode()
                                                           ).decode()))
    text_hdr = "Content-Type: text/plain; charset=UTF-8; format=flowed\r\n" \
               "Content-Transfer-Encoding: 8bit\r\n"
    if not attach:
        data = head + text_hdr + "\r\n" + body
    else:
        blob = b"%PDF-1.4\n" + os.urandom(rnd.randrange(600, 1500))  # a distinct file each time
        b64 = base64.encodebytes(blob).decode().replace("\n", "\r\n")
        bnd = "------------%024x" % rnd.getrandbits(96)
        data = (head + 'Content-Type: multipart/mixed; boundary="%s"\r\n\r\n'
                "This is a multi-part message in MIME format.\r\n--%s\r\n%s\r\n%s\r\n--%s\r\n"
                'Content-Type: application/pdf; name="scan-%d.pdf"\r\n'
                'Content-Disposition: attachment; filename="scan-%d.pdf"\r\n'
                "Content-Transfer-Encoding: base64\r\n\r\n%s--%s--\r\n"
                % (bnd, bnd, text_hdr, body, bnd, n, n, b64, bnd))
    raw = data.encode("utf-8")
    raw = re.sub(rb"(?m)^\.", b"..", raw)  # dot-stuffing
    return addr, msgid, raw + b".\r\n"


class Lmtp:
    """One LMTP connection over a raw socket."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.s.makefile("rb")
        self.reply()  # greeting
        self.s.sendall(b"LHLO bench.example.net\r\n")
        code, _ = self.reply()
        if code != 250:
            raise OSError("LHLO: %d" % code)

    def reply(self):
        text = []
        while True:
            line = self.f.readline()
            if not line:
                raise OSError("connection closed")
            text.append(line[4:].rstrip(b"\r\n").decode("latin-1"))
            if line[3:4] != b"-":
                return int(line[:3]), "\n".join(text)

    def cmd(self, line):
        self.s.sendall(line)
        return self.reply()

    def close(self):
        try:
            self.cmd(b"QUIT\r\n")
        except OSError:
            pass
        self.f.close()
        self.s.close()


def worker(port, threads, attach_every, seconds, tag, out):
    acks, lat, errors, err_text = [], [], [0], []
    lock = threading.Lock()
    end = time.time() + seconds

    def run(t):
        rnd = random.Random("%s-%d" % (tag, t))
        me = "%s-%d" % (tag, t)
        mine, mylat, err, n = [], [], 0, 0
        c = None
        while time.time() < end:
            n += 1
            sender, msgid, data = message(rnd, me, n, attach_every and n % attach_every == 0)
            try:
                if c is None:
                    c = Lmtp(port)
                code, text = c.cmd(b"MAIL FROM:<%s>\r\n" % sender.encode())
                if code == 250:
                    code, text = c.cmd(b"RCPT TO:<%s>\r\n" % ADDRESS.encode())
                if code == 250:
                    code, text = c.cmd(b"DATA\r\n")
                    if code != 354:
                        raise OSError("DATA: %d %s" % (code, text))
                    c.s.sendall(data)
                    t0 = time.perf_counter()  # the end of DATA is sent
                    code, text = c.reply()
                    if code == 250:
                        mylat.append(time.perf_counter() - t0)
                        mine.append((text.split("stored as ", 1)[-1].split(" ")[0], msgid,
                                     "(seen before)" in text))
                        continue
                err += 1
                if len(err_text) < 5:
                    err_text.append("%d %s" % (code, text))
                c.cmd(b"RSET\r\n")
            except OSError as e:
                err += 1
                if len(err_text) < 5:
                    err_text.append(str(e))
                if c is not None:
                    try:
                        c.s.close()
                    except OSError:
                        pass
                c = None
        if c is not None:
            c.close()
        with lock:
            acks.extend(mine)
            lat.extend(mylat)
            errors[0] += err

    ts = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    # the acknowledged messages go back whole: every one is looked up after
    out.put((len(lat), lat[::max(1, len(lat) // 20000)], errors[0], acks, err_text))


def verify(redis, acks):
    """Every acknowledged message in Redis with its Message-ID; the number of
    e-mail messages stored. Returns (found, missing, stored, examples)."""
    found, missing, bad = 0, 0, []
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(60)
    s.connect(redis.sock)
    f = s.makefile("rb")
    for i in range(0, len(acks), 1000):
        chunk = acks[i:i + 1000]
        out = b""
        for mid, _, _ in chunk:
            args = [b"HMGET", (P + "msg:" + mid).encode(), b"channel", b"channel_msg_id"]
            out += b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
        s.sendall(out)
        for mid, msgid, _ in chunk:
            ch, cmid = omrtest._resp_read(f)
            if ch == "email" and cmid in (msgid, msgid.strip("<>")):
                found += 1
            else:
                missing += 1
                if len(bad) < 5:
                    bad.append("%s %s -> %r %r" % (mid, msgid, ch, cmid))
    f.close()
    s.close()
    # the e-mail messages stored: one dedup key each (kept for dedup_ttl, 7 days)
    stored, cursor = 0, "0"
    while True:
        cursor, keys = redis.cmd("SCAN", cursor, "MATCH", P + "dedup:email:*", "COUNT", 10000)
        stored += len(keys)
        if cursor == "0":
            break
    return found, missing, stored, bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--clients", type=int, default=8, help="LMTP connections (threads)")
    ap.add_argument("--attach-every", type=int, default=10,
                    help="every Nth message of a client has a base64 attachment (0: none)")
    ap.add_argument("--procs", type=int, default=1, help="client processes sharing --clients")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="omrbench-")
    redis = omrtest.Redis(tmp)
    redis.cmd("CONFIG", "SET", "appendfsync", "everysec")
    lport, smtp_port = omrtest.free_port(), omrtest.free_port()  # nothing listens on smtp_port
    plugin = """  - name: email
    path: %s/plugins/email/.libs/email.so
    config:
      address: %s
      from_name: Example Support
      domain: mail.example.com
      lmtp_port: %d
      smtp_url: smtp://127.0.0.1:%d
      smtp_starttls: false
      sender_rate_max: 0
""" % (omrtest.BUILDDIR, ADDRESS, lport, smtp_port)
    d = omrtest.Daemon(tmp, redis, log_level="warn", extra_plugins=plugin).start()
    omrtest.wait_for(lambda: socket.create_connection(("127.0.0.1", lport), timeout=1).close()
                     or True, what="the LMTP listener")
    per = [a.clients // a.procs + (1 if i < a.clients % a.procs else 0) for i in range(a.procs)]
    try:
        t0 = time.time()
        results = collect(worker, [(lport, per[i], a.attach_every, a.seconds, "c%d" % i)
                                   for i in range(a.procs) if per[i]], a.seconds + 120)
        elapsed = time.time() - t0
        acked = sum(r[0] for r in results)
        lat = sorted(x for r in results for x in r[1])
        errors = sum(r[2] for r in results)
        acks = [x for r in results for x in r[3]]
        err_text = [x for r in results for x in r[4]]
        dups = sum(1 for x in acks if x[2])
        found, missing, stored, bad = verify(redis, acks)
        st, metrics = d.http("GET", "/metrics")
        m = re.search(r"^omniroute_email_stored_total (\d+)", metrics if st == 200 else "", re.M)
        metric_stored = int(m.group(1)) if m else -1
        base_ingest, base_set = baselines(redis)
    finally:
        d.stop()
        redis.stop()
        subprocess.run(["rm", "-rf", tmp])

    print("lmtp_messages_per_s %.0f" % (acked / a.seconds))
    print("lmtp_latency_p50_ms %.2f" % percentile_ms(lat, 0.50))
    print("lmtp_latency_p99_ms %.2f" % percentile_ms(lat, 0.99))
    print("lmtp_errors %d" % errors)
    print("lmtp_acked %d" % acked)
    print("lmtp_acked_duplicates %d" % dups)
    print("email_messages_stored %d" % stored)
    print("email_stored_total_metric %d" % metric_stored)
    print("acked_found_in_redis %d" % found)
    print("acked_missing %d" % missing)
    print("baseline_redis_ingest_script_per_s %.0f" % base_ingest)
    print("baseline_redis_set_per_s %.0f" % base_set)
    print("ratio_messages_to_ingest_script %.3f" %
          (acked / a.seconds / base_ingest if base_ingest else 0))
    print("# %d LMTP connections in %d process(es), attachment every %s message(s), %.1fs "
          "(wall %.1fs); 2 cores shared by clients, daemon and redis"
          % (a.clients, len([p for p in per if p]), a.attach_every or "no", a.seconds, elapsed))
    for e in err_text:
        print("# error: %s" % e)
    for b in bad:
        print("# missing: %s" % b)
    ok = missing == 0 and stored == acked - dups and metric_stored == acked
    if not ok:
        print("# FAIL: acknowledged %d (%d duplicates), stored %d, found %d, metric %d"
              % (acked, dups, stored, found, metric_stored))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
