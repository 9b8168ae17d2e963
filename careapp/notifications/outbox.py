"""Writing notifications, deciding whether one is still worth sending, and the inbox.

Notices about a booking (a place offered, confirmed from the waitlist, the slot cancelled, the waitlist
closed) are written by the booking engine in the same transaction as the change, so a committed change
always has its notice and a rolled-back one never does (a transactional outbox). Reminders and kitchen
sheets are written by scheduler jobs. Either way the unique constraints on ``notification`` make a
second writer's row impossible; :func:`add_once` and :func:`add_all` turn that into "already there".
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload, make_transient_to_detached

from careapp.accounts.models import PARTNER_ROLES, Role, User
from careapp.accounts.services import EMAIL, MOBILE
from careapp.booking.models import Booking, BookingStatus
from careapp.booking.policies import policy_for
from careapp.core.db import db, write_transaction
from careapp.core.errors import Forbidden, NotFound
from careapp.core.i18n import gettext as _
from careapp.notifications.models import (Channel, Delivery, DeliveryStatus, MessageTemplate, Notification,
                                          NotificationStatus, Topic)
from careapp.notifications.texts import Text, default_text, fill, language_of, values_for
from careapp.partners.models import Service, ServiceKind, Slot

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
    """A notification to the booking's household (not yet added to the session).

    Reads the booking's slot, service, partner, service point and recipient (and a meal's order): load
    many bookings with :func:`bookings_for_notices` first, so that writing their notices reads nothing more.
    """
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


def bookings_for_notices(booking_ids: Sequence[int]) -> list[Booking]:
    """Bookings (in id order) with everything :func:`booking_notification` reads, in two statements whatever
    their number: recipient, slot, service, partner, service point and meal order in one, the ordered
    dishes in a second (the meal orders are held by their bookings, so the meal policy's look-up of an
    order finds it in the session)."""
    if not booking_ids:
        return []
    return list(db.session.scalars(
        sa.select(Booking).where(Booking.id.in_(list(booking_ids))).order_by(Booking.id)
        .options(joinedload(Booking.recipient),
                 joinedload(Booking.slot).joinedload(Slot.service).options(joinedload(Service.partner),
                                                                           joinedload(Service.service_point)),
                 joinedload(Booking.meal_order).selectinload(_meal_order_dishes()))).unique())


def _meal_order_dishes():
    from careapp.meals.models import MealOrder  # the meals package imports this module

    return MealOrder.dishes


def slot_facts(slot: Slot) -> dict[str, Any]:
    service = slot.service
    point = service.service_point
    return {"service": service.name, "partner": service.partner.name, "place": f"{point.name}（{point.address}）",
            "starts_at": slot.starts_at.isoformat(), "ends_at": slot.ends_at.isoformat()}


def add_once(notification: Notification) -> Notification | None:
    """Add a notification and its deliveries, unless one of its kind is already there (then None)."""
    added = add_all([notification])
    return added[0] if added else None


def add_all(notifications: Iterable[Notification]) -> list[Notification]:
    """Add notifications and their deliveries, leaving out each whose kind is already there (for its booking,
    or for its slot when slot-wide); returns those added, in the order given.

    A few statements inside the caller's transaction, however many there are: one ``INSERT ... ON CONFLICT
    DO NOTHING`` writes the notifications (a row already there, or one another scheduler writes at the same
    moment, is left out by the unique constraints: no savepoint, nothing rolled back), one query reads the
    addressees of them all, one INSERT writes the deliveries. The notifications come back attached to the
    session, with their ids.
    """
    wanted: dict[tuple, Notification] = {}
    for notification in notifications:
        if notification.status is None:
            notification.status = NotificationStatus.active
        wanted.setdefault(_unique_key(notification.booking_id, notification.slot_id, notification.kind), notification)
    if not wanted:
        return []
    table = Notification.__table__
    rows = [{column: getattr(notification, column) for column in _NOTIFICATION_COLUMNS}
            for notification in wanted.values()]
    inserted = db.session.execute(
        _insert_unless_there(table).returning(table.c.id, table.c.booking_id, table.c.slot_id, table.c.kind), rows)
    added_ids = {_unique_key(booking_id, slot_id, kind): new_id for new_id, booking_id, slot_id, kind in inserted}
    added = []
    for key, notification in wanted.items():
        if key in added_ids:
            notification.id = added_ids[key]
            make_transient_to_detached(notification)
            db.session.add(notification)
            added.append(notification)
    _add_deliveries([n for n in added if n.status == NotificationStatus.active])
    return added


_NOTIFICATION_COLUMNS = ("topic", "kind", "booking_id", "slot_id", "service_id", "household_id", "partner_id",
                         "params", "status", "skip_reason", "created_at", "read_at")


def _unique_key(booking_id: int | None, slot_id: int, kind: str) -> tuple:
    """What the unique constraints make unique: the kind per booking, or per slot for slot-wide notices."""
    return ("booking", booking_id, kind) if booking_id is not None else ("slot", slot_id, kind)


def _insert_unless_there(table: sa.Table):
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise RuntimeError(f"careapp runs on PostgreSQL or SQLite, not {dialect}")


def addressees(notification: Notification) -> list[User]:
    """Who reads it: the household's family accounts, or the partner's staff and managers (active only)."""
    if notification.household_id is not None:
        who = sa.and_(User.household_id == notification.household_id, User.role == Role.family)
    else:
        who = sa.and_(User.partner_id == notification.partner_id, User.role.in_(PARTNER_ROLES))
    return list(db.session.scalars(sa.select(User).where(who, User.active.is_(True)).order_by(User.id)))


def readers_of(notifications: Sequence[Notification]) -> dict[tuple[str, int], list[sa.Row]]:
    """The addressees of many notifications in one query: ("household", id) or ("partner", id) -> the active
    accounts reading it (their id, e-mail, phone, login and language), by id."""
    households = {n.household_id for n in notifications if n.household_id is not None}
    partners = {n.partner_id for n in notifications if n.household_id is None and n.partner_id is not None}
    who = []
    if households:
        who.append(sa.and_(User.household_id.in_(households), User.role == Role.family))
    if partners:
        who.append(sa.and_(User.partner_id.in_(partners), User.role.in_(PARTNER_ROLES)))
    readers: dict[tuple[str, int], list[sa.Row]] = {}
    if not who:
        return readers
    rows = db.session.execute(
        sa.select(User.id, User.role, User.household_id, User.partner_id, User.email, User.phone, User.login,
                  User.language).where(sa.or_(*who), User.active.is_(True)).order_by(User.id))
    for row in rows:
        if row.role == Role.family and row.household_id in households:
            readers.setdefault(("household", row.household_id), []).append(row)
        if row.role in PARTNER_ROLES and row.partner_id in partners:
            readers.setdefault(("partner", row.partner_id), []).append(row)
    return readers


def _readers_key(notification: Notification) -> tuple[str, int]:
    if notification.household_id is not None:
        return "household", notification.household_id
    return "partner", notification.partner_id


def enabled_channels() -> list[Channel]:
    config = current_app.config
    channels = []
    if config["MAIL_SERVER"]:
        channels.append(Channel.email)
    if config["SMS_BACKEND"] != "off":
        channels.append(Channel.sms)
    return channels


def address_of(user: User | sa.Row, channel: Channel) -> str | None:
    if channel == Channel.email:
        return user.email or (user.login if EMAIL.match(user.login) else None)
    return user.phone or (user.login if MOBILE.match(user.login) else None)


def _add_deliveries(notifications: Sequence[Notification]) -> None:
    """A delivery per addressee and enabled channel where they have an address (one query, one INSERT)."""
    channels = enabled_channels()
    if not notifications or not channels:
        return
    readers = readers_of(notifications)
    rows = []
    for notification in notifications:
        now = notification.created_at
        for user in readers.get(_readers_key(notification), ()):
            for channel in channels:
                address = address_of(user, channel)
                if address:
                    rows.append({"notification_id": notification.id, "channel": channel, "user_id": user.id,
                                 "address": address, "language": language_of(user.language),
                                 "status": DeliveryStatus.pending, "attempts": 0, "next_attempt_at": now,
                                 "created_at": now, "updated_at": now})
    if rows:
        db.session.execute(sa.insert(Delivery.__table__), rows)


# --- still worth sending? ---

def skip_reason(notification: Notification, booking: Booking | None, slot: Slot, now: datetime) -> str | None:
    """Why a notification is no longer worth sending, or None when it is. One rule for every topic:
    nothing is sent about a slot that has started, and nothing about a booking that has moved on."""
    return reason_not_to_send(notification.topic, slot.starts_at, booking.status if booking else None,
                              booking.offer_expires_at if booking else None, now)


def reason_not_to_send(topic: Topic, starts_at: datetime, booking_status: BookingStatus | None,
                       offer_expires_at: datetime | None, now: datetime) -> str | None:
    """:func:`skip_reason` from the facts it needs (the sender reads them as plain columns, a batch at once)."""
    if now >= starts_at:
        return "the slot had already started"
    if topic == Topic.reminder and booking_status != BookingStatus.confirmed:
        return f"the booking is {booking_status.value}"
    if topic == Topic.place_offered and (booking_status != BookingStatus.offered or now >= offer_expires_at):
        return "the offer is no longer open"
    if topic == Topic.waitlist_confirmed and booking_status != BookingStatus.confirmed:
        return f"the booking is {booking_status.value}"
    return None


# --- wording ---

WordingKey = tuple[int, ServiceKind, Topic, str]


def own_wordings(notifications: list[Notification], language: str) -> dict[WordingKey, Text]:
    """The partners' own wordings that these notifications use, in one query."""
    return wordings_of({n.service.partner_id for n in notifications}, {n.topic for n in notifications}, {language})


def wordings_of(partner_ids: set[int], topics: set[Topic], languages: set[str]) -> dict[WordingKey, Text]:
    """The partners' own wordings of these topics in these languages, in one query (none when no partner)."""
    if not partner_ids or not topics:
        return {}
    rows = db.session.scalars(sa.select(MessageTemplate).where(
        MessageTemplate.partner_id.in_(partner_ids), MessageTemplate.language.in_(languages),
        MessageTemplate.topic.in_(topics)))
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
    return fill_text(text_for(notification, language, wordings), notification.params, language)


def render_facts(topic: Topic, kind: ServiceKind, partner_id: int, params: dict[str, Any], language: str | None,
                 wordings: dict[WordingKey, Text]) -> Text:
    """:func:`render` from plain facts, with the wordings of a batch read beforehand (:func:`wordings_of`)."""
    language = language_of(language)
    text = wordings.get((partner_id, kind, topic, language)) or default_text(topic, kind, language)
    return fill_text(text, params, language)


def fill_text(text: Text, params: dict[str, Any], language: str) -> Text:
    values = values_for(params, language)
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
