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
the same load and the same counts.
"""
import random
import signal
import threading
import time

import omrtest
from omrtest import (check, eq, log, Agent, Daemon, HAProxy, Redis, Visitor, WebSocketClosed,
                     wait_for, token_hash, SLOW)

AGENTS_N = 20
CAPACITY = 3
VISITORS = 200
MESSAGES = 4          # per visitor, the last one says "bye"
P = "omr:{main}:"

ROUTING = """
skills: [general, billing]
default_queue: general
queues:
  - name: general
    skills: {general: 1}
offers: {timeout: 4s, max_missed: 100, reject_cooldown: 1s}
sessions: {grace: 60s}
reasons: [other]
outcomes: [resolved]
"""


def agents_yaml():
    out = "agents:\n" + omrtest.token_agents(AGENTS_N, CAPACITY)
    # on both nodes at once; not eligible for the general queue
    out += ("  - id: dual\n    token: \"%s\"\n    skills: { billing: 3 }\n"
            "    capacity: { webchat: 1 }\n" % token_hash("token-dual-0123456789abcdef"))
    return out


class Book:
    """What every client saw, under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.holders = {}        # conversation -> agents holding it now
        self.ever = {}           # conversation -> every agent that held it
        self.double = set()      # conversations held by two agents at once
        self.over = {}           # agent -> most conversations held at once, past capacity
        self.acked = {}          # (visitor, client_msg_id) -> conversation
        self.reconnects = {"agent": 0, "visitor": 0}
        self.errors = []

    def hold(self, agent, convs, held):
        with self.lock:
            for c in convs:
                h = self.holders.setdefault(c, set())
                h.add(agent)
                self.ever.setdefault(c, set()).add(agent)
                if len(h) > 1:
                    self.double.add(c)
            if len(held) > CAPACITY:
                self.over[agent] = max(self.over.get(agent, 0), len(held))

    def release(self, agent, conv):
        with self.lock:
            self.holders.get(conv, set()).discard(agent)


class Worker(threading.Thread):
    """An agent who accepts every offer, answers every message and wraps up
    when the visitor says bye; reconnects through haproxy when its
    connection drops, and takes back what the welcome lists."""

    def __init__(self, lb, i, book):
        threading.Thread.__init__(self, daemon=True)
        self.lb, self.i, self.book = lb, i, book
        self.id = "agent%d" % i
        self.held = set()
        self.stop = False
        self.agent = None

    def connect(self):
        a = Agent(self.lb, token=omrtest.agent_token(self.i), available=False)
        if a.welcome["type"] != "welcome":
            raise OSError("login refused: %r" % a.welcome)
        w = a.welcome
        self.held = set(c["id"] for c in w.get("conversations") or [])
        self.book.hold(self.id, self.held, self.held)
        if w.get("presence", {}).get("status") != "available":
            a.presence("available")
        for o in w.get("offers") or []:
            a.send({"type": "accept", "offer": o["offer"]})
        for c in w.get("conversations") or []:
            if any(m.get("text") == "bye" for m in c.get("messages") or []):
                self.wrap(a, c["id"])
        self.agent = a

    def wrap(self, a, conv):
        a.send({"type": "wrapup", "conversation": conv, "reason": "other",
                "outcome": "resolved"})

    def run(self):
        while not self.stop:
            try:
                if not self.agent:
                    self.connect()
                self.step()
            except (WebSocketClosed, OSError, TimeoutError, ValueError, KeyError) as e:
                if self.stop:
                    break
                if self.agent:
                    with self.book.lock:
                        self.book.reconnects["agent"] += 1
                    try:
                        self.agent.close()
                    except OSError:
                        pass
                self.agent = None
                time.sleep(0.2)

    def step(self):
        a = self.agent
        try:
            m = a.expect("offer", "assigned", "unassigned", "message", "closed", "error",
                         timeout=0.3)
        except TimeoutError:
            return
        t = m["type"]
        if t == "offer":
            a.send({"type": "accept", "offer": m["offer"]})
        elif t == "assigned":
            conv = m["conversation"]["id"]
            self.held.add(conv)
            self.book.hold(self.id, [conv], self.held)
            a.send({"type": "reply", "conversation": conv, "text": "hello from " + self.id,
                    "client_msg_id": "r-" + conv})
            if any(x.get("text") == "bye" for x in m["conversation"].get("messages") or []):
                self.wrap(a, conv)
        elif t == "message":
            conv = m.get("conversation")
            if m.get("message", {}).get("text") == "bye" or m.get("text") == "bye":
                self.wrap(a, conv)
        elif t in ("unassigned", "closed"):
            conv = m.get("conversation")
            conv = conv["id"] if isinstance(conv, dict) else conv
            self.held.discard(conv)
            self.book.release(self.id, conv)
        elif t == "error" and m.get("code") not in ("gone", "not_yours", "bad_state"):
            with self.book.lock:
                self.book.errors.append((self.id, m))


