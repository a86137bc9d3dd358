"""aiosmtpd (Debian's python3-aiosmtpd) with TLS and AUTH, which its command line cannot
configure: a real SMTP server for the mail tests' STARTTLS, implicit TLS and AUTH cases.

Arguments: port maildir mode(starttls|tls) certfile keyfile user password
"""
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

port, maildir, mode, cert, key, user, password = sys.argv[1:8]
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
    return AuthResult(success=ok)


common = dict(hostname="127.0.0.1", port=int(port), authenticator=authenticator, auth_required=True)
if mode == "tls":
    controller = Controller(Mailbox(maildir), ssl_context=context, auth_require_tls=False, **common)
else:
    controller = Controller(Mailbox(maildir), tls_context=context, require_starttls=True, auth_require_tls=True, **common)
controller.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
