"""SMS over SMPP 3.4 against an SMSC nobody here wrote: the npm `smpp`
package's server (tests/sms/smsc.js, scripted from here). The bind and the
keepalive; customers' messages (one part, GSM parts with the euro sign out
of order, UCS-2) start and continue a conversation an agent receives; a long
Dutch reply with euro signs arrives as concatenated parts that the SMSC's own
decoder reassembles exactly, then a receipt for its last part marks it
delivered; UCS-2 out; throttling retried; a bind dropped with submits in
flight loses nothing acknowledged and sends no acknowledged part twice;
malformed PDUs (garbage, an oversized command_length, a bad UDH, an
unreadable deliver_sm) are survived with a log and a reconnect; a daemon
killed mid-message sends only the unacknowledged parts after its restart;
a clean unbind at stop; -t errors with file:line; TLS to a verified host
name with separate transmitter and receiver binds, and no bind to an
untrusted certificate."""
import json
import os
import re
import signal
import subprocess
import threading

import omrtest
from omrtest import check, eq, log, token_hash, Agent, Daemon, Redis, wait_for, BUILDDIR, SRCDIR

AGENTS = """
agents:
  - id: alice
    name: Alice
    token: "%s"
    skills: { general: 3 }
    capacity: { sms: 5, webchat: 1 }
""" % token_hash("alice-token-0123456789")

CUSTOMER = "31612345678"  # as the SMSC gives it: international, no +

# GSM 03.38 of the texts below, for building MO parts (the SMSC sends
# unpacked septets: one an octet)
GSM_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
             "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXT = {"€": 0x65, "[": 0x3C, "]": 0x3E, "{": 0x28, "}": 0x29, "~": 0x3D, "^": 0x14,
           "|": 0x40, "\\": 0x2F}


def gsm(text):
    out = bytearray()
    for ch in text:
        if ch in GSM_EXT:
            out += bytes([0x1B, GSM_EXT[ch]])
        else:
            out.append(GSM_BASIC.index(ch))
    return bytes(out)


def node_modules():
    dirs = [os.path.join(SRCDIR, "tests", "sms", "node_modules"),
            os.path.join(BUILDDIR, "tests", "sms", "node_modules")]
    if os.environ.get("OMR_SMS_NODE_MODULES"):
        dirs.insert(0, os.environ["OMR_SMS_NODE_MODULES"])
    for d in dirs:
        if os.path.isfile(os.path.join(d, "smpp", "package.json")):
            return d
    raise RuntimeError("the npm smpp package is missing: cd tests/sms && npm ci")


class SMSC:
    """tests/sms/smsc.js: commands in, events out (JSON lines)."""

    def __init__(self, tmp, tls=None):
        env = dict(os.environ, NODE_PATH=node_modules())
        if tls:
            env.update(SMSC_TLS_KEY=tls[0], SMSC_TLS_CERT=tls[1])
        self.err = open(os.path.join(tmp, "smsc.log"), "w")
        self.p = subprocess.Popen(["node", os.path.join(SRCDIR, "tests", "sms", "smsc.js")],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err,
                                  env=env, text=True, bufsize=1)
        self.events = []
        self.lock = threading.Lock()
        threading.Thread(target=self.read, daemon=True).start()
        self.port = wait_for(lambda: next((e["port"] for e in self.of("listening")), None),
                             what="the SMSC listening")
        self.refs = 0

    def read(self):
        for line in self.p.stdout:
            with self.lock:
                self.events.append(json.loads(line))

    def of(self, kind):
        with self.lock:
            return [e for e in self.events if e["event"] == kind]

    def cmd(self, **c):
        n = len(self.of("done"))
        self.p.stdin.write(json.dumps(c) + "\n")
        self.p.stdin.flush()
        wait_for(lambda: len(self.of("done")) > n, what="the SMSC doing %s" % c["cmd"])

    def deliver(self, data, esm_class=0, data_coding=0, source=CUSTOMER, tlvs=None):
        """A deliver_sm; returns a function giving its deliver_sm_resp status (or None)."""
        self.refs += 1
        ref = self.refs
        self.cmd(cmd="deliver", ref=ref, source=source, dest="3197010203040",
                 short_message=data.hex(), esm_class=esm_class, data_coding=data_coding,
                 tlvs=tlvs or {})
        return lambda: next((e["status"] for e in self.of("deliver_resp") if e["ref"] == ref), None)


    def binds(self):
        return len(self.of("bind"))

    def stop(self):
        try:
            self.cmd(cmd="quit")
        except Exception:
            pass
        self.p.kill()
        self.p.wait()
        self.err.close()


