"""Local fakes of the provider APIs omniroute talks to (the only fakes the
tests use: we cannot reach Meta's Graph API or X's API from here). Each
speaks the provider's documented wire format for the calls omniroute makes,
checks the bearer token, records every request, and can be told to fail the
next requests (e.g. 429 with Retry-After) to exercise the retries."""
import hashlib
import hmac
import http.server
import itertools
import json
import threading
import time

from omrtest import BUILDDIR


def _form_data(content_type, raw):
    """A multipart/form-data body as {"form": {name: (bytes, content type)},
    "filenames": {name: the file part's filename}}."""
    import email
    import email.policy
    msg = email.message_from_bytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw,
                                   policy=email.policy.HTTP)
    out, names = {}, {}
    if not msg.is_multipart():
        return {"form": out, "filenames": names}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        out[name] = (part.get_payload(decode=True), part.get_content_type())
        if part.get_filename() is not None:
            names[name] = part.get_filename()
    return {"form": out, "filenames": names}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _send(self, status, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _send_quietly(self, *a):
        try:
            self._send(*a)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        """Media: the Cloud API's GET /{media-id} (a lookup: {url, ...}),
        the file behind that url (bearer token), and a CDN's file (no
        token), as FakeApi.media holds them."""
        fake = self.server.fake
        req = {"method": "GET", "path": self.path, "auth": self.headers.get("Authorization")}
        with fake.lock:
            fake.requests.append(req)
            failure = fake.get_failures.pop(0) if fake.get_failures else None
        if failure:
            return self._send_quietly(failure, {"error": {"message": "Service unavailable"}})
        status, answer = fake.get(self.path, req["auth"])
        if isinstance(answer, bytes):
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            try:
                self.wfile.write(answer)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        self._send_quietly(status, answer)

    def do_POST(self):
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        req = {"method": "POST", "path": self.path, "auth": self.headers.get("Authorization"),
               "content_type": self.headers.get("Content-Type"), "body": body}
        if (req["content_type"] or "").startswith("multipart/form-data"):
            req["body"] = body = _form_data(req["content_type"], raw)
        with fake.lock:
            fake.requests.append(req)
            failure = fake.failures.pop(0) if fake.failures else None
            delay = fake.delays.pop(0) if fake.delays else 0
        if delay:
            time.sleep(delay)  # a provider that hangs (the caller may be gone by then)
        if failure:
            status, retry_after = failure
            return self._send_quietly(status, {"error": {"message": "Too many requests" if status == 429
                                                 else "Service unavailable", "code": 4}},
                              {"Retry-After": retry_after} if retry_after else None)
        if not fake.authorised(req["auth"], self.path):
            return self._send(401, {"error": {"message": "Invalid OAuth access token",
                                              "type": "OAuthException", "code": 190}})
        status, obj = fake.answer(self.path, body)
        if fake.before_answer:
            fake.before_answer(self.path, body, obj)  # e.g. a status webhook that beats it
        try:
            self._send(status, obj)
        except (BrokenPipeError, ConnectionResetError):
            pass


class FakeApi:
    """A provider API on 127.0.0.1; `base` is what the plugin's api_base is."""

    def __init__(self, token, prefix=""):
        self.token = token
        self.requests = []
        self.failures = []
        self.delays = []
        self.before_answer = None  # fn(path, body, answer) run before answering
        self.get_failures = []     # statuses for the next GETs
        self.media = {}            # media id -> (bytes, mime type) (Graph: GET /{id})
        self.media_url = {}        # media id -> the url its lookup names instead of ours
        self.cdn = {}              # name -> bytes (GET /cdn/{name}, no token)
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.srv.fake = self
        self.base = "http://127.0.0.1:%d%s" % (self.srv.server_address[1], prefix)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def authorised(self, header, path):
        return header == "Bearer " + self.token

    def fail_next(self, n, status=429, retry_after="1"):
        with self.lock:
            self.failures.extend([(status, retry_after)] * n)

    def delay_next(self, seconds):
        with self.lock:
            self.delays.append(seconds)

    def fail_next_get(self, n, status=503):
        with self.lock:
            self.get_failures.extend([status] * n)

    def gets(self, path_part):
        with self.lock:
            return [r for r in self.requests if r["method"] == "GET" and path_part in r["path"]]

    def get(self, path, auth):
        root = self.base[len("http://127.0.0.1:%d" % self.srv.server_address[1]):]
        if path.startswith(root + "/cdn/"):
            name = path[len(root) + 5:]
            return (200, self.cdn[name]) if name in self.cdn else (404, {"error": "no such file"})
        if not self.authorised(auth, path):
            return 401, {"error": {"message": "Invalid OAuth access token", "code": 190}}
        if path.startswith(root + "/media-file/"):
            mid = path[len(root) + 12:]
            return (200, self.media[mid][0]) if mid in self.media else (404, {"error": "gone"})
        mid = path[len(root) + 1:]
        if mid in self.media:
            data, mime = self.media[mid]
            return 200, {"messaging_product": "whatsapp", "id": mid, "mime_type": mime,
                         "sha256": hashlib.sha256(data).hexdigest(), "file_size": len(data),
                         "url": self.media_url.get(mid, "%s/media-file/%s" % (self.base, mid))}
        return 404, {"error": {"message": "Unsupported get request", "code": 100}}

    def posts(self, path_part):
        with self.lock:
            return [r for r in self.requests if r["method"] == "POST" and path_part in r["path"]]

    def answer(self, path, body):
        raise NotImplementedError

    def close(self):
        self.srv.shutdown()


class FakeGraph(FakeApi):
    """Meta's Graph API: WhatsApp Cloud API /{phone_number_id}/messages,
    Messenger/Instagram Send API /{page_id}/messages, comment replies."""

    def __init__(self, token):
        super().__init__(token, "/v21.0")
        self.private_replied = set()   # comments answered privately: once each
        self.uploaded = {}             # media id -> (bytes, type): POST /{phone}/media
        self.attachments = []          # Send API uploads: {recipient, type, name, content_type, data}
        self.file_failures = []        # statuses for the next Send API uploads

    def answer(self, path, body):
        n = next(self.ids)
        if path.endswith("/media") and isinstance(body, dict) and "form" in body:
            # Cloud API media upload: messaging_product, type, file -> {id}
            form = body["form"]
            if form.get("messaging_product", (b"",))[0] != b"whatsapp" or "file" not in form:
                return 400, {"error": {"message": "(#100) missing parameter", "code": 100}}
            mid = "up%06d" % n
            self.uploaded[mid] = (form["file"][0], form.get("type", (b"",))[0].decode())
            return 200, {"id": mid}
        if path.endswith("/messages") and isinstance(body, dict) and "form" in body:
            return self.send_api_upload(n, body)
        if path.endswith("/messages") and isinstance(body, dict) and \
                body.get("messaging_product") == "whatsapp":
            bad = self.bad_template(body) if body.get("type") == "template" else None
            if bad:
                return 400, {"error": {"message": "(#132000) " + bad, "code": 132000}}
            return 200, {"messaging_product": "whatsapp",
                         "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                         "messages": [{"id": "wamid.FAKE%06d" % n}]}
        if path.endswith("/messages"):
            # Send API: recipient {id} (a PSID / IGSID) or {comment_id} (a
            # private reply to a comment: one, to the comment's author)
            rcpt = (body or {}).get("recipient") if isinstance(body, dict) else None
            if not isinstance(rcpt, dict) or len([k for k in ("id", "comment_id")
                                                  if isinstance(rcpt.get(k), str)]) != 1:
                return 400, {"error": {"message": "(#100) param recipient must be non-empty.",
                                       "code": 100}}
            if "comment_id" in rcpt:
                if rcpt["comment_id"] in self.private_replied:
                    return 400, {"error": {"message": "(#10903) This user cant reply to this "
                                           "activity", "code": 10903}}
                self.private_replied.add(rcpt["comment_id"])
            return 200, {"recipient_id": rcpt.get("id") or "psid_of_%s" % rcpt["comment_id"],
                         "message_id": "m_FAKE%06d" % n}
        if path.endswith("/replies") or path.endswith("/comments"):
            return 200, {"id": "reply_%06d" % n}
        return 404, {"error": {"message": "Unknown path", "code": 803}}


    def send_api_upload(self, n, body):
        """Send API with an attachment upload (multipart/form-data):
        recipient (JSON {id}), message (JSON {attachment: {type, payload}}),
        filedata (the bytes, with a filename and a content type)."""
        form, names = body["form"], body["filenames"]
        bad = {"error": {"message": "(#100) Upload attachment failure.", "code": 100}}
        try:
            rcpt = json.loads(form["recipient"][0])
            att = json.loads(form["message"][0])["attachment"]
        except (KeyError, ValueError, TypeError):
            return 400, bad
        if not isinstance(rcpt, dict) or not isinstance(rcpt.get("id"), str) or \
                not isinstance(att, dict) or \
                att.get("type") not in ("image", "video", "audio", "file") or \
                not isinstance(att.get("payload"), dict) or "url" in att["payload"] or \
                "filedata" not in form or not names.get("filedata"):
            return 400, bad
        with self.lock:
            if self.file_failures:
                status = self.file_failures.pop(0)
                return status, bad if status < 500 else {
                    "error": {"message": "An unexpected error has occurred.", "code": 2}}
            self.attachments.append({"recipient": rcpt["id"], "type": att["type"],
                                     "reusable": att["payload"].get("is_reusable"),
                                     "name": names["filedata"],
                                     "content_type": form["filedata"][1],
                                     "data": form["filedata"][0]})
        return 200, {"recipient_id": rcpt["id"], "message_id": "m_FILE%06d" % n,
                     "attachment_id": "att%06d" % n}

    @staticmethod
    def bad_template(body):
        """What the Cloud API would refuse in a template send (its shape:
        name, language.code, components of header/body/button with their
        parameters), or None."""
        t = body.get("template")
        if not isinstance(t, dict) or not isinstance(t.get("name"), str) or \
                not isinstance((t.get("language") or {}).get("code"), str):
            return "template needs name and language.code"
        for c in t.get("components", []):
            if c.get("type") not in ("header", "body", "button"):
                return "component type %r" % c.get("type")
            if c["type"] == "button" and (c.get("sub_type") not in ("url", "quick_reply") or
                                          not isinstance(c.get("index"), str)):
                return "a button needs sub_type and index (a string)"
            for p in c.get("parameters", []):
                kind = p.get("type")
                if kind in ("text", "payload") and not isinstance(p.get(kind), str):
                    return "parameter %r without its value" % kind
                if kind in ("image", "video", "document") and \
                        not isinstance((p.get(kind) or {}).get("link"), str):
                    return "media parameter without a link"
                if kind not in ("text", "payload", "image", "video", "document"):
                    return "parameter type %r" % kind
        return None


class FakeX(FakeApi):
    """X API v2: POST /2/dm_conversations/with/{participant_id}/messages and
    POST /2/tweets (a reply: {text, reply: {in_reply_to_tweet_id}}),
    authorised by an OAuth 2.0 bearer token or, when oauth1 = (consumer key,
    consumer secret, token, token secret), an OAuth 1.0a HMAC-SHA1 signature
    (RFC 5849) checked here independently of the daemon's code."""

    def __init__(self, token, oauth1=None):
        super().__init__(token, "")
        self.oauth1 = oauth1
        self.nonces = set()

    def authorised(self, header, path):
        if not self.oauth1:
            return super().authorised(header, path)
        import base64
        import urllib.parse
        if not header or not header.startswith("OAuth "):
            return False
        fields = {}
        for part in header[6:].split(","):
            k, _, v = part.strip().partition("=")
            fields[k] = urllib.parse.unquote(v.strip('"'))
        ck, cs, tok, ts = self.oauth1
        if fields.get("oauth_consumer_key") != ck or fields.get("oauth_token") != tok or \
                fields.get("oauth_signature_method") != "HMAC-SHA1" or \
                fields.get("oauth_version") != "1.0" or fields.get("oauth_nonce") in self.nonces:
            return False
        if abs(int(fields.get("oauth_timestamp", "0")) - time.time()) > 300:
            return False
        q = lambda s: urllib.parse.quote(s, safe="-._~")  # noqa: E731
        params = "&".join("%s=%s" % (q(k), q(v)) for k, v in sorted(fields.items())
                          if k != "oauth_signature")
        url = "http://%s:%d%s" % (self.srv.server_address[0], self.srv.server_address[1], path)
        base = "&".join(["POST", q(url), q(params)])
        want = base64.b64encode(hmac.new(("%s&%s" % (q(cs), q(ts))).encode(), base.encode(),
                                         hashlib.sha1).digest()).decode()
        if not hmac.compare_digest(want, fields.get("oauth_signature", "")):
            return False
        self.nonces.add(fields["oauth_nonce"])
        return True

    def answer(self, path, body):
        n = next(self.ids)
        if path.startswith("/2/dm_conversations/with/") and path.endswith("/messages"):
            return 201, {"data": {"dm_conversation_id": "dmc_%06d" % n,
                                  "dm_event_id": "dme_%06d" % n}}
        if path == "/2/tweets":
            # POST /2/tweets: {text, reply: {in_reply_to_tweet_id}} -> 201 {data: {id, text}}
            reply = body.get("reply") if isinstance(body, dict) else None
            if not isinstance(body, dict) or not isinstance(body.get("text"), str) or \
                    (reply is not None and not (isinstance(reply, dict) and isinstance(
                        reply.get("in_reply_to_tweet_id"), str) and
                        reply["in_reply_to_tweet_id"].isdigit())):
                return 400, {"title": "Invalid Request", "detail": "bad tweet body"}
            if len(body["text"]) > 280:
                return 403, {"title": "Forbidden", "detail": "text too long"}
            return 201, {"data": {"id": "19%015d" % n, "text": body["text"]}}
        return 404, {"title": "Not Found Error", "detail": "no such endpoint"}


def meta_signature(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def x_signature(secret, body):
    import base64
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), body,
                                                 hashlib.sha256).digest()).decode()


