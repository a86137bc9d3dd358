"""The peers in Python (Flask under gunicorn, PyMySQL): POST /license/verify with the same
statements, checks and signed answer as PaymentsFCGI's, and POST /stripe/webhook doing for a
paid checkout.session.completed exactly the statements PaymentsFCGI does, in one transaction
(see bench/peers/webhook.php, its PHP twin)."""
import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from urllib.parse import urlsplit

import pymysql
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask, Response, request

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PEPPER = os.environ["PFC_PEPPER"].encode()
SIGNER = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(os.environ["PFC_SIGNING_SEED"]))
WEBHOOK_SECRET = os.environ["PFC_WEBHOOK_SECRET"].encode()
SEALER = AESGCM(bytes.fromhex(os.environ["PFC_SEALING_KEY"]))
app = Flask(__name__)
connection = None


def db():
    global connection
    if connection is None:
        connection = pymysql.connect(unix_socket=os.environ["PFC_DB_SOCKET"], user="payments", password="payments",
                                     database="payments", charset="utf8mb4", autocommit=True,
                                     # PaymentsFCGI's session settings (see webhook.php).
                                     init_command="SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,"
                                                  "NO_ENGINE_SUBSTITUTION', tx_isolation = 'READ-COMMITTED'")
    return connection


def canonical_key(text):
    s = re.sub(r"[-\s]", "", text.upper())
    if len(s) == 31 and s.startswith("PFC"):
        s = s[3:]
    if len(s) != 28:
        return None
    s = s.replace("I", "1").replace("L", "1").replace("O", "0")
    if any(c not in ALPHABET for c in s):
        return None
    values = [ALPHABET.index(c) for c in s]
    p = 32
    for c in values[:26]:
        t = (p + c) % 32 or 32
        p = (2 * t) % 33
    hybrid = (33 - p) % 32
    if values[26] != hybrid or values[27] != hashlib.sha256(bytes(values[:26] + [hybrid])).digest()[0] >> 3:
        return None
    return s


def site(url):
    parts = urlsplit(url if "://" in url else "https://" + url)
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return None
    if host.startswith("www."):
        host = host[4:]
    path = re.sub(r"/+", "/", parts.path or "").strip("/").lower()
    path = re.sub(r"(^|/)(index\.php|wp-admin|wp-login\.php)$", "", path)
    return host + ("/" + path if path else "")


@app.post("/license/verify")
def verify():
    key = canonical_key(request.form.get("license_key", ""))
    where = site(request.form.get("site_url", ""))
    if where is None:
        return Response('{"error":{"code":"invalid_request","message":"site_url"}}', 400, mimetype="application/json")
    now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    conn = db()
    answer = {"status": "invalid", "product": None, "tier": None, "expires_at": None, "activation_limit": None,
              "activations": None, "activations_left": None, "site": where, "activation_id": None}
    with conn.cursor() as cursor:
        # One statement reads the license and its seats, outside a transaction, as PaymentsFCGI does.
        cursor.execute("SELECT l.id, l.verifier, l.product, l.tier, l.activation_limit, l.status, l.expires_at, "
                       "a.activation_id, a.site, a.kind, a.last_seen FROM pfc_licenses l "
                       "LEFT JOIN pfc_activations a ON a.license_id = l.id WHERE l.selector = %s ORDER BY a.id",
                       ("~" if key is None else key[:10],))
        rows = cursor.fetchall()
        row = rows[0] if rows else None
        expected = hmac.new(PEPPER, b"pfc-license-v1:" + (key or "decoy").encode(), hashlib.sha256).digest()
        if row and key is not None and hmac.compare_digest(row[1], expected):
            cutoff = datetime.datetime.utcnow() - datetime.timedelta(days=90)
            activations = [r[7:] for r in rows if r[7] is not None and r[10] >= cutoff]
            production = sum(1 for a in activations if a[2] == "production")
            mine = [a for a in activations if a[1] == where]
            answer = {"status": "active" if mine else "site_inactive", "product": row[2], "tier": row[3], "expires_at": row[6],
                      "activation_limit": row[4], "activations": production, "activations_left": max(0, row[4] - production),
                      "site": where, "activation_id": mine[0][0] if mine else None}
            if mine and mine[0][3] < datetime.datetime.utcnow() - datetime.timedelta(hours=1):
                cursor.execute("UPDATE pfc_activations SET last_seen = %s WHERE license_id = %s AND site = %s", (now, row[0], where))
    answer.update({"cache_ttl": 43200, "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   "valid_until": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 72 * 3600)),
                   "nonce": request.form.get("nonce")})
    body = json.dumps(answer, separators=(",", ":"))
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-License-Signature"] = base64.b64encode(SIGNER.sign(body.encode())).decode()
    return response


