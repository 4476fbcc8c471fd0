"""Writes N signed Twilio inbound requests for wrk (deploy/bench-inbound.d/inbound.lua):
one line per request, "signature<TAB>form body", signed with Twilio's own package.

usage: sign.py N PUBLIC_URL TOKEN OUT
"""
import sys
import urllib.parse

from twilio.request_validator import RequestValidator

n, public_url, token, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
validator = RequestValidator(token)
url = public_url + "/webhooks/twilio/inbound"
with open(out, "w") as f:
    for i in range(n):
        params = {"MessageSid": "SMbench%09d" % i, "AccountSid": "AC" + "0" * 32, "From": "+3461%08d" % i,
                  "To": "+34911000000", "Body": "Hola, ¿puedo cambiar mi cita al jueves? (%d)" % i, "NumMedia": "0"}
        f.write(validator.compute_signature(url, params) + "\t" + urllib.parse.urlencode(params) + "\n")
