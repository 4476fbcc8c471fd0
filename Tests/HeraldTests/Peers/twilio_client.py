"""Plays Twilio against Herald's listener: signs each request with Twilio's own `twilio`
package (RequestValidator) and posts it, many at once if asked.

stdin: {"base": "http://127.0.0.1:PORT", "public_url": "https://...", "token": "...",
        "concurrency": 1, "timeout": 10,
        "requests": [{"method": "POST", "path": "/webhooks/twilio/inbound", "params": {...},
                      "sign": "twilio" | "none" | "wrong-token" | "url:<other public url>" | "tamper",
                      "raw_body": "...", "headers": {...}}]}
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


def send(req):
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


with concurrent.futures.ThreadPoolExecutor(max_workers=job.get("concurrency", 1)) as pool:
    results = list(pool.map(send, job["requests"]))
print(json.dumps(results))