def answer(resp, what):
    """The status of a deliver_sm_resp (0 is an answer too)."""
    wait_for(lambda: resp() is not None, what=what)
    return resp()


def plugin(port, extra=""):
    return """  - name: sms
    path: %s/plugins/sms/.libs/sms.so
    config:
      host: 127.0.0.1
      port: %d
      system_id: omniroute
      password: secret12
      source: "+3197010203040"
      country_code: "31"
      window: 4
      rate: 200
      enquire_interval: 1s
      response_timeout: 3s
      reconnect_min: 100ms
      reconnect_max: 500ms
      retry_delay: 100ms
      reassembly_timeout: 3s
%s""" % (BUILDDIR, port, extra)


def udh(ref, total, seq):
    return bytes([5, 0, 3, ref, total, seq])


def submitted(smsc, since=0, status=0):
    return [e for e in smsc.of("submit")[since:] if e["status"] == status]


def reassemble(parts):
    """The parts of one concatenated message in order, checked."""
    # the SMSC's package gives the information elements without the
    # UDH's length octet: 00 03 ref total seq
    heads = [bytes.fromhex(p["udh"]) for p in parts]
    eq({h[:2] for h in heads}, {b"\x00\x03"}, "a concatenation UDH with an 8-bit reference")
    eq(len({h[2] for h in heads}), 1, "one reference for all parts")
    total = heads[0][3]
    eq(sorted(h[4] for h in heads), list(range(1, total + 1)), "parts 1..%d, each once" % total)
    return "".join(p["text"] for _, p in sorted(zip([h[4] for h in heads], parts),
                                                key=lambda x: x[0]))


def test(tmp):
    smsc = SMSC(tmp)
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=omrtest.ONE_QUEUE_ROUTING, agents=AGENTS,
               extra_plugins=plugin(smsc.port),
               conf_extra="limits: {resend_after: 3s, resend_tries: 3}\n").start()
    try:
        run(tmp, smsc, d, redis)
    finally:
        smsc.stop()
    tls_separate(os.path.join(tmp, "tls"))


def arrived(agent, text, what):
    """The agent is shown a message with this text (status updates of
    our replies that come meanwhile are skipped)."""
    seen = []
    while True:
        try:
            m = agent.expect("message", timeout=10)["message"]
        except TimeoutError:
            check(False, "%s: %r not among %r" % (what, text, seen))
            return
        if m.get("text") == text:
            check(True, what)
            return
        seen.append(m.get("text"))


def messages(d, cid):
    return d.conversation(cid)["messages"]


def status_of(d, cid, mid):
    return next(x for x in messages(d, cid) if x["id"] == mid)


