"""Directory log-in (issue 16) against a real OpenLDAP server (Debian's
slapd) started here with a small directory, the real daemon and real
consoles over websockets.

- a user the directory accepts logs in by a bind; their roles come from
  their groups (welcome.roles), an agent is offered conversations with the
  skills of their group; a group no role maps to logs nobody in;
- a wrong password is refused, and the shared throttle (login_guard.lua)
  locks a directory account as it locks a local one;
- names with LDAP filter metacharacters (* ( ) \\) match nobody else
  (RFC 4515 escaping);
- an empty password is refused before anything reaches the server;
- local users come first: a local name is never checked by the directory;
- StartTLS and ldaps:// with a test CA; a CA that did not sign the
  server's certificate makes the directory unavailable;
- the directory stopped: a clear "directory_unavailable" error and a log
  line, and local users still log in;
- neither the service account's nor a user's password is ever in the
  daemon's log (at debug level);
- `omniroute -t` checks the section with file and line.
"""
import os
import re
import select
import socket
import time
import subprocess

import omrtest
from omrtest import check, eq, log, Agent, Daemon, Redis, Slapd, Visitor, wait_for
from omrtest import admission, quick_agents

S = Slapd.SUFFIX
SERVICE_PW = "svc-Pa55-never-logged"
PASSWORDS = {"dave": "dave-Pa55-never-logged", "sue": "sue-Pa55-never-logged",
             "eve": "eve-Pa55-never-logged", "lena": "lena-Pa55-never-logged",
             "alice": "alice-in-the-directory", "fred": "fred-Pa55-never-logged"}
FAILURES = 4  # admission.login_failures: a pair is locked after as many

LDIF = """dn: %(s)s
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,%(s)s
objectClass: organizationalUnit
ou: people

dn: ou=groups,%(s)s
objectClass: organizationalUnit
ou: groups

dn: cn=omniroute,%(s)s
objectClass: person
cn: omniroute
sn: service
userPassword: %(svc)s
""" % {"s": S, "svc": SERVICE_PW}

for uid, pw in PASSWORDS.items():
    LDIF += """
dn: uid=%(u)s,ou=people,%(s)s
objectClass: inetOrgPerson
uid: %(u)s
cn: %(U)s Directory
sn: %(U)s
userPassword: %(p)s
""" % {"u": uid, "U": uid.capitalize(), "s": S, "p": pw}
    if uid == "sue":  # her groups on her entry too (as memberOf lists them)
        LDIF += "seeAlso: cn=leads,ou=groups,%s\n" % S

LDIF += """
dn: cn=support,ou=groups,%(s)s
objectClass: groupOfNames
cn: support
member: uid=dave,ou=people,%(s)s
member: uid=lena,ou=people,%(s)s
member: uid=alice,ou=people,%(s)s

dn: cn=leads,ou=groups,%(s)s
objectClass: groupOfNames
cn: leads
member: uid=sue,ou=people,%(s)s

dn: cn=others,ou=groups,%(s)s
objectClass: groupOfNames
cn: others
member: uid=eve,ou=people,%(s)s
""" % {"s": S}


GROUP_SEARCH = """  group_base: "ou=groups,%(s)s"
  group_filter: "(member={dn})"
""" % {"s": S}


def directory(url, extra="", groups=GROUP_SEARCH):
    return """directory:
  url: %(url)s
  bind_dn: "cn=omniroute,%(s)s"
  bind_password: {file: service.pw}
  base: "ou=people,%(s)s"
  filter: "(&(objectClass=inetOrgPerson)(uid={user}))"
%(groups)s  network_timeout: 2s
  timeout: 3s
%(extra)s  groups:
    "cn=support,ou=groups,%(s)s": { roles: [agent], skills: { general: 3 }, capacity: { webchat: 2 }, languages: [en] }
    "cn=leads,ou=groups,%(s)s": { roles: [supervisor] }
""" % {"url": url, "s": S, "extra": extra, "groups": groups}


