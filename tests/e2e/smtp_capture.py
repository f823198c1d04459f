"""
smtp_capture.py: a real SMTP server for the tests, to see what Ratify sends.

SmtpCapture runs aiosmtpd's Controller on 127.0.0.1 (a free port unless one
is given) in a background thread. Each message it accepts is kept in
`messages` (envelope sender, recipients, the raw bytes and the parsed
email.message.EmailMessage, whose headers come back RFC 2047-decoded and
whose get_content() undoes the quoted-printable) and written to `maildir`
as NNNN.eml for a person to look at when a test fails.

stop() and start() again on the same port simulate an outage.

The `smtp` fixture (function scope) gives a started SmtpCapture and stops
it afterwards; a test module imports it to use it.
"""

import email
import email.policy
import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler:
    def __init__(self, capture):
        self.capture = capture

    async def handle_DATA(self, server, session, envelope):
        self.capture._store(envelope.mail_from, list(envelope.rcpt_tos),
                            bytes(envelope.original_content))
        return "250 Message accepted for delivery"


class SmtpCapture:
    def __init__(self, maildir, port=None):
        self.maildir = Path(maildir)
        self.maildir.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.messages = []
        self._lock = threading.Condition()
        self._controller = None

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def running(self):
        return self._controller is not None

    def start(self):
        """Listens on self.port (a free one the first time). Returns self."""
        assert not self.running, "already started"
        last_error = None
        for _ in range(5):
            port = self.port or free_port()
            controller = Controller(_Handler(self), hostname="127.0.0.1", port=port)
            try:
                controller.start()
            except (OSError, RuntimeError) as e:  # the port was taken meanwhile
                last_error = e
                if self.port:  # a fixed port: retry it shortly (TIME_WAIT, a slow stop)
                    time.sleep(0.2)
                continue
            self.port = port
            self._controller = controller
            return self
        raise RuntimeError(f"could not start the SMTP capture server: {last_error}")

    def stop(self):
        """Stops listening; the messages received so far are kept."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _store(self, mail_from, rcpt_tos, raw):
        # The email package works with LF line ends: given CRLF it leaves a
        # CR at the end of every decoded body line.
        parsed = email.message_from_bytes(raw.replace(b"\r\n", b"\n"),
                                          policy=email.policy.default)
        with self._lock:
            n = len(self.messages) + 1
            path = self.maildir / f"{n:04d}.eml"
            path.write_bytes(raw)
            self.messages.append(SimpleNamespace(
                mail_from=mail_from, rcpt_tos=rcpt_tos, raw=raw, msg=parsed, path=path))
            self._lock.notify_all()

    def wait_for(self, count, timeout=10):
        """Waits until count messages have arrived in all; returns the list
        (fails the test if they do not come within timeout seconds)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"expected {count} message(s) within {timeout}s, "
                                f"got {len(self.messages)}", pytrace=False)
                self._lock.wait(left)
            return list(self.messages)

    def wait_for_to(self, address, count, timeout=10):
        """Waits until count messages have arrived for address (other mail,
        such as the staff's notifications, may arrive in between); returns
        them."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                mine = [m for m in self.messages
                        if address.lower() in (r.lower() for r in m.rcpt_tos)]
                if len(mine) >= count:
                    return mine
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"expected {count} message(s) to {address} within {timeout}s, "
                                f"got {len(mine)}", pytrace=False)
                self._lock.wait(left)

    def messages_to(self, address):
        """The messages whose envelope names address as a recipient."""
        with self._lock:
            return [m for m in self.messages
                    if address.lower() in (r.lower() for r in m.rcpt_tos)]

    @staticmethod
    def body(message):
        """The decoded text body of a captured message (LF line ends)."""
        return message.msg.get_content()


@pytest.fixture
def smtp(tmp_path):
    capture = SmtpCapture(tmp_path / "smtp").start()
    yield capture
    capture.stop()
