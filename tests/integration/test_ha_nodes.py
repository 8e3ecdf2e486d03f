"""A node dies under load, behind the shipped HAProxy configuration.

Two nodes on one Redis behind a real haproxy (conf/haproxy.cfg, only the
addresses changed); 20 agents and 200 visitors connect through it. One node
is killed with SIGKILL while visitors are arriving and talking. Everyone on
it reconnects through haproxy to the node that lives and resumes: visitors
send again what was not acknowledged (same client_msg_id), agents get their
conversations and open offers back in the welcome. Counted, and asserted
zero: acknowledged messages lost, messages stored twice, conversations
held by two agents, agents over capacity, conversations left queued for
more than 5 s while an eligible agent was free. An agent with a console
on each node stays online when one of them dies. Then a rolling upgrade:
the killed node comes back, the other is stopped with SIGTERM (it drains:
/healthz says 503 before it closes its sockets, and it marks itself
stopped so that the other takes over at once) and started again, under
the same load and the same counts. A client may be told "retry" only by
the stopping node, between its drain and its exit (a visitor haproxy had
not moved yet: it sends again and reaches the other node).
"""
import signal
import threading
import time

import omrtest
from fleet import Book, Watch, Worker, visitor, P, ROUTING
from omrtest import check, eq, log, Agent, Daemon, HAProxy, Redis, wait_for, token_hash, SLOW

AGENTS_N = 20
CAPACITY = 3
VISITORS = 200


def agents_yaml():
    out = "agents:\n" + omrtest.token_agents(AGENTS_N, CAPACITY)
    # on both nodes at once; not eligible for the general queue
    out += ("  - id: dual\n    token: \"%s\"\n    skills: { billing: 3 }\n"
            "    capacity: { webchat: 1 }\n" % token_hash("token-dual-0123456789abcdef"))
    return out


