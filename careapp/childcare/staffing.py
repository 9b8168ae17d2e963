"""Places that the rostered staff allow in a childcare slot (staff x children per staff member).

A member of staff counts for a slot when the staff shifts they are on for that class (``Shift.service_id``) on
the slot's local day together cover the whole slot. Volunteers never count towards the ratio. Whenever the
roster changes, :func:`restaff_slots` recomputes ``Slot.staffed_places`` of the slots it touches, under each
slot's lock; when places grow they go to the waitlist at once, and when they fall the children already booked
keep their places (the slot is then flagged as understaffed, and new bookings wait).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from careapp.accounts.models import PARTNER_ROLES, User
from careapp.booking import engine, queries
from careapp.booking.queries import SlotAvailability
from careapp.childcare.policy import children_per_staff, limited_by_staffing
from careapp.core import audit
from careapp.core.db import db, lock_for_update
from careapp.core.timefmt import from_local, to_local
from careapp.partners.models import Service, ServiceKind, Shift, ShiftAssignment, ShiftRole, Slot, SlotStatus

Interval = tuple[time, time]


def staff_hours(service_id: int, day: date) -> dict[int, list[Interval]]:
    """user id -> the (start, end) local times of that person's staff shifts for the service on the day.

    Only active partner staff accounts count (a deactivated account no longer works shifts)."""
    rows = db.session.execute(
        sa.select(ShiftAssignment.user_id, Shift.start_time, Shift.end_time)
        .join(Shift, Shift.id == ShiftAssignment.shift_id)
        .join(User, User.id == ShiftAssignment.user_id)
        .where(Shift.service_id == service_id, Shift.day == day, Shift.role == ShiftRole.staff,
               User.active.is_(True), User.role.in_(PARTNER_ROLES))
        .order_by(ShiftAssignment.user_id, Shift.start_time)).all()
    hours: dict[int, list[Interval]] = defaultdict(list)
    for user_id, start, end in rows:
        hours[user_id].append((start, end))
    return hours


def covers(intervals: list[Interval], start: time, end: time) -> bool:
    """Do these shifts (one person's, sorted by start) cover start..end without a gap? Back-to-back shifts do."""
    reached = start
    for shift_start, shift_end in sorted(intervals):
        if shift_start > reached:
            break
        reached = max(reached, shift_end)
        if reached >= end:
            return True
    return reached >= end


def _local_times(starts_at: datetime, ends_at: datetime) -> tuple[date, time, time] | None:
    """The slot's local day and times; None when it runs past midnight (no one-day shift can cover it)."""
    start, end = to_local(starts_at), to_local(ends_at)
    if end.date() != start.date():
        return None
    return start.date(), start.time(), end.time()


def staff_count(hours: dict[int, list[Interval]], starts_at: datetime, ends_at: datetime) -> int:
    local = _local_times(starts_at, ends_at)
    if local is None:
        return 0
    _, start, end = local
    return sum(1 for intervals in hours.values() if covers(intervals, start, end))


def staffed_places_for(service: Service, starts_at: datetime, ends_at: datetime) -> int | None:
    """What the roster allows in a new slot of the service (None: staffing does not limit this service).

    A new childcare slot with nobody rostered yet gets 0: its children wait until staff are rostered.

    Locks the service row first (as ``restaff_slots`` does), so a slot opened while a roster change of the same
    class commits is counted either by this read or by that change's restaffing, never by neither."""
    if not limited_by_staffing(service):
        return None
    lock_for_update(Service, service.id)
    local = _local_times(starts_at, ends_at)
    if local is None:
        return 0
    return staff_count(staff_hours(service.id, local[0]), starts_at, ends_at) * children_per_staff(service)


def restaff_slots(service_id: int | None, day: date, *, now: datetime, by: User | None) -> list[Slot]:
    """Recompute the staffed places of the service's open slots on a local day that have not ended.

    Call inside the write transaction that changed the roster. Each slot is locked (the engine's lock, in id
    order) before the roster is read, so two roster changes at once both count. Returns the slots changed.
    """
    if service_id is None:
        return []
    # The service row first, then the slots: the lock a new slot of the class takes (staffed_places_for).
    service = lock_for_update(Service, service_id)
    if service is None or not limited_by_staffing(service):
        return []
    slot_ids = db.session.scalars(
        sa.select(Slot.id).where(Slot.service_id == service_id, Slot.status == SlotStatus.open, Slot.ends_at > now,
                                 Slot.starts_at >= from_local(day, time.min),
                                 Slot.starts_at < from_local(day + timedelta(days=1), time.min))
        .order_by(Slot.id)).all()
    slots = [engine._lock_slot(slot_id) for slot_id in slot_ids]
    hours = staff_hours(service_id, day)
    ratio = children_per_staff(service)
    changed = []
    for slot in slots:
        staff = staff_count(hours, slot.starts_at, slot.ends_at)
        places = staff * ratio
        if slot.staffed_places == places:
            continue
        before = {"staffed_places": slot.staffed_places, "places": slot.places}
        slot.staffed_places = places
        audit.record("slot.restaffed", slot, actor=by, now=now, before=before,
                     after={"staffed_places": places, "places": slot.places, "staff": staff})
        engine.fill_freed_places(slot, now=now, by=by)  # nothing moves unless places grew
        changed.append(slot)
    return changed


def understaffed_slots(partner_id: int, *, now: datetime) -> list[SlotAvailability]:
    """The partner's coming childcare slots where more children hold places than the rostered staff allow."""
    rows = queries.find_slots(now=now, partner_id=partner_id, kind=ServiceKind.childcare, only_open=False)
    return [row for row in rows if row.slot.status == SlotStatus.open and row.understaffed]


def restaff_for_user(user_id: int, *, now: datetime, by: User | None) -> list[Slot]:
    """Recompute the classes a staff account works in from today on (call it, inside the same write
    transaction, when an account is switched off or on: only active accounts count)."""
    keys = db.session.execute(
        sa.select(Shift.service_id, Shift.day).distinct()
        .join(ShiftAssignment, ShiftAssignment.shift_id == Shift.id)
        .where(ShiftAssignment.user_id == user_id, Shift.service_id.is_not(None), Shift.day >= to_local(now).date())
        .order_by(Shift.service_id, Shift.day)).all()
    return [slot for service_id, day in keys for slot in restaff_slots(service_id, day, now=now, by=by)]