def auth(d, agent, password, source=None):
    """One log-in on a new connection: the welcome or error frame."""
    ws = d.ws("/agent", "omniroute.agent.v1", source=source)
    try:
        ws.send({"type": "auth", "agent": agent, "password": password})
        while True:
            m = ws.recv(10)
            if m.get("type") in ("welcome", "error"):
                return m
    finally:
        ws.close()


def refused(w, what, code="auth_failed"):
    eq(w.get("type"), "error", what + ": refused")
    eq(w.get("code"), code, what + ": code")


def test_login(tmp, d, slapd):
    w = auth(d, "dave", PASSWORDS["dave"])
    eq(w.get("type"), "welcome", "dave logs in through the directory")
    eq(w.get("agent", {}).get("id"), "dave", "as dave")
    eq(w.get("roles"), ["agent"], "an agent by the support group")
    eq(w.get("agent", {}).get("name"), "Dave Directory", "named by the directory")
    w = auth(d, "sue", PASSWORDS["sue"])
    eq(w.get("type"), "welcome", "sue logs in through the directory")
    eq(w.get("roles"), ["supervisor"], "a supervisor by the leads group")
    refused(auth(d, "eve", PASSWORDS["eve"]), "a user of no mapped group")
    w = auth(d, "fred", PASSWORDS["fred"])
    eq(w.get("type"), "welcome", "fred (an entry without password) logs in by the directory")
    eq(w.get("roles"), ["supervisor"], "with the roles of his entry, though in no group")
    refused(auth(d, "dave", "not-daves-password"), "a wrong password")
    refused(auth(d, "nobody", "whatever-password"), "a user the directory does not know")
    # a local user comes first: the directory's password for alice is no good
    refused(auth(d, "alice", PASSWORDS["alice"]), "alice's directory password")
    eq(auth(d, "alice", "alice").get("type"), "welcome", "alice's local password")

    log("a directory agent is offered conversations by their group's skills")
    dave = Agent(d, "dave", PASSWORDS["dave"])
    eq(dave.welcome.get("type"), "welcome", "dave again")
    v = Visitor(d, name="Vera")
    v.say("hello, a question")
    offer = dave.expect("offer", timeout=15)
    check(offer.get("conversation", {}).get("id"), "dave is offered the conversation")
    st, body = d.http("GET", "/api/v1/agents")
    check("dave" in [a["id"] for a in body.get("agents", [])],
          "the admin API lists dave once he logged in")
    dave.accept(offer["offer"])
    # the router has built its list of who takes web chats (dave); lena, of
    # the same group, logs in for the first time: she is in it from now
    lena = Agent(d, "lena", PASSWORDS["lena"])
    eq(lena.welcome.get("type"), "welcome", "lena logs in for the first time")
    dave.presence("away")
    w = Visitor(d, name="Walt")
    c2 = w.say("another question")["conversation"]
    offer = lena.expect("offer", timeout=15)
    eq(offer.get("conversation", {}).get("id"), c2,
       "a directory agent who logs in after the first offers is offered too")
    lena.close()
    dave.close()
    v.close()
    w.close()


def answer(ws):
    """the first welcome or error on a connection"""
    while True:
        m = ws.recv()
        if m.get("type") in ("welcome", "error"):
            return m


def test_session(tmp, d, slapd):
    log("a directory user's console session token logs in again without the directory")
    dave = Agent(d, "dave", PASSWORDS["dave"], available=False)
    tok = dave.expect("session")["session"]
    ws = d.ws("/agent", "omniroute.agent.v1")
    ws.send({"type": "auth", "session": tok})
    m = answer(ws)
    eq((m.get("type"), m.get("agent", {}).get("id")), ("welcome", "dave"),
       "the session token of a directory log-in logs in again (%r)" % m.get("code"))
    ws.close()
    dave.send({"type": "logout"})
    dave.expect("logged_out")
    ws = d.ws("/agent", "omniroute.agent.v1")
    ws.send({"type": "auth", "session": tok})
    eq(answer(ws).get("code"), "session_expired",
       "after the logout it is refused")
    ws.close()
    # an admin's revoke reaches a directory user's tokens, also for a user
    # this node has not met (they may have logged in elsewhere)
    dave = Agent(d, "dave", PASSWORDS["dave"], available=False)
    tok = dave.expect("session")["session"]
    st, body = d.http("DELETE", "/api/v1/agents/dave/sessions")
    eq(st, 200, "dave's sessions revoked: %r" % body)
    ws = d.ws("/agent", "omniroute.agent.v1")
    ws.send({"type": "auth", "session": tok})
    eq(answer(ws).get("code"), "session_expired", "the revoked token is refused")
    ws.close()
    st, body = d.http("DELETE", "/api/v1/agents/never.met/sessions")
    eq(st, 200, "a directory id not met on this node can be revoked too: %r" % body)


