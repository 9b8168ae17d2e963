"""Standing enrolments: one person booked into a service on chosen weekdays, week after week.

- A family (or district staff acting for it) enrols a member in a service from a first day, on some
  weekdays, optionally only the session starting at one local time, with the kind's booking options
  (day-care transport, a meal's mode). The enrolment is booked at once into the service's slots that are
  already open.
- :func:`book_enrolments` books every matching enrolment into one new slot, in enrolment order: confirmed
  while places last, then waitlisted. The scheduler calls it for each slot it opens; publishing a slot by
  hand (careapp.partners.services) calls it too.
- Pausing until a restart day cancels the enrolment's bookings before that day; ending cancels those after
  the last day. A confirmed booking whose cancellation has closed is kept (the place is the family's).

Each booking is its own transaction (``engine.book`` commits on its own), so one refusal (a full day, a
birthday not yet reached) never undoes the others; called inside a caller's open transaction, each booking
gets a savepoint instead (a nested ``write_transaction`` would join the caller's and roll back with it).
"""
from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, joinedload
from flask import current_app

from careapp.accounts.models import User
from careapp.booking import engine
from careapp.booking.models import Booking, BookingStatus, Enrolment, EnrolmentStatus
from careapp.booking.policies import policy_for
from careapp.core import audit
from careapp.core.db import db, in_write_transaction, lock_for_update, write_transaction
from careapp.core.errors import (
    BadInput,
    CareappError,
    Conflict,
    Forbidden,
    NotFound,
    RuleRefused,
)
from careapp.core.i18n import current_language, local_time, short_date, weekday_name
from careapp.core.i18n import gettext as _
from careapp.core.timefmt import from_local, local_date, to_local
from careapp.households.models import CareRecipient
from careapp.partners.models import Service, ServiceKind, Slot, SlotPattern, SlotStatus

# Enrolments that still hold the person's weekdays (a paused one comes back on its restart day).
ENROLLED = (EnrolmentStatus.active, EnrolmentStatus.paused)


# --- what a run of bookings did ---

@dataclass(frozen=True)
class Booked:
    enrolment_id: int
    slot_id: int
    booking_id: int
    status: BookingStatus
    waitlist_position: int | None


@dataclass(frozen=True)
class Skipped:
    """An enrolment not booked into a slot, and why (``code`` as the engine's refusal, or "paused",
    "already_booked"; ``rule`` names the eligibility rule when the code is "ineligible")."""

    enrolment_id: int
    slot_id: int
    code: str
    message: str
    rule: str | None = None


@dataclass
class BookingSummary:
    booked: list[Booked] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def confirmed(self) -> list[Booked]:
        return [entry for entry in self.booked if entry.status == BookingStatus.confirmed]

    @property
    def waitlisted(self) -> list[Booked]:
        return [entry for entry in self.booked if entry.status == BookingStatus.waitlisted]

    def as_dict(self) -> dict:
        return {"confirmed": len(self.confirmed), "waitlisted": len(self.waitlisted),
                "skipped": [{"enrolment_id": s.enrolment_id, "slot_id": s.slot_id, "code": s.code,
                             "rule": s.rule, "message": s.message} for s in self.skipped]}


@dataclass(frozen=True)
class EnrolmentChange:
    """An enrolment after a change, with the bookings the change made or cancelled."""

    enrolment: Enrolment
    summary: BookingSummary = field(default_factory=BookingSummary)
    cancelled: int = 0
    # Confirmed bookings left in place because their cancellation had closed.
    kept: tuple[Booking, ...] = ()


# --- enrolling ---

