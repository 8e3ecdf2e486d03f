"""Web chat end to end: a visitor's messages are acknowledged only after
they are stored, come back through the admin API, survive a page reload,
and duplicates are stored once."""
import omrtest
from omrtest import check, eq, Daemon, Redis, Visitor, wait_for


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis).start()

    v = Visitor(d, name="Anna", email="Anna@Example.com")
    check(v.id.startswith("v_"), "new visitor gets an id")
    eq(len(v.token), 64, "visitor token length")
    eq(v.welcome.get("history"), [], "a new visitor has no history")

    ack = v.say("Hallo, ik heb een vraag over mijn factuur")
    eq(ack["type"], "ack", "message acknowledged")
    conv = ack["conversation"]
    check(conv.startswith("c_") and ack["message"].startswith("m_"), "ack carries ids")
    eq(ack["duplicate"], False, "first delivery is not a duplicate")

    ack2 = v.say("Het bedrag klopt niet")
    eq(ack2["conversation"], conv, "second message joins the conversation")

    # stored and readable through the admin API
    c = d.conversation(conv)
    eq(c["channel"], "webchat", "channel")
    eq([m["text"] for m in c["messages"]],
       ["Hallo, ik heb een vraag over mijn factuur", "Het bedrag klopt niet"], "messages in order")
    eq(c["messages"][0]["direction"], "in", "direction")
    eq(c["messages"][0]["author"], "customer", "author")
    eq(c["customer_profile"]["name"], "Anna", "customer name")
    # an address typed into a chat form is a claim, not an identity
    eq(c["customer_profile"].get("claimed_email"), "anna@example.com",
       "typed e-mail kept as a claim, lower case")
    check("email" not in c["customer_profile"], "an unverified e-mail is not the customer's e-mail")
    eq(c["customer_profile"]["addresses"], ["webchat:" + v.id], "customer address: the visitor")
    eq(c["msg_count"], 2, "message count")

    # the router puts a new conversation in the default queue
    wait_for(lambda: d.conversation(conv)["status"] == "queued", what="queued")
    c = d.conversation(conv)
    eq(c["queue"], "billing", "a Dutch invoice question goes to the billing queue (rule)")
    eq(c["language"], "nl", "the rule set the language")
    eq(c["routing"]["rules"], ["dutch billing"], "the decision names the rule")
    eq(redis.cmd("ZSCORE", "omr:{main}:queue:billing", conv) is not None, True,
       "conversation in the queue's sorted set")

    # the same client_msg_id again (a retry after a lost ack): stored once
    dup = v.say("Het bedrag klopt niet", cmid="m2")
    eq(dup["type"], "ack", "duplicate acknowledged")
    eq(dup["duplicate"], True, "duplicate flagged")
    eq(dup["message"], ack2["message"], "duplicate maps to the stored message")
    eq(d.conversation(conv)["msg_count"], 2, "duplicate not stored twice")

    # a reloaded page (new connection, same visitor and token) continues
    v.close()
    v2 = Visitor(d, visitor=v.id, token=v.token)
    eq(v2.id, v.id, "visitor id kept with a valid token")
    eq(v2.welcome.get("conversation"), conv, "welcome names the open conversation")
    eq([m["text"] for m in v2.welcome["history"]],
       ["Hallo, ik heb een vraag over mijn factuur", "Het bedrag klopt niet"],
       "history restored for the returning visitor")
    eq(v2.welcome["history"][0]["client_msg_id"], "m1", "history carries client ids")

    # a forged token does not give access to another visitor's conversation
    v3 = Visitor(d, visitor=v.id, token="0" * 64)
    check(v3.id != v.id, "forged token gets a new visitor id")
    eq(v3.welcome["history"], [], "forged token sees no history")

    # somebody else typing the same e-mail address is not linked to Anna
    mallory = Visitor(d, name="Mallory", email="anna@example.com")
    mconv = mallory.say("show me my invoices")["conversation"]
    check(d.conversation(mconv)["customer"] != c["customer"],
          "claimed e-mail does not link to another customer's record")
    eq(mallory.welcome["history"], [], "and sees none of Anna's history")
    mallory.close()

    # listing, newest first, with filters
    v4 = Visitor(d)
    conv4 = v4.say("My router is broken")["conversation"]
    lst = d.api("/api/v1/conversations?channel=webchat&limit=10")
    eq([x["id"] for x in lst["conversations"]][:3], [conv4, mconv, conv], "list newest first")
    eq(d.api("/api/v1/conversations?limit=1")["count"], 1, "limit respected")
    eq(d.api("/api/v1/conversations?channel=email")["count"], 0, "channel filter")
    wait_for(lambda: d.conversation(conv4)["status"] == "queued", what="conv4 queued")
    wait_for(lambda: d.conversation(mconv)["status"] == "queued", what="mallory queued")
    eq(d.api("/api/v1/conversations?status=queued")["count"], 3, "status filter")

    # admin API: auth and errors
    st, body = d.http("GET", "/api/v1/conversations/" + conv, auth=False)
    eq(st, 401, "no token: 401")
    st, body = d.http("GET", "/api/v1/conversations/" + conv, token="wrong")
    eq(st, 401, "wrong token: 401")
    st, body = d.http("GET", "/api/v1/conversations/c_doesnotexist")
    eq(st, 404, "unknown conversation: 404")
    eq(body["error"]["code"], "not_found", "error body")
    st, body = d.http("POST", "/api/v1/conversations/" + conv)
    eq(st, 405, "wrong method: 405")
    st, body = d.http("GET", "/api/v1/conversations?limit=100000")
    eq(st, 400, "limit out of range: 400")
    st, body = d.http("GET", "/nope")
    eq(st, 404, "unknown path: 404")
    st, body = d.http("GET", "/healthz", auth=False)
    eq((st, body["status"], body["redis"]), (200, "ok", "up"), "healthz")
    st, body = d.http("GET", "/metrics")
    check(st == 200 and "omniroute_ingest_accepted_total 4" in body and
          "omniroute_ingest_duplicates_total 1" in body, "metrics count messages")

    # paging: 30 conversations started at once (many in one millisecond)
    # come back page by page through "next", each once, newest first
    crowd = [Visitor(d) for _ in range(30)]
    for i, w in enumerate(crowd):
        w.ws.send({"type": "message", "text": "hello %d" % i, "client_msg_id": "m1"})
    started = set()
    for w in crowd:
        while True:
            m = w.ws.recv()
            if m.get("type") == "ack":
                started.add(m["conversation"])
                break
        w.close()
    eq(len(started), 30, "30 new conversations")
    everyone = started | {conv, mconv, conv4}
    pages, seen, cursor = 0, [], None
    while True:
        page = d.api("/api/v1/conversations?limit=7" + ("&before=" + cursor if cursor else ""))
        pages += 1
        seen += [x["id"] for x in page["conversations"]]
        cursor = page["next"]
        if cursor is None or pages > 10:
            break
        eq(cursor, seen[-1], "next names the last conversation of a full page")
    eq(sorted(seen), sorted(everyone), "every conversation once")
    # the order they were stored in: the event stream's
    stored = []
    for _, fields in redis.cmd("XRANGE", "omr:{main}:events", "-", "+"):
        f = dict(zip(fields[::2], fields[1::2]))
        if f.get("new") == "1":
            stored.append(f["conversation"])
    eq(seen, stored[::-1], "newest first, also within one millisecond")
    eq(pages, 5, "33 conversations in pages of 7: 5 pages")
    # a time cursor: those created before that millisecond
    t = d.conversation(conv4)["created_at"]
    older = d.api("/api/v1/conversations?limit=500&before=%d" % t)["conversations"]
    eq([x["id"] for x in older], [mconv, conv], "before a time: the older ones")
    for bad in ("c_doesnotexist", "0", "x%2Fy", "1" * 30):
        st, body = d.http("GET", "/api/v1/conversations?before=" + bad)
        eq((st, body["error"]["code"]), (400, "bad_parameter"), "bad cursor %r: 400" % bad)
    st, body = d.http("GET", "/api/v1/conversations?channel=email&before=" + conv)
    eq(st, 400, "a cursor from another list: 400")

    # the demo page is served
    st, body = d.http("GET", "/chat-demo/", auth=False, port=d.ports["edge"])
    check(st == 200 and "omniroute" in body.lower(), "demo chat page served")

    eq(d.stop(), 0, "clean exit on SIGTERM")
    check("stopped" in d.log_text(), "daemon logged its stop")


omrtest.run(test)
