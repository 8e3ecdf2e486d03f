"""What the media tests share (test_media.py, test_media_social.py): the
Messenger plugin's configuration against a fake Graph API, an agent's
upload over its websocket (docs/agent-protocol.md#files) and fetching a
signed link."""
import base64
import http.client

import json

from fakes import WA_TOKEN, meta_signature
from omrtest import eq, BUILDDIR

META_SECRET = "test-meta-app-secret"
PAGE_ID = "105000000000001"


def messenger_plugin(base, name="messenger", page_id=PAGE_ID):
    """The Messenger (or, name "instagram", the Instagram) plugin."""
    return """  - name: %s
    path: %s/plugins/social/.libs/%s.so
    config:
      page_id: "%s"
      app_secret: %s
      verify_token: v-token
      access_token: %s
      api_base: %s
""" % (name, BUILDDIR, name, page_id, META_SECRET, WA_TOKEN, base)


def upload(agent, conv, data, name="offerte.pdf", uid="u1", size=None, chunk=20000):
    """An upload over the agent websocket; the last frame it got."""
    agent.send({"type": "upload", "upload": uid, "conversation": conv, "name": name,
                "size": len(data) if size is None else size})
    r = agent.expect("upload", "error")
    if r["type"] == "error":
        return r
    eq((r["status"], r["chunk_max"] >= chunk), ("ready", True), "the upload may start")
    for off in range(0, len(data), chunk):
        agent.send({"type": "upload_chunk", "upload": uid,
                    "data": base64.b64encode(data[off:off + chunk]).decode()})
        r = agent.expect("upload_progress", "uploaded", "error")
        if r["type"] == "error":
            return r
    return r


def fetch_link(d, url):
    c = http.client.HTTPConnection("127.0.0.1", d.ports["edge"], timeout=10)
    c.request("GET", url)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, r.getheader("Content-Type"), body


def meta_hook(d, channel, ev):
    """A Meta webhook (messenger or instagram), signed: (status, body)."""
    raw = json.dumps(ev).encode()
    return d.http("POST", "/webhooks/" + channel, body=raw, auth=False, port=d.ports["webhooks"],
                  headers={"Content-Type": "application/json",
                           "X-Hub-Signature-256": meta_signature(META_SECRET, raw)})
