#!/usr/bin/python3
"""End-to-end test of attaching a file in the agent console, in a real
browser (tests/e2e/attach_e2e.mjs, headless Chromium): alice accepts a web
chat visitor, picks a PDF with the paper-clip button (it uploads over her
console's websocket, with its name and size, then "ready"), sends it with
a text; the visitor's demo page (the widget) shows the file as a link whose bytes are
the PDF's. A file of a type not taken is refused in the reply box with the
server's reason. The daemon keeps running; the admin API shows the stored
reply with its attachment."""

import e2e_harness  # first: it puts tests/integration (omrtest) on sys.path
import omrtest
from omrtest import Daemon, Redis, check, eq

ROUTING = e2e_harness.routing(rules="  - name: any\n    queue: general\n")


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=ROUTING, agents=omrtest.quick_agents()).start()
    e2e_harness.run_script("attach_e2e.mjs", 120, E2E_BASE="http://127.0.0.1:%d" % d.ports["edge"])
    check(d.alive(), "the daemon is still running")
    convs = d.api("/api/v1/conversations?channel=webchat&limit=10")["conversations"]
    atts = [a for c in convs for m in d.conversation(c["id"])["messages"]
            for a in m.get("attachments", [])]
    eq([(a["name"], a["type"]) for a in atts], [("quote.pdf", "application/pdf")],
       "the admin API shows the reply's stored PDF")
    d.stop()
    redis.stop()


if __name__ == "__main__":
    e2e_harness.main(test)