def signature_ok(header, body, now):
    timestamp, signatures = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or abs(now - timestamp) > 300:
        return False
    expected = hmac.new(WEBHOOK_SECRET, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s) for s in signatures)


def new_key():
    number = int.from_bytes(secrets.token_bytes(17), "big") >> 6  # the first 130 bits
    values = [(number >> (5 * (25 - i))) & 31 for i in range(26)]
    p = 32
    for c in values:
        t = (p + c) % 32 or 32
        p = (2 * t) % 33
    values.append((33 - p) % 32)
    values.append(hashlib.sha256(bytes(values)).digest()[0] >> 3)
    return "".join(ALPHABET[v] for v in values)


def stamp(offset=0.0):
    return datetime.datetime.utcfromtimestamp(time.time() + offset).strftime("%Y-%m-%d %H:%M:%S.%f")


def json_answer(status, body):
    return Response(body, status, mimetype="application/json")


@app.post("/stripe/webhook")
def webhook():
    body = request.get_data()
    if not signature_ok(request.headers.get("Stripe-Signature", ""), body, int(time.time())):
        return json_answer(400, '{"error":{"code":"bad_signature","message":"the Stripe-Signature does not match"}}')
    try:
        event = json.loads(body)
        session = event["data"]["object"]
    except (ValueError, KeyError, TypeError):
        return json_answer(400, '{"error":{"code":"invalid_request","message":"not a Stripe event"}}')
    if event.get("type") != "checkout.session.completed" or session.get("payment_status") != "paid" or not session.get("metadata", {}).get("product"):
        return json_answer(400, '{"error":{"code":"unsupported","message":"this peer handles paid checkout sessions that name a product"}}')
    conn = db()
    product = session["metadata"]["product"]
    with conn.cursor() as c:
        conn.begin()
        try:
            c.execute("INSERT INTO pfc_events (id, type, livemode, api_version, created_at, received_at, outcome) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                      (event["id"], event["type"], int(event["livemode"]), event["api_version"], event["created"], stamp(), "processed"))
            at = stamp()
            email = session["customer_details"]["email"]
            c.execute("SELECT id, email FROM pfc_customers WHERE stripe_customer_id = %s FOR UPDATE", (session["customer"],))
            customer = c.fetchone()
            if customer:
                customer_id = customer[0]
            else:
                c.execute("INSERT INTO pfc_customers (email, stripe_customer_id, created_at) VALUES (%s, %s, %s)", (email, session["customer"], at))
                customer_id = c.lastrowid
            c.execute("SELECT id, session_id, customer_id, status, mode, payment_intent, amount_total, amount_refunded, currency, attention, "
                      "client_reference_id, created_at FROM pfc_orders WHERE session_id = %s FOR UPDATE", (session["id"],))
            c.fetchone()
            c.execute("INSERT INTO pfc_orders (session_id, customer_id, status, mode, payment_intent, subscription, amount_total, currency, "
                      "client_reference_id, metadata, livemode, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                      (session["id"], customer_id, "paid", session["mode"], session["payment_intent"], session["subscription"],
                       session["amount_total"], session["currency"].upper(), session["client_reference_id"],
                       json.dumps(session["metadata"], separators=(",", ":")), int(session["livemode"]), at, at))
            order_id = c.lastrowid
            actor = "stripe:" + event["id"]
            audit = ("INSERT INTO pfc_audit_log (occurred_at, subject_type, subject_id, action, before_state, after_state, actor, detail) "
                     "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)")
            c.execute(audit, (at, "order", session["id"], "created", None, "paid", actor, None))
            c.execute("SELECT product, name, kind, stripe_price_id, tier, activation_limit, duration_days, credits, entitlement, "
                      "allow_promotion_codes FROM pfc_products WHERE product = %s", (product,))
            item = c.fetchone()
            key = new_key()
            granted = stamp()
            c.execute("INSERT INTO pfc_licenses (selector, verifier, product, tier, activation_limit, status, expires_at, customer_id, order_id, "
                      "created_at, updated_at) VALUES (%s, %s, %s, %s, %s, 'active', %s, %s, %s, %s, %s)",
                      (key[:10], hmac.new(PEPPER, b"pfc-license-v1:" + key.encode(), hashlib.sha256).digest(), product, item[4], item[5],
                       stamp(86400 * item[6]), customer_id, order_id, granted, granted))
            license_id = c.lastrowid
            nonce = secrets.token_bytes(12)
            formatted = "PFC-" + "-".join(key[i:i + 7] for i in range(0, 28, 7))
            sealed = nonce + SEALER.encrypt(nonce, formatted.encode(), f"license:{license_id}".encode())
            outbox = ("INSERT INTO pfc_outbox (kind, dedupe_key, recipient, payload, sealed, created_at, next_attempt_at) "
                      "VALUES (%s, %s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE id = id")
            queued = stamp()
            c.execute(outbox, ("license_email", f"license-email:{license_id}", email,
                               json.dumps({"license_id": license_id, "product": product, "product_name": item[1], "order": session["id"]},
                                          separators=(",", ":")), sealed, queued, queued))
            # The success page's display copy: sealed again, for 60 minutes.
            nonce = secrets.token_bytes(12)
            display = nonce + SEALER.encrypt(nonce, formatted.encode(), f"license-display:{license_id}".encode())
            c.execute("UPDATE pfc_licenses SET display_sealed = %s, display_until = %s WHERE id = %s", (display, stamp(3600), license_id))
            c.execute(audit, (stamp(), "license", str(license_id), "issued", None, "active", actor, f"order {session['id']}, product {product}"))
            c.execute("INSERT INTO pfc_grants (order_id, line, product, kind, quantity, license_id, credits, entitlement, created_at) "
                      "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", (order_id, 0, product, "license", 1, license_id, None, None, granted))
            c.execute(outbox, ("notification", f"grant.created:{order_id}:0", None,
                               json.dumps({"type": "grant.created", "order": session["id"], "line": 0, "product": product, "kind": "license",
                                           "quantity": 1, "customer_email": email, "license_id": license_id, "credits": None,
                                           "entitlement": None}, separators=(",", ":")), None, granted, granted))
            c.execute("SELECT payment_intent, status, amount, currency, amount_refunded, failure_code, failure_message, receipt_url, risk_level, "
                      "risk_score FROM pfc_payments WHERE payment_intent = %s", (session["payment_intent"],))
            c.fetchall()
            c.execute("SELECT dispute, payment_intent, status FROM pfc_disputes WHERE payment_intent = %s ORDER BY id", (session["payment_intent"],))
            c.fetchall()
            conn.commit()
        except pymysql.err.IntegrityError as error:
            conn.rollback()
            if error.args[0] == 1062:
                return json_answer(200, '{"status":"duplicate"}')
            raise
    return json_answer(200, '{"status":"processed"}')
