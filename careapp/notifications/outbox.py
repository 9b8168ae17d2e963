"""Writing notifications, deciding whether one is still worth sending, and the inbox.

Notices about a booking (a place offered, confirmed from the waitlist, the slot cancelled, the waitlist
closed) are written by the booking engine in the same transaction as the change, so a committed change
always has its notice and a rolled-back one never does (a transactional outbox). Reminders and kitchen
sheets are written by scheduler jobs. Either way the unique constraints on ``notification`` make a
second writer's row impossible; :func:`add_once` turns that into "already there".
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from careapp.accounts.models import PARTNER_ROLES, Role, User
from careapp.accounts.services import EMAIL, MOBILE
from careapp.booking.models import Booking, BookingStatus
from careapp.booking.policies import policy_for
from careapp.core.db import db, write_transaction
from careapp.core.errors import Forbidden, NotFound
from careapp.core.i18n import gettext as _
from careapp.notifications.models import Channel, Delivery, MessageTemplate, Notification, NotificationStatus, Topic
from careapp.notifications.texts import Text, default_text, fill, language_of, values_for
from careapp.partners.models import ServiceKind, Slot

# The engine's audit actions that families are told about, and the topic of each.
TOPIC_OF_ACTION: dict[str, Topic] = {
    "booking.offered": Topic.place_offered,
    "booking.promoted": Topic.waitlist_confirmed,
    "booking.slot_cancelled": Topic.slot_cancelled,
    "booking.waitlist_closed": Topic.waitlist_closed,
}


# --- writing ---

def booking_changed(booking: Booking, action: str, *, now: datetime) -> Notification | None:
    """Called by the engine for every status change, inside its transaction: tell the family when it
    is one they should hear of."""
    topic = TOPIC_OF_ACTION.get(action)
    if topic is None:
        return None
    return add_once(booking_notification(booking, topic, topic.value, now=now))


def booking_notification(booking: Booking, topic: Topic, kind: str, *, now: datetime,
                         skip_reason: str | None = None) -> Notification:
    """A notification to the booking's household (not yet added to the session)."""
    slot = booking.slot
    params = {**slot_facts(slot), "member": booking.recipient.name,
              **policy_for(slot.service.kind).options_of(booking)}
    if booking.offer_expires_at is not None:
        params["offer_expires_at"] = booking.offer_expires_at.isoformat()
    if "mode" in params:  # a meal order's mode, under the name the texts use
        params["meal_mode"] = params.pop("mode")
    params = {key: value for key, value in params.items() if key not in ("dish_ids", "price_fen", "subsidy_fen")}
    return Notification(topic=topic, kind=kind, booking_id=booking.id, slot_id=slot.id, service_id=slot.service_id,
                        household_id=booking.recipient.household_id, params=params, created_at=now,
                        status=NotificationStatus.skipped if skip_reason else NotificationStatus.active,
                        skip_reason=skip_reason)


def slot_facts(slot: Slot) -> dict[str, Any]:
    service = slot.service
    point = service.service_point
    return {"service": service.name, "partner": service.partner.name, "place": f"{point.name}（{point.address}）",
            "starts_at": slot.starts_at.isoformat(), "ends_at": slot.ends_at.isoformat()}


def add_once(notification: Notification) -> Notification | None:
    """Add a notification and its deliveries, unless one of its kind is already there (then None).

    Runs in a savepoint inside the caller's transaction: a row already there (or one another scheduler
    wrote at the same moment) makes the insert fail on the unique constraint, and only the savepoint is
    rolled back. The jobs ask only for notifications not yet written, so this is rare.
    """
    try:
        with db.session.begin_nested():
            db.session.add(notification)
            db.session.flush()
            if notification.status == NotificationStatus.active:
                _add_deliveries(notification, now=notification.created_at)
    except IntegrityError:
        return None
    return notification


def addressees(notification: Notification) -> list[User]:
    """Who reads it: the household's family accounts, or the partner's staff and managers (active only)."""
    if notification.household_id is not None:
        who = sa.and_(User.household_id == notification.household_id, User.role == Role.family)
    else:
        who = sa.and_(User.partner_id == notification.partner_id, User.role.in_(PARTNER_ROLES))
    return list(db.session.scalars(sa.select(User).where(who, User.active.is_(True)).order_by(User.id)))


def enabled_channels() -> list[Channel]:
    config = current_app.config
    channels = []
    if config["MAIL_SERVER"]:
        channels.append(Channel.email)
    if config["SMS_BACKEND"] != "off":
        channels.append(Channel.sms)
    return channels


def address_of(user: User, channel: Channel) -> str | None:
    if channel == Channel.email:
        return user.email or (user.login if EMAIL.match(user.login) else None)
    return user.phone or (user.login if MOBILE.match(user.login) else None)