def test(tmp):
    redis = Redis(tmp)
    agents = agents_yaml()
    chat = "      rate_per_min: 60000\n      burst: 1000"
    a = Daemon(tmp, redis, node="node-a", routing=ROUTING, agents=agents, log_level="info",
               webchat_extra=chat, node_extra=", drain: 3s").start()
    b = Daemon(tmp, redis, node="node-b", routing=ROUTING, agents=agents, log_level="info",
               webchat_extra=chat).start()
    lb = HAProxy(tmp, [a, b])
    book = Book(CAPACITY)

    # the agent with a console on each node
    dual_a = Agent(a, token="token-dual-0123456789abcdef")
    dual_b = Agent(b, token="token-dual-0123456789abcdef")
    eq(redis.cmd("HGET", P + "agent:dual", "sessions"), "2", "dual: a session on each node")

    workers = [Worker(lb, i, book) for i in range(AGENTS_N)]
    for w in workers:
        w.start()
    wait_for(lambda: all(w.agent for w in workers), timeout=30, what="agents logged in")
    on = [redis.cmd("HGET", P + "agent:agent%d" % i, "node") for i in range(AGENTS_N)]
    log("agents per node through haproxy: a=%d b=%d" % (on.count("node-a"), on.count("node-b")))
    check(on.count("node-b") > 0 and on.count("node-a") > 0, "haproxy spread the agents")

    watch = Watch(redis, book, AGENTS_N)
    watch.start()

    def wave(first, n, fault):
        """n visitors through haproxy, one every 50 ms; fault() when half
        of them have come; returns once all are done and every
        conversation is closed."""
        done, threads = [], []
        for i in range(first, first + n):
            t = threading.Thread(target=visitor, args=(lb, i, book, done), daemon=True)
            t.start()
            threads.append(t)
            time.sleep(0.05)
            if i == first + n // 2:
                fault()
        for t in threads:
            t.join(120)
        eq(len(done), n, "every visitor said all they had to say")

        def all_closed():
            convs = set(book.acked.values())
            st = redis.pipeline([("HGET", P + "conv:" + c, "status") for c in convs])
            return all(s == "closed" for s in st)
        wait_for(all_closed, timeout=90, interval=0.5, what="every conversation closed")

    def invariants(what, stopping=None):
        """stopping: when a node stopped (from, to), the only time a
        client may be told "retry" (new input is refused while what was
        accepted is stored; the client sends again)."""
        count = omrtest.stored_counts(redis.cmd, set(book.acked.values()))
        lost = [k for k in book.acked if count.get("%s:%s" % k, 0) == 0]
        twice = {k: n for k, n in count.items() if n > 1}
        log("%s: acknowledged %d messages in %d conversations; reconnects: %d agents, "
            "%d visitors" % (what, len(book.acked), len(set(book.acked.values())),
                             book.reconnects["agent"], book.reconnects["visitor"]))
        eq(lost, [], "%s: acknowledged messages lost" % what)
        eq(twice, {}, "%s: messages stored twice" % what)
        eq(sorted(book.double), [], "%s: conversations held by two agents at once" % what)
        eq(watch.double, {}, "%s: conversations in two agents' sets in Redis" % what)
        eq(book.over, {}, "%s: agents over capacity" % what)
        eq(watch.stuck, {}, "%s: conversations queued > 5 s while an eligible agent was free"
           % what)
        eq(book.errors, [], "%s: no unexpected errors" % what)
        lo, hi = stopping or (0, 0)
        eq([(who, round(t - lo, 2)) for who, t in book.retries if not lo - 0.2 <= t <= hi + 0.5],
           [], "%s: told to retry only while a node stopped (%d times in all)"
           % (what, len(book.retries)))
        book.retries = []

    # ---- node-b is killed mid-run
    killed = {}

    def kill_b():
        b.kill9()
        killed["at"] = time.time()
        log("node-b killed, %d messages acknowledged so far" % len(book.acked))
    wave(0, VISITORS, kill_b)
    killed_at = killed["at"]
    check(book.reconnects["agent"] > 0 and book.reconnects["visitor"] > 0,
          "agents and visitors were on the killed node and reconnected")
    invariants("node-b killed")

    # node-b's sessions are dropped once its heartbeat ran out: the agent
    # with a console on node-a stays online, with one session
    wait_for(lambda: a.metric("nodes_reaped_total") == 1, timeout=40 * SLOW,
             what="node-a noticed node-b's death")
    log("node-b reaped (seen %.1f s after it was killed)" % (time.time() - killed_at))
    consumers = [c[1] for c in redis.cmd("XINFO", "CONSUMERS", P + "events", "router")]
    check("node-b" not in consumers, "node-b's unfinished events taken over, its consumer "
          "removed (%r)" % consumers)
    h = redis.cmd("HMGET", P + "agent:dual", "presence", "sessions")
    eq(h, ["available", "1"], "dual: still available, with her session on node-a")
    st, ag = a.http("GET", "/api/v1/agents")
    dual = [x for x in ag["agents"] if x["id"] == "dual"][0]
    eq(dual["node_alive"], True, "dual: connected to a live node")
    dual_a.pending = []
    dual_a.send({"type": "presence", "status": "away"})
    wait_for(lambda: dual_a.expect("presence")["status"] == "away", timeout=10,
             what="dual: her console on node-a still works")
    eq(redis.cmd("HGET", P + "agent:dual", "presence"), "away", "dual: away, as she said")
    loads = [int(redis.cmd("HGET", P + "agent:agent%d" % i, "load:webchat") or 0)
             for i in range(AGENTS_N)]
    eq(loads, [0] * AGENTS_N, "every agent's load is back to 0")
    dual_a.close()
    try:
        dual_b.close()
    except OSError:
        pass

    # ---- a rolling upgrade: node-b comes back; then node-a is stopped
    # with SIGTERM (node.drain: /healthz says 503 first, haproxy sends new
    # connections to node-b, then node-a closes the rest) and started again
    b.start()
    wait_for(lambda: lb.http("GET", "/healthz", port=lb.ports["admin"])[0] == 200,
             what="haproxy serving")
    stopped = {}

    def upgrade_a():
        stopped["at"] = time.time()
        a.send_signal(signal.SIGTERM)
        def reap(proc):
            rc = proc.wait(60)
            stopped["exit"] = time.time()
            stopped["rc"] = rc
        threading.Thread(target=reap, args=(a.proc,), daemon=True).start()
    reaped = b.metric("nodes_reaped_total")
    wave(VISITORS, VISITORS // 2, upgrade_a)
    wait_for(lambda: "rc" in stopped, timeout=60, what="node-a stopped")
    eq(stopped["rc"], 0, "node-a drained and stopped cleanly")
    check("draining: /healthz answers 503" in a.log_text(), "node-a drained first")
    # after the drain, a visitor that haproxy had not moved yet may be told
    # to retry by node-a: it sends again and reaches node-b
    stopping = (a.logged_at("INFO  stopping"), stopped["exit"])
    check(stopping[0] and stopped["at"] + 2.5 < stopping[0] < stopped["exit"],
          "node-a stopped after its drain (%.2f s after the SIGTERM), exited %.2f s later"
          % ((stopping[0] or 0) - stopped["at"], stopped["exit"] - (stopping[0] or 0)))
    a.proc = None
    a.logf.close()
    # it said it left: node-b takes over at its next look, not 6 s later
    wait_for(lambda: b.metric("nodes_reaped_total") > reaped, timeout=5 * SLOW,
             what="node-b took over node-a's agents when it left")
    log("node-b took over node-a %.1f s after the SIGTERM (3 s of them draining)"
        % (time.time() - stopped["at"]))
    a.start()
    invariants("rolling upgrade", stopping)

    for w in workers:
        w.stop = True
    for w in workers:
        w.join(5)
    lb.stop()
    eq(a.stop(), 0, "node-a stops cleanly")
    eq(b.stop(), 0, "node-b stops cleanly")


omrtest.run(test)
