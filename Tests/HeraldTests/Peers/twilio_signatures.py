"""Independent Twilio request signatures for the tests, from Twilio's own `twilio` package.

stdin: a JSON list of {"url": ..., "params": {name: value}, "token": ...};
stdout: a JSON list of signatures, in order.
"""
import json
import sys

from twilio.request_validator import RequestValidator

cases = json.load(sys.stdin)
print(json.dumps([RequestValidator(c["token"]).compute_signature(c["url"], c["params"]) for c in cases]))
