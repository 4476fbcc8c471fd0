#!/usr/bin/env python3
"""Prints the bounce a receiving mail server would send for one of the demo's emails: a
Postfix-style delivery status notification (RFC 3464) to the email's own bounce address,
saying the mailbox does not exist. deploy/demo pipes it to `herald ingest-mail`.

usage: demo-bounce.py BOUNCE_ADDRESS RECIPIENT"""
import sys
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

bounce_address, recipient = sys.argv[1], sys.argv[2]


def block(fields):
    b = Message()
    for name, value in fields:
        b[name] = value
    return b


report = MIMEMultipart("report", report_type="delivery-status")
report["From"] = "MAILER-DAEMON@mx.correo.invalid (Mail Delivery System)"
report["To"] = bounce_address
report["Subject"] = "Undelivered Mail Returned to Sender"
report["Message-ID"] = f"<demo-bounce.{bounce_address.split('+', 1)[-1].split('@')[0]}@mx.correo.invalid>"
report.attach(MIMEText("This is the mail system at host mx.correo.invalid.\n\n"
                       "I'm sorry to have to inform you that your message could not be delivered to one or more recipients.\n"))
status = Message()
status.set_type("message/delivery-status")
status.set_payload([
    block([("Reporting-MTA", "dns; mx.correo.invalid")]),
    block([("Final-Recipient", f"rfc822; {recipient}"), ("Action", "failed"), ("Status", "5.1.1"),
           ("Diagnostic-Code", f"smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown in virtual mailbox table")]),
])
report.attach(status)
report.attach(MIMEText(f"Return-Path: <{bounce_address}>\nTo: {recipient}\nSubject: Cita confirmada\n", "rfc822-headers"))
sys.stdout.write(report.as_string())
