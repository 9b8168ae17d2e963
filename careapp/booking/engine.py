"""The booking engine: how any care slot is taken, released and handed on.

Locking rule (after pretix): every change to a slot's places runs in one
``write_transaction`` that locks the slot row (SQLite: the database, taken by
``BEGIN IMMEDIATE``) and then re-counts under the lock. Invariant: for every
slot, bookings holding a place (confirmed, offered, checked in/out, no-show)
never exceed its capacity. Every change writes an audit entry in the same
transaction. ``now`` and the acting user are always arguments.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from careapp.accounts.models import User
from careapp.booking.models import HOLDS_PLACE, TALLIES, Booking, BookingStatus, EndReason
from careapp.booking.policies import policy_for
from careapp.core import audit
from careapp.core.db import adopt_inserted, db, lock_for_update, write_transaction
from careapp.core.errors import BadInput, Busy, Conflict, Forbidden, NotFound, RuleRefused
from careapp.core.i18n import gettext as _
from careapp.core.i18n import lazy_gettext as _l
from careapp.core.i18n import local_time
from careapp.households.models import CareRecipient
from careapp.notifications import outbox
from careapp.partners.models import FillPolicy, Service, ServiceKind, Slot, SlotStatus

# How early before the start partner staff may check someone in.
CHECK_IN_OPENS_BEFORE = timedelta(hours=2)
# A morning health check's temperature (°C) outside this range is a typing slip, not a reading.
TEMPERATURE_RANGE = (Decimal("34.0"), Decimal("43.0"))
# Bookings that are still to happen and can be cancelled or changed by the family.
PENDING = frozenset({BookingStatus.confirmed, BookingStatus.waitlisted, BookingStatus.offered})
# A booking's status as a word inside a refusal (English keeps the status code, as the API shows it).
STATUS_WORDS = {
    BookingStatus.confirmed: _l("confirmed"), BookingStatus.waitlisted: _l("waitlisted"),
    BookingStatus.offered: _l("offered"), BookingStatus.cancelled: _l("cancelled"),
    BookingStatus.checked_in: _l("checked_in"), BookingStatus.checked_out: _l("checked_out"),
    BookingStatus.no_show: _l("no_show"),
}


def status_word(status: BookingStatus) -> str:
    return str(STATUS_WORDS[status])


@dataclass(frozen=True)
class BookingResult:
    booking: Booking
    waitlist_position: int | None
    # As decided, kept apart from ``booking`` (whose attributes the commit expires): a caller that only needs
    # these, like the scheduler booking many enrolments, reads nothing back.
    booking_id: int
    status: BookingStatus
    # What ``book(describe=...)`` made of the booking before its commit (None without ``describe``).
    answer: Any = None


# --- counting (always under the slot lock when a decision depends on it) ---

def places_held(slot_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Booking)
        .where(Booking.slot_id == slot_id, Booking.status.in_(HOLDS_PLACE))) or 0


def waitlist_position(booking: Booking) -> int | None:
    """1 for the head of the waitlist, in arrival order; None when not waitlisted."""
    if booking.status != BookingStatus.waitlisted:
        return None
    ahead = db.session.scalar(
        sa.select(sa.func.count()).select_from(Booking)
        .where(Booking.slot_id == booking.slot_id, Booking.status == BookingStatus.waitlisted,
               Booking.waitlist_order < booking.waitlist_order))
    return ahead + 1


def _violates_live_booking_index(error: IntegrityError) -> bool:
    text = str(error.orig)
    return "uq_booking_live_recipient" in text or "booking.slot_id, booking.recipient_id" in text


@dataclass(frozen=True)
class SlotCounts:
    places_held: int
    waiting: int  # waitlisted bookings (with their place in line)
    top_waitlist_order: int  # the highest waitlist order ever given in the slot (0: none)
    live_booking: bool  # the recipient already has a booking that is not cancelled


def _count_if(condition) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


@cache
def _slot_counts_statement() -> sa.Select:
    """Built once: every booking runs it under the slot's lock, and building it (with its cache key) anew
    each time cost more CPU than running it (0.8 ms)."""
    waiting = sa.and_(Booking.status == BookingStatus.waitlisted, Booking.waitlist_order.is_not(None))
    live = sa.and_(Booking.recipient_id == sa.bindparam("recipient_id"), Booking.status != BookingStatus.cancelled)
    return (sa.select(_count_if(Booking.status.in_(HOLDS_PLACE)), _count_if(waiting),
                      sa.func.coalesce(sa.func.max(Booking.waitlist_order), 0), _count_if(live))
            .where(Booking.slot_id == sa.bindparam("slot_id")))


def _slot_counts(slot_id: int, recipient_id: int) -> SlotCounts:
    """What a booking decides on, in one statement (under the slot's lock)."""
    held, waiting, top, live = db.session.execute(_slot_counts_statement(), {"slot_id": slot_id,
                                                                              "recipient_id": recipient_id}).one()
    return SlotCounts(int(held), int(waiting), int(top), bool(live))


# --- loading with access checks ---

def _lock_slot(slot_id: int, *, guard: bool = True) -> Slot:
    slot = lock_for_update(Slot, slot_id, guard=guard)
    if slot is None:
        raise NotFound(_("No such slot."))
    return slot


def _load_booking(booking_id: int) -> Booking:
    """Lock the booking's slot first (the one lock order), then read the booking fresh."""
    slot_id = db.session.scalar(sa.select(Booking.slot_id).where(Booking.id == booking_id))
    if slot_id is None:
        raise NotFound(_("No such booking."))
    _lock_slot(slot_id)
    return db.session.scalar(
        sa.select(Booking).where(Booking.id == booking_id).execution_options(populate_existing=True))


def _require_household_access(user: User, recipient: CareRecipient) -> None:
    if not user.can_act_for_household(recipient.household_id):
        raise Forbidden(_("You may only book and cancel for your own household."))


def _require_partner_staff(user: User, slot: Slot) -> None:
    if not user.belongs_to_partner(slot.service.partner_id):
        raise Forbidden(_("Only this partner's staff may record attendance."))


def _tally(slot_id: int, old: BookingStatus | None, new: BookingStatus) -> None:
    """Move the slot's tallies with one booking's change of status (the caller holds the slot's lock)."""
    moves = {column: (new in statuses) - (old in statuses) for column, statuses in TALLIES.items()}
    moves = {column: getattr(Slot, column) + move for column, move in moves.items() if move}
    if moves:
        db.session.execute(sa.update(Slot).where(Slot.id == slot_id).values(moves))


def _set_status(booking: Booking, status: BookingStatus, action: str, *, by: User | None, now: datetime,
                **changes) -> None:
    before = booking.snapshot()
    _tally(booking.slot_id, booking.status, status)
    booking.status = status
    booking.updated_at = now
    for field, value in changes.items():
        setattr(booking, field, value)
    audit.record(action, booking, actor=by, now=now, before=before, after=booking.snapshot())
    # The family hears of it in the same transaction (a transactional outbox: no change without its notice).
    outbox.booking_changed(booking, action, now=now)


# --- booking ---

def book(slot_id: int, recipient_id: int, *, by: User | None, now: datetime,
         options: Mapping[str, Any] | None = None, enrolment_id: int | None = None,
         describe: Callable[[Booking, int | None], Any] | None = None) -> BookingResult:
    """Confirm a place while one is free, otherwise join the waitlist in arrival order.

    ``options`` are what the service kind asks of a booking (a meal's mode and dishes, day-care
    transport); the kind's policy checks and records them. ``by`` is None only for the scheduler
    booking a standing enrolment (``enrolment_id``), whose household agreed to it when enrolling.

    Every booking of a slot waits for the slot's lock, so the lock is held for as few statements as
    possible: one statement reads the slot with its service and partner, and the member, and they are
    checked before it is taken (nothing here takes a lock on them, so reading them under the slot's lock
    was no safer); under the lock the slot is read afresh, its checks made again (no statements: the rest is
    in hand), and one statement counts what the decision needs. The rows read before the lock are kept
    over the commit that ends the request's read (``write_transaction(keep_read=True)``), so nothing is
    reloaded under the lock; the booking's own commit expires them as every commit does.

    ``describe(booking, waitlist_position)`` (the API's answer, say) is made of the booking as written,
    before that commit: afterwards each of the booking, its slot, service and member would be read again.
    """
    slot, recipient = _slot_with_member(slot_id, recipient_id)
    if by is not None or enrolment_id is None:
        _require_household_access(by, recipient)
    service = slot.service  # held here: the identity map keeps a row only while something refers to it
    policy = policy_for(service.kind)
    _check_bookable_by(policy, slot, recipient, now)  # refused early, without waiting for the lock
    guard = current_app.config["BOOKING_GUARD"]
    with write_transaction(guard=guard, keep_read=True):
        slot = _lock_slot(slot_id, guard=guard)
        _check_bookable_by(policy, slot, recipient, now)  # again: the slot may have changed meanwhile
        counts = _slot_counts(slot.id, recipient.id)
        if counts.live_booking:
            raise _duplicate(recipient)
        if counts.places_held < slot.places:
            status, order, position = BookingStatus.confirmed, None, None
        else:
            # The new booking is last in line: behind everyone waiting now.
            status, order, position = BookingStatus.waitlisted, counts.top_waitlist_order + 1, counts.waiting + 1
        try:
            booking = _insert_booking(slot_id=slot.id, recipient_id=recipient.id, status=status, waitlist_order=order,
                                      booked_by_id=by.id if by else None, enrolment_id=enrolment_id,
                                      created_at=now, updated_at=now)
        except IntegrityError as error:
            # The database constraints back the checks above should anything get past them.
            if _violates_live_booking_index(error):
                raise _duplicate(recipient) from None
            raise Busy(_("Another booking for this slot was being made at the same moment; please try again.")) \
                from error
        _tally(slot.id, None, status)
        policy.apply_options(booking, dict(options or {}), current_app.config, now=now)
        audit.record(f"booking.{status.value}", booking, actor=by, now=now,
                     after={**booking.snapshot(), **policy.options_of(booking)})
        answer = describe(booking, position) if describe is not None else None
        return BookingResult(booking, position, booking.id, status, answer)


def _duplicate(recipient: CareRecipient) -> Conflict:
    # Made only when raised: translating the message looks up the request's language, on every booking.
    return Conflict(_("%(name)s already has a booking in this slot.", name=recipient.name), code="duplicate_booking")


@cache
def _booking_insert() -> sa.Insert:
    """Every column returned, so the booking in hand is whole without reading it back."""
    table = Booking.__table__
    return sa.insert(table).returning(*table.c)


def _insert_booking(**values) -> Booking:
    """Insert a booking with one plain INSERT ... RETURNING and hand it to the session as a loaded row.

    Under the slot's lock, which every booking of the slot waits for, the ORM's unit of work (a pending
    object flushed by the session) took longer than the statement itself: about 0.6 ms more of each
    booking's hold on the lock. The object given back is as one read from the database: in the session,
    nothing pending, its slot and member found in the session without a statement."""
    return adopt_inserted(Booking(**db.session.execute(_booking_insert(), values).one()._mapping))


@cache
def _slot_with_member_statement() -> sa.Select:
    """Built once, like the counts' statement: every booking starts with it. The member is outer-joined on its
    id alone, so a missing member still finds the slot (and is refused as missing)."""
    return (sa.select(Slot, CareRecipient).join(Slot.service).join(Service.partner)
            .outerjoin(CareRecipient, CareRecipient.id == sa.bindparam("recipient_id"))
            .where(Slot.id == sa.bindparam("slot_id"))
            .options(sa.orm.contains_eager(Slot.service).contains_eager(Service.partner)))


def _slot_with_member(slot_id: int, recipient_id: int) -> tuple[Slot, CareRecipient]:
    """The slot with its service and partner, and the member to book, in one statement (no lock)."""
    row = db.session.execute(_slot_with_member_statement(), {"slot_id": slot_id,
                                                             "recipient_id": recipient_id}).one_or_none()
    if row is None:
        raise NotFound(_("No such slot."))
    slot, recipient = row
    if recipient is None:
        raise NotFound(_("No such household member."))
    return slot, recipient


def _check_bookable_by(policy, slot: Slot, recipient: CareRecipient, now: datetime) -> None:
    _check_slot_bookable(slot, now)
    policy.check_eligible(recipient, slot, current_app.config)
    policy.check_booking_open(slot, now)


def change_options(booking_id: int, options: Mapping[str, Any], *, by: User, now: datetime) -> Booking:
    """Change what was asked of a pending booking (a meal's mode or dishes, transport) before the cutoff."""
    with write_transaction():
        booking = _load_booking(booking_id)
        _require_household_access(by, booking.recipient)
        if booking.status not in PENDING:
            raise Conflict(_("A booking that is %(status)s cannot be changed.", status=status_word(booking.status)),
                           code="wrong_state")
        policy = policy_for(booking.slot.service.kind)
        policy.check_change_open(booking.slot, now)
        before = policy.options_of(booking)
        policy.apply_options(booking, dict(options), current_app.config, now=now)
        booking.updated_at = now
        audit.record("booking.changed", booking, actor=by, now=now, before=before, after=policy.options_of(booking))
        return booking


def _check_slot_bookable(slot: Slot, now: datetime) -> None:
    service = slot.service
    if slot.status != SlotStatus.open:
        message = _("This slot is cancelled.") if slot.status == SlotStatus.cancelled else _("This slot is closed.")
        raise RuleRefused(message, code="slot_not_open")
    if not (service.active and service.partner.approved):
        raise RuleRefused(_("This service is not taking bookings."), code="service_unavailable")
    if now >= slot.starts_at:
        raise RuleRefused(_("This slot has already started."), code="past_cutoff",
                          fields={"cutoff": slot.starts_at.isoformat()})


def cancel(booking_id: int, *, by: User, now: datetime) -> Booking:
    """Cancel a booking or leave a waitlist; a freed place goes to the waitlist head at once."""
    with write_transaction():
        booking = _load_booking(booking_id)
        _require_household_access(by, booking.recipient)
        if booking.status == BookingStatus.confirmed:
            policy_for(booking.slot.service.kind).check_cancellation_open(booking.slot, now)
        elif booking.status not in (BookingStatus.waitlisted, BookingStatus.offered):
            raise Conflict(_("A booking that is %(status)s cannot be cancelled.", status=status_word(booking.status)),
                           code="wrong_state")
        held = booking.status in HOLDS_PLACE
        _end(booking, EndReason.cancelled, by=by, now=now)
        if held:
            fill_freed_places(booking.slot, now=now, by=by)
        return booking


def _end(booking: Booking, reason: EndReason, *, by: User | None, now: datetime) -> None:
    _set_status(booking, BookingStatus.cancelled, f"booking.{reason.value}", by=by, now=now,
                cancelled_at=now, end_reason=reason, offer_expires_at=None)


def fill_freed_places(slot: Slot, *, now: datetime, by: User | None) -> list[Booking]:
    """Hand free places to the waitlist head, in arrival order, until none is free.

    Call inside a write transaction holding the slot lock. Confirms at once
    when the service's fill policy is ``auto``; otherwise offers the place
    until the offer expires (never later than booking closes). After booking
    has closed the waitlist is closed too and nothing moves.
    """
    policy = policy_for(slot.service.kind)
    closes = policy.booking_closes_at(slot)
    if slot.status != SlotStatus.open or now >= closes:
        return []
    free = slot.places - places_held(slot.id)
    if free <= 0:
        return []
    head = db.session.scalars(
        sa.select(Booking).where(Booking.slot_id == slot.id, Booking.status == BookingStatus.waitlisted)
        .order_by(Booking.waitlist_order).limit(free)).all()
    service = slot.service
    for booking in head:
        if service.fill_policy == FillPolicy.auto:
            _set_status(booking, BookingStatus.confirmed, "booking.promoted", by=by, now=now)
        else:
            expires = min(now + timedelta(hours=service.offer_hours), closes)
            _set_status(booking, BookingStatus.offered, "booking.offered", by=by, now=now,
                        offer_expires_at=expires)
    return head


# --- offers ---

def accept_offer(booking_id: int, *, by: User, now: datetime) -> Booking:
    with write_transaction():
        booking = _load_booking(booking_id)
        _require_household_access(by, booking.recipient)
        _require_live_offer(booking, now)
        _set_status(booking, BookingStatus.confirmed, "booking.offer_accepted", by=by, now=now,
                    offer_expires_at=None)
        return booking


def decline_offer(booking_id: int, *, by: User, now: datetime) -> Booking:
    with write_transaction():
        booking = _load_booking(booking_id)
        _require_household_access(by, booking.recipient)
        _require_live_offer(booking, now)
        _end(booking, EndReason.declined, by=by, now=now)
        fill_freed_places(booking.slot, now=now, by=by)
        return booking


def _require_live_offer(booking: Booking, now: datetime) -> None:
    if booking.status != BookingStatus.offered:
        raise Conflict(_("This booking is %(status)s, not an open offer.", status=status_word(booking.status)),
                       code="wrong_state")
    if now >= booking.offer_expires_at:
        raise RuleRefused(_("This offer expired at %(time)s.", time=local_time(booking.offer_expires_at)),
                          code="offer_expired")


def expire_offers(*, now: datetime) -> int:
    """Cancel offers not accepted in time and pass each place on. (A scheduler job.)"""
    due = db.session.execute(
        sa.select(Booking.id, Booking.slot_id)
        .where(Booking.status == BookingStatus.offered, Booking.offer_expires_at <= now)
        .order_by(Booking.slot_id, Booking.id)).all()
    db.session.rollback()  # end the read; each slot gets its own short write transaction
    expired = 0
    for booking_id, _slot_id in due:
        with write_transaction():
            booking = _load_booking(booking_id)
            # Re-check under the lock: the family may have accepted meanwhile.
            if booking.status != BookingStatus.offered or booking.offer_expires_at > now:
                continue
            _end(booking, EndReason.offer_expired, by=None, now=now)
            fill_freed_places(booking.slot, now=now, by=None)
            expired += 1
    return expired


# --- attendance ---

def check_in(booking_id: int, *, by: User, now: datetime, temperature: Decimal | float | str | None = None,
             health_notes: str | None = None) -> Booking:
    """Record arrival, with the morning health check (temperature in °C, notes) when one was made."""
    temperature = _checked_temperature(temperature)
    health_notes = (health_notes or "").strip() or None
    if health_notes is not None and len(health_notes) > 500:
        raise BadInput(_("Health notes are at most 500 characters."), fields={"health_notes": "max 500"})
    with write_transaction():
        booking = _load_booking(booking_id)
        _require_partner_staff(by, booking.slot)
        if booking.status != BookingStatus.confirmed:
            raise Conflict(_("Only a confirmed booking can be checked in; this one is %(status)s.",
                             status=status_word(booking.status)),
                           code="wrong_state")
        opens = booking.slot.starts_at - CHECK_IN_OPENS_BEFORE
        if now < opens:
            raise RuleRefused(_("Check-in opens at %(time)s.", time=local_time(opens)), code="too_early")
        if now >= booking.slot.ends_at:
            raise RuleRefused(_("This slot has ended; record a no-show instead."), code="too_late")
        _set_status(booking, BookingStatus.checked_in, "booking.checked_in", by=by, now=now,
                    checked_in_at=now, checked_in_by_id=by.id, health_temperature=temperature,
                    health_notes=health_notes)
        return booking


def _checked_temperature(value: Decimal | float | str | None) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    low, high = TEMPERATURE_RANGE
    try:
        reading = Decimal(str(value).strip()).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        reading = None
    if reading is None or not reading.is_finite() or not low <= reading <= high:
        raise BadInput(_("Give the temperature in °C, %(low)s to %(high)s, e.g. 36.6.", low=low, high=high),
                       fields={"temperature": f"{low}-{high}"})
    return reading


def check_out(booking_id: int, *, by: User, now: datetime, collected_by_id: int | None = None) -> Booking:
    """Record leaving. Where the kind says who may collect (a child), ``collected_by_id`` must be one of
    the family's authorised adults; a refused collection is logged even though nothing else changes."""
    try:
        with write_transaction():
            booking = _load_booking(booking_id)
            _require_partner_staff(by, booking.slot)
            if booking.status != BookingStatus.checked_in:
                raise Conflict(_("Only someone checked in can be checked out; this booking is %(status)s.",
                                 status=status_word(booking.status)), code="wrong_state")
            policy_for(booking.slot.service.kind).check_collection(booking, collected_by_id)
            _set_status(booking, BookingStatus.checked_out, "booking.checked_out", by=by, now=now,
                        checked_out_at=now, checked_out_by_id=by.id, collected_by_id=collected_by_id)
            return booking
    except RuleRefused as refusal:
        if refusal.code == "not_authorised_collector":
            _log_refused_collection(booking_id, collected_by_id, refusal, by=by, now=now)
        raise


def _log_refused_collection(booking_id: int, collected_by_id: int | None, refusal: RuleRefused, *,
                            by: User, now: datetime) -> None:
    """The refusal rolled the check-out back; its record is written in a transaction of its own."""
    with write_transaction():
        booking = db.session.get(Booking, booking_id)
        audit.record("booking.collection_refused", booking, actor=by, now=now,
                     after={"collected_by_id": collected_by_id, "reason": refusal.message})


def check_no_show(booking: Booking, *, now: datetime) -> None:
    """Refuse unless the booking can be recorded as a no-show now (its page asks first, with the same words)."""
    if booking.status != BookingStatus.confirmed:
        raise Conflict(_("Only a confirmed booking can be a no-show; this one is %(status)s.",
                         status=status_word(booking.status)), code="wrong_state")
    if now < booking.slot.starts_at:
        raise RuleRefused(_("A no-show can be recorded from %(time)s.", time=local_time(booking.slot.starts_at)),
                          code="too_early")


def mark_no_show(booking_id: int, *, by: User, now: datetime) -> Booking:
    """Partner staff record that someone booked did not come (from the slot's start)."""
    with write_transaction():
        booking = _load_booking(booking_id)
        _require_partner_staff(by, booking.slot)
        check_no_show(booking, now=now)
        _set_status(booking, BookingStatus.no_show, "booking.no_show", by=by, now=now)
        return booking


def mark_no_shows(*, now: datetime) -> int:
    """After a slot ends, confirmed bookings never checked in become no-shows, in the kinds whose policy
    marks no-shows (not meals). (A scheduler job.)"""
    kinds = [kind for kind in ServiceKind if policy_for(kind).marks_no_shows]
    due = db.session.scalars(
        sa.select(Booking.id).join(Slot, Slot.id == Booking.slot_id).join(Service, Service.id == Slot.service_id)
        .where(Booking.status == BookingStatus.confirmed, Slot.ends_at <= now, Service.kind.in_(kinds))
        .order_by(Booking.slot_id, Booking.id)).all()
    db.session.rollback()
    marked = 0
    for booking_id in due:
        with write_transaction():
            booking = _load_booking(booking_id)
            if booking.status != BookingStatus.confirmed:
                continue
            _set_status(booking, BookingStatus.no_show, "booking.no_show", by=None, now=now)
            marked += 1
    return marked


# --- slot changes by the partner ---

def set_capacity(slot_id: int, capacity: int, *, by: User, now: datetime) -> Slot:
    """Change a slot's capacity; never below the places already held. More places go to the waitlist."""
    with write_transaction():
        slot = _lock_slot(slot_id)
        if not by.manages_partner(slot.service.partner_id):
            raise Forbidden(_("Only this partner's manager may change capacity."))
        if capacity < 0:
            raise RuleRefused(_("Capacity cannot be negative."), code="bad_capacity", fields={"capacity": "min 0"})
        held = places_held(slot.id)
        if capacity < held:
            raise RuleRefused(_("%(held)s places are already booked; capacity cannot go below %(held)s.", held=held),
                              code="capacity_below_bookings", fields={"capacity": f"at least {held}"})
        limit = policy_for(slot.service.kind).capacity_limit(slot)
        if limit is not None and capacity > limit:
            raise RuleRefused(_("The rules for this service allow at most %(limit)s places.", limit=limit),
                              code="capacity_above_limit", fields={"capacity": f"at most {limit}"})
        before = {"capacity": slot.capacity}
        slot.capacity = capacity
        audit.record("slot.capacity_changed", slot, actor=by, now=now, before=before, after={"capacity": capacity})
        fill_freed_places(slot, now=now, by=by)
        return slot


def cancel_slot(slot_id: int, *, by: User, now: datetime) -> Slot:
    """The partner cancels a slot: every live booking in it ends."""
    with write_transaction():
        slot = _lock_slot(slot_id)
        if not by.manages_partner(slot.service.partner_id):
            raise Forbidden(_("Only this partner's manager may cancel a slot."))
        if slot.status == SlotStatus.cancelled:
            raise Conflict(_("This slot is already cancelled."), code="wrong_state")
        if now >= slot.starts_at:
            raise RuleRefused(_("A slot that has started cannot be cancelled."), code="past_cutoff")
        bookings = db.session.scalars(sa.select(Booking).where(
            Booking.slot_id == slot.id,
            Booking.status.in_([BookingStatus.confirmed, BookingStatus.waitlisted, BookingStatus.offered]))).all()
        for booking in bookings:
            _end(booking, EndReason.slot_cancelled, by=by, now=now)
        audit.record("slot.cancelled", slot, actor=by, now=now, before={"status": slot.status.value},
                     after={"status": SlotStatus.cancelled.value})
        slot.status = SlotStatus.cancelled
        return slot


# --- the scheduler's sweeps over waitlists ---

def fill_free_places(*, now: datetime) -> int:
    """Give places that are free in a slot with people waiting to the waitlist head: a place freed by a
    capacity increase or a staff change is handed on at once by that change, and this sweep catches any
    that were not (a change that raced with booking closing, say). Returns how many were handed on."""
    held = (sa.select(sa.func.count()).select_from(Booking)
            .where(Booking.slot_id == Slot.id, Booking.status.in_(HOLDS_PLACE)).scalar_subquery())
    waiting = sa.select(Booking.id).where(Booking.slot_id == Slot.id, Booking.status == BookingStatus.waitlisted)
    slot_ids = db.session.scalars(
        sa.select(Slot.id).where(Slot.status == SlotStatus.open, Slot.starts_at > now, waiting.exists(),
                                 held < Slot.places).order_by(Slot.starts_at, Slot.id)).all()
    db.session.rollback()
    handed_on = 0
    for slot_id in slot_ids:
        with write_transaction():
            handed_on += len(fill_freed_places(_lock_slot(slot_id), now=now, by=None))
    return handed_on


# Waitlists of slots that started up to this long ago are still closed (the scheduler may have been down).
CLOSE_LOOKBACK = timedelta(days=1)


def close_waitlists(*, now: datetime) -> int:
    """When booking closes, nobody still waiting will get a place: end their bookings (each family is told,
    see careapp.notifications.outbox). Returns how many waitlisted bookings ended."""
    waiting = db.session.scalars(
        sa.select(Slot).where(Slot.starts_at > now - CLOSE_LOOKBACK, sa.select(Booking.id).where(
            Booking.slot_id == Slot.id, Booking.status == BookingStatus.waitlisted).exists())
        .options(sa.orm.joinedload(Slot.service)).order_by(Slot.starts_at, Slot.id)).all()
    # Decided in the read, so a slot whose booking is still open costs no write transaction each minute.
    due = [slot.id for slot in waiting if now >= policy_for(slot.service.kind).booking_closes_at(slot)]
    db.session.rollback()
    closed = 0
    for slot_id in due:
        with write_transaction():
            slot = _lock_slot(slot_id)
            still_waiting = db.session.scalars(sa.select(Booking).where(
                Booking.slot_id == slot.id, Booking.status == BookingStatus.waitlisted)
                .order_by(Booking.waitlist_order)).all()
            for booking in still_waiting:
                _end(booking, EndReason.waitlist_closed, by=None, now=now)
            closed += len(still_waiting)
    return closed
