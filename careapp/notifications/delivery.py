"""Sending pending deliveries: each once per channel, through kills, restarts and a second scheduler.

1. **Claim** a batch: in one transaction mark up to BATCH due deliveries with this process's token
   (PostgreSQL skips rows another sender has locked). A claim keeps other senders off for CLAIM_FOR.
2. **Check** each is still worth sending (careapp.notifications.outbox.reason_not_to_send): a reminder whose
   slot has started is marked skipped, never sent late. The batch is read in one query (plain columns,
   no objects kept) and its words made with one query for the partners' own wordings.
3. **Send** through the channel, which calls back at its point of no return to **record it sent** - an
   update that succeeds only while the claim is still this process's (a fencing token). A sender whose
   claim was taken over (it stalled, and a new active scheduler released its claims) cannot record, and
   so aborts before the message is accepted (see careapp.notifications.channels). E-mail goes several
   messages side by side, recorded sent in one transaction for the group (``Sender.send_many``).
4. On a temporary failure the delivery waits (30 s, doubling to at most 15 min) and is tried again until
   MAIL_GIVE_UP_HOURS after it was written; a permanent refusal (no such mailbox) fails it at once.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from careapp.booking.models import Booking
from careapp.core.db import db, write_transaction
from careapp.core.process import process_id
from careapp.notifications.channels import (NotRecorded, Outcomes, Outgoing, PermanentFailure, RefusedAfterCommit,
                                            Sender, TemporaryFailure, open_sender)
from careapp.notifications.models import Channel, Delivery, DeliveryStatus, Notification
from careapp.notifications.outbox import reason_not_to_send, render_facts, wordings_of
from careapp.partners.models import Service, Slot

log = logging.getLogger("careapp.notifications")
# Deliveries claimed, read and worded at once (a few statements a batch, whatever its size).
BATCH = 500
# A run sends at most this many batches (10,000 messages); the next run carries on.
MAX_BATCHES = 20
CLAIM_FOR = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(minutes=15)


def send_due(*, now: datetime) -> int:
    """Send every delivery due at ``now`` (a scheduler job); returns how many were sent."""
    token = process_id()
    sent = 0
    senders: dict[Channel, Sender] = {}  # kept open from batch to batch of the run
    recorder = _Recorder(token, now)
    try:
        for _ in range(MAX_BATCHES):
            claimed = _claim_batch(token, now)
            if not claimed:
                break
            sent += _send_batch(claimed, token, now, senders, recorder)
    finally:
        for sender in senders.values():
            sender.close()
        recorder.close()
    return sent


class _Recorder:
    """Records groups of messages sent (``_record_sent``). On PostgreSQL the record is one UPDATE in
    autocommit on a connection of its own for the run: one round trip and its commit, instead of BEGIN,
    the lock timeout, the UPDATE and COMMIT one after another while every connection of the group waits.
    (One statement is one transaction: it is recorded entirely or not at all.) SQLite, in-process, records
    in an ordinary write transaction."""

    def __init__(self, token: str, now: datetime):
        self.token, self.now = token, now
        self.connection: sa.Connection | None = None

    def __call__(self, delivery_ids: list[int]) -> set[int]:
        return _record_sent(delivery_ids, self.token, self.now, self)

    def execute(self, statement) -> set[int] | None:
        """Run the record in autocommit where the database allows it; None when it does not (SQLite)."""
        if db.engine.dialect.name != "postgresql":
            return None
        if self.connection is None:
            # (its lock timeout is every connection's: careapp.core.db sets it when a connection opens)
            self.connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return set(self.connection.execute(statement).scalars())

    def close(self) -> None:
        if self.connection is not None:
            connection, self.connection = self.connection, None
            connection.close()


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


def _send_batch(delivery_ids: list[int], token: str, now: datetime, senders: dict[Channel, Sender],
                recorder: _Recorder) -> int:
    outgoing, failures = _prepare(delivery_ids, token, now)
    sent = 0
    for channel in Channel:
        messages = outgoing.get(channel)
        if not messages:
            continue
        try:
            sender = senders.get(channel) or open_sender(channel, current_app.config)
        except TemporaryFailure as error:  # ChannelDown: the backend cannot be loaded
            failures += [(message.key, str(error), True) for message in messages]
            continue
        senders[channel] = sender
        outcomes = sender.send_many(messages, recorder)
        sent += _settle(outcomes, failures, now)
    if failures:
        _failed(failures, token, now)
    return sent


def _prepare(delivery_ids: list[int], token: str, now: datetime
             ) -> tuple[dict[Channel, list[Outgoing]], list[tuple[int, str, bool]]]:
    """Read a batch in one query and word it; those no longer worth sending are marked skipped.

    Returns the messages by channel (in delivery order) and the deliveries that could not be worded
    (id, error, temporary)."""
    db.session.rollback()  # a fresh read
    rows = db.session.execute(
        sa.select(Delivery.id, Delivery.channel, Delivery.address, Delivery.language,
                  Notification.id.label("notification_id"), Notification.topic, Notification.params,
                  Service.partner_id, Service.kind, Slot.starts_at, Booking.status.label("booking_status"),
                  Booking.offer_expires_at)
        .join(Notification, Notification.id == Delivery.notification_id)
        .join(Service, Service.id == Notification.service_id)
        .join(Slot, Slot.id == Notification.slot_id)
        .outerjoin(Booking, Booking.id == Notification.booking_id)
        .where(Delivery.id.in_(delivery_ids), Delivery.claim_token == token,
               Delivery.status == DeliveryStatus.pending)  # not released to another sender meanwhile
        .order_by(Delivery.id)).all()
    skipped: dict[str, list[int]] = defaultdict(list)
    worth = []
    for row in rows:
        reason = reason_not_to_send(row.topic, row.starts_at, row.booking_status, row.offer_expires_at, now)
        if reason is None:
            worth.append(row)
        else:
            skipped[reason].append(row.id)
    wordings = wordings_of({row.partner_id for row in worth}, {row.topic for row in worth},
                           {row.language for row in worth})
    db.session.rollback()  # end the read before the sending
    if skipped:
        _skipped(skipped, token, now)
    outgoing: dict[Channel, list[Outgoing]] = defaultdict(list)
    failures = []
    domain = _mail_domain()
    for row in worth:
        try:
            text = render_facts(row.topic, row.kind, row.partner_id, row.params, row.language, wordings)
        except Exception as error:  # our bug: this delivery waits, the batch goes on
            log.exception("delivery %d could not be worded", row.id)
            failures.append((row.id, f"unexpected error: {error!r}", True))
            continue
        outgoing[row.channel].append(Outgoing(row.id, row.address, text,
                                              f"<careapp.{row.id}.{row.notification_id}@{domain}>"))
    return outgoing, failures


def _settle(outcomes: Outcomes, failures: list[tuple[int, str, bool]], now: datetime) -> int:
    """Count what was sent; note the failures (recorded after the batch, in one transaction)."""
    sent = 0
    for delivery_id, outcome in outcomes.items():
        if outcome is None:
            sent += 1
        elif isinstance(outcome, NotRecorded):
            continue  # another sender holds it now
        elif isinstance(outcome, TemporaryFailure):  # and ChannelDown: the server is unreachable
            failures.append((delivery_id, str(outcome), True))
        elif isinstance(outcome, PermanentFailure):
            failures.append((delivery_id, str(outcome), False))
        elif isinstance(outcome, RefusedAfterCommit):
            _take_back(delivery_id, now, str(outcome), temporary=outcome.temporary)
        else:  # our bug or a channel's: this delivery waits, the batch goes on
            log.error("delivery %d failed unexpectedly", delivery_id, exc_info=outcome)
            failures.append((delivery_id, f"unexpected error: {outcome!r}", True))
    return sent


def _mail_domain() -> str:
    return current_app.config["MAIL_SENDER"].rpartition("@")[2].strip(">") or "localhost"


def _mine(delivery_ids: list[int], token: str) -> sa.ColumnElement[bool]:
    return sa.and_(Delivery.id.in_(delivery_ids), Delivery.claim_token == token,
                   Delivery.status == DeliveryStatus.pending)


def _record_sent(delivery_ids: list[int], token: str, now: datetime, recorder: _Recorder | None = None) -> set[int]:
    """The point of no return: these are recorded sent, each only while this sender still holds its claim.
    Returns those recorded (the others were taken over, and must not be sent)."""
    statement = (sa.update(Delivery).where(_mine(delivery_ids, token))
                 .values(status=DeliveryStatus.sent, sent_at=now, updated_at=now, attempts=Delivery.attempts + 1,
                         claim_token=None, claimed_until=None, last_error=None)
                 .returning(Delivery.id))
    if recorder is not None:
        recorded = recorder.execute(statement)
        if recorded is not None:
            return recorded
    with write_transaction():
        return set(db.session.execute(statement.execution_options(synchronize_session=False)).scalars())


def _skipped(reasons: dict[str, list[int]], token: str, now: datetime) -> None:
    with write_transaction():
        for reason, delivery_ids in reasons.items():
            db.session.execute(sa.update(Delivery).where(_mine(delivery_ids, token))
                               .values(status=DeliveryStatus.skipped, last_error=reason[:500], updated_at=now,
                                       claim_token=None, claimed_until=None)
                               .execution_options(synchronize_session=False))


def _failed(failures: list[tuple[int, str, bool]], token: str, now: datetime) -> None:
    """Record failed attempts (id, error, temporary), in one transaction."""
    what = {delivery_id: (error, temporary) for delivery_id, error, temporary in failures}
    with write_transaction():
        for delivery in db.session.scalars(sa.select(Delivery).where(_mine(list(what), token))
                                           .order_by(Delivery.id)):
            error, temporary = what[delivery.id]
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