class FakeSmtp:
    """A remote SMTP server (the smarthost replies go to): speaks enough
    RFC 5321 for libcurl (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), keeps
    what it receives, and can be told to answer the next MAIL commands with
    an error (451: try later; 550: refused)."""

    def __init__(self):
        import socketserver
        fake = self
        self.mails = []        # (mail_from, [rcpt], data bytes)
        self.failures = []     # replies for the next MAIL commands, e.g. "451 4.3.0 busy"
        self.lock = threading.Lock()

        class Handler(socketserver.StreamRequestHandler):
            def say(self, line):
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self):
                self.say("220 fake-smtp ESMTP ready")
                frm, rcpts = None, []
                while True:
                    line = self.rfile.readline(65536)
                    if not line:
                        return
                    cmd = line.decode("latin-1").rstrip("\r\n")
                    verb = cmd[:4].upper()
                    if verb in ("EHLO", "HELO"):
                        self.wfile.write(b"250-fake-smtp\r\n250-8BITMIME\r\n250 SIZE 52428800\r\n")
                    elif verb == "MAIL":
                        with fake.lock:
                            fail = fake.failures.pop(0) if fake.failures else None
                        if fail:
                            self.say(fail)
                            continue
                        frm, rcpts = cmd[10:].split()[0], []
                        self.say("250 2.1.0 ok")
                    elif verb == "RCPT":
                        rcpts.append(cmd[8:].split()[0])
                        self.say("250 2.1.5 ok")
                    elif verb == "DATA":
                        self.say("354 go ahead")
                        data = []
                        while True:
                            dl = self.rfile.readline(1 << 20)
                            if not dl or dl in (b".\r\n", b".\n"):
                                break
                            data.append(dl[1:] if dl.startswith(b"..") else dl)
                        with fake.lock:
                            fake.mails.append((frm, rcpts, b"".join(data)))
                        self.say("250 2.0.0 queued as FAKE%d" % len(fake.mails))
                    elif verb in ("RSET", "NOOP"):
                        self.say("250 2.0.0 ok")
                    elif verb == "QUIT":
                        self.say("221 2.0.0 bye")
                        return
                    else:
                        self.say("502 5.5.2 not implemented")

        self.srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def fail_next(self, reply, n=1):
        with self.lock:
            self.failures.extend([reply] * n)

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


