"""fleet: agents and visitors through a load balancer, for the node-death
tests and bench/faults.py: agents who accept every offer and wrap up when
the visitor says bye, reconnecting when their node goes; visitors who send
MESSAGES things, each until acknowledged; a book of what every client saw
(conversations held by two agents at once, agents over capacity), and a
watch on Redis for conversations left queued while an eligible agent was
free."""
import random
import threading
import time

import omrtest
from omrtest import Agent, Visitor, WebSocketClosed, SLOW

MESSAGES = 4          # per visitor, the last one says "bye"
P = "omr:{main}:"

# routing for the fleet: one queue for the general agents; sessions.grace
# long enough that nobody is taken offline while reconnecting
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


class Book:
    """What every client saw, under one lock."""

    def __init__(self, capacity):
        self.capacity = capacity
        self.lock = threading.Lock()
        self.holders = {}        # conversation -> agents holding it now
        self.ever = {}           # conversation -> every agent that held it
        self.double = set()      # conversations held by two agents at once
        self.over = {}           # agent -> most conversations held at once, past capacity
        self.acked = {}          # (visitor, client_msg_id) -> conversation
        self.reconnects = {"agent": 0, "visitor": 0}
        self.errors = []
        self.retries = []        # (who, when): told "retry" (a node stopping, Redis away)

    def retry(self, who):
        with self.lock:
            self.retries.append((who, time.time()))

    def hold(self, agent, convs, held):
        with self.lock:
            for c in convs:
                h = self.holders.setdefault(c, set())
                h.add(agent)
                self.ever.setdefault(c, set()).add(agent)
                if len(h) > 1:
                    self.double.add(c)
            if len(held) > self.capacity:
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
        self.connected_at = time.time()

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
        elif t == "error" and m.get("code") == "retry":
            self.book.retry(self.id)
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
        if ack.get("type") == "error" and ack.get("code") == "retry":
            book.retry("visitor %d" % i)
            time.sleep(0.5)
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
    is free, and how long it has been so without a break; a conversation
    in two agents' sets at once, or in one that is not its `agent` (what
    Redis holds, not what the consoles were told)."""

    def __init__(self, redis, book, agents):
        threading.Thread.__init__(self, daemon=True)
        self.redis, self.book, self.agents = redis, book, agents
        self.since = {}
        self.stuck = {}
        self.double = {}
        self.stop = False

    def held_twice(self, held):
        seen = {}
        for i, convs in enumerate(held):
            for c in convs or []:
                seen.setdefault(c, []).append("agent%d" % i)
        owners = self.redis.pipeline([("HMGET", P + "conv:" + c, "agent", "status")
                                      for c in seen]) if seen else []
        for (c, who), (agent, status) in zip(seen.items(), owners):
            if len(who) > 1 or (status in ("assigned", "wrapup") and agent not in who):
                self.double[c] = (who, agent, status)

    def free_agents(self):
        cmds = []
        for i in range(self.agents):
            k = P + "agent:agent%d" % i
            cmds.append(("HMGET", k, "presence", "load:webchat"))
            cmds.append(("HGETALL", k + ":nodes"))
            cmds.append(("SMEMBERS", k + ":convs"))
        r = self.redis.pipeline(cmds)
        self.held_twice([r[3 * i + 2] for i in range(self.agents)])
        alive = set()
        for n in self.redis.cmd("ZRANGEBYSCORE", P + "nodes", "-inf", "+inf") or []:
            if self.redis.cmd("EXISTS", P + "node:%s:alive" % n):
                alive.add(n)
        free = 0
        for i in range(self.agents):
            pres, load = r[3 * i]
            nodes = r[3 * i + 1] or []
            live = any(nodes[j] in alive and int(nodes[j + 1]) > 0
                       for j in range(0, len(nodes), 2))
            if pres == "available" and int(load or 0) < self.book.capacity and live:
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
