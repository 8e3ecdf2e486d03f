"""Crash safety: kill -9 of the daemon, and a Redis restart, while visitors
send messages. Every acknowledged message must be stored, no message may be
stored twice, and every new conversation must still reach its queue."""
import random
import signal
import threading
import time

import omrtest
from omrtest import check, eq, log, Daemon, Redis, Visitor, WebSocketClosed, wait_for

VISITORS = 8
MESSAGES = 50


class Sender(threading.Thread):
    """A visitor that keeps sending until every message is acknowledged,
    reconnecting (same identity) and resending whatever lacks an ack."""

    def __init__(self, daemon, idx):
        threading.Thread.__init__(self, daemon=True)
        self.d = daemon
        self.idx = idx
        self.acks = {}        # client id -> (conversation, message)
        self.visitor = None
        self.token = None
        self.errors = 0
        self.reconnects = 0
        self.resent_acked = 0

    def connect(self):
        while True:
            try:
                v = Visitor(self.d, name="Crash %d" % self.idx, visitor=self.visitor,
                            token=self.token)
                if self.visitor and v.id != self.visitor:
                    raise AssertionError("identity lost across reconnect")
                self.visitor, self.token = v.id, v.token
                return v
            except (OSError, ConnectionError, WebSocketClosed, TimeoutError):
                self.reconnects += 1
                time.sleep(0.1)

    def run(self):
        v = self.connect()
        deadline = time.time() + 120
        while len(self.acks) < MESSAGES and time.time() < deadline:
            pending = [i for i in range(MESSAGES) if "m%d" % i not in self.acks]
            i = pending[0]
            # now and then resend one that was acknowledged already: a
            # client that lost the ack does exactly this
            if self.acks and random.random() < 0.1:
                j = random.choice(list(self.acks))
                try:
                    r = v.say("message %s" % j[1:], cmid=j)
                    if r.get("type") == "ack":
                        self.resent_acked += 1
                        if (r["conversation"], r["message"]) != self.acks[j] or not r["duplicate"]:
                            self.errors += 1
                            log("resend of %s gave %r, first ack %r" % (j, r, self.acks[j]))
                except (OSError, WebSocketClosed, TimeoutError, ValueError):
                    v = self.connect()
                    continue
            try:
                r = v.say("message %d" % i, cmid="m%d" % i)
            except (OSError, WebSocketClosed, TimeoutError, ValueError):
                v = self.connect()
                continue
            if r.get("type") == "ack":
                self.acks["m%d" % i] = (r["conversation"], r["message"])
                time.sleep(0.02)  # keep the load going while the test disrupts it
            elif r.get("code") in ("retry", "rate_limited"):
                time.sleep(0.05)
            else:
                self.errors += 1
                log("unexpected answer %r" % r)
        try:
            v.close()
        except OSError:
            pass


def run_load(d, disrupt):
    senders = [Sender(d, i) for i in range(VISITORS)]
    for s in senders:
        s.start()
    disrupt()
    for s in senders:
        s.join(150)
    return senders


def verify(d, redis, senders, what):
    wait_for(d.healthy, timeout=30, what="daemon healthy again")
    total = 0
    for s in senders:
        eq(len(s.acks), MESSAGES, "%s: visitor %d got every ack" % (what, s.idx))
        eq(s.errors, 0, "%s: visitor %d saw no wrong answers" % (what, s.idx))
        convs = set(c for c, m in s.acks.values())
        eq(len(convs), 1, "%s: visitor %d has one conversation" % (what, s.idx))
        conv = d.conversation(convs.pop())
        cids = [m["meta"].get("client_msg_id") for m in conv["messages"]]
        eq(sorted(cids), sorted(s.acks), "%s: visitor %d: each message stored exactly once"
           % (what, s.idx))
        eq(conv["msg_count"], MESSAGES, "%s: visitor %d: message count" % (what, s.idx))
        stored = set(m["id"] for m in conv["messages"])
        check(all(m in stored for c, m in s.acks.values()),
              "%s: visitor %d: every acknowledged message id is stored" % (what, s.idx))
        total += len(s.acks)
        # the new conversation reached its queue, even if the daemon died
        # between storing it and routing it
        wait_for(lambda: d.conversation(conv["id"])["status"] == "queued", timeout=60,
                 what="conversation queued after the disruption")
    log("%s: %d messages, %d reconnects, %d acknowledged resends" % (
        what, total, sum(s.reconnects for s in senders), sum(s.resent_acked for s in senders)))
    # nothing left unacknowledged in the consumer group
    wait_for(lambda: redis.cmd("XPENDING", "omr:{main}:events", "router")[0] == 0, timeout=60,
             what="no pending stream entries")


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, log_level="info",
               webchat_extra="      rate_per_min: 6000\n      burst: 1000").start()

    # A: kill -9 of the daemon twice during the load
    def kill_and_restart():
        for _ in range(2):
            time.sleep(random.uniform(0.3, 0.8))
            d.kill9()
            log("daemon killed with SIGKILL")
            time.sleep(0.2)
            d.start()
    senders = run_load(d, kill_and_restart)
    verify(d, redis, senders, "kill -9")

    # B: Redis goes away and comes back during the load
    def redis_restart():
        time.sleep(0.4)
        redis.stop()
        log("redis stopped")
        time.sleep(1.0)
        redis.start()
        log("redis started again")
    senders = run_load(d, redis_restart)
    verify(d, redis, senders, "redis restart")
    check(d.alive(), "daemon survived the Redis restart")
    st, body = d.http("GET", "/healthz", auth=False)
    eq(st, 200, "healthy again after the Redis restart")
    eq(d.stop(), 0, "clean stop")


omrtest.run(test)
