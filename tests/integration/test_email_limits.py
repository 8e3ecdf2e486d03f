"""The e-mail channel's LMTP listener against hostile input, over a real
socket: a message line with no end (30 MiB, max_size 1 MiB) is refused
with 552 for every recipient after the final dot while the daemon's memory
stays bounded; so is a command line with no end (500); an MTA that sends
commands without reading the answers is not buffered for without bound;
and the daemon keeps serving mail on new connections."""
import os
import socket

import omrtest
from omrtest import check, eq, log, Daemon, Redis, free_port

MiB = 1 << 20
MAX_SIZE = 1 * MiB
# what the daemon's peak resident size may grow by in each case; the
# input is 30 times max_size, the connection reads 256 KiB ahead
RSS_SLACK_KIB = 16 * 1024

# The daemon's resident size is measured: under ASan, freed memory must be
# reusable for that to mean anything (the quarantine would keep all of it).
os.environ["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1").lstrip(":")


def plugin(lmtp_port):
    return omrtest.email_plugin(lmtp_port, free_port(), max_size=MAX_SIZE)


def status_kib(d, field):
    """VmRSS or VmHWM (the peak) of the daemon, in KiB."""
    with open("/proc/%d/status" % d.proc.pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError("no %s" % field)


def rss(d):
    return status_kib(d, "VmHWM"), status_kib(d, "VmRSS")


def rss_check(d, before, what):
    """The daemon's resident size, now and at its peak, grew by less than
    RSS_SLACK_KIB (the peak alone misses growth below an earlier peak)."""
    after = rss(d)
    grew = max(after[0] - before[0], after[1] - before[1])
    log("%s: RSS %d -> %d KiB, peak %d -> %d KiB" % (what, before[1], after[1], before[0], after[0]))
    if os.environ.get("OMR_VALGRIND"):
        return  # valgrind's own memory
    check(grew < RSS_SLACK_KIB,
          "%s: the daemon's resident size grew by %d KiB (< %d)" % (what, grew, RSS_SLACK_KIB))


class Session:
    """A raw LMTP connection: lines out, replies in."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.f = self.s.makefile("rb")
        eq(self.reply()[0][:3], "220", "greeting")

    def send(self, data):
        self.s.sendall(data if isinstance(data, bytes) else data.encode())

    def reply(self):
        """The lines of one (possibly multi-line) reply."""
        lines = []
        while True:
            line = self.f.readline().decode("latin-1").rstrip("\r\n")
            if not line:
                raise RuntimeError("connection closed (after %r)" % lines)
            lines.append(line)
            if line[3:4] != "-":
                return lines

    def close(self):
        self.f.close()
        self.s.close()


def endless(sess, total, chunk=b"a" * (64 * 1024)):
    sent = 0
    while sent < total:
        sess.send(chunk)
        sent += len(chunk)


def endless_data_line(d, port):
    s = Session(port)
    for cmd, code in (("LHLO mta.example", "250"), ("MAIL FROM:<big@example.net>", "250"),
                      ("RCPT TO:<support@example.com>", "250"), ("RCPT TO:<sales@example.com>", "250"),
                      ("DATA", "354")):
        s.send(cmd + "\r\n")
        eq(s.reply()[-1][:3], code, cmd)
    before = rss(d)
    endless(s, 30 * MiB)
    s.send(b"\r\n.\r\n")
    r1, r2 = s.reply(), s.reply()
    eq([r1, r2], [["552 5.3.4 message larger than %d bytes" % MAX_SIZE]] * 2,
       "30 MiB without a line end: 552 for each recipient after the final dot")
    rss_check(d, before, "a data line of 30 MiB")
    s.send("MAIL FROM:<next@example.net>\r\n")
    eq(s.reply()[0][:3], "250", "and the session goes on")
    s.send("QUIT\r\n")
    s.reply()
    s.close()


def endless_command_line(d, port):
    s = Session(port)
    before = rss(d)
    endless(s, 30 * MiB, b"X" * (64 * 1024))
    s.send(b"\r\nNOOP\r\n")
    eq(s.reply(), ["500 5.5.2 line too long"], "a command line of 30 MiB: 500")
    eq(s.reply()[0][:3], "250", "and the next command is answered")
    rss_check(d, before, "a command line of 30 MiB")
    s.close()


def unread_answers(d, port):
    """NOOPs without reading a single answer: the daemon stops reading
    (the sender blocks) instead of buffering the answers."""
    s = Session(port)
    before = rss(d)
    s.s.settimeout(3)
    sent, block = 0, b"NOOP\r\n" * 10000
    try:
        while sent < 16 * MiB:
            s.s.sendall(block)
            sent += len(block)
    except socket.timeout:
        pass
    log("NOOPs taken before the daemon stopped reading: %d KiB" % (sent // 1024))
    check(sent < 16 * MiB, "the daemon stops reading from an MTA that reads no answers")
    rss_check(d, before, "%d KiB of NOOPs, no answer read" % (sent // 1024))
    s.s.close()


def deliver(port, msgid):
    s = Session(port)
    for cmd in ("LHLO mta.example", "MAIL FROM:<jan@example.net>", "RCPT TO:<support@example.com>",
                "DATA"):
        s.send(cmd + "\r\n")
        s.reply()
    s.send("From: Jan <jan@example.net>\r\nTo: support@example.com\r\nSubject: Nog steeds\r\n"
           "Message-ID: %s\r\n\r\nMijn internet doet het niet.\r\n.\r\n" % msgid)
    r = s.reply()
    s.send("QUIT\r\n")
    s.close()
    return r[0]


def test(tmp):
    redis = Redis(tmp)
    port = free_port()
    d = Daemon(tmp, redis, extra_plugins=plugin(port)).start()
    endless_data_line(d, port)
    endless_command_line(d, port)
    unread_answers(d, port)
    r = deliver(port, "<after-1@example.net>")
    check(r.startswith("250 2.0.0 stored as"), "a mail on a new connection is stored: %s" % r)
    check(d.alive(), "the daemon keeps running")
    eq(d.stop(), 0, "and stops cleanly")


omrtest.run(test)
