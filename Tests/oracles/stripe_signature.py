"""The official stripe-python verifier as an oracle for WebhookSignature's cross-check.

Reads JSON cases on stdin: [{"payload": str, "header": str|null, "secrets": [str],
"tolerance": int, "now": int}, ...] and prints a JSON list of booleans: whether
stripe.WebhookSignature.verify_header accepts the case with any of the secrets, at "now".
"""
import json
import sys
import time

import stripe

cases = json.load(sys.stdin)
results = []
for case in cases:
    time.time = lambda now=case["now"]: float(now)  # verify_header reads time.time()
    accepted = False
    for secret in case["secrets"]:
        try:
            stripe.WebhookSignature.verify_header(case["payload"], case["header"], secret, tolerance=case["tolerance"])
            accepted = True
        except stripe.SignatureVerificationError:
            pass
    results.append(accepted)
json.dump({"stripe_version": stripe.VERSION, "results": results}, sys.stdout)
