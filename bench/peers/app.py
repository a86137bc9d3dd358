"""The license-verify peer in Python (Flask under gunicorn, PyMySQL): the same statements,
checks and signed answer as PaymentsFCGI's POST /license/verify."""
import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import time
from urllib.parse import urlsplit

import pymysql
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask, Response, request

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PEPPER = os.environ["PFC_PEPPER"].encode()
SIGNER = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(os.environ["PFC_SIGNING_SEED"]))
app = Flask(__name__)
connection = None


def db():
    global connection
    if connection is None:
        connection = pymysql.connect(unix_socket=os.environ["PFC_DB_SOCKET"], user="payments", password="payments",
                                     database="payments", charset="utf8mb4", autocommit=False)
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
        cursor.execute("SELECT id, verifier, product, tier, activation_limit, status, expires_at FROM pfc_licenses WHERE selector = %s",
                       ("~" if key is None else key[:10],))
        row = cursor.fetchone()
        expected = hmac.new(PEPPER, b"pfc-license-v1:" + (key or "decoy").encode(), hashlib.sha256).digest()
        if row and key is not None and hmac.compare_digest(row[1], expected):
            cursor.execute("SELECT site FROM pfc_activations WHERE license_id = %s AND last_seen < %s",
                           (row[0], time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 90 * 86400))))
            cursor.fetchall()
            cursor.execute("SELECT activation_id, site, kind, last_seen FROM pfc_activations WHERE license_id = %s ORDER BY id", (row[0],))
            activations = cursor.fetchall()
            production = sum(1 for a in activations if a[2] == "production")
            mine = [a for a in activations if a[1] == where]
            answer = {"status": "active" if mine else "site_inactive", "product": row[2], "tier": row[3], "expires_at": row[6],
                      "activation_limit": row[4], "activations": production, "activations_left": max(0, row[4] - production),
                      "site": where, "activation_id": mine[0][0] if mine else None}
            if mine and mine[0][3] < datetime.datetime.utcnow() - datetime.timedelta(hours=1):
                cursor.execute("UPDATE pfc_activations SET last_seen = %s WHERE license_id = %s AND site = %s", (now, row[0], where))
    conn.commit()
    answer.update({"cache_ttl": 43200, "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   "valid_until": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 72 * 3600)),
                   "nonce": request.form.get("nonce")})
    body = json.dumps(answer, separators=(",", ":"))
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-License-Signature"] = base64.b64encode(SIGNER.sign(body.encode())).decode()
    return response
