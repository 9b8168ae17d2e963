"""A real SMTP server on localhost for the tests (aiosmtpd), recording every message it accepts."""
from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        return self.message.get_content()

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


class Recorder:
    """aiosmtpd handler: keeps what arrives; ``refuse`` answers every message with an error instead;
    ``on_message(count)`` runs before the reply (a test may kill the sender there)."""

    def __init__(self):
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.refuse: str | None = None
        self.on_message: Callable[[int], None] | None = None

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return self.refuse
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
            count = len(self.received)
        if self.on_message is not None:
            self.on_message(count)
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.recorder = Recorder()
        self.controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        with self.recorder.lock:
            return list(self.recorder.received)

    def start(self) -> SmtpServer:
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
