"""A browser without a browser, for the console's HTTP-level tests: keeps each session's
cookies as a browser would (Path=/console, Max-Age=0 deletes), reads the CSRF token of
the last page it got, and sends forms.

stdin: {"base": "http://127.0.0.1:PORT", "state": "/tmp/file.json", "steps": [
          {"session": "a", "method": "GET"|"POST", "path": "/console/...",
           "form": {"name": "value" | ["v1", "v2"]}, "csrf": "auto"|"none"|"<value>",
           "headers": {...}, "follow": false}, ...]}
stdout: [{"status": 303, "location": "...", "headers": {...}, "set_cookies": [...], "body": "...",
          "cookies": {"herald_session": "..."}}, ...]
"""
import http.client
import json
import re
import sys
import urllib.parse

job = json.load(sys.stdin)
base = urllib.parse.urlsplit(job["base"])
jars = {}
last_csrf = {}
results = []
# The sessions' cookies and tokens live on between runs in this file (if given).
state_file = job.get("state")
if state_file:
    try:
        with open(state_file) as f:
            saved = json.load(f)
        jars, last_csrf = saved["jars"], saved["csrf"]
    except FileNotFoundError:
        pass


def send(session, method, path, body=None, headers=None):
    jar = jars.setdefault(session, {})
    conn = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
    all_headers = {"Accept-Language": "en"}
    all_headers.update(headers or {})
    if jar:
        all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
    if body is not None:
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=all_headers)
    response = conn.getresponse()
    text = response.read().decode("utf-8", "replace")
    set_cookies = response.headers.get_all("Set-Cookie") or []
    for cookie in set_cookies:
        name, _, rest = cookie.partition("=")
        value = rest.split(";", 1)[0]
        if "Max-Age=0" in cookie or value == "":
            jar.pop(name, None)
        else:
            jar[name] = value
    found = re.findall(r'name="_csrf" value="([0-9a-f]+)"', text)
    if found:
        last_csrf[session] = found[0]
    conn.close()
    return {"status": response.status, "location": response.headers.get("Location", ""),
            "headers": {k.lower(): v for k, v in response.headers.items()}, "set_cookies": set_cookies,
            "body": text, "cookies": dict(jar)}


for step in job["steps"]:
    session = step.get("session", "a")
    method = step.get("method", "GET")
    body = None
    if method == "POST":
        pairs = []
        csrf = step.get("csrf", "auto")
        if csrf == "auto":
            pairs.append(("_csrf", last_csrf.get(session, "")))
        elif csrf != "none":
            pairs.append(("_csrf", csrf))
        for name, value in (step.get("form") or {}).items():
            for v in (value if isinstance(value, list) else [value]):
                pairs.append((name, v))
        body = urllib.parse.urlencode(pairs)
    result = send(session, method, step["path"], body, step.get("headers"))
    if step.get("follow") and result["status"] in (301, 302, 303) and result["location"]:
        result = send(session, "GET", result["location"], None, step.get("headers"))
    results.append(result)

if state_file:
    with open(state_file, "w") as f:
        json.dump({"jars": jars, "csrf": last_csrf}, f)
print(json.dumps(results))
