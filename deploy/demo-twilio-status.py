#!/usr/bin/env python3
"""Posts one Twilio status callback to Herald's listener, signed as Twilio signs it
(X-Twilio-Signature: base64 HMAC-SHA1 over the URL and the sorted form fields, with the
auth token), as Twilio would report a WhatsApp message's fate.
usage: demo-twilio-status.py PUBLIC_URL TOKEN_FILE MESSAGE_SID STATUS [ERROR_CODE]"""
import base64, hashlib, hmac, sys, urllib.parse, urllib.request

public_url, token_file, sid, status = sys.argv[1:5]
form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32, "ChannelPrefix": "whatsapp"}
if len(sys.argv) > 5:
    form["ErrorCode"] = sys.argv[5]
url = public_url.rstrip("/") + "/webhooks/twilio/status"
token = open(token_file).read().strip()
signed = url + "".join(k + form[k] for k in sorted(form))
signature = base64.b64encode(hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()).decode()
request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(),
                                 headers={"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"})
print(urllib.request.urlopen(request, timeout=10).status)
