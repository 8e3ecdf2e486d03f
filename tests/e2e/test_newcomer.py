#!/usr/bin/python3
"""What a newcomer does first (issue 17's "done when"), in a real browser.

The shipped configuration (conf/routing.yaml, conf/agents.yaml,
conf/canned.yaml, the faqbot of conf/faqbot.yaml), as `./quickstart run`
starts it, and a web page that is README.md's one line (the widget's
<script> tag, read from the README itself, with this daemon's port for
8080): bob logs in to the console and goes available, the visitor opens
the widget and asks about their router, bob accepts, types /hello, picks the
shipped greeting with Enter and sends it; the visitor reads it in the
widget. The conversation then holds the greeting once, with bob's name
filled in (the visitor gave none: "customer").
"""

import http.server
import os
import re
import threading

import e2e_harness  # first: it puts tests/integration (omrtest, fakes) on sys.path
from e2e_harness import BUILDDIR, SRCDIR
from omrtest import Daemon, Redis, check, eq, log

QUESTION = "Hello, my router keeps dropping the connection"


def shipped(name):
    with open(os.path.join(SRCDIR, "conf", name)) as f:
        return f.read()


def readme_line():
    """The README's one-line page: the widget's script tag."""
    with open(os.path.join(SRCDIR, "README.md")) as f:
        m = re.search(r"`(<script src=\"http://localhost:8080/widget/chat\.js\"[^`]*</script>)`",
                      f.read())
    check(m is not None, "README.md shows the widget's one-line page")
    return m.group(1)


class OnePage:
    """A web site whose page is exactly the README's line."""

    def __init__(self, body):
        page = body.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                ok = self.path == "/"
                self.send_response(200 if ok else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page) if ok else 0))
                self.end_headers()
                if ok:
                    self.wfile.write(page)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = "http://127.0.0.1:%d/" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def test(tmp):
    with open(os.path.join(tmp, "canned.yaml"), "w") as f:
        f.write(shipped("canned.yaml"))
    bot = """  - name: faqbot
    path: %s/plugins/faqbot/.libs/faqbot.so
    config_file: %s/conf/faqbot.yaml
""" % (BUILDDIR, SRCDIR)
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=shipped("routing.yaml"), agents=shipped("agents.yaml"),
               extra_plugins=bot, conf_extra="canned: canned.yaml\n").start()
    line = readme_line().replace("localhost:8080", "127.0.0.1:%d" % d.ports["edge"])
    log("the page: %s" % line)
    site = OnePage(line + "\n")
    try:
        e2e_harness.run_script("newcomer_e2e.mjs", 240,
                               E2E_BASE="http://127.0.0.1:%d" % d.ports["edge"],
                               E2E_PAGE=site.base, E2E_QUESTION=QUESTION)
    finally:
        site.close()

    st, convs = d.http("GET", "/api/v1/conversations?channel=webchat")
    eq(st, 200, "the admin API lists the web chat conversations")
    items = convs["conversations"]
    eq(len(items), 1, "the visitor's chat is one conversation")
    c = d.conversation(items[0]["id"])
    eq(c.get("agent"), "bob", "bob has it (the shipped technical rule)")
    out = [m["text"] for m in c["messages"] if m["direction"] == "out"]
    greeting = [t for t in out
                if re.match(r"^Hello \S+, this is Bob\. How can I help you\?$", t)]
    eq(len(greeting), 1, "the shipped greeting, filled in, stored once (%r)" % out)
    ins = [m["text"] for m in c["messages"] if m["direction"] == "in"]
    eq(ins.count(QUESTION), 1, "the visitor's question stored once")


if __name__ == "__main__":
    e2e_harness.main(test)
