"""The channels that carry a notification beyond the in-app inbox: e-mail over SMTP, and SMS.

A channel's sender gets the address, the words and a ``commit`` callback. It must call ``commit`` at its
point of no return, and raise before it for anything that went wrong, so the caller knows whether the
message may have gone:

- SMTP: the whole message is written, then ``commit`` records it sent, and only then the final "."
  that tells the server to accept it. Killed before the commit, the server never got the "." and drops
  the message, so it is sent again; killed after, it is recorded sent. A commit refused because another
  sender took the delivery over (``LostClaim``) drops the connection without the ".", so nothing goes.
- SMS: the backend sends, then ``commit``. A provider adapter passes ``message_id`` as the provider's
  idempotency key (Chinese SMS APIs call it an out-id), which makes a resend after a crash harmless.
"""
from __future__ import annotations

import email.policy
import email.utils
import importlib
import logging
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Mapping
from email.message import EmailMessage
from typing import Any, Protocol

from careapp.core.privacy import mask_phone
from careapp.notifications.models import Channel
from careapp.notifications.texts import Text

log = logging.getLogger("careapp.notifications")
CRLF = b"\r\n"


class TemporaryFailure(Exception):
    """Try again later (server down, 4xx reply)."""


class ChannelDown(TemporaryFailure):
    """The channel cannot be reached at all: the rest of the batch waits too, without trying."""


class PermanentFailure(Exception):
    """Never going to work (5xx reply: no such mailbox)."""


class RefusedAfterCommit(Exception):
    """Recorded sent, then the server refused it: the caller takes the record back."""

    def __init__(self, message: str, *, temporary: bool):
        super().__init__(message)
        self.temporary = temporary


class Sender(Protocol):
    def send(self, address: str, text: Text, *, message_id: str, commit: Callable[[], None]) -> None: ...

    def close(self) -> None: ...


# --- e-mail ---

class SmtpSender:
    """One SMTP connection, opened on first use and reused for a batch."""

    def __init__(self, config: Mapping[str, Any]):
        self.config = config
        self.smtp: smtplib.SMTP | None = None

    def _connection(self) -> smtplib.SMTP:
        if self.smtp is None:
            config = self.config
            try:
                smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"])
                # send() writes a message and its closing "." separately: without TCP_NODELAY the second small
                # write waits for the server's delayed ACK, a flat ~40 ms a message (bench/speed_scheduler.py).
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                smtp.ehlo_or_helo_if_needed()
                if config["MAIL_USE_TLS"]:
                    smtp.starttls(context=ssl.create_default_context())
                if config["MAIL_USERNAME"]:
                    smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            except smtplib.SMTPAuthenticationError as error:
                raise ChannelDown(f"the mail server refused the login: {error}") from None
            except (OSError, smtplib.SMTPException) as error:
                raise ChannelDown(f"cannot reach the mail server {config['MAIL_SERVER']}:{config['MAIL_PORT']}: "
                                  f"{error}") from None
            self.smtp = smtp
        return self.smtp

    def message(self, address: str, text: Text, message_id: str) -> bytes:
        message = EmailMessage()
        message["From"] = self.config["MAIL_SENDER"]
        message["To"] = address
        message["Subject"] = text.subject
        message["Date"] = email.utils.formatdate(localtime=False)
        message["Message-ID"] = message_id
        message.set_content(text.body)
        return message.as_bytes(policy=email.policy.SMTP)

    def send(self, address: str, text: Text, *, message_id: str, commit: Callable[[], None]) -> None:
        if not address.isascii():
            # SMTPUTF8 mailboxes are rare and most servers refuse them: say so instead of failing every run.
            raise PermanentFailure(f"the address {address!r} has characters an SMTP server cannot take")
        data = self.message(address, text, message_id)
        smtp = self._connection()
        try:
            self._expect(smtp.mail(self.config["MAIL_SENDER"]), (250,), "MAIL FROM")
            self._expect(smtp.rcpt(address), (250, 251), f"RCPT TO {address}")
            self._expect(smtp.docmd("data"), (354,), "DATA")
            smtp.send(_dot_stuffed(data))
        except (OSError, smtplib.SMTPException) as error:
            self.close(abort=True)
            raise TemporaryFailure(f"the mail server connection failed: {error}") from None
        except (TemporaryFailure, PermanentFailure):
            self._reset()
            raise
        try:
            commit()  # the point of no return: recorded sent before the server is told to accept
        except BaseException:
            self.close(abort=True)  # no "." ever reaches the server: it drops the message
            raise
        try:
            smtp.send(b"." + CRLF)
            code, reply = smtp.getreply()
        except (OSError, smtplib.SMTPException) as error:
            self.close(abort=True)
            log.warning("e-mail %s: connection lost after the end of data (%s); recorded sent", message_id, error)
            return
        if code != 250:
            raise RefusedAfterCommit(f"{code} {reply.decode(errors='replace')}", temporary=400 <= code < 500)

    @staticmethod
    def _expect(answer: tuple[int, bytes], codes: tuple[int, ...], step: str) -> None:
        code, reply = answer
        if code in codes:
            return
        message = f"{step}: {code} {reply.decode(errors='replace')}"
        raise TemporaryFailure(message) if code < 500 else PermanentFailure(message)

    def _reset(self) -> None:
        try:
            self.smtp.rset()
        except (OSError, smtplib.SMTPException, AttributeError):
            self.close(abort=True)

    def close(self, abort: bool = False) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is None:
            return
        try:
            if abort:
                smtp.close()
            else:
                smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _dot_stuffed(data: bytes) -> bytes:
    """The message as SMTP's DATA carries it (RFC 5321 4.5.2), without the final ".": that is sent later."""
    data = re.sub(rb"(?m)^\.", b"..", data)
    return data if data.endswith(CRLF) else data + CRLF


# --- SMS ---

class SmsBackend(Protocol):
    """What an SMS provider adapter implements. Raise TemporaryFailure or PermanentFailure on failure."""

    def send(self, phone: str, text: str, *, message_id: str) -> None: ...


class LoggingSms:
    """The default until a provider is configured: writes each SMS to the log (phone masked)."""

    def __init__(self, config: Mapping[str, Any]):
        self.config = config

    def send(self, phone: str, text: str, *, message_id: str) -> None:
        log.info("SMS %s to %s: %s", message_id, mask_phone(phone), text)


class SmsSender:
    def __init__(self, backend: SmsBackend):
        self.backend = backend

    def send(self, address: str, text: Text, *, message_id: str, commit: Callable[[], None]) -> None:
        self.backend.send(address, f"{text.subject}\n{text.body}", message_id=message_id)
        commit()

    def close(self) -> None:
        pass


def sms_backend(config: Mapping[str, Any]) -> SmsBackend:
    """CAREAPP_SMS_BACKEND: ``log`` (the default), or ``package.module:ClassName`` of a provider adapter
    taking the app config."""
    name = config["SMS_BACKEND"]
    if name == "log":
        return LoggingSms(config)
    module_name, _, class_name = name.partition(":")
    try:
        return getattr(importlib.import_module(module_name), class_name)(config)
    except (ImportError, AttributeError, ValueError) as error:
        raise ChannelDown(f"CAREAPP_SMS_BACKEND {name!r} cannot be loaded: {error}") from None


def open_sender(channel: Channel, config: Mapping[str, Any]) -> Sender:
    if channel == Channel.email:
        return SmtpSender(config)
    return SmsSender(sms_backend(config))