def run(tmp, smsc, d, redis):
    # ---- the bind and the keepalive
    b = wait_for(lambda: smsc.of("bind"), what="a bind")[0]
    eq((b["command"], b["system_id"], b["password"]),
       ("bind_transceiver", "omniroute", "secret12"), "bound as a transceiver with our account")
    wait_for(lambda: smsc.of("enquire_link"), what="an enquire_link on an idle link")

    # ---- an MO starts a conversation an agent receives
    alice = Agent(d, token="alice-token-0123456789")
    resp = smsc.deliver(gsm("Hallo, mijn factuur van € 12,50 klopt niet"))
    eq(answer(resp, "deliver_sm_resp"), 0, "the MO is answered ESME_ROK once stored")
    o = alice.expect("offer")
    conv = alice.accept(o["offer"])["conversation"]
    cid = conv["id"]
    eq(conv["channel"], "sms", "an SMS conversation")
    ms = messages(d, cid)
    eq(ms[0]["text"], "Hallo, mijn factuur van € 12,50 klopt niet", "GSM 03.38 decoded")
    listed = d.api("/api/v1/conversations?channel=sms")["conversations"]
    eq([c["address"] for c in listed], ["+" + CUSTOMER], "the customer's address is E.164")

    # ---- MO in GSM parts, the second first, the euro sign across
    long_mo = ("Beste klantenservice, ik heb op 3 maart € 49,95 betaald voor het abonnement "
               "maar er is nog een herinnering gekomen. Kunt u dit nakijken? Het gaat om "
               "factuur [2024-118] van {januari}. Alvast bedankt, Piet")
    g = gsm(long_mo)
    cut = 150 if g[149] != 0x1B else 151
    p1, p2 = udh(77, 2, 1) + g[:cut], udh(77, 2, 2) + g[cut:]
    r2 = smsc.deliver(p2, esm_class=0x40)
    r1 = smsc.deliver(p1, esm_class=0x40)
    eq((answer(r1, "part 1 answered"), answer(r2, "part 2 answered")), (0, 0),
       "both parts answered once the whole message is stored")
    arrived(alice, long_mo, "reassembled in order and decoded exactly")

    # ---- UCS-2 in
    resp = smsc.deliver("Спасибо! 😀".encode("utf-16-be"), data_coding=8)
    eq(answer(resp, "ucs-2 answered"), 0, "a UCS-2 MO")
    arrived(alice, "Спасибо! 😀", "UCS-2 decoded")

    # ---- a long Dutch reply with euro signs: concatenated GSM parts
    reply = ("Beste Piet, dank voor uw bericht. We hebben uw betaling van € 49,95 gevonden; de "
             "herinnering van factuur [2024-118] vervalt. Het tegoed van € 5,00 verrekenen we met "
             "de volgende factuur. Excuses voor het ongemak! Heeft u nog vragen, antwoord dan op "
             "dit bericht of bel ons. Met vriendelijke groet, Alice van de klantenservice.")
    n0 = len(smsc.of("submit"))
    a = alice.reply(cid, reply)
    eq(a["type"], "ack", "the reply is stored")
    mid = a["message"]["id"]
    wait_for(lambda: status_of(d, cid, mid)["status"] == "sent", what="the reply sent")
    parts = submitted(smsc, n0)
    check(len(parts) == 3, "a 3-part message: %d parts" % len(parts))
    eq({(p["data_coding"], p["esm_class"] & 0x40, p["dest"], p["dest_ton"],
         p["registered_delivery"]) for p in parts}, {(0, 0x40, CUSTOMER, 1, 1)},
       "GSM 03.38, UDH, to the international number, receipts asked")
    eq(reassemble(parts), reply, "the SMSC's decoder reassembles the reply exactly")
    eq(status_of(d, cid, mid).get("channel_msg_id"), next(p["message_id"] for p in parts
                                                           if p["udh"].endswith("01")),
       "the message's channel id is its first part's message_id")

    # ---- a receipt for the last part marks it delivered
    last = next(p["message_id"] for p in parts if p["udh"].endswith("03"))
    rcpt = ("id:%s sub:001 dlvrd:001 submit date:2412011200 done date:2412011201 stat:DELIVRD "
            "err:000 text:Beste Piet" % last)
    resp = smsc.deliver(rcpt.encode(), esm_class=0x04)
    eq(answer(resp, "receipt answered"), 0, "the receipt is answered")
    wait_for(lambda: status_of(d, cid, mid)["status"] == "delivered", what="delivered")

    # ---- UCS-2 out, and a failure receipt by TLV
    n0 = len(smsc.of("submit"))
    a = alice.reply(cid, "Graag gedaan 😀")
    mid2 = a["message"]["id"]
    wait_for(lambda: status_of(d, cid, mid2)["status"] == "sent", what="the UCS-2 reply sent")
    p = submitted(smsc, n0)
    eq([(x["data_coding"], x["text"]) for x in p], [(8, "Graag gedaan 😀")], "UCS-2, one part")
    resp = smsc.deliver(b"", esm_class=0x04, tlvs={"receipted_message_id": p[0]["message_id"],
                                                   "message_state": 5})
    eq(answer(resp, "TLV receipt answered"), 0, "a receipt by TLV")
    wait_for(lambda: status_of(d, cid, mid2)["status"] == "failed", what="failed by receipt")

    # ---- throttling is retried
    n0 = len(smsc.of("submit"))
    smsc.cmd(cmd="throttle", n=2)
    a = alice.reply(cid, "Een moment geduld alstublieft.")
    mid3 = a["message"]["id"]
    wait_for(lambda: status_of(d, cid, mid3)["status"] == "sent", what="sent after throttling")
    eq([x["status"] for x in smsc.of("submit")[n0:]], [0x58, 0x58, 0],
       "two ESME_RTHROTTLED, then taken once")

    dropped_bind(smsc, d, alice, cid)
    malformed(smsc, d, alice)
    st, body = d.http("GET", "/metrics")
    figures = dict(re.findall(r"^(omniroute_sms_\w+) (\d+)$", body, re.M))
    eq(figures.get("omniroute_sms_links_bound"), "1", "/metrics: the link is bound")
    check(int(figures.get("omniroute_sms_resubmits_total", 0)) >= 1 and
          int(figures.get("omniroute_sms_throttled_total", 0)) == 2 and
          int(figures.get("omniroute_sms_malformed_total", 0)) >= 5,
          "/metrics counts resubmits, throttling and malformed PDUs: %s" % figures)
    alice.close()
    restart(smsc, d, redis, cid)

    # ---- a clean unbind at stop
    d.stop()
    wait_for(lambda: smsc.of("unbind"), what="an unbind at stop")
    check_conf(tmp, smsc)


