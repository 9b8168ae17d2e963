"""The channels that carry a notification beyond the in-app inbox: e-mail over SMTP, and SMS.

A channel's sender gets the address, the words and a ``commit`` callback. It must call ``commit`` at its
point of no return, and raise before it for anything that went wrong, so the caller knows whether the
message may have gone:

- SMTP: the whole message is written, then ``commit`` records it sent, and only then the final "."
  that tells the server to accept it. Killed before the commit, the server never got the "." and drops
  the message, so it is sent again; killed after, it is recorded sent. A commit refused because another
  sender took the delivery over (``NotRecorded``) drops the connection without the ".", so nothing goes.
- SMS: the backend sends, then ``commit``. A provider adapter passes ``message_id`` as the provider's
  idempotency key (Chinese SMS APIs call it an out-id), which makes a resend after a crash harmless.

``send_many`` sends a batch the same way with one ``commit`` for several messages. The SMTP sender keeps up
to MAIL_CONNECTIONS connections open and carries one message on each at a time: every step of the
conversation (MAIL, RCPT, DATA, the text) is written to all of them before their answers are read (each
connection still waits for each answer; no pipelining is asked of the server). With every text written
and no "." sent, one ``commit`` records the group sent, and only then does each connection get its ".".
So each message keeps the guarantees above, and one database commit (a disk flush on PostgreSQL) is
shared by the group instead of paid by every message.
"""
from __future__ import annotations

import base64
import email.policy
import email.utils
import importlib
import logging
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
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


class NotRecorded(Exception):
    """``commit`` did not record this message sent (another sender holds it now), so it was not sent."""


@dataclass(frozen=True)
class Outgoing:
    """One message of a batch; ``key`` is the caller's name for it (the delivery's id)."""

    key: int
    address: str
    text: Text
    message_id: str


# What became of each message of a batch, by key: None when sent, else the exception saying why not
# (TemporaryFailure, ChannelDown, PermanentFailure, RefusedAfterCommit, NotRecorded; any other is a bug).
Outcomes = dict[int, "BaseException | None"]
# Records the messages with these keys sent (the point of no return); returns the keys it recorded.
CommitMany = Callable[[list[int]], Collection[int]]


class Sender(Protocol):
    def send(self, address: str, text: Text, *, message_id: str, commit: Callable[[], None]) -> None: ...

    def send_many(self, messages: Sequence[Outgoing], commit: CommitMany) -> Outcomes: ...

    def close(self) -> None: ...


def one_at_a_time(sender: Sender, messages: Sequence[Outgoing], commit: CommitMany) -> Outcomes:
    """``send_many`` for a channel whose messages are each recorded on their own."""
    outcomes: Outcomes = {}
    for position, message in enumerate(messages):
        def commit_one(key: int = message.key) -> None:
            if key not in commit([key]):
                raise NotRecorded(key)
        try:
            sender.send(message.address, message.text, message_id=message.message_id, commit=commit_one)
            outcomes[message.key] = None
        except ChannelDown as error:  # the rest of the batch waits too, without trying
            for rest in messages[position:]:
                outcomes[rest.key] = error
            break
        except Exception as error:  # noqa: BLE001 - the caller decides what each failure means
            outcomes[message.key] = error
    return outcomes


# --- e-mail ---

# SMTP connections one sender keeps open to carry a batch side by side (the config's MAIL_CONNECTIONS when
# it has one): a group of this many messages shares one database commit. Mail servers take this many from
# one client at once (Postfix's default limit: 50); one that takes fewer is used with as many as it takes.
MAIL_CONNECTIONS = 25


