"""The server-side scripts as Redis Functions (omr_redis.h), against real
redis-servers:
- the daemon loads one library, omr_<version>, once per connection, and
  routes with FCALL only (INFO commandstats: no EVALSHA, no EVAL); the
  scripts that write nothing are flagged no-writes, so that they still run
  when Redis is out of memory, as before: with maxmemory far below what
  Redis holds, a conversation is still read (conv_get) while a new message
  is refused with "retry", and is stored once memory is back;
- FUNCTION FLUSH while visitors keep writing: the library is loaded again,
  every message is stored exactly once and offered, nothing is answered
  with an error;
- two sites on one Redis share the one library, and each site's report
  counts land in its own bucket (the report library caches the bucket's
  key between calls of one Function);
- an ACL user who may not FUNCTION LOAD, and one who may not FCALL: the
  log says once why the scripts run with EVALSHA, and the daemon works
  the same (omniroute_redis_functions 0, fallbacks counted)."""
import re
import time

import omrtest
from omrtest import Agent, Daemon, Redis, Visitor, check, eq, log, wait_for


class Conf:
    """A Daemon's redis: section given as text."""

    def __init__(self, text):
        self.text = text

    def conf(self):
        return self.text


def commandstats(redis):
    out = {}
    for m in re.finditer(r"^cmdstat_([\w|]+):calls=(\d+),usec=\d+,usec_per_call=[\d.]+,"
                         r"rejected_calls=(\d+),failed_calls=(\d+)",
                         redis.cmd("INFO", "commandstats"), re.M):
        out[m.group(1)] = (int(m.group(2)), int(m.group(3)), int(m.group(4)))
    return out


def metric(d, name):
    st, text = d.http("GET", "/metrics")
    m = re.search(r"^omniroute_%s (\d+)$" % name, text, re.M)
    check(m, "/metrics has omniroute_%s" % name)
    return int(m.group(1))


def libraries(redis):
    """{library name: {function name: flags}}"""
    out = {}
    for lib in redis.cmd("FUNCTION", "LIST"):
        lib = dict(zip(lib[::2], lib[1::2]))
        fns = {}
        for f in lib["functions"]:
            f = dict(zip(f[::2], f[1::2]))
            fns[f["name"]] = f["flags"]
        out[lib["library_name"]] = fns
    return out


def route(d, agent, name, text):
    """A visitor writes; the agent is offered the conversation: its id."""
    v = Visitor(d, name=name)
    ack = v.say(text)
    eq(ack.get("type"), "ack", "%s: the message is acknowledged" % name)
    o = agent.expect("offer", timeout=15)
    agent.send({"type": "reject", "offer": o["offer"]})
    v.close()
    return o["conversation"]["id"]