def enrol(recipient_id: int, service_id: int, weekdays: Iterable[int], *, starts_on: date, by: User,
          now: datetime, start_time: time | None = None, ends_on: date | None = None,
          options: Mapping[str, Any] | None = None) -> EnrolmentChange:
    """Enrol a household member in a service on ``weekdays`` (0 = Monday) from ``starts_on``, then book
    the service's slots that are already open and match."""
    days = _weekday_digits(weekdays)
    if starts_on < local_date(now):
        raise BadInput(_("The first day cannot be in the past."), fields={"starts_on": "today or later"})
    if ends_on is not None and ends_on < starts_on:
        raise BadInput(_("The last day cannot be before the first day."), fields={"ends_on": "on or after starts_on"})
    with write_transaction():
        # Locking the person serialises their enrolments, so two at once cannot both pass the clash check.
        recipient = lock_for_update(CareRecipient, recipient_id)
        if recipient is None:
            raise NotFound(_("No such household member."))
        if not by.can_act_for_household(recipient.household_id):
            raise Forbidden(_("You may only enrol members of your own household."))
        service = db.session.get(Service, service_id)
        if service is None:
            raise NotFound(_("No such service."))
        _check_service_takes(service, recipient, starts_on, start_time)
        needs_transport, meal_mode = _checked_options(service, recipient, options)
        _check_sessions(service, days, start_time, starts_on)
        _check_no_clash(recipient, service, days, start_time, starts_on, ends_on)
        enrolment = Enrolment(recipient_id=recipient.id, service_id=service.id, weekdays=days,
                              start_time=start_time, starts_on=starts_on, ends_on=ends_on,
                              status=EnrolmentStatus.active, needs_transport=needs_transport, meal_mode=meal_mode,
                              created_by_id=by.id, created_at=now, updated_at=now)
        db.session.add(enrolment)
        db.session.flush()
        audit.record("enrolment.created", enrolment, actor=by, now=now,
                     after={**enrolment.snapshot(), "recipient_id": recipient.id, "service_id": service.id,
                            "starts_on": starts_on})
        enrolment_id = enrolment.id
    summary = _book_open_slots(enrolment_id, now=now)
    return EnrolmentChange(db.session.get(Enrolment, enrolment_id), summary)


def _weekday_digits(weekdays: Iterable[int]) -> str:
    try:
        days = sorted({int(day) for day in weekdays})
    except (TypeError, ValueError):
        days = [-1]
    if not days or any(day not in range(7) for day in days):
        raise BadInput(_("Choose at least one weekday."), fields={"weekdays": "0 (Mon) to 6 (Sun), at least one"})
    return "".join(str(day) for day in days)


def listed(names: Iterable[str]) -> str:
    """Names one after another, the way the page's language lists them (Monday, Tuesday / 星期一、星期二)."""
    return ("、" if current_language() == "zh_CN" else ", ").join(names)


def _day_names(days: Iterable[int]) -> str:
    """The weekdays in the reader's language, for messages."""
    return listed(weekday_name(day) for day in sorted(days))


def _english_day_names(days: Iterable[int]) -> str:
    """The weekdays in English, for the API's field errors (which are not translated)."""
    return ", ".join(calendar.day_name[day] for day in sorted(days))


def _check_service_takes(service: Service, recipient: CareRecipient, starts_on: date,
                         start_time: time | None) -> None:
    """The service takes bookings, serves this kind of person, and would take them on the first day."""
    if not (service.active and service.partner.approved):
        raise RuleRefused(_("%(service)s is not taking bookings.", service=service.name), code="service_unavailable")
    policy = policy_for(service.kind)
    # The kind's own rules (who it serves, age, ability level) as they stand on the first day; later days
    # are checked again as each slot is booked (a child may grow out of a class).
    first = from_local(starts_on, start_time or time(12, 0))
    policy.check_eligible(recipient, Slot(service=service, starts_at=first, ends_at=first + timedelta(hours=1),
                                          capacity=0), current_app.config)


def _checked_options(service: Service, recipient: CareRecipient,
                     options: Mapping[str, Any] | None) -> tuple[bool, str | None]:
    """(needs_transport, meal_mode), checked by the kind's policy as every booking will carry them."""
    checked = policy_for(service.kind).standing_options(recipient, service, dict(options or {}),
                                                        current_app.config)
    return checked.get("needs_transport", False), checked.get("mode")


def _check_sessions(service: Service, days: str, start_time: time | None, starts_on: date) -> None:
    """Where the service repeats weekly, every chosen day (and time) must be one of its sessions; a service
    whose slots are only added by hand takes any day."""
    patterns = db.session.scalars(sa.select(SlotPattern).where(
        SlotPattern.service_id == service.id,
        sa.or_(SlotPattern.valid_until.is_(None), SlotPattern.valid_until >= starts_on))).all()
    if not patterns:
        return
    if start_time is not None and start_time not in {pattern.start_time for pattern in patterns}:
        times = ", ".join(sorted({pattern.start_time.strftime("%H:%M") for pattern in patterns}))
        raise BadInput(_("%(service)s has no session starting at %(time)s; its sessions start at %(times)s.",
                         service=service.name, time=start_time.strftime("%H:%M"), times=times),
                       fields={"start_time": f"one of {times}"})
    running = {pattern.weekday for pattern in patterns if start_time is None or pattern.start_time == start_time}
    missing = [int(day) for day in days if int(day) not in running]
    if missing:
        raise BadInput(_("%(service)s has no session on %(days)s.", service=service.name, days=_day_names(missing)),
                       fields={"weekdays": f"only {_english_day_names(running)}"})


