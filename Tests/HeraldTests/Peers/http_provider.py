"""Local HTTP peers for the tests and benchmarks.

Twilio imitation: POST /2010-04-01/Accounts/{sid}/Messages.json with HTTP Basic
auth (ACtest / tok-secret) and form fields To, From|MessagingServiceSid, Body.
Answers by the To number's last digit:
  ...1  201 with a sid                       ...4  500 once, then 201
  ...2  400 Twilio error 21211                ...5  slower than any timeout once (3 s), then 201
  ...3  429 Retry-After: 1 once, then 201     ...6  400 Twilio error 21610 (unsubscribed)
  any other: 201
Twilio Lookup imitation: GET /v2/PhoneNumbers/{number}?Fields=line_type_intelligence (same
auth). By the number's last digit: ...7 landline, ...8 a 500, ...9 no line type (error 60600),
any other mobile.
WhatsApp (To whatsapp:+…): the sender must be whatsapp:+… or a messaging service (else 63007);
a ContentSid must be HX + 32 hex digits with ContentVariables a JSON object of non-empty one-line
strings, and no Body (else 21656); without one, a Body (else 21619). Logged as kind "whatsapp".
DIR/fail-sms-until: while this file exists and holds a Unix time in the future, every SMS gets 500.

Webhook receiver: POST /hook[/500-once|/404|/nul-500|/huge|/slow]. Verifies Herald-Signature with its
own HMAC-SHA256 over "{Herald-Timestamp}.{body}" (secret: hook-secret) and refuses
(401) bad signatures or timestamps more than 300 s old. Hostile answers: /hook/nul-500 is a 500
whose body holds a NUL byte, with Retry-After: 10000000000000; /hook/huge is a 500 streaming
200 MB of body; /hook/slow?s=N answers 200 after N seconds.

Every request is appended to DIR/requests.jsonl with the status it got. DIR/port is written when listening.
usage: http_provider.py DIR [--latency-ms N] [--per-from-rate R [--tolerance-ms T]]
  N: added to every SMS answer, like a real API's round trip.
  R: messages per second each sender (From or MessagingServiceSid) may send, as Twilio
     queues a long code: burst 1, T ms tolerance (default 50); beyond it, 429 with Twilio's
     code 20429.
"""
import base64
import hashlib
import hmac
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from peer_support import announce_port

ACCOUNT, TOKEN, HOOK_SECRET = "ACtest", "tok-secret", "hook-secret"
seen = {}
lock = threading.Lock()
directory = sys.argv[1]
latency = float(sys.argv[sys.argv.index("--latency-ms") + 1]) / 1000 if "--latency-ms" in sys.argv else 0.0
per_from = float(sys.argv[sys.argv.index("--per-from-rate") + 1]) if "--per-from-rate" in sys.argv else 0.0
next_allowed = {}  # sender -> earliest time of its next message (a GCRA with burst 1)
TOLERANCE = float(sys.argv[sys.argv.index("--tolerance-ms") + 1]) / 1000 if "--tolerance-ms" in sys.argv else 0.05


def whatsapp_problem(form):
    """What Twilio refuses of a WhatsApp send at once (the rest, such as 63003 and 63016,
    comes later in the status callback): the sender not a WhatsApp address (63007), no
    content (21619), a Content SID or variables that are not Twilio's shape (21656)."""
    sender = form.get("From", "")
    if not sender.startswith("whatsapp:+") and not form.get("MessagingServiceSid"):
        return 63007, "Twilio could not find a Channel with the specified From address"
    sid = form.get("ContentSid")
    if sid is None:
        return None if form.get("Body") else (21619, "A text message body or media urls must be specified.")
    if len(sid) != 34 or not sid.startswith("HX") or any(c not in "0123456789abcdefABCDEF" for c in sid[2:]) or "Body" in form:
        return 21656, "The ContentSid is invalid"
    try:
        variables = json.loads(form.get("ContentVariables", "{}"))
    except ValueError:
        return 21656, "The ContentVariables Parameter is invalid"
    if not isinstance(variables, dict) or not all(isinstance(v, str) and v and "\n" not in v for v in variables.values()):
        return 21656, "The ContentVariables Parameter is invalid"
    return None


def conforms(sender, now):
    """True when `sender` may send at `now` under the per-sender rate (and spends the slot)."""
    if not per_from:
        return True
    with lock:
        allowed = next_allowed.get(sender, 0.0)
        if now < allowed - TOLERANCE:
            return False
        next_allowed[sender] = max(allowed, now) + 1.0 / per_from
        return True


