"""Turns the real checkout.session.completed fixture into the webhook benchmark's template:
the event, session, PaymentIntent and customer ids become @@ID@@ (webhook.lua fills in a fresh
one per request) and metadata[product] names the bench catalogue's product. The text is kept
as Stripe sends it (pretty-printed, about 3.5 KB).

    python3 bench/event-template.py FIXTURE > TEMPLATE
"""
import json
import sys

text = open(sys.argv[1]).read()
event = json.loads(text)
session = event["data"]["object"]
assert event["type"] == "checkout.session.completed" and session["payment_status"] == "paid"
for old, new in [(event["id"], "evt_@@ID@@"), (session["id"], "cs_test_@@ID@@"), (session["payment_intent"], "pi_@@ID@@"),
                 (session["customer"], "cus_@@ID@@")]:
    assert text.count(f'"{old}"') == 1, old
    text = text.replace(f'"{old}"', f'"{new}"')
marker = '"order_ref": "order-1001"'
assert text.count(marker) == 1
text = text.replace(marker, marker + ',\n        "product": "bench-license"')
json.loads(text.replace("@@ID@@", "x"))  # still JSON
sys.stdout.write(text)