def _check_no_clash(recipient: CareRecipient, service: Service, days: str, start_time: time | None,
                    starts_on: date, ends_on: date | None) -> None:
    """One enrolment per person, service and session: a second one on the same weekday is a clash."""
    others = db.session.scalars(sa.select(Enrolment).where(
        Enrolment.recipient_id == recipient.id, Enrolment.service_id == service.id,
        Enrolment.status.in_(ENROLLED))).all()
    for other in others:
        shared = set(days) & set(other.weekdays)
        same_session = start_time is None or other.start_time is None or start_time == other.start_time
        overlap = (ends_on is None or ends_on >= other.starts_on) and \
                  (other.ends_on is None or other.ends_on >= starts_on)
        if shared and same_session and overlap:
            raise Conflict(_("%(name)s is already enrolled in %(service)s on %(days)s.", name=recipient.name,
                             service=service.name, days=_day_names(int(day) for day in shared)),
                           code="enrolment_clash",
                           fields={"weekdays": "already enrolled"})


# --- booking enrolments into slots ---

def booking_options(enrolment: Enrolment, kind: ServiceKind) -> dict[str, Any]:
    """The options each booking of the enrolment is made with (as the kind's policy takes them)."""
    if kind == ServiceKind.daycare:
        return {"needs_transport": enrolment.needs_transport}
    if kind == ServiceKind.meal and enrolment.meal_mode:
        return {"mode": enrolment.meal_mode}
    return {}


def _matches(enrolment: Enrolment, day: date, start: time) -> bool:
    """The enrolment covers a slot on ``day`` starting at local time ``start`` (pauses aside)."""
    return (str(day.weekday()) in enrolment.weekdays
            and (enrolment.start_time is None or enrolment.start_time == start)
            and enrolment.starts_on <= day and (enrolment.ends_on is None or day <= enrolment.ends_on))


def _paused_on(enrolment: Enrolment, day: date) -> bool:
    return enrolment.status == EnrolmentStatus.paused and enrolment.resumes_on > day


