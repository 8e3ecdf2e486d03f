"""The e-mail channel's IMAP polling against a real Dovecot (Debian's
dovecot-imapd): mail put in a mailbox becomes conversations, a reply joins
its thread, an auto-reply is stored but not routed, a batch limit spreads
a backlog over polls, mail that is no message or too large is skipped with
a warning while what follows still arrives, fetched mail is marked seen, a
restart fetches nothing twice, an IMAP server that goes away is waited for,
and a new UIDVALIDITY reads the mailbox again."""
import subprocess

import omrtest
from omrtest import (check, eq, Daemon, Dovecot, Redis, wait_for, free_port, DAEMON,
                     token_hash)

ROUTING = omrtest.ONE_QUEUE_ROUTING

AGENTS = """
agents:
  - id: alice
    name: Alice de Vries
    token: "%(alice)s"
    skills: { general: 3 }
    capacity: { email: 20 }
""" % {"alice": token_hash("alice-token-0123456789")}

MAILBOX = "Support NL"


def plugin(dv, mailbox=MAILBOX, from_start=True):
    return omrtest.email_plugin(
        0, free_port(), max_size=100000, imap_url=dv.url(mailbox.replace(" ", "%20")),
        imap_user=dv.user, imap_password=dv.password, imap_starttls="false", imap_interval="1s",
        imap_batch=2, imap_from_start="true" if from_start else "false", sender_rate_max=3,
        sender_rate_window="1h")


def mail(frm, subject, body, msgid, extra=""):
    return ("Return-Path: <%s>\r\nFrom: %s\r\nTo: support@example.com\r\nSubject: %s\r\n"
            "Message-ID: %s\r\nDate: Wed, 25 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n%s\r\n%s\r\n"
            % (frm, frm, subject, msgid, extra, body)).encode()


def messages(d):
    """Every stored e-mail message: {Message-ID: (conversation, message)}."""
    out = {}
    convs = d.api("/api/v1/conversations?channel=email&limit=200")["conversations"]
    for c in convs:
        full = d.conversation(c["id"])
        for m in full["messages"]:
            mid = (m.get("meta") or {}).get("message_id")
            if mid:
                out[mid] = (full, m)
    return out


def stored_lines(text):
    return [l for l in text.splitlines() if "stored email message" in l]


def config_errors(tmp, redis, dv):
    """omniroute -t names what is wrong with the e-mail plugin's settings."""
    good = plugin(dv)
    for bad, want in ((good.replace(dv.url(MAILBOX.replace(" ", "%20")), "http://x/INBOX"),
                       "imap_url: imap://host[:port]/MAILBOX"),
                      (good.replace(dv.url(MAILBOX.replace(" ", "%20")),
                                    "imap://127.0.0.1:143/"), "the mailbox is missing"),
                      (good.replace(dv.url(MAILBOX.replace(" ", "%20")),
                                    "imap://user@127.0.0.1/INBOX"), "use imap_user"),
                      (good.replace("imap_interval: 1s", "imap_interval: 10ms"),
                       "imap_interval"),
                      (good.replace("address: support@example.com", "address: support"),
                       "address: an e-mail address")):
        d = Daemon(tmp, redis, routing=ROUTING, agents=AGENTS, extra_plugins=bad, node="bad")
        p = subprocess.run([DAEMON, "-t", "-c", d.conf], capture_output=True, text=True,
                           timeout=60)
        eq(p.returncode, 1, "-t refuses: %s" % want)
        check(want in p.stderr, "the error says %r (%s)" % (want, p.stderr.strip()[-200:]))


