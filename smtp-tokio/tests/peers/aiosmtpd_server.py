"""aiosmtpd as a server for our client: STARTTLS required, AUTH (user/pass)
required, messages stored as SPOOL/<n>.eml. Prints "listening on PORT".

usage: aiosmtpd_server.py CERT KEY SPOOL
"""
import os
import socket
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

cert, key, spool = sys.argv[1:4]
os.makedirs(spool, exist_ok=True)


class Store:
    count = 0

    async def handle_DATA(self, server, session, envelope):
        path = os.path.join(spool, "%d.eml" % Store.count)
        Store.count += 1
        with open(path, "wb") as f:
            f.write(envelope.original_content)
        return "250 2.0.0 stored"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"user" and auth_data.password == b"pass"
    # handled=False: aiosmtpd answers the failure itself (535 5.7.8).
    return AuthResult(success=ok, handled=False)


ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
# The controller cannot take port 0: find a free port first.
probe = socket.socket()
probe.bind(("127.0.0.1", 0))
port = probe.getsockname()[1]
probe.close()
controller = Controller(Store(), hostname="127.0.0.1", port=port, tls_context=ctx,
                        require_starttls=True, authenticator=authenticator,
                        auth_required=True, auth_require_tls=True)
controller.start()
print("listening on %d" % port, flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
