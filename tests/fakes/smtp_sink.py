"""An SMTP sink (aiosmtpd) on 127.0.0.1 at a free port that keeps every message
it accepts: .messages is a list of (envelope sender, recipients, raw bytes).
Parse the bytes with Python's email package. .reject_rcpt = "550" (or "450")
makes it refuse recipients with that code.

Needs Debian's python3-aiosmtpd.
"""
import socket
import threading

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.sink.reject_rcpt:
            code = self.sink.reject_rcpt
            return f"{code} {'5.1.1 no such user' if code.startswith('5') else '4.2.1 try later'}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.sink.lock:
            self.sink.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                       envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class SmtpSink:
    def __init__(self):
        self.messages = []
        self.reject_rcpt = None
        self.lock = threading.Lock()
        self.port = _free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self._ctl = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                               decode_data=False)

    def start(self):
        self._ctl.start()
        return self

    def stop(self):
        self._ctl.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
