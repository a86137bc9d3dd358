"""aiosmtpd (Debian's python3-aiosmtpd) storing mail in a maildir, taking DELAY seconds to
accept each message: a slow mail server, for the outbox's lease tests.

Arguments: port maildir delay
"""
import asyncio
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

port, maildir, delay = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])


class SlowMailbox(Mailbox):
    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(delay)
        return await super().handle_DATA(server, session, envelope)


controller = Controller(SlowMailbox(maildir), hostname="127.0.0.1", port=port)
controller.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
