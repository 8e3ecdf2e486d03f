"""Two omniroute nodes on one Redis, many visitors and agents at once:
every conversation is assigned exactly once, no agent ever holds more than
its capacity, and messages cross between nodes (a visitor on node A and an
agent on node B talk to each other)."""
import random
import threading
import time

import omrtest
from omrtest import check, eq, log, Agent, Daemon, Redis, Visitor, WebSocketClosed, wait_for

AGENTS_N = 6
CAPACITY = 2
VISITORS = 40

ROUTING = """
skills: [general]
default_queue: general
queues:
  - name: general
    status_interval: 0
offers: {timeout: 4s, max_missed: 100, reject_cooldown: 1s}
sessions: {grace: 5s}
reasons: [other]
outcomes: [resolved]
"""


def agents_yaml():
    return "agents:\n" + omrtest.token_agents(AGENTS_N, CAPACITY)


class Worker(threading.Thread):
    """An agent that accepts every offer, answers, and wraps up after a
    while; it records what it held at every moment."""

    def __init__(self, daemon, i, log_):
        threading.Thread.__init__(self, daemon=True)
        self.agent = Agent(daemon, token=omrtest.agent_token(i))
        self.id = self.agent.id
        self.log = log_
        self.held = set()
        self.max_held = 0
        self.accepted = []
        self.stop = False
        self.errors = []

    def run(self):
        a = self.agent
        pending_wrap = {}
        while not self.stop:
            now = time.time()
            for conv, at in list(pending_wrap.items()):
                if now >= at:
                    a.send({"type": "wrapup", "conversation": conv, "reason": "other",
                            "outcome": "resolved"})
                    del pending_wrap[conv]
            try:
                m = a.expect("offer", "assigned", "unassigned", "error", "revoked", timeout=0.2)
            except (TimeoutError, OSError):
                continue
            except WebSocketClosed:
                break
            t = m["type"]
            if t == "offer":
                a.send({"type": "accept", "offer": m["offer"]})
            elif t == "assigned":
                conv = m["conversation"]["id"]
                with self.log["lock"]:
                    self.log["assigned"].setdefault(conv, []).append(self.id)
                self.held.add(conv)
                self.max_held = max(self.max_held, len(self.held))
                self.accepted.append(conv)
                a.send({"type": "reply", "conversation": conv, "text": "hello from " + self.id,
                        "client_msg_id": "r-" + conv})
                pending_wrap[conv] = time.time() + random.uniform(0.1, 0.5)
            elif t == "unassigned":
                self.held.discard(m["conversation"])
            elif t == "error" and m.get("code") not in ("gone",):
                self.errors.append(m)


def test(tmp):
    redis = Redis(tmp)
    agents = agents_yaml()
    a = Daemon(tmp, redis, node="node-a", routing=ROUTING, agents=agents, log_level="info",
               webchat_extra="      rate_per_min: 6000\n      burst: 100").start()
    b = Daemon(tmp, redis, node="node-b", routing=ROUTING, agents=agents, log_level="info",
               webchat_extra="      rate_per_min: 6000\n      burst: 100").start()
    log_ = {"lock": threading.Lock(), "assigned": {}}
    # agents spread over both nodes
    workers = [Worker(a if i % 2 == 0 else b, i, log_) for i in range(AGENTS_N)]
    for w in workers:
        w.start()

    # visitors spread over both nodes, all at once
    convs = {}
    visitors = []
    lock = threading.Lock()

    def visit(i):
        v = Visitor(a if i % 2 else b, name="Visitor %d" % i)
        ack = v.say("Hello, question %d" % i)
        with lock:
            convs[ack["conversation"]] = v
            visitors.append(v)
    threads = [threading.Thread(target=visit, args=(i,)) for i in range(VISITORS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    eq(len(convs), VISITORS, "every visitor's question stored")

    # every conversation is assigned once and wrapped up
    def all_closed():
        for c in convs:
            st = redis.cmd("HGET", "omr:{main}:conv:" + c, "status")
            if st != "closed":
                return False
        return True
    wait_for(all_closed, timeout=90, interval=0.5, what="every conversation wrapped up")
    for w in workers:
        w.stop = True
    for w in workers:
        w.join(5)

    twice = {c: who for c, who in log_["assigned"].items() if len(who) != 1}
    eq(twice, {}, "no conversation assigned twice (counted per assignment)")
    eq(sorted(log_["assigned"]), sorted(convs), "every conversation assigned")
    over = {w.id: w.max_held for w in workers if w.max_held > CAPACITY}
    eq(over, {}, "no agent held more than its capacity of %d at any time" % CAPACITY)
    eq([w.errors for w in workers if w.errors], [], "no unexpected errors for the agents")
    used = sorted(len(w.accepted) for w in workers)
    log("assignments per agent: %s" % used)
    check(sum(used) == VISITORS, "assignments add up")
    both = set(redis.cmd("HGET", "omr:{main}:agent:agent%d" % i, "node") for i in range(AGENTS_N))
    eq(both, {"node-a", "node-b"}, "agents were connected to both nodes")

    # messages crossed nodes: every visitor got their agent's reply, though
    # half of them talk to an agent on the other node
    crossed = 0
    for c, v in convs.items():
        m = v.ws.recv_type("message", timeout=10)
        check(m["text"].startswith("hello from agent"), "visitor got the reply for %s" % c)
        agent_node = redis.cmd("HGET", "omr:{main}:agent:" + m["text"].split()[-1], "node")
        visitor_node = "node-a" if v.ws.sock.getpeername()[1] == a.ports["edge"] else "node-b"
        crossed += agent_node != visitor_node
    log("%d of %d conversations crossed nodes" % (crossed, len(convs)))
    check(crossed > 0, "some conversations had visitor and agent on different nodes")
    # and the load counters in Redis are back to zero
    loads = [int(redis.cmd("HGET", "omr:{main}:agent:agent%d" % i, "load:webchat") or 0)
             for i in range(AGENTS_N)]
    eq(loads, [0] * AGENTS_N, "every agent's load is back to 0")
    eq(a.stop(), 0, "node a stops cleanly")
    eq(b.stop(), 0, "node b stops cleanly")


omrtest.run(test)