def agent_ids(node):
    st, body = node.http("GET", "/api/v1/agents")
    return [a["id"] for a in body.get("agents", [])] if st == 200 else []


def test_nodes(tmp, d, slapd, redis):
    log("a directory user is known on every node: a session resumed on another node, "
        "nodes running when they log in, nodes started later")
    key = "omr:{main}:agents:directory"
    dave = Agent(d, "dave", PASSWORDS["dave"], available=False)
    tok = dave.expect("session")["session"]
    check(redis.cmd("HEXISTS", key, "dave") == 1, "Redis keeps dave's name and groups")
    # node b cannot read them when it starts (the key holds garbage meanwhile)
    redis.cmd("RENAME", key, key + ":saved")
    redis.cmd("SET", key, "not a hash")
    sub = os.path.join(tmp, "nodeb")
    os.makedirs(sub)
    b = start(sub, redis, directory(slapd.url()), node="b")
    try:
        wait_for(lambda: "directory users were not read" in b.log_text(),
                 what="node b says it could not read them")
        redis.cmd("DEL", key)
        redis.cmd("RENAME", key + ":saved", key)
        check("dave" not in agent_ids(b), "node b does not know dave yet")
        ws = b.ws("/agent", "omniroute.agent.v1")
        ws.send({"type": "auth", "session": tok})
        m = answer(ws)
        eq((m.get("type"), m.get("agent", {}).get("id"), m.get("roles")),
           ("welcome", "dave", ["agent"]),
           "dave's session from node a resumes on node b, his roles from his groups (%r)" %
           m.get("code"))
        ws.close()
        check("dave" in agent_ids(b), "node b knows dave from then on")
        # sue logs in on node a while b runs: the bus tells b
        sue = Agent(d, "sue", PASSWORDS["sue"], available=False)
        wait_for(lambda: "sue" in agent_ids(b), what="node b learns sue from the bus")
        sue.close()
    finally:
        eq(b.stop(), 0, "node b stops cleanly")
    sub = os.path.join(tmp, "nodec")
    os.makedirs(sub)
    c = start(sub, redis, directory(slapd.url()), node="c")
    try:
        # the node reads them from Redis after it is up (omr_agents_dir_start)
        wait_for(lambda: re.search(r"\d+ directory user\(s\) known from Redis", c.log_text()),
                 what="node c read the directory users Redis keeps")
        ids = agent_ids(c)
        check("dave" in ids and "sue" in ids, "node c, started later, knows both (%r)" % ids)
    finally:
        eq(c.stop(), 0, "node c stops cleanly")
    dave.close()


def test_disabled(tmp, d, slapd):
    log("an entry with enabled: false is nobody, also to the directory")
    path = os.path.join(tmp, "agents.yaml")
    with open(path) as f:
        good = f.read()
    sue = Agent(d, "sue", PASSWORDS["sue"], available=False)
    eq(sue.welcome.get("type"), "welcome", "sue logged in")
    with open(path, "w") as f:
        f.write(good.replace("agents:\n", "agents:\n  - id: sue\n    enabled: false\n", 1))
    st, _ = d.http("POST", "/api/v1/reload")
    eq(st, 200, "reload with sue disabled")
    eq(sue.expect("error").get("code"), "revoked", "sue is logged out")
    refused(auth(d, "sue", PASSWORDS["sue"], source="127.0.0.4"),
            "sue, disabled in the file, by her directory password")
    refused(auth(d, "SUE", PASSWORDS["sue"], source="127.0.0.4"),
            "and by another spelling of her name")
    with open(path, "w") as f:
        f.write(good)
    st, _ = d.http("POST", "/api/v1/reload")
    eq(st, 200, "reload with sue enabled again")
    eq(auth(d, "sue", PASSWORDS["sue"], source="127.0.0.4").get("type"), "welcome",
       "sue logs in again")
    sue.close()