def test(tmp):
    redis = Redis(tmp)
    dv = Dovecot(tmp)
    config_errors(tmp, redis, dv)
    c = dv.imap()
    c.create('"%s"' % MAILBOX)
    c.logout()

    # ---- a backlog before the daemon starts: three mails, two per poll
    uid1 = dv.append(mail("jan@example.nl", "Factuur 123", "Mijn factuur klopt niet.",
                          "<imap-1@example.nl>"), MAILBOX)
    dv.append(mail("", "Out of office", "Ik ben afwezig.", "<imap-ooo@example.org>",
                   "Auto-Submitted: auto-replied\r\n").replace(b"From: \r\n",
                                                                b"From: ooo@example.org\r\n"),
              MAILBOX)
    dv.append(mail("jan@example.nl", "Re: Factuur 123", "Nog een vraag.", "<imap-2@example.nl>",
                   "In-Reply-To: <imap-1@example.nl>\r\nReferences: <imap-1@example.nl>\r\n"),
              MAILBOX)
    d = Daemon(tmp, redis, routing=ROUTING, agents=AGENTS, extra_plugins=plugin(dv)).start()
    got = wait_for(lambda: len(messages(d)) >= 3 and messages(d), timeout=20,
                   what="the backlog fetched")
    c1, m1 = got["<imap-1@example.nl>"]
    eq((c1["address"], m1["text"], m1["meta"]["subject"]),
       ("jan@example.nl", "Mijn factuur klopt niet.", "Factuur 123"), "a mail from IMAP")
    eq(got["<imap-2@example.nl>"][0]["id"], c1["id"], "its reply joins the conversation")
    co, mo = got["<imap-ooo@example.org>"]
    eq((mo["kind"], co["status"]), ("auto", "closed"),
       "an auto-reply (Return-Path <>): stored, not routed")
    check(dv.seen(uid1, MAILBOX), "fetched mail is marked seen")

    # ---- a mailbox with mail from before: the first poll leaves that alone
    c = dv.imap()
    c.create('"Archief"')
    c.logout()
    dv.append(mail("oud@example.nl", "Oud", "Van vorig jaar.", "<old-1@example.nl>"), "Archief")
    d2 = Daemon(tmp, redis, routing=ROUTING, agents=AGENTS, node="archief",
                extra_plugins=plugin(dv, "Archief", from_start=False)).start()
    wait_for(lambda: "first poll; messages up to UID 1" in d2.log_text(), what="first poll")
    dv.append(mail("nieuw@example.nl", "Nieuw", "Van vandaag.", "<new-1@example.nl>"), "Archief")
    wait_for(lambda: "<new-1@example.nl>" in messages(d), timeout=20, what="the new mail")
    check("<old-1@example.nl>" not in messages(d),
          "without imap_from_start the mail already there is left alone")
    eq(d2.stop(), 0, "clean stop")

    # ---- what is no message, or too large, is skipped; what follows arrives
    dv.append(b"this is not a mail at all\r\n", MAILBOX)
    big = mail("big@example.nl", "Big", "x" * 150000, "<imap-big@example.nl>")
    dv.append(big, MAILBOX)
    dv.append(mail("piet@example.nl", "Levering", "Waar blijft mijn pakket?",
                   "<imap-3@example.nl>"), MAILBOX)
    wait_for(lambda: "<imap-3@example.nl>" in messages(d), timeout=20, what="the mail after")
    text = d.log_text()
    check("refused: 550 5.6.0 not a mail message" in text, "no message: refused, logged")
    check("refused: 552 5.3.4" in text, "too large: refused, logged")
    check("<imap-big@example.nl>" not in messages(d), "the large one is not stored")
    st, body = d.http("GET", "/metrics")
    figures = dict(l.split(" ", 1) for l in body.splitlines() if l.startswith("omniroute_email_"))
    eq((figures.get("omniroute_email_imap_fetched_total"),
        figures.get("omniroute_email_refused_total"), figures.get("omniroute_email_imap_failing")),
       ("6", "2", "0"), "metrics: fetched, refused, failing")
    eq(figures.get("omniroute_email_parse_jobs_total"), "5",
       "every fetched mail within max_size was read on the worker pool")
    check("omniroute_email_rate_limited_total 0" in body, "nothing over the rate yet")

    # ---- a mail loop: the fourth mail within the hour is kept, not routed
    for i in range(4):
        dv.append(mail("loop@example.org", "Automatisch %d" % i, "Bericht %d" % i,
                       "<loop-%d@example.org>" % i), MAILBOX)
    got = wait_for(lambda: "<loop-3@example.org>" in messages(d) and messages(d), timeout=20,
                   what="the loop's mails")
    eq([got["<loop-%d@example.org>" % i][1]["kind"] for i in range(4)],
       ["message", "message", "message", "auto"], "over sender_rate_max: stored as automatic")
    eq(got["<loop-3@example.org>"][0]["status"], "closed", "and not routed")
    warned = [l for l in d.log_text().splitlines() if "more than 3 mails from one sender" in l]
    check(warned, "the flood is logged")
    check(not any("loop@example.org" in l for l in warned),
          "without the sender's address (personal data: debug only): %r" % warned)

    # ---- a restart fetches nothing twice
    before = len(stored_lines(d.log_text()))
    eq(d.stop(), 0, "clean stop")
    mark = len(open(d.logfile, "rb").read())
    d = Daemon(tmp, redis, routing=ROUTING, agents=AGENTS, extra_plugins=plugin(dv)).start()
    dv.append(mail("kees@example.nl", "Retour", "Ik wil iets terugsturen.",
                   "<imap-4@example.nl>"), MAILBOX)
    wait_for(lambda: "<imap-4@example.nl>" in messages(d), timeout=20, what="new mail")
    after = open(d.logfile, "rb").read()[mark:].decode("utf-8", "replace")
    eq(len(stored_lines(after)), 1, "after the restart only the new mail is fetched")
    check(before >= 4, "the first run stored the mail (%d)" % before)

    # ---- the IMAP server goes away: waited for, then polling goes on
    dv.stop()
    wait_for(lambda: "trying again every" in d.log_text(), timeout=10, what="a warning")
    check(d.healthy(), "the daemon keeps running")
    dv.start()
    dv.append(mail("els@example.nl", "Weer bereikbaar", "Hallo?", "<imap-5@example.nl>"),
              MAILBOX)
    wait_for(lambda: "<imap-5@example.nl>" in messages(d), timeout=20, what="mail after")
    # logged when the round ends: after the mail is stored, which the test
    # may see in Redis first
    wait_for(lambda: "reachable again" in d.log_text(), timeout=10, what="recovery is logged")

    # ---- a new mailbox of the same name (new UIDVALIDITY): read again
    c = dv.imap()
    c.delete('"%s"' % MAILBOX)
    c.create('"%s"' % MAILBOX)
    c.logout()
    uid = dv.append(mail("anna@example.nl", "Nieuw", "Eerste in de nieuwe map.",
                         "<imap-6@example.nl>"), MAILBOX)
    eq(uid, 1, "the new mailbox starts at UID 1")
    wait_for(lambda: "<imap-6@example.nl>" in messages(d), timeout=20, what="UID 1 again")
    check("UIDVALIDITY changed" in d.log_text(), "the new UIDVALIDITY is logged")
    eq(d.stop(), 0, "clean stop")
    dv.stop()


omrtest.run(test)
