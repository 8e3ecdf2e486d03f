"""The agent directory comes in pages (issue 13): a welcome has the same
size with 20 agents or 20,000. Here 451 agents: the welcome carries the
first 200 colleagues and agents_next; {"type": "agents", "after"} pages
through the rest (200, then 50, next null), each colleague once and never
the agent themself; a bad or unknown `after` gets an empty page or a clear
error, and the console keeps working."""
import omrtest
from omrtest import check, eq, token_hash, Agent, Daemon, Redis

N = 451


def agents_yaml():
    lines = ["agents:"]
    for i in range(N):
        lines.append('  - id: a%03d\n    name: "Agent %d"\n    token: "%s"' %
                     (i, i, token_hash("directory-token-%03d-0123456789" % i)))
    return "\n".join(lines) + "\n"


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, agents=agents_yaml()).start()
    me = Agent(d, token="directory-token-007-0123456789", available=False)
    w = me.welcome
    eq(w["type"], "welcome", "logged in")
    eq(len(w["agents"]), 200, "the welcome carries the first page of colleagues")
    eq(w["agents_next"], w["agents"][-1]["id"], "and where the next page starts")
    seen = [a["id"] for a in w["agents"]]
    pages = 1
    nxt = w["agents_next"]
    while nxt:
        me.send({"type": "agents", "after": nxt})
        p = me.expect("agents")
        check(len(p["agents"]) <= 200, "a page has at most 200")
        seen += [a["id"] for a in p["agents"]]
        nxt = p["next"]
        pages += 1
        check(pages < 10, "the pages end")
    eq(pages, 3, "451 agents: 450 colleagues in 3 pages")
    eq(len(seen), N - 1, "every colleague")
    eq(len(set(seen)), N - 1, "once")
    check("a007" not in seen, "never the agent themself")
    eq(seen, sorted(seen), "in the file's order")
    eq(w["agents"][0], {"id": "a000", "name": "Agent 0"}, "id and name")

    me.send({"type": "agents", "after": "nobody"})
    p = me.expect("agents")
    eq((p["agents"], p["next"]), ([], None), "an unknown start: an empty page")
    me.send({"type": "agents", "after": 42})
    p = me.expect("agents")
    eq(len(p["agents"]), 200, "a start that is not a string: the first page")
    me.send({"type": "ping"})
    me.expect("pong")
    eq(d.stop(), 0, "clean stop")


if __name__ == "__main__":
    omrtest.run(test)
