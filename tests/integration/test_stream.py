"""The routing event stream on a bad day.

- Retention: while the routing consumer is behind (here: stopped), more
  events arrive than limits.stream_maxlen; none of them may be trimmed before
  it is acknowledged (before, XADD MAXLEN trimmed them and their
  conversations stayed 'new' for ever). Once routed, the stream is trimmed.
- A conversation whose event was lost anyway is found and announced again.
- A poisoned entry (its handling always fails) neither stops routing nor
  makes the consumer spin: it is retried at the claim interval and parked in
  events:dead after a few tries; after a Redis restart there is no flood of
  retries either.
"""
import os
import time
import uuid

import omrtest
from omrtest import check, eq, log, wait_for, Daemon, Redis, Visitor, SRCDIR

PREFIX = "omr:{main}:"
STREAM = PREFIX + "events"


def ingest(redis, n):
    """Store n messages, each opening a conversation, with the daemon's own
    ingest script, as the daemon would while its router is behind."""
    now = int(time.time() * 1000)
    convs = []
    for i in range(n):
        u = uuid.uuid4().hex[:16]
        r = omrtest.lua_call(redis, "ingest", PREFIX, channel="webchat", channel_msg_id="cm-" + u,
                             address="v-" + u, thread="v-" + u, text="hello %d" % i,
                             attachments=[], attrs={}, meta={}, public=False, ts=now,
                             customer="u_" + u, conversation="c_" + u, message="m_" + u,
                             dedup_ttl=604800000, kind="message", verified=False, reopen=0)
        convs.append(r[1])
    return convs


def statuses(redis, convs):
    out = {}
    for c in convs:
        st = redis.cmd("HGET", PREFIX + "conv:" + c, "status")
        out[st] = out.get(st, 0) + 1
    return out


def retention(tmp):
    redis = Redis(tmp)
    extra = "limits: {stream_maxlen: 1000, reroute_after: 600s}"
    d = Daemon(tmp, redis, conf_extra=extra).start()
    d.stop()                      # the group exists; its consumer is gone
    convs = ingest(redis, 1300)
    eq(redis.cmd("XLEN", STREAM) >= 1300, True, "nothing undelivered was trimmed at ingest")
    d.start()
    try:
        wait_for(lambda: statuses(redis, convs).get("queued") == len(convs), timeout=60,
                 what="every conversation routed")
    except TimeoutError:
        pass
    eq(statuses(redis, convs), {"queued": 1300}, "all 1300 conversations were routed")
    # acknowledged now: the trimmer brings the stream back near its cap
    wait_for(lambda: redis.cmd("XLEN", STREAM) <= 1100, timeout=30, what="trimmed")
    check(redis.cmd("XLEN", STREAM) >= 1000, "not trimmed below the cap")
    eq(redis.cmd("ZCARD", PREFIX + "convs:new"), 0, "no conversation left waiting to be routed")
    d.stop()


def lost_event(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, conf_extra="limits: {reroute_after: 2s}").start()
    d.stop()
    (conv,) = ingest(redis, 1)
    # the event is lost (deleted by hand, or trimmed by an older version)
    last = redis.cmd("XREVRANGE", STREAM, "+", "-", "COUNT", "1")[0][0]
    redis.cmd("XDEL", STREAM, last)
    d.start()
    wait_for(lambda: redis.cmd("HGET", PREFIX + "conv:" + conv, "status") == "queued",
             timeout=20, what="re-announced and routed")
    check("was never routed; announced again" in d.log_text(), "the log says why")
    st, body = d.http("GET", "/metrics")
    check("omniroute_events_replayed_total 1" in body, "counted in /metrics")
    d.stop()


def poison(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, conf_extra="limits: {claim_after: 1s}", log_level="info").start()
    # an event whose handling always fails: its conversation key is no hash
    redis.cmd("SET", PREFIX + "conv:c_poison", "not a hash")
    redis.cmd("XADD", STREAM, "*", "type", "message.in", "conversation", "c_poison",
              "message", "m_poison", "new", "1", "channel", "webchat", "kind", "message")
    time.sleep(0.5)
    cpu0 = omrtest.cpu_s(d.proc.pid)
    lines0 = d.log_text().count("\n")
    # routing goes on for everybody else
    v = Visitor(d)
    conv = v.say("is routing still alive?")["conversation"]
    wait_for(lambda: d.conversation(conv)["status"] == "queued", timeout=10,
             what="a new conversation routed past the poisoned entry")
    # retried at the claim interval, then parked
    wait_for(lambda: redis.cmd("XLEN", PREFIX + "events:dead") == 1, timeout=30,
             what="the poisoned entry parked in events:dead")
    dead = redis.cmd("XRANGE", PREFIX + "events:dead", "-", "+")[0][1]
    eq(dead[dead.index("conversation") + 1], "c_poison", "events:dead keeps the entry")
    pending = redis.cmd("XPENDING", STREAM, "router")
    eq(pending[0], 0, "nothing is left pending")
    st, body = d.http("GET", "/metrics")
    check("omniroute_events_dead 1" in body, "the dead-letter stream is shown in /metrics")
    cpu = omrtest.cpu_s(d.proc.pid) - cpu0
    lines = d.log_text().count("\n") - lines0
    log("poisoned entry: %.2f s CPU and %d log lines until it was parked" % (cpu, lines))
    check(lines < 200, "no flood of log lines (%d)" % lines)

    # a Redis restart with another poisoned entry pending: no spin either
    redis.cmd("XADD", STREAM, "*", "type", "message.in", "conversation", "c_poison",
              "message", "m_poison2", "new", "1", "channel", "webchat", "kind", "message")
    time.sleep(0.5)
    redis.stop()
    redis.start()
    wait_for(lambda: d.healthy(), timeout=30, what="reconnected")
    cpu0 = omrtest.cpu_s(d.proc.pid)
    lines0 = d.log_text().count("\n")
    time.sleep(5)
    cpu = omrtest.cpu_s(d.proc.pid) - cpu0
    lines = d.log_text().count("\n") - lines0
    log("after a Redis restart: %.2f s CPU and %d log lines in 5 s" % (cpu, lines))
    check(lines < 100, "no flood of retries after a Redis restart (%d lines)" % lines)
    check(cpu < 2.5, "no spinning after a Redis restart (%.2f s CPU in 5 s)" % cpu)
    v2 = Visitor(d)
    conv2 = v2.say("still alive after the restart?")["conversation"]
    wait_for(lambda: d.conversation(conv2)["status"] == "queued", timeout=10,
             what="routing after the restart")
    eq(d.stop(), 0, "clean stop")


def test(tmp):
    for part in (retention, lost_event, poison):
        sub = os.path.join(tmp, part.__name__)
        os.makedirs(sub)
        log("---- " + part.__name__)
        part(sub)


omrtest.run(test)
