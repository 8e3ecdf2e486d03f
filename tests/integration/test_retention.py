"""Retention (issue 16), end to end: two daemons share one Redis, each with
its own attachment directory, both sweeping (retention: closed_days 30,
customer_days 60, a step of 5 conversations). Closed conversations older
than 30 days go with their messages, idempotency keys, thread keys and
attachment files (on both nodes); open ones and recently closed ones stay;
customers without conversations idle for 60 days go, others stay; the
purged are counted once, however the two nodes shared the work (the
counts of both add up to what was there, and stay so over later rounds).

The clock, twice: first time is moved the other way (conversations are
stored now, by the daemon's own ingest script, then made old by writing
their times as they would be had they happened weeks ago: created_at,
closed_at, last_message_at and the scores of the lists that hold them,
which is all the sweep reads), so that two nodes share the same past;
then (with_clock) a single daemon's test clock (admin.test_clock) moves a
month and two ahead over conversations a real agent closed."""
import hashlib
import os
import time

import omrtest
from omrtest import check, eq, log, wait_for, Daemon, Redis

P = "omr:{main}:"
DAY = 86400000
RETENTION = "retention: {closed_days: 30, customer_days: 60, every: 1s, batch: 5}\n"


class Site:
    def __init__(self, tmp, redis):
        self.redis = redis
        self.nodes = []
        for name in ("a", "b"):
            d = os.path.join(tmp, name)
            os.makedirs(os.path.join(d, "state", "attachments", "email"), exist_ok=True)
            self.nodes.append(Daemon(d, redis, node=name, conf_extra=RETENTION))
        self.n = 0

    def dirs(self):
        return [os.path.join(d.tmp, "state", "attachments", "email") for d in self.nodes]

    def conversation(self, cust, kind="auto", attachment=None):
        """One conversation of one message, stored by ingest.lua as a channel
        would (an automatic mail is closed at once); with an attachment
        file on both nodes' disks."""
        self.n += 1
        u = "%012x%04d" % (int(time.time() * 1000), self.n)
        atts = []
        if attachment:
            sha = hashlib.sha256(attachment.encode()).hexdigest()
            for d in self.dirs():
                with open(os.path.join(d, sha), "w") as f:
                    f.write(attachment)
            atts = [{"name": "a.txt", "type": "text/plain", "size": len(attachment),
                     "sha256": sha, "stored": True}]
        r = omrtest.lua_call(self.redis, "ingest", P, channel="email", channel_msg_id="mid-" + u,
                             address=cust + "@example.net", thread="t_" + u, name="",
                             email="", text="text of " + u, attachments=atts, attrs={}, meta={},
                             public=False, ts=int(time.time() * 1000), customer="u_" + cust,
                             conversation="c_" + u, message="m_" + u, dedup_ttl=604800000,
                             kind=kind, verified=False, reopen=0)
        eq(r[3], "u_" + cust, "conversation %s of customer %s" % (r[1], cust))
        return r[1], r[2], "mid-" + u

    def age(self, conv, days):
        """Make a conversation as old as `days` days: opened and closed then."""
        now = int(self.redis.cmd("TIME")[0]) * 1000
        t = now - days * DAY
        c = self.redis.cmd("HGET", P + "conv:" + conv, "customer")
        fields = ["created_at", t, "updated_at", t, "last_message_at", t, "last_inbound_at", t]
        if self.redis.cmd("HGET", P + "conv:" + conv, "status") == "closed":
            fields += ["closed_at", t]
        self.redis.pipeline([["HSET", P + "conv:" + conv] + fields,
                             ["ZADD", P + "convs", t, conv],
                             ["ZADD", P + "convs:ch:email", t, conv],
                             ["ZADD", P + "cust:" + c + ":convs", t, conv]])

    def customer(self, cust, days):
        """A customer created `days` days ago (their conversations, if any,
        come later)."""
        now = int(self.redis.cmd("TIME")[0]) * 1000
        t = now - days * DAY
        self.redis.pipeline([["HSET", P + "cust:u_" + cust, "id", "u_" + cust, "created_at", t,
                              "updated_at", t, "name", "Name " + cust],
                             ["SET", P + "addr:email:%s@example.net" % cust, "u_" + cust],
                             ["SADD", P + "cust:u_%s:addrs" % cust,
                              "email:%s@example.net" % cust]])

    def purged(self, what):
        return sum(d.metric("retention_%s_purged_total" % what) for d in self.nodes)