def test_reload(tmp, d, slapd):
    log("a reload describes directory users again from the new groups")
    dave = Agent(d, "dave", PASSWORDS["dave"])
    sue = Agent(d, "sue", PASSWORDS["sue"], available=False)
    eq(sue.welcome.get("type"), "welcome", "sue logged in")
    st, _ = d.http("POST", "/api/v1/reload")
    eq(st, 200, "reload with the same groups")
    eq(dave.presence("away").get("status"), "away", "dave stays logged in")
    path = os.path.join(tmp, "agents.yaml")
    with open(path) as f:
        good = f.read()
    with open(path, "w") as f:
        f.write("\n".join(l for l in good.split("\n") if "cn=leads" not in l))
    st, _ = d.http("POST", "/api/v1/reload")
    eq(st, 200, "reload without the leads group")
    eq(sue.expect("error").get("code"), "revoked", "sue is logged out: no group maps her")
    eq(dave.presence("available").get("status"), "available", "dave stays logged in")
    refused(auth(d, "sue", PASSWORDS["sue"], source="127.0.0.3"), "sue, in no mapped group")
    # alice logs in with her local password; then agents.yaml makes her a
    # directory user (no password): her session is not the directory's
    alice = Agent(d, "alice", "alice", available=False)
    atok = alice.expect("session")["session"]
    alice.close()
    with open(path, "w") as f:
        f.write(re.sub(r'(- id: alice\n(?:    .*\n)*?)    password: "[^"]*"\n', r"\1", good))
    st, _ = d.http("POST", "/api/v1/reload")
    eq(st, 200, "reload: alice without a local password (a directory user)")
    ws = d.ws("/agent", "omniroute.agent.v1")
    ws.send({"type": "auth", "session": atok})
    eq(answer(ws).get("code"), "session_expired",
       "her session from the local password does not log her in as a directory user")
    ws.close()
    with open(path, "w") as f:
        f.write(good)
    st, _ = d.http("POST", "/api/v1/reload")
    eq(st, 200, "reload with the leads group again")
    eq(auth(d, "sue", PASSWORDS["sue"], source="127.0.0.3").get("roles"), ["supervisor"],
       "sue is a supervisor again")
    dave.close()
    sue.close()


def test_injection(tmp, d, slapd):
    log("names with filter metacharacters match nobody else (RFC 4515)")
    dave_binds = lambda: slapd.log_text().count('BIND dn="uid=dave,ou=people,%s" method=' % S)
    before = dave_binds()
    for name in ("dav*", "*", "dave)(uid=*", "d\\61ve", "dave)(|(uid=*"):
        refused(auth(d, name, PASSWORDS["dave"], source="127.0.0.9"), "user %r" % name)
    text = slapd.log_text()
    eq(dave_binds(), before, "no bind as dave for another name")
    check("uid=dav\\2A" in text or "uid=dav\\2a" in text, "the * went escaped: %s" %
          [l for l in text.splitlines() if "SRCH" in l and "dav" in l][-3:])


def test_empty_password(tmp, d, slapd):
    log("an empty password is refused before anything reaches the directory")
    binds = lambda: slapd.log_text().count(" method=128")  # one line per simple bind
    before = binds()
    refused(auth(d, "dave", ""), "an empty password")
    # the same log-in with a password binds: the log is read after that
    refused(auth(d, "dave", "a-wrong-one"), "a wrong password")
    wait_for(lambda: binds() >= before + 2, what="the service's and dave's binds")
    eq(binds(), before + 2, "the empty password made no bind at all")


