"""Sending pending deliveries: each once per channel, through kills, restarts and a second scheduler.

1. **Claim** a batch: in one transaction mark up to BATCH due deliveries with this process's token
   (PostgreSQL skips rows another sender has locked). A claim keeps other senders off for CLAIM_FOR.
2. **Check** each is still worth sending (careapp.notifications.outbox.skip_reason): a reminder whose slot
   has started is marked skipped, never sent late.
3. **Send** through the channel, which calls back at its point of no return to **record it sent** - an
   update that succeeds only while the claim is still this process's (a fencing token). A sender whose
   claim was taken over (it stalled, and a new active scheduler released its claims) cannot record, and
   so aborts before the message is accepted (see careapp.notifications.channels).
4. On a temporary failure the delivery waits (30 s, doubling to at most 15 min) and is tried again until
   MAIL_GIVE_UP_HOURS after it was written; a permanent refusal (no such mailbox) fails it at once.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from careapp.core.db import db, write_transaction
from careapp.core.process import process_id
from careapp.notifications.channels import (ChannelDown, PermanentFailure, RefusedAfterCommit, Sender,
                                            TemporaryFailure, open_sender)
from careapp.notifications.models import Channel, Delivery, DeliveryStatus, Notification
from careapp.notifications.outbox import render, skip_reason
from careapp.notifications.texts import Text

log = logging.getLogger("careapp.notifications")
BATCH = 100
# A run sends at most this many batches; the next run carries on.
MAX_BATCHES = 100
CLAIM_FOR = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(minutes=15)


class LostClaim(Exception):
    """Another sender holds this delivery now; this one must not send it."""


@dataclass(frozen=True)
class Outgoing:
    delivery_id: int
    channel: Channel
    address: str
    text: Text
    message_id: str


def send_due(*, now: datetime) -> int:
    """Send every delivery due at ``now`` (a scheduler job); returns how many were sent."""
    token = process_id()
    sent = 0
    for _ in range(MAX_BATCHES):
        claimed = _claim_batch(token, now)
        if not claimed:
            break
        sent += _send_batch(claimed, token, now)
    return sent


def _claim_batch(token: str, now: datetime) -> list[int]:
    with write_transaction():
        free = sa.or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now)
        due = (sa.select(Delivery.id).where(Delivery.status == DeliveryStatus.pending,
                                            Delivery.next_attempt_at <= now, free)
               .order_by(Delivery.next_attempt_at, Delivery.id).limit(BATCH))
        if db.session.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list(db.session.scalars(due))
        if not ids:
            return []
        db.session.execute(sa.update(Delivery).where(Delivery.id.in_(ids), Delivery.status == DeliveryStatus.pending,
                                                     free)
                           .values(claim_token=token, claimed_until=now + CLAIM_FOR)
                           .execution_options(synchronize_session=False))
        return list(db.session.scalars(sa.select(Delivery.id).where(Delivery.id.in_(ids),
                                                                    Delivery.claim_token == token)
                                       .order_by(Delivery.id)))


def _send_batch(delivery_ids: list[int], token: str, now: datetime) -> int:
    senders: dict[Channel, Sender] = {}
    down: dict[Channel, str] = {}
    sent = 0
    try:
        for delivery_id in delivery_ids:
            outgoing = _prepare(delivery_id, token, now)
            if outgoing is None:
                continue
            if outgoing.channel in down:
                _failed(delivery_id, token, now, down[outgoing.channel], temporary=True)
                continue
            try:
                sender = senders.get(outgoing.channel) or open_sender(outgoing.channel, current_app.config)
                senders[outgoing.channel] = sender
                sender.send(outgoing.address, outgoing.text, message_id=outgoing.message_id,
                            commit=lambda: _record_sent(delivery_id, token, now))
                sent += 1
            except LostClaim:
                continue
            except ChannelDown as error:
                down[outgoing.channel] = str(error)
                _failed(delivery_id, token, now, str(error), temporary=True)
            except TemporaryFailure as error:
                _failed(delivery_id, token, now, str(error), temporary=True)
            except PermanentFailure as error:
                _failed(delivery_id, token, now, str(error), temporary=False)
            except RefusedAfterCommit as error:
                _take_back(delivery_id, now, str(error), temporary=error.temporary)
            except Exception as error:  # our bug or a channel's: this delivery waits, the batch goes on
                log.exception("delivery %d failed unexpectedly", delivery_id)
                senders.pop(outgoing.channel, None)
                _failed(delivery_id, token, now, f"unexpected error: {error!r}", temporary=True)
    finally:
        for sender in senders.values():
            sender.close()
    return sent


def _prepare(delivery_id: int, token: str, now: datetime) -> Outgoing | None:
    """Read what to send, or mark the delivery skipped when it is no longer worth sending."""
    db.session.rollback()
    delivery = db.session.scalar(
        sa.select(Delivery).where(Delivery.id == delivery_id, Delivery.claim_token == token,
                                  Delivery.status == DeliveryStatus.pending)
        .options(joinedload(Delivery.notification).options(
            joinedload(Notification.service), joinedload(Notification.slot), joinedload(Notification.booking))))
    if delivery is None:
        return None  # released to another sender meanwhile
    notification = delivery.notification
    reason = skip_reason(notification, notification.booking, notification.slot, now)
    if reason is not None:
        _skipped(delivery_id, token, now, reason)
        return None
    return Outgoing(delivery.id, delivery.channel, delivery.address, render(notification, delivery.language),
                    message_id=f"<careapp.{delivery.id}.{notification.id}@{_mail_domain()}>")


def _mail_domain() -> str:
    return current_app.config["MAIL_SENDER"].rpartition("@")[2].strip(">") or "localhost"


def _mine(delivery_id: int, token: str) -> sa.ColumnElement[bool]:
    return sa.and_(Delivery.id == delivery_id, Delivery.claim_token == token, Delivery.status == DeliveryStatus.pending)


def _record_sent(delivery_id: int, token: str, now: datetime) -> None:
    """The point of no return: recorded sent, only while this sender still holds the claim."""
    with write_transaction():
        done = db.session.execute(
            sa.update(Delivery).where(_mine(delivery_id, token))
            .values(status=DeliveryStatus.sent, sent_at=now, updated_at=now, attempts=Delivery.attempts + 1,
                    claim_token=None, claimed_until=None, last_error=None)
            .execution_options(synchronize_session=False))
        if done.rowcount != 1:
            raise LostClaim(delivery_id)


def _skipped(delivery_id: int, token: str, now: datetime, reason: str) -> None:
    with write_transaction():
        db.session.execute(sa.update(Delivery).where(_mine(delivery_id, token))
                           .values(status=DeliveryStatus.skipped, last_error=reason[:500], updated_at=now,
                                   claim_token=None, claimed_until=None)
                           .execution_options(synchronize_session=False))


def _failed(delivery_id: int, token: str, now: datetime, error: str, *, temporary: bool) -> None:
    with write_transaction():
        delivery = db.session.scalar(sa.select(Delivery).where(_mine(delivery_id, token)))
        if delivery is not None:
            _after_failure(delivery, now, error, temporary=temporary)


def _take_back(delivery_id: int, now: datetime, error: str, *, temporary: bool) -> None:
    """The server refused a message already recorded sent: record the failure instead."""
    with write_transaction():
        delivery = db.session.get(Delivery, delivery_id)
        delivery.status, delivery.sent_at = DeliveryStatus.pending, None
        delivery.attempts -= 1  # recording it sent counted this attempt; _after_failure counts it again
        _after_failure(delivery, now, error, temporary=temporary)


def _after_failure(delivery: Delivery, now: datetime, error: str, *, temporary: bool) -> None:
    delivery.attempts += 1
    delivery.last_error, delivery.updated_at = error[:500], now
    delivery.claim_token = delivery.claimed_until = None
    if not temporary:
        delivery.status = DeliveryStatus.failed
    elif now - delivery.created_at >= timedelta(hours=current_app.config["MAIL_GIVE_UP_HOURS"]):
        delivery.status = DeliveryStatus.failed
        delivery.last_error = f"gave up after {delivery.attempts} attempts: {error}"[:500]
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)


def backoff(attempts: int) -> timedelta:
    """30 s after the first failure, then twice as long each time, never more than 15 minutes."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


def release_claims(*, keep: str) -> int:
    """Free every delivery claimed by another sender (called when this process becomes the active
    scheduler: the previous one is dead or has lost its role, and fencing stops it if it is not)."""
    with write_transaction():
        result = db.session.execute(
            sa.update(Delivery).where(Delivery.status == DeliveryStatus.pending, Delivery.claim_token.is_not(None),
                                      Delivery.claim_token != keep)
            .values(claim_token=None, claimed_until=None).execution_options(synchronize_session=False))
        return result.rowcount or 0
