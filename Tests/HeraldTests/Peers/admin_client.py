"""Calls the admin API over TCP, as an operator's script or curl would.

stdin: {"base": "http://127.0.0.1:PORT", "timeout": 10,
        "requests": [{"method": "GET", "path": "/api/v1/status", "token": "hrld_...",
                      "json": "<JSON text>", "raw_body": "...", "headers": {...}}]}
stdout: a JSON list, in order, of {"status": HTTP status (0: no answer), "type": Content-Type,
        "headers": {lower-cased name: value}, "body": text}.
"""
import json
import sys
import urllib.error
import urllib.request

job = json.load(sys.stdin)
base, timeout = job["base"], job.get("timeout", 10)


def send(req):
    headers = dict(req.get("headers", {}))
    if req.get("token"):
        headers["Authorization"] = "Bearer " + req["token"]
    body = None
    if "json" in req:
        body = req["json"].encode()  # JSON text, sent as given
        headers.setdefault("Content-Type", "application/json")
    elif "raw_body" in req:
        body = req["raw_body"].encode()
    request = urllib.request.Request(base + req["path"], data=body, headers=headers, method=req.get("method", "GET"))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, got, text = response.status, response.headers, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        status, got, text = error.code, error.headers, error.read().decode("utf-8", "replace")
    except Exception as error:
        return {"status": 0, "type": "", "headers": {}, "body": repr(error)}
    return {"status": status, "type": got.get("Content-Type", ""), "headers": {k.lower(): v for k, v in got.items()}, "body": text}


print(json.dumps([send(r) for r in job["requests"]]))