def once(key):
    """True the first time `key` is seen."""
    with lock:
        first = key not in seen
        seen[key] = True
        return first


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle + delayed ACK add 40 ms to every answer.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def reply(self, status, body, headers=()):
        if getattr(self, "entry", None) is not None:
            self.entry["status"] = status
            self.record(self.entry)
            self.entry = None
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def raw(self, status, body, headers=(), length=None):
        """Answers with raw bytes, or `length` bytes of "x" streamed until the client hangs up."""
        if getattr(self, "entry", None) is not None:
            self.entry["status"] = status
            self.record(self.entry)
            self.entry = None
        self.send_response(status)
        self.send_header("Content-Length", str(len(body) if body is not None else length))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        try:
            if body is not None:
                self.wfile.write(body)
            else:
                chunk = b"x" * 65536
                sent = 0
                try:
                    for _ in range(length // len(chunk)):
                        self.wfile.write(chunk)
                        sent += len(chunk)
                finally:
                    self.record({"kind": "stream", "path": self.path, "bytes": sent})
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def record(self, entry):
        with lock:
            with open(os.path.join(directory, "requests.jsonl"), "a") as f:
                f.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def do_GET(self):
        if self.path.startswith("/v2/PhoneNumbers/"):
            return self.lookup()
        self.reply(404, {"message": "no such endpoint"})

    def lookup(self):
        auth = self.headers.get("Authorization", "")
        user = password = None
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        parsed = urllib.parse.urlparse(self.path)
        number = urllib.parse.unquote(parsed.path.rsplit("/", 1)[-1])
        self.entry = {"kind": "lookup", "path": self.path, "number": number, "query": parsed.query}
        if (user, password) != (ACCOUNT, TOKEN):
            return self.reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
        last = number[-1:]
        if last == "8":
            return self.reply(500, {"code": 20500, "message": "Internal Server Error", "status": 500})
        if last == "9":
            intelligence = {"error_code": 60600, "type": None, "carrier_name": None}
        else:
            intelligence = {"error_code": None, "type": "landline" if last == "7" else "mobile",
                            "carrier_name": "Telefónica Fijo" if last == "7" else "Movistar", "mobile_country_code": "214"}
        self.reply(200, {"phone_number": number, "valid": True, "line_type_intelligence": intelligence})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.path.startswith("/2010-04-01/Accounts/"):
            self.sms(body)
        elif self.path.startswith("/hook"):
            self.hook(body)
        else:
            self.reply(404, {"message": "no such endpoint"})

    def sms(self, body):
        auth = self.headers.get("Authorization", "")
        user = password = None
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()}
        self.entry = {"kind": "sms", "path": self.path, "user": user, "form": form, "connection": self.client_address[1],
                      "at": time.time()}
        if (user, password) != (ACCOUNT, TOKEN) or self.path != "/2010-04-01/Accounts/%s/Messages.json" % ACCOUNT:
            return self.reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
        try:
            with open(os.path.join(directory, "fail-sms-until")) as f:
                if time.time() < float(f.read().strip() or 0):
                    return self.reply(500, {"code": 20500, "message": "Internal Server Error", "status": 500})
        except FileNotFoundError:
            pass
        if not conforms(form.get("From") or form.get("MessagingServiceSid", ""), self.entry["at"]):
            return self.reply(429, {"code": 20429, "message": "Too Many Requests", "status": 429})
        if latency:
            time.sleep(latency)
        to = form.get("To", "")
        if to.startswith("whatsapp:"):
            self.entry["kind"] = "whatsapp"
            problem = whatsapp_problem(form)
            if problem:
                return self.reply(400, {"code": problem[0], "message": problem[1], "status": 400})
        last = to[-1:] if to else ""
        sid = "SM" + hashlib.sha1((to + form.get("Body", "") + str(time.time_ns())).encode()).hexdigest()
        if last == "2":
            return self.reply(400, {"code": 21211, "message": "The 'To' number %s is not a valid phone number." % to, "status": 400})
        if last == "3" and once(to):
            return self.reply(429, {"code": 20429, "message": "Too Many Requests", "status": 429}, [("Retry-After", "1")])
        if last == "4" and once(to):
            return self.reply(500, {"code": 20500, "message": "Internal Server Error", "status": 500})
        if last == "5" and once(to):
            open(os.path.join(directory, "slow-started"), "w").close()
            time.sleep(3)
        if last == "6":
            return self.reply(400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400})
        self.reply(201, {"sid": sid, "status": "queued", "to": to, "body": form.get("Body")})

    def hook(self, body):
        ts = self.headers.get("Herald-Timestamp", "")
        sig = self.headers.get("Herald-Signature", "")
        expected = "v1=" + hmac.new(HOOK_SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        fresh = ts.isdigit() and abs(time.time() - int(ts)) <= 300
        verified = fresh and hmac.compare_digest(sig, expected)
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        self.entry = {"kind": "hook", "path": self.path, "verified": verified, "message_id": self.headers.get("Herald-Message-Id"),
                      "content_type": self.headers.get("Content-Type"), "json": doc}
        if not verified:
            return self.reply(401, {"error": "bad signature"})
        if self.path == "/hook/500-once" and once("hook" + str(self.headers.get("Herald-Message-Id"))):
            return self.reply(503, {"error": "busy"}, [("Retry-After", "1")])
        if self.path == "/hook/404":
            return self.reply(404, {"error": "no such hook"})
        if self.path == "/hook/nul-500":
            return self.raw(500, b"bad\x00request", [("Retry-After", "10000000000000")])
        if self.path == "/hook/huge":
            return self.raw(500, None, length=200 * 1024 * 1024)
        if self.path.startswith("/hook/slow"):
            time.sleep(float(urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query).get("s", ["1"])[0]))
        self.reply(200, {"ok": True})


def main():
    os.makedirs(directory, exist_ok=True)
    ThreadingHTTPServer.request_queue_size = 128  # the default 5 drops connections opened together
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    announce_port(directory, server.server_address[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