def dropped_bind(smsc, d, alice, cid):
    """The SMSC answers 3 submits of a 5-part message and closes; the 4th
    (window 4) was on the wire. After the new bind: every part taken exactly
    once."""
    binds = smsc.binds()
    n0 = len(smsc.of("submit"))
    text = ("Dit is een lang bericht om te testen wat er gebeurt als de verbinding wegvalt. " * 9
            ).strip()
    smsc.cmd(cmd="drop_after", n=3)
    a = alice.reply(cid, text)
    mid = a["message"]["id"]
    wait_for(lambda: status_of(d, cid, mid)["status"] == "sent", timeout=20,
             what="sent across the dropped bind")
    check(smsc.binds() == binds + 1, "bound again after the drop")
    evs = smsc.of("submit")[n0:]
    taken = [e for e in evs if e["status"] == 0]
    eq(reassemble(taken), text, "nothing acknowledged lost: the message reassembles")
    total = bytes.fromhex(taken[0]["udh"])[3]
    check(total > 4, "more parts (%d) than the window" % total)
    eq((len(taken), len({e["udh"] for e in taken})), (total, total),
       "no acknowledged part sent twice")
    unanswered = [e for e in evs if e["status"] == -1]
    log("%d submits were on the wire unanswered when the bind dropped (sent again)" %
        len(unanswered))
    check(all(e["udh"] in {t["udh"] for t in taken} for e in unanswered),
          "those were sent again on the new bind")


def restart(smsc, d, redis, cid):
    """Two parts of four acknowledged, two unanswered, the daemon killed:
    after the restart the outbox sends the message again and only the two
    unacknowledged parts go out."""
    alice = Agent(d, token="alice-token-0123456789")
    n0 = len(smsc.of("submit"))
    text = ("Uw nieuwe modem is onderweg en wordt morgen tussen 9 en 12 uur bezorgd. " * 7).strip()
    smsc.cmd(cmd="hold_after", n=2)
    mid = alice.reply(cid, text, cmid="after-restart")["message"]["id"]
    key = "omr:{main}:kv:sms:p:" + mid
    wait_for(lambda: (redis.cmd("GET", key) or "").count('"M') == 2,
             what="two parts' progress stored")
    wait_for(lambda: len(smsc.of("submit")) - n0 >= 4, what="all four parts submitted")
    d.stop(signal.SIGKILL)
    smsc.cmd(cmd="release")
    d.start()
    wait_for(lambda: status_of(d, cid, mid)["status"] == "sent", timeout=30,
             what="sent by the restarted daemon")
    # the simulator's own record of what it took can lag behind its
    # answers on a loaded machine: wait for it (more would still be seen)
    wait_for(lambda: len([e for e in smsc.of("submit")[n0:] if e["status"] == 0]) >= 4,
             what="the simulator's record of four parts taken")
    evs = smsc.of("submit")[n0:]
    taken = [e for e in evs if e["status"] == 0]
    eq(reassemble(taken), text, "the message reassembles from the parts taken")
    eq(len(taken), 4, "each of the four parts taken once")
    first_two = {e["udh"] for e in evs[:4] if e["status"] == 0}
    eq(sum(1 for e in evs if e["udh"] in first_two), 2,
       "the two parts acknowledged before the crash were not sent again")
    eq(sum(1 for e in evs if e["status"] == -2), 2, "the two unanswered ones were (at-least-once)")


def malformed(smsc, d, alice):
    def survives(what, hexdata, reconnect):
        binds = smsc.binds()
        smsc.cmd(cmd="raw", hex=hexdata)
        if reconnect:
            wait_for(lambda: smsc.binds() > binds, what="a new bind after " + what)
        wait_for(lambda: smsc.binds() and smsc.of("bind") and d.proc.poll() is None,
                 what="the daemon alive after " + what)
        resp = smsc.deliver(gsm("nog steeds daar na " + what))
        eq(answer(resp, "an MO after " + what), 0, "messages flow after " + what)
        arrived(alice, "nog steeds daar na " + what, "and reach the agent")

    survives("an oversized command_length", "7fffffff00000005000000000000abcd", True)
    survives("garbage", "deadbeefcafebabe0102030405060708", True)
    survives("a command_length below a header", "00000005ff", True)
    # frames but unreadable: a deliver_sm cut short; an unknown command
    survives("a truncated deliver_sm", "0000001400000005000000000000beef01020304", False)
    survives("an unknown command", "0000001000000999000000000000beee", False)
    resp = smsc.deliver(bytes([10, 0, 3, 1]) + gsm("kapot"), esm_class=0x40)
    eq(answer(resp, "a bad UDH answered"), 0x65, "a bad UDH: ESME_RX_P_APPN, not redelivered")
    text = d.log_text()
    for want in ("a command_length of 2147483647", "cannot be followed",
                 "a PDU we cannot read", "malformed user data header"):
        check(want in text, "logged: " + want)


