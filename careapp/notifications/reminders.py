"""Reminders for confirmed bookings, at lead times set by CAREAPP_REMINDERS.

A lead is ``eve@18:00`` (18:00 local time on the day before the slot) or a time before the start
(``1h``, ``90m``). The reminder job writes each due reminder once per booking and lead. When several of a
booking's reminders are due at once (the scheduler was down, or the booking was made late) only the
latest is sent; the earlier ones are marked skipped. A reminder whose slot has started is marked
skipped, never sent late, and a booking made after a reminder was due needs no reminder of it.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app

from careapp.booking.models import Booking, BookingStatus
from careapp.booking.policies import policy_for
from careapp.core.db import db, write_transaction
from careapp.core.timefmt import from_local, local_date, to_local
from careapp.notifications.models import Notification, NotificationStatus, Topic
from careapp.notifications.outbox import add_all, booking_notification, bookings_for_notices
from careapp.partners.models import Service, ServiceKind, Slot

# How far back the job looks for reminders that fell due while it was not running, to mark them skipped.
STALE_LOOKBACK = timedelta(days=1)
# Bookings written per transaction.
BATCH = 200
# Statuses a booking can have once its slot has started without having been cancelled.
STARTED = (BookingStatus.confirmed, BookingStatus.checked_in, BookingStatus.checked_out, BookingStatus.no_show)

_EVENING = re.compile(r"^eve@(\d{1,2}:\d{2})$")
_BEFORE = re.compile(r"^(\d+)\s*(m|h)$")


@dataclass(frozen=True)
class Lead:
    """When one reminder is due: ``evening_at`` local time the day before, or ``before`` the start."""

    evening_at: time | None = None
    before: timedelta | None = None

    @property
    def kind(self) -> str:
        """The notification kind, unique per booking: "reminder:eve@18:00", "reminder:60m"."""
        if self.evening_at is not None:
            return f"reminder:eve@{self.evening_at.strftime('%H:%M')}"
        return f"reminder:{int(self.before.total_seconds() // 60)}m"

    def due_at(self, starts_at: datetime) -> datetime:
        if self.evening_at is not None:
            return from_local(local_date(starts_at) - timedelta(days=1), self.evening_at)
        return starts_at - self.before

    def starts_before(self, now: datetime) -> datetime:
        """Every slot starting before this has its reminder due at ``now`` (the job's upper bound)."""
        if self.evening_at is not None:
            local_now = to_local(now)
            last_day = local_now.date() + timedelta(days=1 if local_now.time() >= self.evening_at else 0)
            return from_local(last_day + timedelta(days=1), time.min)
        return now + self.before + timedelta(microseconds=1)


def parse_leads(text: str) -> tuple[Lead, ...]:
    """``"eve@18:00,1h"`` -> the two leads. Raises ValueError with a message naming the bad part."""
    leads = []
    for part in filter(None, (piece.strip().lower() for piece in text.split(","))):
        evening, before = _EVENING.match(part), _BEFORE.match(part)
        if evening:
            try:
                leads.append(Lead(evening_at=time.fromisoformat(evening.group(1).zfill(5))))
            except ValueError:
                raise ValueError(f"{part!r} has no valid time of day; write eve@18:00") from None
        elif before and int(before.group(1)) > 0:
            amount = int(before.group(1))
            leads.append(Lead(before=timedelta(minutes=amount * (60 if before.group(2) == "h" else 1))))
        else:
            raise ValueError(f"{part!r} is not a lead time; write eve@18:00 (the evening before) or 1h, 90m")
    if len({lead.kind for lead in leads}) != len(leads):
        raise ValueError("a lead time is given twice")
    return tuple(leads)


def send_due_reminders(*, now: datetime) -> int:
    """Write every reminder due at ``now``; returns how many will be sent (skipped ones not counted)."""
    leads: tuple[Lead, ...] = current_app.config["REMINDERS"]
    due: dict[int, list[Lead]] = defaultdict(list)
    for lead in leads:
        for booking_id in _bookings_due(lead, now):
            due[booking_id].append(lead)
    db.session.rollback()  # end the read; the writes go in short transactions
    booking_ids = sorted(due)
    written = 0
    for start in range(0, len(booking_ids), BATCH):
        # A batch costs the same few statements whatever its size: the bookings with all the notices read,
        # then the notices, their addressees and their deliveries (outbox.add_all).
        with write_transaction():
            notifications = [notification for booking in bookings_for_notices(booking_ids[start:start + BATCH])
                             for notification in _reminders_of(booking, due[booking.id], now)]
            written += sum(n.status == NotificationStatus.active for n in add_all(notifications))
    return written


def _reminding_kinds() -> list[ServiceKind]:
    return [kind for kind in ServiceKind if policy_for(kind).sends_reminders]


def _bookings_due(lead: Lead, now: datetime) -> list[int]:
    """Bookings of slots starting from a day ago up to the lead's bound with no reminder of this lead yet."""
    written = sa.select(Notification.id).where(Notification.booking_id == Booking.id, Notification.kind == lead.kind)
    return list(db.session.scalars(
        sa.select(Booking.id).join(Slot, Slot.id == Booking.slot_id).join(Service, Service.id == Slot.service_id)
        .where(Slot.starts_at > now - STALE_LOOKBACK, Slot.starts_at < lead.starts_before(now),
               Booking.status.in_(STARTED), Service.kind.in_(_reminding_kinds()), ~written.exists())))


def _reminders_of(booking: Booking, leads: list[Lead], now: datetime) -> list[Notification]:
    """The booking's due reminders: the latest one is sent unless it is too late; the others skipped."""
    starts_at = booking.slot.starts_at
    leads = sorted((lead for lead in leads if lead.due_at(starts_at) <= now), key=lambda lead: lead.due_at(starts_at))
    reminders = []
    for position, lead in enumerate(leads):
        reason = _skip_reason(booking, lead, now, latest=position == len(leads) - 1)
        if reason is None and booking.status != BookingStatus.confirmed:
            continue  # checked in early, say: nothing to remind of, and nothing to record
        reminders.append(booking_notification(booking, Topic.reminder, lead.kind, now=now, skip_reason=reason))
    return reminders


def _skip_reason(booking: Booking, lead: Lead, now: datetime, *, latest: bool) -> str | None:
    if now >= booking.slot.starts_at:
        return "the slot had already started"
    if booking.created_at >= lead.due_at(booking.slot.starts_at):
        return "booked after this reminder was due"
    if not latest:
        return "a later reminder replaces it"
    return None
