"""Clients that hold connections open without finishing a request: each sends the headers of
a POST that announces a body, then trickles the body a byte at a time (so it is never idle).

Input (JSON on stdin): {"port": P, "count": N, "every": seconds between bytes, "limit": seconds to wait}
Output (JSON): for each client, the seconds after which the server closed its connection
(null when it was still open at the limit)."""
import json
import socket
import sys
import threading
import time

job = json.load(sys.stdin)
closed = [None] * job["count"]


def client(i):
    start = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", job["port"]), timeout=job["limit"])
        s.sendall(b"POST /webhooks/twilio/inbound HTTP/1.1\r\nHost: h\r\n"
                  b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nBody=")
        s.settimeout(job["every"])
        while time.monotonic() - start < job["limit"]:
            try:
                data = s.recv(4096)
                if not data:
                    closed[i] = time.monotonic() - start
                    return
                # A response (the server gave up on the request): it closes next.
            except socket.timeout:
                pass
            try:
                s.sendall(b"x")
            except OSError:
                closed[i] = time.monotonic() - start
                return
    except OSError:
        closed[i] = time.monotonic() - start


threads = [threading.Thread(target=client, args=(i,)) for i in range(job["count"])]
for t in threads:
    t.start()
for t in threads:
    t.join()
json.dump(closed, sys.stdout)
