#!/usr/bin/env python3
"""Writes each fuzz target's seed corpus from the repository's tests and fixtures.

Usage: Fuzz/make-seeds.py OUTPUT_DIR   (creates OUTPUT_DIR/<Target>/seed-N files)

Seeds are what the tests already feed these parsers: Stripe fixtures, the site URLs, keys,
configuration files, form bodies and FastCGI parameters the tests use. They are made afresh
from the tests at each run, so they follow the tests.
"""
import glob
import hashlib
import os
import re
import struct
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = sys.argv[1]


def swift_unescape(text):
    """A Swift literal's escapes (\\n, \\t, \\", \\\\, \\u{…}) turned into the text they stand for."""
    escapes = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", '"': '"', "'": "'", "\\": "\\"}
    return re.sub(r"\\(u\{([0-9A-Fa-f]{1,8})\}|.)",
                  lambda m: chr(int(m.group(2), 16)) if m.group(2) else escapes.get(m.group(1), m.group(1)), text)


def literals(path):
    """Every plain Swift string literal in a file (no interpolation)."""
    text = open(os.path.join(root, path), encoding="utf-8").read()
    return [swift_unescape(m) for m in re.findall(r'"((?:[^"\\\n]|\\.)*)"', text) if "\\(" not in m]


def write(target, items):
    folder = os.path.join(out, target)
    os.makedirs(folder, exist_ok=True)
    for item in items:
        data = item if isinstance(item, bytes) else item.encode("utf-8", "surrogatepass")
        name = "seed-" + hashlib.sha1(data).hexdigest()[:12]
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)


def pairs(params):
    """FastCGI name-value pairs (FastCGI 1.0 §3.4)."""
    def length(n):
        return bytes([n]) if n < 0x80 else struct.pack(">I", n | 0x80000000)
    data = b""
    for name, value in params.items():
        name, value = name.encode(), value.encode()
        data += length(len(name)) + length(len(value)) + name + value
    return data


def record(kind, content):
    return struct.pack(">BBHHBB", 1, kind, 1, len(content), 0, 0) + content


fixtures = [open(p, "rb").read() for p in sorted(glob.glob(os.path.join(root, "Tests/Fixtures/stripe/*.json")))]
write("JSONParser", fixtures + [b'{"a":[1,2.5e-3,true,false,null,"\\u00e9\\ud83d\\ude00"]}', b"[]", b'"x"'])
write("WebhookSignature", [bytes([0, 0xFF]) + fixtures[0][:2048], bytes([12, 0, 1, 3, 65, 0xFF]) + b'{"id":"evt_1"}', bytes([0, 1, 2, 20, 44, 0xFF]) + b"{}"])
write("SiteURL", [s for s in literals("Tests/HandlersTests/SiteURLTests.swift") if s])
write("LicenseKey", [s for s in literals("Tests/HandlersTests/LicenseKeyTests.swift") if s] + ["PFC-ABCDE-FGHJK-MNPQR-STVWX-YZ234"])
write("INIFile", [open(p, encoding="utf-8").read() for p in [os.path.join(root, "scripts/demo-catalogue.ini"), os.path.join(root, "bench/catalogue.ini")]]
      + ["[database]\nname = payments\nuser = payments\npassword_file = /run/secret\n[server]\nlisten = 127.0.0.1:9000\nworkers = 4\n",
         "; comment\n# comment\n[stripe]\nmode = test\nsecret_key = \"sk_test_x\"\n"])
forms = ["edd_action=activate_license&license=PFC-ABCDE-FGHJK&item_name=Pro+license&url=https%3A%2F%2Fexample.com",
         "customer=a%40example.com&amount=5&idempotency_key=k1", "a=1&a=2&b=&=c&%zz=%41%42+c"]
write("FormDecoding", forms)
write("EDDRequest", [b"\x00127.0.0.1\n" + f.encode() for f in forms[:1]]
      + [b"\x01::1\n" + b'{"edd_action":"check_license","license":"PFC-ABCDE","url":"example.com/shop"}',
         b"\x0010.0.0.1\nedd_action=deactivate_license&license=x&url=javascript%3Aalert(1)"])
heads = [
    {"REQUEST_METHOD": "POST", "REQUEST_URI": "/payments/webhook?x=1", "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": "2",
     "HTTP_STRIPE_SIGNATURE": "t=1,v1=ab", "REMOTE_ADDR": "127.0.0.1"},
    {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/payments", "PATH_INFO": "/license/verify", "QUERY_STRING": "a=%20b"},
    {"REQUEST_METHOD": "POST", "REQUEST_URI": "/payments/credits/consume", "CONTENT_LENGTH": "99999999999999999999"},
]
write("GatewayRequest", [bytes([64]) + b"/payments\n" + pairs(h) + b"\xff{}" for h in heads])
records = []
for h in heads:
    begin = record(1, struct.pack(">HB5x", 1, 0))
    body = b"{}"
    records.append(bytes([10]) + begin + record(4, pairs(h)) + record(4, b"") + record(5, body) + record(5, b""))
    records.append(bytes([3]) + begin + record(4, pairs(h)))
write("FastCGIRecords", records)