def test_lockout(tmp, d, slapd):
    log("failed directory binds count in the shared throttle")
    # the failures spelled in other cases count for the same account
    for i in range(FAILURES):
        name = ("lena", "LENA", "Lena")[i % 3]
        refused(auth(d, name, "wrong-%d" % i, source="127.0.0.7"), "lena's failure %d" % i)
    w = auth(d, "lena", PASSWORDS["lena"], source="127.0.0.7")
    refused(w, "lena with her password, locked", code="locked")
    keys = d.redis.cmd("KEYS", "*login:pair:lena:*")
    check(keys, "the lock is in Redis, shared: %r" % keys)


def test_tls(tmp, d, slapd, redis):
    log("StartTLS and ldaps:// with the test CA")
    # ldaps:// reads the groups from an attribute of the user's entry
    for name, url, extra, groups in (
            ("starttls", slapd.url(), "  starttls: true\n  ca_file: %s\n" % slapd.ca_file,
             GROUP_SEARCH),
            ("ldaps", slapd.url(True), "  ca_file: %s\n" % slapd.ca_file,
             "  group_attribute: seeAlso\n")):
        sub = os.path.join(tmp, name)
        os.makedirs(sub)
        t = start(sub, redis, directory(url, extra, groups), name)
        w = auth(t, "sue", PASSWORDS["sue"])
        eq(w.get("type"), "welcome", name + ": sue logs in")
        eq(w.get("roles"), ["supervisor"], name + ": a supervisor")
        eq(t.stop(), 0, name + ": the daemon stops cleanly")
    log("a CA that did not sign the server's certificate: unavailable")
    sub = os.path.join(tmp, "badca")
    os.makedirs(sub)
    other = os.path.join(sub, "other-ca.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=another CA", "-keyout", os.path.join(sub, "k"), "-out", other],
                   check=True, capture_output=True)
    t = start(sub, redis, directory(slapd.url(True), "  ca_file: %s\n" % other), "badca")
    refused(auth(t, "sue", PASSWORDS["sue"]), "an untrusted certificate",
            code="directory_unavailable")
    eq(t.stop(), 0, "badca: the daemon stops cleanly")


def test_down(tmp, d, slapd):
    log("the directory stopped: a clear error, local users still log in")
    slapd.stop()
    w = auth(d, "dave", PASSWORDS["dave"], source="127.0.0.5")
    refused(w, "dave while the directory is down", code="directory_unavailable")
    check("directory" in w.get("message", ""), "the message says so: %r" % w)
    wait_for(lambda: "directory unavailable" in d.log_text(), what="the log line")
    eq(auth(d, "alice", "alice", source="127.0.0.5").get("type"), "welcome",
       "alice (local) logs in")
    eq(auth(d, "bob", "bob", source="127.0.0.5").get("type"), "welcome", "bob (local) logs in")

    log("a directory that accepts connections but never answers: the timeout")
    mute = socket.socket()
    mute.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    mute.bind(("127.0.0.1", slapd.port))
    mute.listen(16)  # connections wait in the backlog, nobody reads them
    try:
        w = auth(d, "dave", PASSWORDS["dave"], source="127.0.0.5")
        refused(w, "dave while the directory does not answer", code="directory_unavailable")
        wait_for(lambda: d.log_text().count("directory unavailable") >= 2,
                 what="a log line for the timeout")
        eq(auth(d, "alice", "alice", source="127.0.0.5").get("type"), "welcome",
           "alice (local) logs in after it")

        # while a bind hangs, local users are not held behind it: the
        # directory has a lane of its own on the login pool
        held = d.ws("/agent", "omniroute.agent.v1", source="127.0.0.6")
        try:
            held.send({"type": "auth", "agent": "dave", "password": PASSWORDS["dave"]})
            time.sleep(0.3)  # the bind has started and waits for the silent directory
            eq(auth(d, "alice", "alice", source="127.0.0.5").get("type"), "welcome",
               "alice (local) logs in while dave's bind hangs")
            eq(auth(d, "bob", "bob", source="127.0.0.5").get("type"), "welcome",
               "and bob")
            eq(select.select([held.sock], [], [], 0)[0], [],
               "both answered while dave's bind still waits for the directory")
            m = held.recv(10)
            while m.get("type") not in ("welcome", "error"):
                m = held.recv(10)
            eq(m.get("code"), "directory_unavailable",
               "dave's bind ended by its timeout, after the local log-ins")
        finally:
            held.close()
    finally:
        mute.close()