def self_signed(d, name):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", name + ".key", "-out",
                    name + ".pem", "-days", "2", "-subj", "/CN=" + name, "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   cwd=d, check=True, capture_output=True)
    return os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")


def tls_separate(tmp):
    """SMPP over TLS to a host name (resolved on the loop), verified, with
    separate transmitter and receiver binds; an SMSC whose certificate is
    not trusted is never bound to."""
    os.makedirs(tmp)
    key, cert = self_signed(tmp, "smsc")
    _, rogue = self_signed(tmp, "rogue")
    smsc = SMSC(tmp, tls=(key, cert))
    redis = Redis(tmp)
    try:
        extra = "      tls: true\n      tls_ca: %s\n      bind: separate\n" % cert
        d = Daemon(tmp, redis, routing=omrtest.ONE_QUEUE_ROUTING, agents=AGENTS, node="tls",
                   extra_plugins=plugin(smsc.port, extra).replace("127.0.0.1", "localhost"))
        d.start()
        wait_for(lambda: smsc.binds() >= 2, what="two binds over TLS")
        eq(sorted(b["command"] for b in smsc.of("bind")), ["bind_receiver", "bind_transmitter"],
           "separate transmitter and receiver sessions over TLS")
        resp = smsc.deliver(gsm("Hallo via TLS"))
        eq(answer(resp, "an MO over TLS"), 0, "an MO on the receiver session is stored")
        listed = d.api("/api/v1/conversations?channel=sms")["conversations"]
        eq(len(listed), 1, "and starts a conversation")
        d.stop()
        eq(len(smsc.of("unbind")), 2, "both sessions unbound at stop")
        binds = smsc.binds()
        extra = "      tls: true\n      tls_ca: %s\n" % rogue
        d = Daemon(tmp, redis, routing=omrtest.ONE_QUEUE_ROUTING, agents=AGENTS, node="rogue",
                   extra_plugins=plugin(smsc.port, extra).replace("127.0.0.1", "localhost"))
        d.start()
        wait_for(lambda: "certificate verify failed" in d.log_text(),
                 what="the untrusted certificate refused")
        eq(smsc.binds(), binds, "no bind to an SMSC whose certificate is not trusted")
        d.stop()
    finally:
        smsc.stop()


def check_conf(tmp, smsc):
    bad = plugin(smsc.port).replace("window: 4", "window: 0")
    d = Daemon(os.path.join(tmp), None, embedded=True, extra_plugins=bad, node="bad")
    p = subprocess.run([omrtest.DAEMON, "-t", "-c", d.conf], capture_output=True, text=True,
                       timeout=30)
    eq(p.returncode, 1, "-t refuses a bad SMS configuration")
    lines = d.text.split("\n")
    wline = next(i + 1 for i, l in enumerate(lines) if "window: 0" in l)
    check(re.search(r"omniroute-bad\.yaml:%d: 0 is out of range \(1\.\.1000\)" % wline, p.stderr),
          "the window error with file:line: " + p.stderr)
    bad = plugin(smsc.port).replace('country_code: "31"', 'country_code: "+31"')
    d = Daemon(os.path.join(tmp), None, embedded=True, extra_plugins=bad, node="bad2")
    p = subprocess.run([omrtest.DAEMON, "-t", "-c", d.conf], capture_output=True, text=True,
                       timeout=30)
    eq(p.returncode, 1, "-t refuses a country code with +")
    check(re.search(r"omniroute-bad2\.yaml:\d+: .*country_code: the country calling code",
                    p.stderr), "explained with file:line: " + p.stderr)
    bad = plugin(smsc.port).replace("password: secret12", "password: much-too-long")
    d = Daemon(os.path.join(tmp), None, embedded=True, extra_plugins=bad, node="bad3")
    p = subprocess.run([omrtest.DAEMON, "-t", "-c", d.conf], capture_output=True, text=True,
                       timeout=30)
    check(p.returncode == 1 and "password: at most 8 characters" in p.stderr,
          "a password SMPP cannot carry: " + p.stderr)


if __name__ == "__main__":
    omrtest.run(test)
