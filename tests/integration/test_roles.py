"""Users, roles, admin API tokens with scopes, supervisor actions and the
audit trail (issue 15), against a real daemon, real Redis and real agent
consoles over websockets.

- agents.yaml is the users file: roles agent / supervisor / admin; a
  supervisor may be limited to queues; api_tokens are stored hashed with
  scopes (read, act, admin). Bad entries are refused by `-t` with the line.
- 401 without a token; 403 for a console log-in token, for a token
  without the scope, and for a queue outside a supervisor's queues.
- close, transfer and presence through the admin API reach the agent's
  console (with who did it); a transferred conversation keeps its history.
- every action, and every refusal, is in the audit stream, paged.
- the welcome frame carries the roles; a supervisor-only user takes no
  conversations and is nobody's colleague to transfer to.
"""
import json
import os
import subprocess

import omrtest
from omrtest import check, eq, log, Agent, Daemon, Redis, Visitor, wait_for
from omrtest import BASE_ROUTING, password_hash, quick_agents, token_hash

SAM_TOKEN = "sam-wallboard-token-0123456789abcdef"     # read + act, billing only
SARA_TOKEN = "sara-readonly-token-0123456789abcdef"    # read only, every queue
ROOT_TOKEN = "root-admin-token-0123456789abcdefgh"     # admin
CAROL_LOGIN = "carol-console-login-0123456789abcdef"   # an agent's console token
ZED_TOKEN = "zed-token-0123456789abcdefghijklmnop"      # for the bad entries


def users():
    return quick_agents() + """  - id: carol
    name: Carol
    token: "%(carol)s"
    skills: { general: 3 }
    capacity: { webchat: 3 }
  - id: sam
    name: Sam Supervisor
    password: "%(sam_pw)s"
    roles: [supervisor]
    queues: [billing]
    # skills and room, so that only the role keeps offers from him
    skills: { billing: 5, general: 5 }
    languages: [nl, en]
    capacity: { webchat: 5 }
    api_tokens:
      - { name: wallboard, hash: "%(sam)s", scopes: [read, act] }
  - id: sara
    name: Sara
    password: "%(sam_pw)s"
    roles: [supervisor]
    api_tokens:
      - { name: screen, hash: "%(sara)s", scopes: [read] }
  - id: root
    name: Root
    password: "%(sam_pw)s"
    roles: [admin]
    api_tokens:
      - { name: ops, hash: "%(root)s" }
""" % dict(carol=token_hash(CAROL_LOGIN), sam=token_hash(SAM_TOKEN), sara=token_hash(SARA_TOKEN),
           root=token_hash(ROOT_TOKEN), sam_pw=password_hash("sam"))


def config_errors(tmp, redis):
    """`omniroute -t` names each bad users-file entry with its line."""
    bad = {
        "an unknown role": ("    roles: [boss]\n", "unknown role 'boss'"),
        "queues for an agent": ("    queues: [billing]\n", "only a supervisor is limited"),
        "api_tokens for an agent": (
            "    api_tokens: [{name: x, hash: \"%s\"}]\n" % token_hash(ZED_TOKEN),
            "only an agent"),
        "an unknown queue": ("    roles: [supervisor]\n    queues: [nowhere]\n",
                             "unknown queue 'nowhere'"),
        "a scope beyond the role": (
            "    roles: [supervisor]\n    api_tokens: [{name: x, hash: \"%s\", scopes: [admin]}]\n"
            % token_hash(ZED_TOKEN), "more than the role"),
        "a token that is not a hash": (
            "    roles: [admin]\n    api_tokens: [{name: x, hash: \"plain-text-token\"}]\n",
            "api_tokens: hash"),
        "an unknown token key": (
            "    roles: [admin]\n    api_tokens: [{name: x, hash: \"%s\", secret: y}]\n"
            % token_hash(ZED_TOKEN), "unknown key 'secret'"),
        "a token held twice": (
            "    roles: [admin]\n    api_tokens: [{name: x, hash: \"%s\"}, {name: y, hash: \"%s\"}]\n"
            % (token_hash(ZED_TOKEN), token_hash(ZED_TOKEN)), "zed/y is the same token as zed/x"),
        "a console token held by two agents": (
            "    token: \"%s\"\n" % token_hash(CAROL_LOGIN), "agent 'carol' has the same token"),
        "an API token equal to a console token": (
            "    roles: [admin]\n    api_tokens: [{name: x, hash: \"%s\"}]\n" % token_hash(CAROL_LOGIN),
            "console log-in token of 'carol'"),
    }
    for i, (what, (extra, message)) in enumerate(bad.items()):
        sub = os.path.join(tmp, "bad%d" % i)
        os.makedirs(sub)
        agents = users() + "  - id: zed\n    password: \"%s\"\n%s" % (password_hash("z"), extra)
        d = Daemon(sub, redis, agents=agents)
        r = subprocess.run([omrtest.DAEMON, "-t", "-c", d.conf], capture_output=True, text=True)
        eq(r.returncode, 1, "-t refuses %s" % what)
        check(r.stderr.count("agents.yaml:") == 1, "one error for %s: %r" % (what, r.stderr[-400:]))
        check(message in r.stderr and "agents.yaml:" in r.stderr,
              "-t says why (%s), with the line: %r" % (message, r.stderr[-300:]))