def functions_in_use(tmp, redis):
    d = Daemon(tmp, redis, node="fn", agents=omrtest.quick_agents(), log_level="info").start()
    alice = Agent(d, agent="alice", password="alice")
    conv = route(d, alice, "Functions", "hello by FCALL")
    libs = libraries(redis)
    omr = [name for name in libs if name.startswith("omr_")]
    eq(len(omr), 1, "one library of omniroute's (%r)" % list(libs))
    fns = libs[omr[0]]
    log("library %s: %d functions" % (omr[0], len(fns)))
    check(len(fns) > 50 and all(f.startswith(omr[0] + "_") for f in fns),
          "every script is a Function named after the library")
    eq(fns[omr[0] + "_conv_get"], ["no-writes"], "conv_get writes nothing: flagged no-writes")
    eq(fns[omr[0] + "_ingest"], [], "ingest writes: no flags")
    stats = commandstats(redis)
    check(stats.get("fcall", (0,))[0] > 5, "the scripts ran by FCALL (%r)" % (stats.get("fcall"),))
    eq(stats.get("evalsha", (0,))[0] + stats.get("eval", (0,))[0], 0, "no EVALSHA, no EVAL")
    eq(stats.get("fcall")[2], 0, "no FCALL failed")
    eq(metric(d, "redis_functions"), 1, "omniroute_redis_functions")
    eq(metric(d, "redis_script_fallbacks_total"), 0, "no fallbacks")
    check(1 <= metric(d, "redis_function_loads_total") <= 2, "loaded once per connection")

    # out of memory: reads go on (no-writes), writes are refused for retry
    v = Visitor(d, name="OOM")
    used = int(re.search(r"^used_memory:(\d+)", redis.cmd("INFO", "memory"), re.M).group(1))
    redis.cmd("CONFIG", "SET", "maxmemory", str(used // 2))
    try:
        eq(d.conversation(conv)["status"], "queued",
           "out of memory: the conversation is still read")
        ack = v.say("written while Redis is full", cmid="oom1")
        check(ack.get("type") == "error" and ack.get("code") == "retry",
              "out of memory: a new message is refused, retry (%r)" % ack)
    finally:
        redis.cmd("CONFIG", "SET", "maxmemory", "0")
    ack = v.say("written while Redis is full", cmid="oom1")
    eq(ack.get("type"), "ack", "memory back: the message is stored")
    alice.expect("offer", timeout=15)
    v.close()

    # FUNCTION FLUSH under load: loaded again, nothing lost, no error
    loads = metric(d, "redis_function_loads_total")
    failed = commandstats(redis).get("fcall", (0, 0, 0))[2]
    visitors = [Visitor(d, name="flush%d" % i) for i in range(8)]
    sent = 0
    for rnd in range(6):
        if rnd in (1, 4):
            redis.cmd("FUNCTION", "FLUSH")
        for i, v in enumerate(visitors):
            v.ws.send({"type": "message", "text": "round %d" % rnd,
                       "client_msg_id": "f%d" % rnd})
            sent += 1
    acks = 0
    for v in visitors:
        answered = 0
        while answered < 6:
            m = v.ws.recv(15)
            if m.get("type") in ("ack", "error"):
                eq(m["type"], "ack", "after FUNCTION FLUSH: acknowledged, no error (%r)" % m)
                answered += 1
        acks += answered
    eq(acks, sent, "every message acknowledged")
    convs = redis.cmd("KEYS", "omr:{main}:conv:*:msgs")
    count = omrtest.stored_counts(redis.cmd, [k.split(":")[-2] for k in convs])
    flushed = {k: n for k, n in count.items() if re.match(r".*:f\d$", k)}
    eq(len(flushed), sent, "every message of the flush rounds stored")
    eq(max(flushed.values()), 1, "none stored twice")
    check(metric(d, "redis_function_loads_total") > loads, "the library was loaded again")
    check(commandstats(redis)["fcall"][2] > failed,
          "calls were answered 'not found' after the flush, and sent again")
    check(any(n.startswith("omr_") for n in libraries(redis)), "the library is back")
    eq(metric(d, "redis_functions"), 1, "still Functions")
    for v in visitors:
        v.close()
    alice.close()
    d.stop()


def report_counts(redis, prefix):
    """offered per queue, summed over the site's report buckets"""
    total = 0
    for k in redis.cmd("KEYS", prefix + "stats:*:*"):
        total += int(redis.cmd("HGET", k, "q|general|webchat|offered") or 0)
    return total


def two_sites(tmp, redis):
    a = Daemon(tmp, Conf("  url: %s\n  site: east\n" % redis.url()), node="east",
               agents=omrtest.quick_agents(), log_level="info").start()
    b = Daemon(tmp, Conf("  url: %s\n  site: west\n" % redis.url()), node="west",
               agents=omrtest.quick_agents(), log_level="info").start()
    alice, bob = Agent(a, agent="alice", password="alice"), Agent(b, agent="bob", password="bob")
    for i in range(3):
        route(a, alice, "east%d" % i, "to the east")
    route(b, bob, "west", "to the west")
    omr = [n for n in libraries(redis) if n.startswith("omr_")]
    eq(len(omr), 1, "two sites of one version share one library (%r)" % omr)
    eq(report_counts(redis, "omr:{east}:"), 3, "east's offers counted in east's buckets")
    eq(report_counts(redis, "omr:{west}:"), 1, "west's offers counted in west's buckets")
    alice.close()
    bob.close()
    a.stop()
    b.stop()


def fallback(tmp, redis, user, rules, what, reason):
    redis.cmd("ACL", "SETUSER", user, "on", ">pw-" + user, "~*", "&*", *rules)
    d = Daemon(tmp, Conf("  url: %s\n  username: %s\n  password: pw-%s\n  site: %s\n"
                         % (redis.url(), user, user, user)), node=user,
               agents=omrtest.quick_agents(), log_level="info").start()
    bob = Agent(d, agent="bob", password="bob")
    before = commandstats(redis).get("evalsha", (0,))[0]
    route(d, bob, "fallback " + user, "hello by EVALSHA")
    check(commandstats(redis).get("evalsha", (0,))[0] > before,
          "%s: the scripts ran by EVALSHA" % what)
    wait_for(lambda: "run with EVALSHA" in d.log_text(), what="the fallback in the log")
    lines = [line for line in d.log_text().splitlines() if "run with EVALSHA" in line]
    log("%s: %s" % (what, lines[0]))
    check(reason in lines[0], "%s: the log says why (%r)" % (what, reason))
    check(len(lines) <= 2, "%s: said once per connection, not per call (%d)" % (what, len(lines)))
    eq(metric(d, "redis_functions"), 0, "%s: omniroute_redis_functions" % what)
    check(metric(d, "redis_script_fallbacks_total") > 0, "%s: fallbacks counted" % what)
    bob.close()
    d.stop()


def test(tmp):
    redis = Redis(tmp)
    functions_in_use(tmp, redis)
    two_sites(tmp, redis)
    redis.cmd("FUNCTION", "FLUSH")
    fallback(tmp, redis, "noload", ["+@all", "-function"], "may not FUNCTION LOAD", "NOPERM")
    eq([n for n in libraries(redis) if n.startswith("omr_")], [],
       "the user who may not load loaded nothing")
    fallback(tmp, redis, "nofcall", ["+@all", "-fcall"], "may not FCALL", "NOPERM")
    redis.stop()


omrtest.run(test)