def test_bad_config(tmp, redis):
    log("-t: the directory section is checked, with file and line")
    sub = os.path.join(tmp, "bad")
    os.makedirs(sub)
    bad = quick_agents() + """directory:
  url: http://127.0.0.1:1
  starttls: yes
  ca_file: /nonexistent/ca.pem
  bind_dn: "cn=x"
  base: "ou=people,dc=x"
  filter: "(uid=nobody)"
  group_base: "ou=groups,dc=x"
  group_filter: "(member=x"
  groups:
    "cn=a,dc=x": { roles: [wizard] }
    "cn=b,dc=x": { skills: { general: 3 } }
"""
    d = Daemon(sub, redis=redis, agents=bad)
    r = subprocess.run([omrtest.DAEMON, "-t", "-c", d.conf], capture_output=True, text=True)
    check(r.returncode != 0, "-t fails")
    log(r.stderr)
    lines = bad.split("\n")
    at = lambda start: 1 + next(i for i, l in enumerate(lines) if l.startswith(start))
    for line, what in ((at("  url:"), "url: expected ldap://"),
                       (at("  bind_dn:"), "bind_password"),
                       (at("  ca_file:"), "ca_file: cannot read"),
                       (at("  filter:"), "filter: one parenthesised"),
                       (at("  group_filter:"), "group_filter"),
                       (at('    "cn=a'), "unknown role 'wizard'"),
                       (at('    "cn=b'), "roles")):
        check(("agents.yaml:%d:" % line) in r.stderr and what in r.stderr,
              "-t names line %d (%s)" % (line, what))


def start(tmp, redis, section, node="test"):
    with open(os.path.join(tmp, "service.pw"), "w") as f:
        f.write(SERVICE_PW + "\n")
    fred = "  - id: fred\n    roles: [supervisor]\n"  # no password: the directory's
    d = Daemon(tmp, redis=redis, agents=quick_agents() + fred + section, node=node,
               admission=admission(login="{rate_per_ip: 1000, burst_per_ip: 1000}",
                                   login_failures=str(FAILURES)))
    d.start()
    return d


def test(tmp):
    slapd = Slapd(tmp, LDIF)
    redis = Redis(tmp)
    d = start(tmp, redis, directory(slapd.url()))
    d.redis = redis
    r = subprocess.run([omrtest.DAEMON, "-t", "-c", d.conf], capture_output=True, text=True)
    eq(r.returncode, 0, "-t accepts the directory: %s" % r.stderr)
    test_login(tmp, d, slapd)
    test_session(tmp, d, slapd)
    test_nodes(tmp, d, slapd, redis)
    test_disabled(tmp, d, slapd)
    test_reload(tmp, d, slapd)
    test_injection(tmp, d, slapd)
    test_empty_password(tmp, d, slapd)
    test_lockout(tmp, d, slapd)
    test_tls(tmp, d, slapd, redis)
    test_down(tmp, d, slapd)
    test_bad_config(tmp, redis)
    text = d.log_text()
    for sub in ("starttls", "ldaps", "badca"):
        with open(os.path.join(tmp, sub, "daemon-%s.log" % sub), errors="replace") as f:
            text += f.read()
    for secret in [SERVICE_PW] + list(PASSWORDS.values()):
        check(secret not in text, "not in the daemon's log: the password %s..." % secret[:4])
    eq(d.stop(), 0, "the daemon stops cleanly")


if __name__ == "__main__":
    omrtest.run(test)