def _on_its_own(step: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one booking step so that a refusal undoes that step only: in its own transaction, or in a
    savepoint when the caller holds a transaction open (the demo loads in one). A nested
    ``write_transaction`` would join the caller's and a refusal would roll back everything."""
    if in_write_transaction():
        with db.session.begin_nested():
            return step(*args, **kwargs)
    return step(*args, **kwargs)


def _end_read() -> None:
    """End the read before the writes (each takes its locks afresh); never the caller's open write."""
    if not in_write_transaction():
        db.session.rollback()


@dataclass(frozen=True)
class _Planned:
    enrolment_id: int
    recipient_id: int
    options: dict[str, Any]


def book_enrolments(slot_id: int, *, now: datetime) -> BookingSummary:
    """Book the service's standing enrolments into one slot, in enrolment order: confirmed while places
    last, then waitlisted. Skips (and reports) the paused, those already booked there, and those the
    engine refuses (ineligible on that day, booking closed). Safe to run again: nobody is booked twice,
    and an occurrence the family cancelled is not booked again."""
    slot = db.session.scalar(sa.select(Slot).where(Slot.id == slot_id).options(joinedload(Slot.service)))
    if slot is None:
        raise NotFound(_("No such slot."))
    summary = BookingSummary()
    if slot.status != SlotStatus.open:
        return summary
    day, start, today = local_date(slot.starts_at), to_local(slot.starts_at).time(), local_date(now)
    kind = slot.service.kind
    # A few statements per slot, none per enrolment: the enrolments with their members, the slot's bookings.
    candidates = db.session.scalars(
        sa.select(Enrolment).where(
            Enrolment.service_id == slot.service_id, Enrolment.status.in_(ENROLLED),
            Enrolment.starts_on <= day, sa.or_(Enrolment.ends_on.is_(None), Enrolment.ends_on >= day),
            Enrolment.weekdays.contains(str(day.weekday())))
        .options(joinedload(Enrolment.recipient)).order_by(Enrolment.id)).all()
    live, had_booking = _bookings_in(slot.id)
    planned, restarting = [], []
    for enrolment in candidates:
        if not _matches(enrolment, day, start):
            continue
        if _paused_on(enrolment, day):
            summary.skipped.append(Skipped(enrolment.id, slot.id, "paused",
                                           _("Paused until %(day)s.", day=short_date(enrolment.resumes_on))))
        elif enrolment.recipient_id in live or enrolment.id in had_booking:
            summary.skipped.append(Skipped(enrolment.id, slot.id, "already_booked",
                                           _("%(name)s already has a booking in this slot.",
                                             name=enrolment.recipient.name)))
        else:
            if enrolment.status == EnrolmentStatus.paused and enrolment.resumes_on <= today:
                restarting.append(enrolment.id)
            planned.append(_Planned(enrolment.id, enrolment.recipient_id, booking_options(enrolment, kind)))
    _end_read()
    for enrolment_id in restarting:
        _on_its_own(_end_finished_pause, enrolment_id, now=now)
    for plan in planned:
        _book_one(slot_id, plan, summary, now=now)
    return summary


def _bookings_in(slot_id: int) -> tuple[set[int], set[int]]:
    """(recipients with a live booking in the slot, enrolments that ever booked it)."""
    rows = db.session.execute(sa.select(Booking.recipient_id, Booking.enrolment_id, Booking.status)
                              .where(Booking.slot_id == slot_id)).all()
    live = {recipient for recipient, _enrolment, status in rows if status != BookingStatus.cancelled}
    return live, {enrolment for _recipient, enrolment, _status in rows if enrolment is not None}


def _book_one(slot_id: int, plan: _Planned, summary: BookingSummary, *, now: datetime) -> None:
    try:
        result = _on_its_own(engine.book, slot_id, plan.recipient_id, by=None, now=now, options=plan.options,
                             enrolment_id=plan.enrolment_id)
    except CareappError as refusal:
        summary.skipped.append(Skipped(plan.enrolment_id, slot_id, refusal.code, refusal.message,
                                       refusal.fields.get("rule")))
    else:
        summary.booked.append(Booked(plan.enrolment_id, slot_id, result.booking_id, result.status,
                                     result.waitlist_position))


def _end_finished_pause(enrolment_id: int, *, now: datetime) -> None:
    """A pause whose restart day has come is over: the enrolment is active again (the system acts)."""
    with write_transaction():
        enrolment = lock_for_update(Enrolment, enrolment_id)
        if enrolment.status != EnrolmentStatus.paused or enrolment.resumes_on > local_date(now):
            return
        before = enrolment.snapshot()
        enrolment.status, enrolment.resumes_on, enrolment.updated_at = EnrolmentStatus.active, None, now
        audit.record("enrolment.resumed", enrolment, actor=None, now=now, before=before, after=enrolment.snapshot())


def _book_open_slots(enrolment_id: int, *, now: datetime) -> BookingSummary:
    """Book one enrolment into its service's open future slots that match it (after enrolling or resuming)."""
    enrolment = db.session.get(Enrolment, enrolment_id)
    first = max(enrolment.starts_on, local_date(now))
    stmt = sa.select(Slot).where(Slot.service_id == enrolment.service_id, Slot.status == SlotStatus.open,
                                 Slot.starts_at > now, Slot.starts_at >= from_local(first, time.min))
    if enrolment.ends_on is not None:
        stmt = stmt.where(Slot.starts_at < from_local(enrolment.ends_on + timedelta(days=1), time.min))
    slots = db.session.scalars(stmt.order_by(Slot.starts_at, Slot.id)).all()
    plan = _Planned(enrolment.id, enrolment.recipient_id, booking_options(enrolment, enrolment.service.kind))
    due = [slot.id for slot in slots if _matches(enrolment, local_date(slot.starts_at), to_local(slot.starts_at).time())
           and not _paused_on(enrolment, local_date(slot.starts_at))]
    _end_read()
    summary = BookingSummary()
    for slot_id in due:
        _book_one(slot_id, plan, summary, now=now)
    return summary


# --- pausing, resuming, ending ---

def _enrolment_to_change(enrolment_id: int, by: User) -> Enrolment:
    enrolment = lock_for_update(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound(_("No such enrolment."))
    if not by.can_act_for_household(enrolment.recipient.household_id):
        raise Forbidden(_("You may only change your own household's enrolments."))
    if enrolment.status == EnrolmentStatus.ended:
        raise Conflict(_("This enrolment has ended."), code="wrong_state")
    return enrolment


def pause(enrolment_id: int, *, resumes_on: date, by: User, now: datetime) -> EnrolmentChange:
    """Pause until ``resumes_on`` (a hospital stay, a holiday): bookings before that day are cancelled, and
    their places pass to the waitlist, except confirmed ones whose cancellation has closed."""
    if resumes_on <= local_date(now):
        raise BadInput(_("The restart day must be after today."), fields={"resumes_on": "after today"})
    with write_transaction():
        enrolment = _enrolment_to_change(enrolment_id, by)
        if enrolment.ends_on is not None and resumes_on > enrolment.ends_on:
            raise RuleRefused(_("This enrolment ends on %(day)s, before that restart day; end it instead.",
                                day=short_date(enrolment.ends_on)),
                              code="resumes_after_end", fields={"resumes_on": "after ends_on"})
        before = enrolment.snapshot()
        enrolment.status, enrolment.resumes_on, enrolment.updated_at = EnrolmentStatus.paused, resumes_on, now
        cancelled, kept = _cancel_pending(enrolment, before=from_local(resumes_on, time.min), by=by, now=now)
        audit.record("enrolment.paused", enrolment, actor=by, now=now, before=before,
                     after={**enrolment.snapshot(), "bookings_cancelled": cancelled, "bookings_kept": len(kept)})
        return EnrolmentChange(enrolment, cancelled=cancelled, kept=tuple(kept))


def resume(enrolment_id: int, *, by: User, now: datetime) -> EnrolmentChange:
    """Come back before the restart day: active again, and booked into the open slots that match."""
    with write_transaction():
        enrolment = _enrolment_to_change(enrolment_id, by)
        if enrolment.status != EnrolmentStatus.paused:
            raise Conflict(_("This enrolment is not paused."), code="wrong_state")
        before = enrolment.snapshot()
        enrolment.status, enrolment.resumes_on, enrolment.updated_at = EnrolmentStatus.active, None, now
        audit.record("enrolment.resumed", enrolment, actor=by, now=now, before=before, after=enrolment.snapshot())
    summary = _book_open_slots(enrolment_id, now=now)
    return EnrolmentChange(db.session.get(Enrolment, enrolment_id), summary)


def end(enrolment_id: int, *, by: User, now: datetime, ends_on: date | None = None) -> EnrolmentChange:
    """End the enrolment after ``ends_on`` (default today): bookings on later days are cancelled (those past
    their cancellation cutoff are kept). Ending today, or before it began, ends it at once; a later last
    day keeps it running until then."""
    today = local_date(now)
    last = today if ends_on is None else ends_on
    if last < today:
        raise BadInput(_("The last day cannot be in the past."), fields={"ends_on": "today or later"})
    with write_transaction():
        enrolment = _enrolment_to_change(enrolment_id, by)
        if enrolment.ends_on is not None and last > enrolment.ends_on:
            raise BadInput(_("This enrolment already ends on %(day)s.", day=short_date(enrolment.ends_on)),
                           fields={"ends_on": f"on or before {enrolment.ends_on.isoformat()}"})
        before = enrolment.snapshot()
        if last <= today or last < enrolment.starts_on:
            enrolment.status, enrolment.resumes_on = EnrolmentStatus.ended, None
        if last >= enrolment.starts_on:
            enrolment.ends_on = last
        enrolment.updated_at = now
        cancelled, kept = _cancel_pending(enrolment, after=from_local(last + timedelta(days=1), time.min),
                                          by=by, now=now)
        audit.record("enrolment.ended", enrolment, actor=by, now=now, before=before,
                     after={**enrolment.snapshot(), "last_day": last, "bookings_cancelled": cancelled,
                            "bookings_kept": len(kept)})
        return EnrolmentChange(enrolment, cancelled=cancelled, kept=tuple(kept))


def _cancel_pending(enrolment: Enrolment, *, by: User, now: datetime, before: datetime | None = None,
                    after: datetime | None = None) -> tuple[int, list[Booking]]:
    """Cancel the enrolment's bookings still to come (starting before ``before`` / from ``after``), in slot
    order (the one lock order). Runs inside the caller's transaction: all of them go, or none."""
    stmt = (sa.select(Booking).join(Slot, Slot.id == Booking.slot_id)
            .where(Booking.enrolment_id == enrolment.id, Booking.status.in_(engine.PENDING), Slot.starts_at > now)
            .options(contains_eager(Booking.slot).joinedload(Slot.service))
            .order_by(Booking.slot_id))
    if before is not None:
        stmt = stmt.where(Slot.starts_at < before)
    if after is not None:
        stmt = stmt.where(Slot.starts_at >= after)
    cancelled, kept = 0, []
    for booking in db.session.scalars(stmt).all():
        if booking.status == BookingStatus.confirmed:
            # The kind's own cancellation rule, asked before engine.cancel, which would refuse the same way
            # but inside this transaction (where a refusal would undo the whole pause).
            try:
                policy_for(booking.slot.service.kind).check_cancellation_open(booking.slot, now)
            except RuleRefused:
                kept.append(booking)
                continue
        engine.cancel(booking.id, by=by, now=now)
        cancelled += 1
    return cancelled, kept


def describe_kept(kept: Iterable[Booking]) -> str:
    """For the family: the bookings a pause or end could not cancel any more."""
    return listed(local_time(booking.slot.starts_at) for booking in kept)