def visitor(lb, i, book, done):
    """Say MESSAGES things, each until acknowledged; reconnect (same
    visitor, same token) and send again what was not acknowledged."""
    v = None
    vid = token = None
    k = 0
    while k < MESSAGES:
        cmid = "v%d-%d" % (i, k)
        text = "bye" if k == MESSAGES - 1 else "question %d.%d" % (i, k)
        try:
            if v is None:
                v = Visitor(lb, name="Visitor %d" % i, visitor=vid, token=token)
                vid, token = v.id, v.token
            ack = v.say(text, cmid=cmid)
        except (WebSocketClosed, OSError, TimeoutError, ValueError):
            with book.lock:
                book.reconnects["visitor"] += 1
            v = None
            time.sleep(random.uniform(0.1, 0.4))
            continue
        if ack.get("type") != "ack":
            with book.lock:
                book.errors.append(("visitor %d" % i, ack))
            time.sleep(0.5)
            continue
        with book.lock:
            book.acked[(vid, cmid)] = ack["conversation"]
        k += 1
        time.sleep(random.uniform(0.2, 0.6))
    if v:
        v.close()
    done.append(i)


class Watch(threading.Thread):
    """Samples Redis: a conversation queued while an eligible agent (the
    general agents: available, connected to a live node, under capacity)
    is free; how long it has been so without a break."""

    def __init__(self, redis, book):
        threading.Thread.__init__(self, daemon=True)
        self.redis, self.book = redis, book
        self.since = {}
        self.stuck = {}
        self.stop = False

    def free_agents(self):
        cmds = []
        for i in range(AGENTS_N):
            k = P + "agent:agent%d" % i
            cmds.append(("HMGET", k, "presence", "load:webchat"))
            cmds.append(("HGETALL", k + ":nodes"))
        r = self.redis.pipeline(cmds)
        alive = set()
        for n in self.redis.cmd("ZRANGEBYSCORE", P + "nodes", "-inf", "+inf") or []:
            if self.redis.cmd("EXISTS", P + "node:%s:alive" % n):
                alive.add(n)
        free = 0
        for i in range(AGENTS_N):
            pres, load = r[2 * i]
            nodes = r[2 * i + 1] or []
            live = any(nodes[j] in alive and int(nodes[j + 1]) > 0
                       for j in range(0, len(nodes), 2))
            if pres == "available" and int(load or 0) < CAPACITY and live:
                free += 1
        return free

    def run(self):
        while not self.stop:
            with self.book.lock:
                convs = set(self.book.acked.values())
            free = self.free_agents()
            now = time.time()
            if convs:
                st = self.redis.pipeline([("HGET", P + "conv:" + c, "status") for c in convs])
                queued = set(c for c, s in zip(convs, st) if s == "queued")
            else:
                queued = set()
            for c in list(self.since):
                if c not in queued or not free:
                    del self.since[c]
            for c in queued:
                if free:
                    self.since.setdefault(c, now)
                    if now - self.since[c] > 5 * SLOW:
                        self.stuck[c] = now - self.since[c]
            time.sleep(0.25)


def test(tmp):
    redis = Redis(tmp)
    agents = agents_yaml()
    chat = "      rate_per_min: 60000\n      burst: 1000"
    a = Daemon(tmp, redis, node="node-a", routing=ROUTING, agents=agents, log_level="info",
               webchat_extra=chat, node_extra=", drain: 3s").start()
    b = Daemon(tmp, redis, node="node-b", routing=ROUTING, agents=agents, log_level="info",
               webchat_extra=chat).start()
    lb = HAProxy(tmp, [a, b])
    book = Book()

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

    watch = Watch(redis, book)
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

    def invariants(what):
        count = omrtest.stored_counts(redis.cmd, set(book.acked.values()))
        lost = [k for k in book.acked if count.get("%s:%s" % k, 0) == 0]
        twice = {k: n for k, n in count.items() if n > 1}
        log("%s: acknowledged %d messages in %d conversations; reconnects: %d agents, "
            "%d visitors" % (what, len(book.acked), len(set(book.acked.values())),
                             book.reconnects["agent"], book.reconnects["visitor"]))
        eq(lost, [], "%s: acknowledged messages lost" % what)
        eq(twice, {}, "%s: messages stored twice" % what)
        eq(sorted(book.double), [], "%s: conversations held by two agents at once" % what)
        eq(book.over, {}, "%s: agents over capacity" % what)
        eq(watch.stuck, {}, "%s: conversations queued > 5 s while an eligible agent was free"
           % what)
        eq(book.errors, [], "%s: no unexpected errors" % what)

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
        threading.Thread(target=lambda: stopped.setdefault("rc", a.proc.wait(60)),
                         daemon=True).start()
    reaped = b.metric("nodes_reaped_total")
    wave(VISITORS, VISITORS // 2, upgrade_a)
    wait_for(lambda: "rc" in stopped, timeout=60, what="node-a stopped")
    eq(stopped["rc"], 0, "node-a drained and stopped cleanly")
    check("draining: /healthz answers 503" in a.log_text(), "node-a drained first")
    a.proc = None
    a.logf.close()
    # it said it left: node-b takes over at its next look, not 6 s later
    wait_for(lambda: b.metric("nodes_reaped_total") > reaped, timeout=5 * SLOW,
             what="node-b took over node-a's agents when it left")
    log("node-b took over node-a %.1f s after the SIGTERM (3 s of them draining)"
        % (time.time() - stopped["at"]))
    a.start()
    invariants("rolling upgrade")

    for w in workers:
        w.stop = True
    for w in workers:
        w.join(5)
    lb.stop()
    eq(a.stop(), 0, "node-a stops cleanly")
    eq(b.stop(), 0, "node-b stops cleanly")


omrtest.run(test)