def test(tmp):
    redis = Redis(tmp)
    site = Site(tmp, redis)
    for d in site.nodes:
        d.start()

    # the conversations are stored now, then made old, then their
    # customers (a customer with a conversation is never purged); C, who
    # has none, last
    gone, kept = [], []
    for i in range(4):      # A: closed 70 days ago; then A has none left
        gone.append(site.conversation("aaaa", attachment="file of A %d" % i))
    for i in range(20):     # B: closed 40 days ago
        gone.append(site.conversation("bbbb"))
    for i in range(3):      # B: closed 10 days ago
        kept.append(site.conversation("bbbb", attachment="file of B %d" % i if i == 0 else None))
    kept.append(site.conversation("bbbb", kind="message"))  # B: open, opened 40 days ago
    # D: closed 10 days ago, with the same bytes as A's first file: one
    # file on disk, named by its SHA-256, which A's purge must not delete
    kept.append(site.conversation("dddd", attachment="file of A 0"))
    wait_for(lambda: redis.cmd("HGET", P + "conv:" + kept[3][0], "status") == "queued",
             what="the open conversation queued")
    for c, days in (("aaaa", 70), ("bbbb", 70), ("dddd", 70)):
        site.customer(c, days)
    for c in gone[:4]:
        site.age(c[0], 70)
    for c in gone[4:]:
        site.age(c[0], 40)
    for c in kept[:3] + kept[4:]:
        site.age(c[0], 10)
    site.age(kept[3][0], 40)
    site.customer("cccc", 70)  # C: no conversation, 70 days idle
    site.customer("eeee", 10)  # E: no conversation, 10 days idle

    wait_for(lambda: site.purged("conversations") == len(gone), timeout=60,
             what="%d conversations purged" % len(gone))
    wait_for(lambda: site.purged("customers") == 2, timeout=60, what="A and C purged")
    # a few more rounds on both nodes: nothing is purged (or counted) twice
    rounds = [d.metric("retention_rounds_total") for d in site.nodes]
    wait_for(lambda: all(d.metric("retention_rounds_total") >= r + 2
                         for d, r in zip(site.nodes, rounds)), timeout=30, what="more rounds")
    eq((site.purged("conversations"), site.purged("customers"), site.purged("messages")),
       (len(gone), 2, len(gone)), "each counted once, over both nodes")
    log("nodes' shares: %s" % [d.metric("retention_conversations_purged_total")
                               for d in site.nodes])

    for conv, msg, cmid in gone:
        eq([redis.cmd("EXISTS", P + k) for k in ("conv:" + conv, "conv:%s:msgs" % conv,
                                                   "msg:" + msg, "dedup:email:" + cmid)],
           [0, 0, 0, 0], "%s and its messages are gone" % conv)
        eq((redis.cmd("ZSCORE", P + "convs", conv), redis.cmd("ZSCORE", P + "convs:ch:email", conv)),
           (None, None), "and from the lists")
    for conv, msg, cmid in kept:
        eq([redis.cmd("EXISTS", P + k) for k in ("conv:" + conv, "msg:" + msg)], [1, 1],
           "%s is kept" % conv)
    eq(redis.cmd("ZCARD", P + "cust:u_bbbb:convs"), 4, "B keeps the recent and open ones")
    for c, there in (("aaaa", 0), ("cccc", 0), ("bbbb", 1), ("dddd", 1), ("eeee", 1)):
        eq((redis.cmd("EXISTS", P + "cust:u_" + c),
            redis.cmd("EXISTS", P + "addr:email:%s@example.net" % c)), (there, there),
           "customer %s %s" % (c, "kept" if there else "purged, with their address"))
    for d in site.dirs():
        wait_for(lambda: sorted(os.listdir(d)) ==
                 sorted(hashlib.sha256(t).hexdigest() for t in (b"file of B 0", b"file of A 0")),
                 what="only the kept conversations' files are left in %s (A's first one is "
                 "D's too)" % d)
    eq(sum(d.metric("attachment_files_deleted_total") for d in site.nodes), 6,
       "3 files deleted on each of the 2 nodes")
    for d in site.nodes:
        check(d.alive(), "node %s keeps running" % d.node)
        eq(d.stop(), 0, "node %s stops cleanly" % d.node)
    redis.stop()
    with_clock(os.path.join(tmp, "clock"))


def with_clock(tmp):
    """The same by the daemon's test clock, through the real daemon: a chat
    closed by its agent and one still open; a month later (the clock
    moved 31 days) the closed one goes, the open one stays; two months
    later its customer, who has no conversation left, goes too."""
    os.makedirs(tmp)
    redis = Redis(tmp)
    d = Daemon(tmp, redis, conf_extra=RETENTION, test_clock=True,
               agents=omrtest.quick_agents()).start()
    alice = omrtest.Agent(d, "alice", "alice")
    old = omrtest.Visitor(d, name="Olga")
    c1 = old.say("please close this one")["conversation"]
    alice.accept(alice.offer_for(c1)["offer"])
    alice.send({"type": "close", "conversation": c1})
    alice.expect("status")
    alice.send({"type": "wrapup", "conversation": c1, "reason": "other", "outcome": "resolved"})
    alice.expect("unassigned")
    cust = d.conversation(c1)["customer"]
    still = omrtest.Visitor(d, name="Stan")
    c2 = still.say("I am still here")["conversation"]
    wait_for(lambda: d.conversation(c2)["status"] in ("queued", "offered"), what="c2 waits")
    time.sleep(2.5)  # rounds at today's clock: nothing is old enough
    eq(d.metric("retention_conversations_purged_total"), 0, "nothing purged today")
    d.advance_clock(31 * DAY)
    wait_for(lambda: redis.cmd("EXISTS", P + "conv:" + c1) == 0, timeout=30,
             what="a month later the closed conversation is purged")
    eq(redis.cmd("EXISTS", P + "conv:" + c2), 1, "the open one stays")
    eq(redis.cmd("EXISTS", P + "cust:" + cust), 1, "its customer stays for now (60 days)")
    d.advance_clock(30 * DAY)
    wait_for(lambda: redis.cmd("EXISTS", P + "cust:" + cust) == 0, timeout=30,
             what="two months later the customer without conversations is purged")
    eq(d.metric("retention_conversations_purged_total"), 1, "one conversation purged")
    check(d.alive(), "the daemon keeps running")
    eq(d.stop(), 0, "it stops cleanly")
    redis.stop()


if __name__ == "__main__":
    omrtest.run(test)
