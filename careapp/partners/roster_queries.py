"""Read models of shifts and day rosters: who works at a service point, and who is coming, on a local day.

Each function issues a fixed number of statements whatever the number of shifts, people or bookings.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from careapp.accounts.models import PARTNER_ROLES, User
from careapp.booking import queries
from careapp.booking.models import Booking, BookingStatus
from careapp.booking.queries import BookingView, SlotAvailability
from careapp.core.db import db
from careapp.core.timefmt import from_local, local_date
from careapp.households.models import AuthorisedAdult, CareRecipient, RecipientKind
from careapp.households.queries import authorised_adults_for
from careapp.partners.models import Service, ServicePoint, Shift, ShiftAssignment, Slot, Volunteer

# How far ahead the dashboard looks for shifts short of people.
DASHBOARD_DAYS = 7


@dataclass(frozen=True)
class ShiftView:
    shift: Shift

    @property
    def people(self) -> list[ShiftAssignment]:
        return self.shift.assignments

    @property
    def names(self) -> list[str]:
        return [person_name(a) for a in self.shift.assignments]

    @property
    def short_by(self) -> int:
        """How many more people the shift needs to reach its minimum (0: enough)."""
        return max(self.shift.min_people - len(self.shift.assignments), 0)

    @property
    def below_minimum(self) -> bool:
        return self.short_by > 0

    def ended(self, now: datetime) -> bool:
        return from_local(self.shift.day, self.shift.end_time) <= now

    @property
    def full(self) -> bool:
        return len(self.shift.assignments) >= self.shift.max_people


def person_name(assignment: ShiftAssignment) -> str:
    return assignment.user.name if assignment.user_id is not None else assignment.volunteer.name


def _shifts_select() -> sa.Select:
    return (sa.select(Shift)
            .options(selectinload(Shift.assignments).selectinload(ShiftAssignment.user),
                     selectinload(Shift.assignments).selectinload(ShiftAssignment.volunteer),
                     selectinload(Shift.service), selectinload(Shift.service_point))
            .order_by(Shift.day, Shift.start_time, Shift.end_time, Shift.id))


def point_shifts(point_id: int, first: date, last: date) -> list[ShiftView]:
    """A service point's shifts from ``first`` to ``last`` (local days, inclusive), with their people."""
    return [ShiftView(shift) for shift in db.session.scalars(
        _shifts_select().where(Shift.service_point_id == point_id, Shift.day >= first, Shift.day <= last))]


def shifts_below_minimum(partner_id: int, *, now: datetime, days: int = DASHBOARD_DAYS) -> list[ShiftView]:
    """The partner's shifts that have not ended, in the coming days, with fewer people than they need."""
    today = local_date(now)
    shifts = db.session.scalars(
        _shifts_select().join(ServicePoint, ServicePoint.id == Shift.service_point_id)
        .where(ServicePoint.partner_id == partner_id, Shift.day >= today, Shift.day <= today + timedelta(days=days),
               Shift.min_people > 0))
    return [view for view in map(ShiftView, shifts)
            if view.below_minimum and from_local(view.shift.day, view.shift.end_time) > now]


def rosterable_people(partner_id: int) -> tuple[list[User], list[Volunteer]]:
    """The partner's active staff accounts and active volunteers, by name: who may be put on its shifts."""
    staff = list(db.session.scalars(
        sa.select(User).where(User.partner_id == partner_id, User.role.in_(PARTNER_ROLES), User.active.is_(True))
        .order_by(User.name, User.id)))
    return staff, partner_volunteers(partner_id)


def partner_volunteers(partner_id: int, *, active_only: bool = True) -> list[Volunteer]:
    stmt = sa.select(Volunteer).where(Volunteer.partner_id == partner_id).order_by(Volunteer.name, Volunteer.id)
    if active_only:
        stmt = stmt.where(Volunteer.active.is_(True))
    return list(db.session.scalars(stmt))


@dataclass(frozen=True)
class SlotRoster:
    row: SlotAvailability
    people: list[BookingView]

    @property
    def places(self) -> list[BookingView]:
        return [view for view in self.people if view.waitlist_position is None]

    @property
    def waiting(self) -> list[BookingView]:
        return [view for view in self.people if view.waitlist_position is not None]


@dataclass(frozen=True)
class DayRoster:
    point: ServicePoint
    day: date
    slots: list[SlotRoster]
    shifts: list[ShiftView]
    adults: dict[int, list[AuthorisedAdult]]

    @property
    def shifts_below_minimum(self) -> list[ShiftView]:
        return [view for view in self.shifts if view.below_minimum]


def day_roster(point: ServicePoint, day: date) -> DayRoster:
    """Who is coming (each slot at the point that local day, with its bookings) and who is working."""
    start, end = from_local(day, time.min), from_local(day + timedelta(days=1), time.min)
    # The slot read model's own select, narrowed to one point and day (the booking counts come with it).
    that_day = (sa.select(Slot.id).join(Service, Slot.service_id == Service.id)
                .where(Service.service_point_id == point.id, Slot.starts_at >= start, Slot.starts_at < end))
    rows = db.session.execute(
        queries._availability_select(that_day)
        .where(Service.service_point_id == point.id, Slot.starts_at >= start, Slot.starts_at < end)
        .order_by(Slot.starts_at, Service.name, Slot.id)).all()
    availability = [SlotAvailability(*row) for row in rows]
    people = _bookings_by_slot({row.slot.id for row in availability})
    children = {view.booking.recipient_id for views in people.values() for view in views
                if view.booking.recipient.kind == RecipientKind.child}
    return DayRoster(point=point, day=day,
                     slots=[SlotRoster(row, people.get(row.slot.id, [])) for row in availability],
                     shifts=point_shifts(point.id, day, day), adults=authorised_adults_for(children))


def _bookings_by_slot(slot_ids: set[int]) -> dict[int, list[BookingView]]:
    """Every live booking of these slots (places first by name, then the waitlist in order): one statement."""
    if not slot_ids:
        return {}
    bookings = db.session.scalars(
        queries._bookings_select()
        .where(Booking.slot_id.in_(slot_ids), Booking.status != BookingStatus.cancelled)
        .order_by(Booking.slot_id, Booking.status == BookingStatus.waitlisted, Booking.waitlist_order,
                  CareRecipient.name, Booking.id)).unique()
    by_slot: dict[int, list[BookingView]] = defaultdict(list)
    for booking in bookings:
        views = by_slot[booking.slot_id]
        waiting = booking.status == BookingStatus.waitlisted
        position = sum(1 for view in views if view.waitlist_position is not None) + 1 if waiting else None
        views.append(BookingView(booking, position))
    return by_slot


def week_of(day: date) -> tuple[date, date]:
    """Monday to Sunday of the week holding ``day``."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)