def _add_deliveries(notification: Notification, *, now: datetime) -> None:
    for user in addressees(notification):
        for channel in enabled_channels():
            address = address_of(user, channel)
            if address:
                db.session.add(Delivery(notification_id=notification.id, channel=channel, user_id=user.id,
                                        address=address, language=language_of(user.language),
                                        next_attempt_at=now, created_at=now, updated_at=now))


# --- still worth sending? ---

def skip_reason(notification: Notification, booking: Booking | None, slot: Slot, now: datetime) -> str | None:
    """Why a notification is no longer worth sending, or None when it is. One rule for every topic:
    nothing is sent about a slot that has started, and nothing about a booking that has moved on."""
    if now >= slot.starts_at:
        return "the slot had already started"
    topic = notification.topic
    if topic == Topic.reminder and booking.status != BookingStatus.confirmed:
        return f"the booking is {booking.status.value}"
    if topic == Topic.place_offered and (booking.status != BookingStatus.offered
                                         or now >= booking.offer_expires_at):
        return "the offer is no longer open"
    if topic == Topic.waitlist_confirmed and booking.status != BookingStatus.confirmed:
        return f"the booking is {booking.status.value}"
    return None


# --- wording ---

WordingKey = tuple[int, ServiceKind, Topic, str]


def own_wordings(notifications: list[Notification], language: str) -> dict[WordingKey, Text]:
    """The partners' own wordings that these notifications use, in one query."""
    partners = {n.service.partner_id for n in notifications}
    if not partners:
        return {}
    rows = db.session.scalars(sa.select(MessageTemplate).where(
        MessageTemplate.partner_id.in_(partners), MessageTemplate.language == language,
        MessageTemplate.topic.in_({n.topic for n in notifications})))
    return {(row.partner_id, row.service_kind, row.topic, row.language): Text(row.subject, row.body) for row in rows}


def text_for(notification: Notification, language: str, wordings: dict[WordingKey, Text] | None = None) -> Text:
    """The partner's own wording of this topic for this service kind and language, else careapp's."""
    service = notification.service
    if wordings is None:
        wordings = own_wordings([notification], language)
    return (wordings.get((service.partner_id, service.kind, notification.topic, language))
            or default_text(notification.topic, service.kind, language))


def render(notification: Notification, language: str | None,
           wordings: dict[WordingKey, Text] | None = None) -> Text:
    """The subject and body of a notification in one language (zh_CN unless the reader chose en)."""
    language = language_of(language)
    text = text_for(notification, language, wordings)
    values = values_for(notification.params, language)
    return Text(fill(text.subject, values).replace("\n", " ").strip(), fill(text.body, values).strip())


def worded(notifications: list[Notification], language: str | None) -> list[tuple[Notification, Text]]:
    """Each notification with its words in one language (a page of the inbox: one query for the wordings)."""
    language = language_of(language)
    wordings = own_wordings(notifications, language)
    return [(notification, render(notification, language, wordings)) for notification in notifications]


# --- the inbox ---

def inbox_filter(user: User) -> sa.ColumnElement[bool]:
    """The notifications a user reads: their household's, or their partner's. Others read none."""
    if user.role == Role.family and user.household_id is not None:
        return Notification.household_id == user.household_id
    if user.role in PARTNER_ROLES and user.partner_id is not None:
        return Notification.partner_id == user.partner_id
    return sa.false()


def inbox(user: User, *, limit: int = 50, before_id: int | None = None,
          unread_only: bool = False) -> list[Notification]:
    """The user's notifications, newest first (skipped ones too: the slot they were about has passed, but
    a family still wants to see that a slot was cancelled)."""
    query = sa.select(Notification).where(inbox_filter(user))
    if before_id is not None:
        query = query.where(Notification.id < before_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(db.session.scalars(
        query.options(sa.orm.joinedload(Notification.service)).order_by(Notification.id.desc()).limit(limit)))


def unread_count(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                             .where(inbox_filter(user), Notification.read_at.is_(None))) or 0


def mark_read(notification_id: int, *, by: User, now: datetime) -> Notification:
    """Mark one of the reader's notifications read (reading it again changes nothing)."""
    with write_transaction():
        notification = db.session.scalar(sa.select(Notification).where(Notification.id == notification_id))
        if notification is None:
            raise NotFound(_("No such notification."))
        if not db.session.scalar(sa.select(sa.literal(True)).where(inbox_filter(by), Notification.id == notification.id)):
            raise Forbidden(_("This notification is not yours."))
        if notification.read_at is None:
            notification.read_at = now
        return notification


def mark_all_read(*, by: User, now: datetime) -> int:
    """Mark every unread notification of the reader read; returns how many."""
    with write_transaction():
        result = db.session.execute(sa.update(Notification).where(inbox_filter(by), Notification.read_at.is_(None))
                                    .values(read_at=now).execution_options(synchronize_session=False))
        return result.rowcount or 0