# ---------------------------------------------------------------- WhatsApp webhooks

WA_SECRET = "test-app-secret-0123"
WA_VERIFY = "test-verify-token"
WA_TOKEN = "EAAG-test-access-token"
WA_PHONE_ID = "1098765432"

WA_TEMPLATES = """        - { name: follow_up, language: en_US, text: "Hello again! Reply to continue our conversation." }
"""


def wa_plugin(api_base, window="24h", templates=WA_TEMPLATES):
    return """  - name: whatsapp
    path: %s/plugins/whatsapp/.libs/whatsapp.so
    config:
      app_secret: %s
      verify_token: %s
      access_token: %s
      phone_number_id: "%s"
      api_base: %s
      reply_window: %s
      rate_per_second: 50
      templates:
%s""" % (BUILDDIR, WA_SECRET, WA_VERIFY, WA_TOKEN, WA_PHONE_ID, api_base, window, templates)


def wa_envelope(messages=None, statuses=None, contacts=None, phone_id=WA_PHONE_ID):
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550001111", "phone_number_id": phone_id}}
    if messages is not None:
        value["messages"] = messages
        value["contacts"] = contacts or [{"profile": {"name": "Kerry Fisher"},
                                          "wa_id": messages[0]["from"]}]
    if statuses is not None:
        value["statuses"] = statuses
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}]}


def wa_text(wamid, text, frm="31612345678", ts="1732531200"):
    return {"from": frm, "id": wamid, "timestamp": ts, "type": "text", "text": {"body": text}}


class WhatsAppHook:
    """Meta's webhook calls to a Daemon's whatsapp plugin, signed."""

    def __init__(self, d):
        self.d = d

    def post(self, payload, sig="good", raw=None):
        body = raw if raw is not None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if sig == "good":
            headers["X-Hub-Signature-256"] = meta_signature(WA_SECRET, body)
        elif sig:
            headers["X-Hub-Signature-256"] = sig
        return self.d.http("POST", "/webhooks/whatsapp", body=body, auth=False,
                           port=self.d.ports["webhooks"], headers=headers)

    def get(self, query):
        return self.d.http("GET", "/webhooks/whatsapp?" + query, auth=False,
                           port=self.d.ports["webhooks"])
