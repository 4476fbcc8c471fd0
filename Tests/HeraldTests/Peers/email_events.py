"""Email providers' event webhooks, signed as each provider documents it.

stdin: a JSON object:
  {"do": "keygen"} -> {"private": PEM, "public": base64 DER}  (a P-256 key pair, as SendGrid's)
  {"do": "post", "url": U, "provider": "sendgrid" | "mailgun", "key": PEM or signing key,
   "body": events (SendGrid: a list) or event-data (Mailgun: an object),
   "tamper": "none" | "signature" | "stale" | "body", "token": Mailgun's token (default: a new one)}
  -> {"status": HTTP status}
SendGrid: ECDSA P-256 with SHA-256 over timestamp + body, DER, base64, in
X-Twilio-Email-Event-Webhook-Signature, the timestamp in X-Twilio-Email-Event-Webhook-Timestamp.
Mailgun: HMAC-SHA256 of timestamp + token under the signing key, hex, inside the body."""
import base64
import hashlib
import hmac
import json
import secrets
import sys
import time
import urllib.error
import urllib.request

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

job = json.load(sys.stdin)
if job["do"] == "keygen":
    private = ec.generate_private_key(ec.SECP256R1())
    print(json.dumps({
        "private": private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode(),
        "public": base64.b64encode(private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode(),
    }))
    sys.exit(0)

tamper = job.get("tamper", "none")
timestamp = str(int(time.time()) - (3600 if tamper == "stale" else 0))
headers = {"Content-Type": "application/json"}
if job["provider"] == "sendgrid":
    body = json.dumps(job["body"]).encode()
    key = serialization.load_pem_private_key(job["key"].encode(), password=None)
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    if tamper == "signature":
        signature = key.sign(b"something else", ec.ECDSA(hashes.SHA256()))
    if tamper == "body":
        body = body.replace(b"spamreport", b"delivered").replace(b"bounce", b"open")
    headers["X-Twilio-Email-Event-Webhook-Signature"] = base64.b64encode(signature).decode()
    headers["X-Twilio-Email-Event-Webhook-Timestamp"] = timestamp
else:
    token = job.get("token") or secrets.token_hex(25)  # a given token: the same signature again
    mac = hmac.new(job["key"].encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if tamper == "signature":
        mac = hmac.new(b"another key", (timestamp + token).encode(), hashlib.sha256).hexdigest()
    body = json.dumps({"signature": {"timestamp": timestamp, "token": token, "signature": mac}, "event-data": job["body"]}).encode()
request = urllib.request.Request(job["url"], data=body, headers=headers, method="POST")
try:
    with urllib.request.urlopen(request, timeout=10) as response:
        status = response.status
except urllib.error.HTTPError as error:
    status = error.code
print(json.dumps({"status": status}))
