"""Plays Twilio against Herald's listener: signs each request with Twilio's own `twilio`
package (RequestValidator) and posts it, many at once if asked.

stdin: {"base": "http://127.0.0.1:PORT", "public_url": "https://...", "token": "...",
        "concurrency": 1, "timeout": 10,
        "requests": [{"method": "POST", "path": "/webhooks/twilio/inbound", "params": {...},
                      "sign": "twilio" | "none" | "wrong-token" | "url:<other public url>" | "tamper",
                      "raw_body": "...", "headers": {...}, "raw_request": "POST / HTTP/1.1\r\n..."}]}
stdout: a JSON list, in order, of {"status": HTTP status or 0 when no answer came, "body": text}.
"""
import concurrent.futures
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

from twilio.request_validator import RequestValidator

job = json.load(sys.stdin)
base, public_url, token = job["base"], job["public_url"], job["token"]
timeout = job.get("timeout", 10)


def send_raw(req):
    """Writes req["raw_request"] as is (headers may lie about the body) and reads the status line."""
    import socket
    host, port = base.split("//")[1].split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as sock:
            sock.sendall(req["raw_request"].encode())
            data = sock.recv(65536).decode("latin-1")
        return {"status": int(data.split(" ")[1]) if data.startswith("HTTP/") else 0, "body": data}
    except Exception as error:
        return {"status": 0, "body": repr(error)}


def send(req):
    if "raw_request" in req:
        return send_raw(req)
    params = req.get("params", {})
    path = req.get("path", "/webhooks/twilio/inbound")
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    sign = req.get("sign", "twilio")
    if sign != "none":
        url = public_url + path
        key = token
        if sign.startswith("url:"):
            url = sign[4:] + path
        if sign == "wrong-token":
            key = token + "x"
        headers["X-Twilio-Signature"] = RequestValidator(key).compute_signature(url, params)
    if sign == "tamper":
        params = dict(params, Body=params.get("Body", "") + "!")
    headers.update(req.get("headers", {}))
    body = req["raw_body"].encode() if "raw_body" in req else urllib.parse.urlencode(params).encode()
    method = req.get("method", "POST")
    request = urllib.request.Request(base + path, data=body if method == "POST" else None, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return {"status": response.status, "body": response.read().decode("utf-8", "replace")}
    except urllib.error.HTTPError as error:
        return {"status": error.code, "body": error.read().decode("utf-8", "replace")}
    except Exception as error:  # refused, reset, timed out: no answer
        return {"status": 0, "body": repr(error)}


def timed(req):
    """send(req), with how long the request itself took (not this interpreter's start-up,
    which a loaded machine can stretch to many seconds)."""
    import time
    started = time.monotonic()
    reply = send(req)
    reply["seconds"] = time.monotonic() - started
    return reply


with concurrent.futures.ThreadPoolExecutor(max_workers=job.get("concurrency", 1)) as pool:
    results = list(pool.map(timed, job["requests"]))
print(json.dumps(results))