class SmtpSender:
    """SMTP connections, opened on first use and reused: one for ``send``, up to ``width`` for ``send_many``."""

    def __init__(self, config: Mapping[str, Any]):
        self.config = config
        self.smtp: smtplib.SMTP | None = None
        self.spare: list[smtplib.SMTP] = []  # send_many's connections beside self.smtp
        self.width = max(1, int(config.get("MAIL_CONNECTIONS") or MAIL_CONNECTIONS))
        self._from: str | None = None

    def _connection(self) -> smtplib.SMTP:
        if self.smtp is None:
            self.smtp = self._connect()
        return self.smtp

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        try:
            smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"])
            # A message and its closing "." are separate writes: without TCP_NODELAY the second small write
            # waits for the server's delayed ACK, a flat ~40 ms a message (bench/speed_scheduler.py).
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
        return smtp

    def message(self, address: str, text: Text, message_id: str) -> bytes:
        """The message as it goes over SMTP: the UTF-8 text in base64 (lines of 76), the subject as RFC 2047
        encoded words unless it is short plain ASCII. Written out directly: the email package's general
        header folding took ~1.5 ms a message, more than a whole SMTP conversation with a local server."""
        if self._from is None:
            self._from = _folded("From", self.config["MAIL_SENDER"])
        body = base64.encodebytes(("\n".join(text.body.splitlines()) + "\n").encode()).replace(b"\n", CRLF)
        head = (f"{self._from}To: {address}\r\n{_subject(text.subject)}"
                f"Date: {email.utils.formatdate(localtime=False)}\r\nMessage-ID: {message_id}\r\n"
                'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n'
                "MIME-Version: 1.0\r\n\r\n")
        return head.encode("ascii") + body

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

    # --- a batch, side by side ---

    def send_many(self, messages: Sequence[Outgoing], commit: CommitMany) -> Outcomes:
        """Send a batch, up to ``width`` messages at a time on as many connections, one ``commit`` a group."""
        outcomes: Outcomes = {}
        waiting = list(messages)
        while waiting:
            group: list[tuple[Outgoing, bytes]] = []
            for message in waiting[:self.width]:
                if not message.address.isascii():
                    outcomes[message.key] = PermanentFailure(
                        f"the address {message.address!r} has characters an SMTP server cannot take")
                    continue
                try:
                    group.append((message, self.message(message.address, message.text, message.message_id)))
                except Exception as error:  # noqa: BLE001 - our bug: this message waits, the batch goes on
                    outcomes[message.key] = error
            waiting = waiting[self.width:]
            if not group:
                continue
            try:
                connections = self._connections(len(group))
            except ChannelDown as error:
                for message in [message for message, _data in group] + waiting:
                    outcomes[message.key] = error
                break
            # A server that took fewer connections than asked: the rest of the group goes in the next round.
            waiting = [message for message, _data in group[len(connections):]] + waiting
            self._send_group([(message, data, smtp) for (message, data), smtp in zip(group, connections)],
                             commit, outcomes)
        return outcomes

    def _connections(self, wanted: int) -> list[smtplib.SMTP]:
        """Up to ``wanted`` open connections: at least one (else ChannelDown). When the server refuses one
        more, ``width`` comes down to what it took."""
        connections = [self._connection()]
        while len(connections) < min(wanted, self.width):
            if len(connections) - 1 < len(self.spare):
                connections.append(self.spare[len(connections) - 1])
                continue
            try:
                self.spare.append(self._connect())
            except ChannelDown as error:
                log.info("the mail server took %d connections at once, not more: %s", len(connections), error)
                self.width = len(connections)
                break
            connections.append(self.spare[-1])
        return connections

    def _send_group(self, group: list[tuple[Outgoing, bytes, smtplib.SMTP]], commit: CommitMany,
                    outcomes: Outcomes) -> None:
        """One message on each connection: each step written to every connection, then every answer read."""
        sender = smtplib.quoteaddr(self.config["MAIL_SENDER"])
        steps = (("MAIL FROM", lambda message: ("mail", f"FROM:{sender}"), (250,)),
                 ("RCPT TO", lambda message: ("rcpt", f"TO:{smtplib.quoteaddr(message.address)}"), (250, 251)),
                 ("DATA", lambda message: ("data", ""), (354,)))
        live, to_reset = group, []
        for step, command, codes in steps:
            for message, _data, smtp in live:
                self._step(outcomes, message, smtp, lambda: smtp.putcmd(*command(message)))
            answered = []
            for message, data, smtp in live:
                answer = self._step(outcomes, message, smtp, smtp.getreply)
                if answer is None:
                    continue
                try:
                    self._expect(answer, codes, f"RCPT TO {message.address}" if step == "RCPT TO" else step)
                except (TemporaryFailure, PermanentFailure) as refusal:
                    outcomes[message.key] = refusal
                    to_reset.append(smtp)
                    continue
                answered.append((message, data, smtp))
            live = answered
        for message, data, smtp in live:
            self._step(outcomes, message, smtp, lambda: smtp.send(_dot_stuffed(data)))
        live = [entry for entry in live if entry[0].key not in outcomes]
        for smtp in to_reset:
            self._reset_one(smtp)
        if not live:
            return
        try:
            recorded = set(commit([message.key for message, _data, _smtp in live]))
        except BaseException as error:
            for message, _data, smtp in live:
                self._drop(smtp)  # no "." ever reaches the server: it drops the message
                outcomes[message.key] = error
            if not isinstance(error, Exception):
                raise
            return
        for message, _data, smtp in live:
            if message.key not in recorded:
                self._drop(smtp)  # another sender holds it: nothing goes
                outcomes[message.key] = NotRecorded(message.key)
        live = [entry for entry in live if entry[0].key in recorded]
        # Past the point of no return: the "."s go at once, one after another, then their answers are read.
        for message, _data, smtp in live:
            outcomes[message.key] = None
            try:
                smtp.send(b"." + CRLF)
            except (OSError, smtplib.SMTPException) as error:
                log.warning("e-mail %s: connection lost at the end of data (%s); recorded sent",
                            message.message_id, error)
                self._drop(smtp)
        for message, _data, smtp in live:
            if smtp is not self.smtp and smtp not in self.spare:
                continue  # dropped above
            try:
                code, reply = smtp.getreply()
            except (OSError, smtplib.SMTPException) as error:
                log.warning("e-mail %s: connection lost after the end of data (%s); recorded sent",
                            message.message_id, error)
                self._drop(smtp)
                continue
            if code != 250:
                outcomes[message.key] = RefusedAfterCommit(f"{code} {reply.decode(errors='replace')}",
                                                           temporary=400 <= code < 500)

    def _step(self, outcomes: Outcomes, message: Outgoing, smtp: smtplib.SMTP, step: Callable[[], Any]) -> Any:
        """One step of a message's conversation (None once it has failed); a broken connection fails the
        message for now (it is tried again later)."""
        if message.key in outcomes:
            return None
        try:
            return step()
        except (OSError, smtplib.SMTPException) as error:
            self._drop(smtp)
            outcomes[message.key] = TemporaryFailure(f"the mail server connection failed: {error}")
            return None

    def _reset_one(self, smtp: smtplib.SMTP) -> None:
        try:
            smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._drop(smtp)

    def _drop(self, smtp: smtplib.SMTP) -> None:
        """Close one connection without a word: a message in the middle of its text is dropped by the server."""
        if smtp is self.smtp:
            self.smtp = None
        elif smtp in self.spare:
            self.spare.remove(smtp)
        try:
            smtp.close()
        except (OSError, smtplib.SMTPException):
            pass

    # --- replies and closing ---

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
        """Close ``send``'s connection; ``abort`` without QUIT (a message in flight is dropped). A plain close
        (the end of a run) closes ``send_many``'s other connections too."""
        connections = [self.smtp] if abort else [self.smtp, *self.spare]
        self.smtp = None
        if not abort:
            self.spare = []
        for smtp in connections:
            if smtp is None:
                continue
            try:
                if abort:
                    smtp.close()
                else:
                    smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


def _folded(name: str, value: str) -> str:
    """A header line as the email package writes it (the sender's, once per sender)."""
    message = EmailMessage()
    message[name] = value
    return message.as_bytes(policy=email.policy.SMTP).decode("ascii").split("\r\n\r\n", 1)[0] + "\r\n"


def _subject(subject: str) -> str:
    """The Subject header: short plain ASCII as it is; anything else as RFC 2047 encoded words (base64 of
    UTF-8, at most 72 characters each, one per folded line, never splitting a character)."""
    if subject.isascii() and len(subject) <= 68 and "=?" not in subject:
        return f"Subject: {subject}\r\n"
    words, chunk = [], b""
    for character in subject:
        encoded = character.encode()
        if len(chunk) + len(encoded) > 45:  # 45 bytes are 60 characters of base64
            words.append(chunk)
            chunk = b""
        chunk += encoded
    words.append(chunk)
    return "Subject: " + "\r\n ".join(f"=?utf-8?b?{base64.b64encode(word).decode()}?=" for word in words) + "\r\n"


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

    def send_many(self, messages: Sequence[Outgoing], commit: CommitMany) -> Outcomes:
        """Each SMS is recorded sent on its own, as the provider takes it."""
        return one_at_a_time(self, messages, commit)

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
