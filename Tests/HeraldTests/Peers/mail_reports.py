"""Bounces and abuse reports, built with Python's email package, shaped like those of
Postfix, Exim, a large mailbox provider (Gmail-like, with a base64 status part) and a
feedback loop (RFC 5965), or an out-of-office reply.

stdin: a JSON list of specs {"style", "key", "id", "recipient", "status", "action",
"diagnostic", "token": "to" | "original" | "none", "mac": optional override};
stdout: a JSON list of the messages, base64. The bounce token is made here from the key
(HMAC-SHA256 over "herald-bounce\\n<id>\\n<recipient, lower-case>", 10 bytes, hex), on its
own, as a check of Herald's."""
import base64
import hashlib
import hmac
import json
import sys
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText


def verp(spec):
    mac = spec.get("mac") or hmac.new(spec["key"].encode(), f"herald-bounce\n{spec['id']}\n{spec['recipient'].lower()}".encode(),
                                      hashlib.sha256).digest()[:10].hex()
    return f"bounces+b1-{spec['id']}-{mac}@sol.example"


def original(spec, address):
    m = MIMEText("Hola, le recordamos su cita de mañana.", _charset="utf-8")
    if spec.get("token") == "original":
        m["Return-Path"] = f"<{address}>"
    m["From"] = "Sol <citas@sol.example>"
    m["To"] = spec["recipient"]
    m["Subject"] = "Recordatorio de su cita"
    m["Message-ID"] = f"<herald.{spec['id']}.1.0123456789abcdef@sol.example>"
    return m


def block(fields):
    b = Message()
    for name, value in fields:
        b[name] = value
    return b


def delivery_status(spec, mta, blocks_extra=()):
    status = block([("Reporting-MTA", f"dns; {mta}"), ("Arrival-Date", "Fri, 4 Dec 2026 08:00:00 +0100")])
    final = spec.get("final") or spec["recipient"]
    rcpt = block([("Final-Recipient", f"rfc822; {final}"), ("Original-Recipient", f"rfc822;{final}"),
                  ("Action", spec.get("action", "failed")), ("Status", spec.get("status", "5.1.1")),
                  ("Remote-MTA", "dns; mx.example.com"), ("Diagnostic-Code", spec.get("diagnostic", "smtp; 550 5.1.1 User unknown"))]
                 + list(blocks_extra))
    part = Message()
    part.set_type("message/delivery-status")
    part.set_payload([status, rcpt])
    return part


def build(spec):
    address = verp(spec)
    to = address if spec.get("token", "to") == "to" else "postmaster@sol.example"
    style = spec["style"]
    if style == "autoreply":
        m = MIMEText("Estoy fuera de la oficina hasta el lunes.", _charset="utf-8")
        m["To"] = to
        m["Subject"] = "Fuera de la oficina"
        m["Message-ID"] = f"<ooo.{spec['id']}@example.com>"
        return m
    if style == "arf":
        m = MIMEMultipart("report", report_type="feedback-report")
        m.attach(MIMEText("This is an email abuse report for an email message received from IP 192.0.2.1.\n"))
        report = block([("Feedback-Type", spec.get("feedback", "abuse")), ("User-Agent", "SomeGenerator/1.0"), ("Version", "1"),
                        ("Original-Mail-From", f"<{address}>" if spec.get("token") == "mailfrom" else "<other@sol.example>"),
                        ("Original-Rcpt-To", f"<{spec['recipient']}>"), ("Arrival-Date", "Fri, 4 Dec 2026 08:00:00 +0100"),
                        ("Reported-Domain", "sol.example")])
        part = Message()
        part.set_type("message/feedback-report")
        part.set_payload([report])
        m.attach(part)
        wrapped = MIMEBase("message", "rfc822")
        wrapped.set_payload([original(spec, address)])
        m.attach(wrapped)
        m["From"] = "feedbackloop@mailbox.example"
        m["To"] = "fbl@sol.example" if spec.get("token") != "to" else address
        m["Subject"] = "FW: Recordatorio de su cita"
        m["Message-ID"] = f"<arf.{spec['id']}@mailbox.example>"
        return m
    m = MIMEMultipart("report", report_type="delivery-status")
    if style == "postfix":
        m.attach(MIMEText("This is the mail system at host mx.sol.example.\n\nI'm sorry to have to inform you that your message could not\n"
                          "be delivered to one or more recipients.\n"))
        m.attach(delivery_status(spec, "mx.sol.example"))
        wrapped = MIMEBase("message", "rfc822")
        wrapped.set_payload([original(spec, address)])
        m.attach(wrapped)
        m["From"] = "MAILER-DAEMON@mx.sol.example (Mail Delivery System)"
        m["Subject"] = "Undelivered Mail Returned to Sender"
    elif style == "exim":
        m.attach(MIMEText("This message was created automatically by mail delivery software.\n\nA message that you sent could not be "
                          "delivered to one or more of its\nrecipients. This is a permanent error. The following address(es) failed:\n\n  "
                          f"{spec['recipient']}\n    host mx.example.com [192.0.2.25]\n    SMTP error from remote mail server after RCPT TO:<{spec['recipient']}>:\n"
                          f"    {spec.get('diagnostic', '550 unknown user')}\n"))
        m.attach(delivery_status(spec, "mail.sol.example", [("X-Exim-Diagnostic", "X-str; 550 unknown user")]))
        headers = MIMEText(original(spec, address).as_string().split("\n\n", 1)[0] + "\n", "rfc822-headers")
        m.attach(headers)
        m["From"] = "Mail Delivery System <Mailer-Daemon@mail.sol.example>"
        m["Subject"] = "Mail delivery failed: returning message to sender"
        m["Auto-Submitted"] = "auto-replied"
    elif style == "provider":
        # A large mailbox provider's shape: an alternative text/HTML explanation, the status
        # part base64-encoded, the original's headers only.
        explanation = MIMEMultipart("alternative")
        explanation.attach(MIMEText("Address not found. Your message wasn't delivered.", "plain"))
        explanation.attach(MIMEText("<p>Address not found</p>", "html"))
        m.attach(explanation)
        status = delivery_status(spec, "mx.google.example")
        flat = status.as_string()
        body = flat.split("\n\n", 1)[1] if "\n\n" in flat else flat
        # The generator writes message/delivery-status only from parsed blocks: written as a
        # placeholder type, renamed in the bytes (build_bytes).
        encoded = MIMEBase("text", "x-herald-status")
        encoded.set_payload(base64.encodebytes(body.encode()).decode())
        encoded["Content-Transfer-Encoding"] = "base64"
        m.attach(encoded)
        headers = MIMEText(original(spec, address).as_string().split("\n\n", 1)[0] + "\n", "rfc822-headers")
        m.attach(headers)
        m["From"] = "Mail Delivery Subsystem <mailer-daemon@googlemail.example>"
        m["Subject"] = "Delivery Status Notification (Failure)"
    else:
        raise SystemExit(f"unknown style {style}")
    m["To"] = to
    m["Message-ID"] = f"<{style}.{spec['id']}.{spec.get('status', 'x')}.{spec.get('action', 'failed')}@sol.example>"
    return m


specs = json.load(sys.stdin)
def build_bytes(spec):
    return build(spec).as_bytes().replace(b"Content-Type: text/x-herald-status", b"Content-Type: message/delivery-status")


print(json.dumps([base64.b64encode(build_bytes(s)).decode() for s in specs]))
