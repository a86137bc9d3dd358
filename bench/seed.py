"""Seeds the benchmark database: N licenses with real keys (the same format, check symbols and
keyed hash as Sources/Handlers/Licensing/LicenseKey.swift) and 3 activations each, as SQL on
stdout; writes "KEY SITE" lines for wrk to the file named by the second argument.

Usage: python3 seed.py COUNT KEYS_FILE PEPPER > seed.sql
"""
import hashlib
import hmac
import secrets
import sys
import time

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def check_symbols(payload):
    p = 32
    for c in payload:
        s = (p + c) % 32
        if s == 0:
            s = 32
        p = (2 * s) % 33
    hybrid = (33 - p) % 32
    return [hybrid, hashlib.sha256(bytes(payload + [hybrid])).digest()[0] >> 3]


count, keys_file, pepper = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode()
# Seen two hours ago: the first verify of each site records it, later ones within the hour do not.
now = time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime(time.time() - 7200))
print("SET autocommit = 0;")
with open(keys_file, "w") as keys:
    for start in range(0, count, 500):
        licenses, activations = [], []
        for i in range(start, min(start + 500, count)):
            payload = [secrets.randbelow(32) for _ in range(26)]
            canonical = "".join(ALPHABET[x] for x in payload + check_symbols(payload))
            verifier = hmac.new(pepper, b"pfc-license-v1:" + canonical.encode(), hashlib.sha256).hexdigest()
            licenses.append(f"({i + 1}, '{canonical[:10]}', UNHEX('{verifier}'), 'bench-license', 'pro', 5, 'active', NULL, '{now}', '{now}')")
            for n in range(3):
                site = f"site-{i}-{n}.example.com"
                activations.append(f"('act_{secrets.token_hex(10)}', {i + 1}, '{site}', 'production', '{now}', '{now}')")
            formatted = "PFC-" + "-".join(canonical[j:j + 7] for j in range(0, 28, 7))
            keys.write(f"{formatted} https://{site}/\n")
        print("INSERT INTO pfc_licenses (id, selector, verifier, product, tier, activation_limit, status, expires_at, created_at, updated_at) VALUES "
              + ",".join(licenses) + ";")
        print("INSERT INTO pfc_activations (activation_id, license_id, site, kind, first_seen, last_seen) VALUES " + ",".join(activations) + ";")
print("COMMIT;")
