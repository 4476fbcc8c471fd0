"""A local SMTP server for the tests and benchmarks (aiosmtpd): STARTTLS with a
self-signed certificate, AUTH PLAIN/LOGIN, and scripted answers by recipient:

  reject@...          550 at RCPT TO
  tempfail@...        451 at end of DATA the first time, 250 after
  anything else       250

Every accepted message is parsed with Python's standard email parser and written
to DIR/mail-N.json (headers decoded, parts, envelope, session); the raw bytes go
to DIR/mail-N.eml. DIR/port is written once the server listens.

usage: smtp_server.py DIR [--no-tls] [--no-auth]
"""
import email
import email.policy
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from peer_support import announce_port

USER, PASSWORD = "herald", "s3cret pass"


class Handler:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.tempfailed = set()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("reject@"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            if rcpt.lower().startswith("tempfail@") and rcpt not in self.tempfailed:
                self.tempfailed.add(rcpt)
                return "451 4.3.0 Try again later"
        with self.lock:
            self.count += 1
            n = self.count
        raw = envelope.original_content or envelope.content
        with open(os.path.join(self.directory, "mail-%d.eml" % n), "wb") as f:
            f.write(raw)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        parts = []
        for part in msg.walk():
            if part.is_multipart():
                parts.append({"type": part.get_content_type()})
            else:
                parts.append({"type": part.get_content_type(), "charset": part.get_content_charset(),
                              "content": part.get_content()})
        record = {
            "mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
            "session": id(session), "tls": session.ssl is not None,
            "auth": session.authenticated and USER,
            "headers": {k: str(v) for k, v in msg.items()},
            "from_name": msg["From"].addresses[0].display_name if msg["From"] else None,
            "to_name": msg["To"].addresses[0].display_name if msg["To"] else None,
            "parts": parts,
        }
        tmp = os.path.join(self.directory, "mail-%d.json.tmp" % n)
        with open(tmp, "w") as f:
            json.dump(record, f, ensure_ascii=False)
        os.rename(tmp, os.path.join(self.directory, "mail-%d.json" % n))
        return "250 2.0.0 Ok: queued as %d" % n


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
    return AuthResult(success=ok, handled=False)


def main():
    directory = sys.argv[1]
    use_tls = "--no-tls" not in sys.argv
    use_auth = "--no-auth" not in sys.argv
    os.makedirs(directory, exist_ok=True)
    kwargs = {}
    if use_tls:
        cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        kwargs.update(tls_context=ctx, require_starttls=True)
    if use_auth:
        kwargs.update(authenticator=authenticator, auth_require_tls=use_tls, auth_required=True)
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    controller = Controller(Handler(directory), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    announce_port(directory, port)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