def admin_token_clash(tmp, redis):
    """An API token equal to admin.token is refused: it would act as it."""
    sub = os.path.join(tmp, "clash")
    os.makedirs(sub)
    admin = "the-sites-admin-token-0123456789"
    agents = users() + ("  - id: zed\n    password: \"%s\"\n    roles: [admin]\n"
                        "    api_tokens: [{name: x, hash: \"%s\"}]\n"
                        % (password_hash("z"), token_hash(admin)))
    d = Daemon(sub, redis, agents=agents)
    d.params["token"] = admin
    d.write_conf()
    r = subprocess.run([omrtest.DAEMON, "-t", "-c", d.conf], capture_output=True, text=True)
    eq(r.returncode, 1, "-t refuses an API token equal to admin.token")
    check("zed/x is the same token as admin.token" in r.stderr, "and says so: %r" % r.stderr[-300:])


def api(d, method, path, token, body=None):
    return d.http(method, path, body=body, token=token)


def test(tmp):
    redis = Redis(tmp)
    config_errors(tmp, redis)
    admin_token_clash(tmp, redis)
    d = Daemon(tmp, redis, agents=users(), routing=BASE_ROUTING).start()

    # ---- who may call what
    st, body = d.http("GET", "/api/v1/queues", auth=False)
    eq(st, 401, "no token: 401")
    st, body = api(d, "GET", "/api/v1/queues", CAROL_LOGIN)
    eq((st, body["error"]["code"]), (403, "forbidden"), "an agent's console token: 403")
    check("console log-in token" in body["error"]["message"], "and says why")
    st, body = api(d, "GET", "/api/v1/queues", SARA_TOKEN)
    eq(st, 200, "a read token reads")
    eq(sorted(q["name"] for q in body["queues"]), ["billing", "general", "tech"],
       "a supervisor of every queue sees every queue")
    st, body = api(d, "POST", "/api/v1/drain", SARA_TOKEN)
    eq((st, body["error"]["code"]), (403, "forbidden"), "read token cannot drain")
    check("'admin' scope" in body["error"]["message"], "403 names the missing scope")
    st, body = api(d, "POST", "/api/v1/agents/alice/presence", SARA_TOKEN, {"presence": "away"})
    eq(st, 403, "read token cannot act")
    for path in ("/api/v1/reload", "/api/v1/drain"):
        st, _ = api(d, "POST", path, SAM_TOKEN)
        eq(st, 403, "a supervisor's token cannot %s" % path)
    st, _ = api(d, "GET", "/api/v1/audit", SAM_TOKEN)
    eq(st, 403, "a supervisor's token cannot read the audit")
    st, body = api(d, "GET", "/api/v1/queues", SAM_TOKEN)
    eq([q["name"] for q in body["queues"]], ["billing"], "sam (billing) sees the billing queue only")
    st, body = api(d, "GET", "/api/v1/agents", SAM_TOKEN)
    eq([a["id"] for a in body["agents"]], ["alice"], "sam sees the agents who serve billing")
    st, body = api(d, "GET", "/api/v1/agents", ROOT_TOKEN)
    eq({a["id"]: a["roles"] for a in body["agents"]}["sam"], ["supervisor"], "agents list roles")

    # ---- the console: roles in the welcome; a supervisor takes nothing
    alice = Agent(d, "alice")
    bob = Agent(d, "bob")
    eq(alice.welcome.get("roles"), ["agent"], "welcome: alice is an agent")
    check("sam" not in [a["id"] for a in alice.welcome["agents"]],
          "a supervisor is nobody's colleague to transfer to")
    sam = Agent(d, "sam")
    eq(sam.welcome.get("roles"), ["supervisor"], "welcome: sam is a supervisor")

    anna = Visitor(d, name="Anna")
    c_bill = anna.say("Goedemiddag, een vraag over mijn factuur")["conversation"]
    a1 = alice.accept(alice.expect("offer")["offer"])
    eq(a1["type"], "assigned", "alice has the billing conversation")
    tom = Visitor(d, name="Tom")
    c_tech = tom.say("My internet keeps dropping")["conversation"]
    tom.say("It started yesterday")
    bob.accept(bob.expect("offer")["offer"])
    check(sam.none_of("offer", wait=0.5), "a supervisor gets no offers")

    # ---- queue limits
    st, body = api(d, "GET", "/api/v1/conversations", SAM_TOKEN)
    eq([c["id"] for c in body["conversations"]], [c_bill], "sam lists billing conversations only")
    st, body = api(d, "GET", "/api/v1/conversations/" + c_tech, SAM_TOKEN)
    eq((st, body["error"]["code"]), (403, "forbidden"), "sam cannot read a tech conversation")
    st, body = api(d, "POST", "/api/v1/conversations/%s/close" % c_tech, SAM_TOKEN)
    eq(st, 403, "sam cannot close a tech conversation")
    st, body = api(d, "POST", "/api/v1/conversations/%s/transfer" % c_bill, SAM_TOKEN,
                   {"queue": "tech"})
    eq(st, 403, "sam cannot transfer into a queue not his")
    st, body = api(d, "POST", "/api/v1/conversations/%s/transfer" % c_bill, SAM_TOKEN,
                   {"agent": "bob"})
    eq(st, 403, "nor to an agent who serves none of his queues")
    st, body = api(d, "POST", "/api/v1/conversations/%s/close" % c_bill, SARA_TOKEN)
    eq(st, 403, "a read token cannot close")
    st, body = api(d, "GET", "/metrics", SAM_TOKEN)
    eq(st, 403, "a supervisor of some queues reads no /metrics (it covers every queue)")
    eq(api(d, "GET", "/metrics", SARA_TOKEN)[0], 200, "a supervisor of every queue does")
    st, body = api(d, "POST", "/api/v1/agents/bob/presence", SAM_TOKEN, {"presence": "away"})
    eq(st, 403, "sam cannot set bob (tech) away")
    eq(api(d, "GET", "/api/v1/conversations/" + c_tech, ROOT_TOKEN)[1]["status"], "assigned",
       "the refused close changed nothing")

    # ---- actions reach the agent's console
    st, body = api(d, "POST", "/api/v1/agents/alice/presence", SAM_TOKEN,
                   {"presence": "away", "reason": "coaching"})
    eq((st, body), (200, {"agent": "alice", "presence": "away"}), "sam sets alice away")
    p = alice.expect("presence")
    eq((p["status"], p["reason"], p.get("by")), ("away", "coaching", "sam/wallboard"),
       "alice's console is told, and by whom")
    wait_for(lambda: {a["id"]: a["presence"] for a in api(d, "GET", "/api/v1/agents", ROOT_TOKEN)[1]
                      ["agents"]}["alice"] == "away", what="alice shown away")

    st, body = api(d, "POST", "/api/v1/conversations/%s/close" % c_bill, SAM_TOKEN)
    eq((st, body), (200, {"closed": True, "conversation": c_bill}), "sam closes alice's conversation")
    f = alice.expect("status")
    eq((f["conversation"], f["status"], f.get("by")), (c_bill, "wrapup", "sam/wallboard"),
       "alice's console moves it to wrap-up")
    st, body = api(d, "POST", "/api/v1/conversations/%s/close" % c_bill, SAM_TOKEN)
    eq((st, body["error"]["code"]), (409, "conflict"), "closing twice: 409")

    history = len(api(d, "GET", "/api/v1/conversations/" + c_tech, ROOT_TOKEN)[1]["messages"])
    st, body = api(d, "POST", "/api/v1/conversations/%s/transfer" % c_tech, ROOT_TOKEN,
                   {"agent": "carol", "note": "customer prefers Carol"})
    eq((st, body), (200, {"transferred": True, "conversation": c_tech}), "admin transfers to carol")
    u = bob.expect("unassigned")
    eq((u["conversation"], u["reason"], u.get("by")), (c_tech, "transferred", "root/ops"),
       "bob's console loses it, told by whom")
    carol = Agent(d, token=CAROL_LOGIN)
    o = carol.expect("offer")
    eq(o["conversation"]["id"], c_tech, "carol is offered the transferred conversation")
    got = carol.accept(o["offer"])
    texts = [m.get("text") for m in got["conversation"]["messages"]]
    check(len(got["conversation"]["messages"]) >= history and "It started yesterday" in texts,
          "the transferred conversation keeps its history: %r" % texts)
    check("customer prefers Carol" in texts, "the transfer note is in it")

    # ---- hostile bodies and paths: clear errors, nothing changes
    hostile = [
        ("POST", "/api/v1/conversations/%s/transfer" % c_tech, b"{not json", 400),
        ("POST", "/api/v1/conversations/%s/transfer" % c_tech, b"[1,2]", 400),
        ("POST", "/api/v1/conversations/%s/transfer" % c_tech, {"queue": 5}, 400),
        ("POST", "/api/v1/conversations/%s/transfer" % c_tech, b'{"queue":"te\\u0000ch"}', 400),
        ("POST", "/api/v1/conversations/%s/transfer" % c_tech, {"queue": "tech", "agent": "bob"}, 400),
        ("POST", "/api/v1/conversations/%s/transfer" % c_tech, {"queue": "nowhere"}, 400),
        ("POST", "/api/v1/conversations/%s/transfer" % c_tech, {"agent": "sam"}, 400),
        ("POST", "/api/v1/conversations/%s/transfer" % c_tech, {"queue": "tech", "note": "x" * 5000}, 400),
        ("POST", "/api/v1/conversations/%s/explode" % c_tech, None, 404),
        ("POST", "/api/v1/conversations/c_nope/close", None, 404),
        ("POST", "/api/v1/conversations/c_00000000000000000000ab/close", None, 404),
        ("POST", "/api/v1/conversations/%s/close/more" % c_tech, None, 404),
        ("GET", "/api/v1/conversations/%s/close" % c_tech, None, 405),
        ("POST", "/api/v1/agents/alice/presence", {"presence": "asleep"}, 400),
        ("POST", "/api/v1/agents/alice/presence", {"presence": "away", "reason": "r" * 300}, 400),
        ("POST", "/api/v1/agents/nobody/presence", {"presence": "away"}, 404),
        ("POST", "/api/v1/agents/sam/presence", {"presence": "away"}, 404),
        ("POST", "/api/v1/agents/" + "a" * 200 + "/presence", {"presence": "away"}, 404),
        ("POST", "/api/v1/agents/alice", None, 404),
        ("GET", "/api/v1/agents/alice/presence", None, 405),
        ("POST", "/api/v1/drain", {"draining": "yes"}, 400),
        ("GET", "/api/v1/audit?before=12", None, 400),
        ("GET", "/api/v1/audit?before=1-2-3", None, 400),
        ("GET", "/api/v1/audit?limit=0", None, 400),
        ("GET", "/api/v1/audit?limit=100000", None, 400),
    ]
    for method, path, body, want in hostile:
        st, reply = api(d, method, path, ROOT_TOKEN, body)
        eq(st, want, "%s %s %r: %d" % (method, path[:60], body if not isinstance(body, bytes) else body[:30], want))
        check(isinstance(reply, dict) and "error" in reply and reply["error"].get("message"),
              "with a clear error: %r" % (reply,))
    eq(api(d, "GET", "/api/v1/conversations/" + c_tech, ROOT_TOKEN)[1]["agent"], "carol",
       "nothing changed by the hostile requests")
    check(d.alive(), "the daemon runs on")

    # ---- drain
    st, body = api(d, "POST", "/api/v1/drain", ROOT_TOKEN)
    eq((st, body["draining"]), (200, True), "drain")
    st, h = d.http("GET", "/healthz", auth=False)
    eq((st, h["status"]), (503, "draining"), "/healthz says draining")
    eq(api(d, "GET", "/api/v1/queues", ROOT_TOKEN)[0], 200, "drained, the node serves on: the API")
    eve = Visitor(d, name="Eve")
    eq(eve.say("Still open while drained?")["type"], "ack", "and a visitor's message is taken")
    eve.close()
    st, body = api(d, "POST", "/api/v1/drain", ROOT_TOKEN, {"draining": False})
    eq((st, body["draining"]), (200, False), "undrain")
    eq(d.http("GET", "/healthz", auth=False)[0], 200, "/healthz ok again")

    st, body = api(d, "POST", "/api/v1/reload", ROOT_TOKEN)
    eq(st, 200, "admin reloads")

    # ---- the audit: every action and refusal, newest first, paged
    def audit(query=""):
        st, body = api(d, "GET", "/api/v1/audit" + query, ROOT_TOKEN)
        eq(st, 200, "audit read")
        return body
    entries = []
    page = audit("?limit=3")
    while True:
        entries += page["entries"]
        if not page["next"]:
            break
        check(len(page["entries"]) == 3, "a full page before a next")
        page = audit("?limit=3&before=" + page["next"])
    ids = [e["id"] for e in entries]
    eq(len(ids), len(set(ids)), "paging lists each entry once")
    check(all(entries[i]["at"] >= entries[i + 1]["at"] for i in range(len(entries) - 1)),
          "newest first")
    seen = [(e["who"], e["action"], e["target"], e["result"]) for e in reversed(entries)]
    log("audit: %r" % seen)
    for want in [
        ("carol", "/api/v1/queues", None, "forbidden"),
        ("sara/screen", "/api/v1/drain", None, "forbidden"),
        ("sam/wallboard", "conversation.close", c_tech, "forbidden"),
        ("sam/wallboard", "conversation.read", c_tech, "forbidden"),
        ("sam/wallboard", "/metrics", None, "forbidden"),
        ("sara/screen", "/api/v1/conversations/%s/close" % c_bill, None, "forbidden"),
        ("sam/wallboard", "conversation.transfer", c_bill, "forbidden"),
        ("sam/wallboard", "agent.presence", "bob", "forbidden"),
        ("sam/wallboard", "agent.presence", "alice", "ok"),
        ("sam/wallboard", "conversation.close", c_bill, "ok"),
        ("sam/wallboard", "conversation.close", c_bill, "conflict"),
        ("root/ops", "conversation.transfer", c_tech, "ok"),
        ("root/ops", "drain", "test", "ok"),
        ("root/ops", "undrain", "test", "ok"),
        ("root/ops", "reload", None, "ok"),
    ]:
        check(want in seen, "audited: %r" % (want,))
    tr = [e for e in entries if e["action"] == "conversation.transfer" and e["result"] == "ok"][0]
    eq(tr["detail"], {"agent": "carol", "note": True, "queue_was": "tech"},
       "the transfer's detail: the target, that a note was left (not its text), the queue")
    eq(tr["via"], "api", "through the API")
    check("customer prefers Carol" not in json.dumps(entries), "no customer text in the audit")
    check(sam.none_of("offer", wait=0.2), "sam still takes nothing")

    d.stop()
    redis.stop()


if __name__ == "__main__":
    omrtest.run(test)
