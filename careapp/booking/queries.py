"""Read models for pages and the API: slots with their counts, rosters, a household's bookings.

Each function issues a fixed number of SQL statements whatever the number of
bookings (counts are aggregated in the database, related rows joined), which
tests/test_query_counts.py checks.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from careapp.accounts.models import PARTNER_ROLES, Role, User
from careapp.booking.models import Booking, BookingStatus
from careapp.core.db import db
from careapp.core.timefmt import from_local
from careapp.households.models import CareRecipient
from careapp.partners.models import PartnerOrganisation, Service, ServiceKind, ServicePoint, Slot, SlotStatus

ATTENDING = (BookingStatus.confirmed, BookingStatus.checked_in, BookingStatus.checked_out, BookingStatus.no_show)
MAX_ROWS = 500


@dataclass(frozen=True)
class SlotAvailability:
    slot: Slot
    service: Service
    partner: PartnerOrganisation
    service_point: ServicePoint
    confirmed: int
    offered: int
    waitlisted: int

    @property
    def available(self) -> int:
        return max(self.slot.places - self.confirmed - self.offered, 0)

    @property
    def understaffed(self) -> bool:
        """More places are held than the rostered staff allow: the partner manager must act."""
        return self.confirmed + self.offered > self.slot.places

    def as_dict(self) -> dict:
        slot = self.slot
        return {
            "id": slot.id, "service_id": self.service.id, "service_name": self.service.name,
            "kind": self.service.kind.value, "partner_id": self.partner.id, "partner_name": self.partner.name,
            "service_point_id": self.service_point.id, "starts_at": slot.starts_at.isoformat(),
            "ends_at": slot.ends_at.isoformat(), "capacity": slot.capacity, "status": slot.status.value,
            "places": slot.places, "staffed_places": slot.staffed_places, "understaffed": self.understaffed,
            "confirmed": self.confirmed, "offered": self.offered, "waitlisted": self.waitlisted,
            "available": self.available,
        }


def _count_where(condition) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _booking_counts(slot_ids) -> sa.Subquery:
    """Confirmed, offered and waitlisted bookings of these slots (ids, or a select of ids). Only theirs: the
    database is not left to push a page's filter into a grouping over every booking of the city (PostgreSQL
    does so for one slot id only, SQLite never), so a page costs what its own slots hold (issue 7)."""
    return (
        sa.select(
            Booking.slot_id,
            _count_where(Booking.status.in_(ATTENDING)).label("confirmed"),
            _count_where(Booking.status == BookingStatus.offered).label("offered"),
            _count_where(Booking.status == BookingStatus.waitlisted).label("waitlisted"),
        )
        .where(Booking.status != BookingStatus.cancelled, Booking.slot_id.in_(slot_ids))
        .group_by(Booking.slot_id)
        .subquery("counts")
    )


def _availability_select(slot_ids) -> sa.Select:
    """Slots with service, partner, service point and booking counts; the caller narrows ``Slot`` to the
    same ``slot_ids`` (whose bookings alone are counted)."""
    counts = _booking_counts(slot_ids)
    return (
        sa.select(Slot, Service, PartnerOrganisation, ServicePoint,
                  sa.func.coalesce(counts.c.confirmed, 0), sa.func.coalesce(counts.c.offered, 0),
                  sa.func.coalesce(counts.c.waitlisted, 0))
        .join(Service, Slot.service_id == Service.id)
        .join(PartnerOrganisation, Service.partner_id == PartnerOrganisation.id)
        .join(ServicePoint, Service.service_point_id == ServicePoint.id)
        .outerjoin(counts, counts.c.slot_id == Slot.id)
    )


def _to_availability(rows) -> list[SlotAvailability]:
    return [SlotAvailability(*row) for row in rows]


def find_slots(*, now: datetime, kind: ServiceKind | None = None, partner_id: int | None = None,
               service_id: int | None = None, date_from: date | None = None, date_to: date | None = None,
               include_past: bool = False, only_open: bool = True, limit: int = 200) -> list[SlotAvailability]:
    """Slots by kind, partner and local date range, soonest first, with booked and free places. One
    statement: the page's slots are chosen first (filters, order, limit), then only their bookings counted."""
    page = (sa.select(Slot.id)
            .join(Service, Slot.service_id == Service.id)
            .join(PartnerOrganisation, Service.partner_id == PartnerOrganisation.id))
    if kind is not None:
        page = page.where(Service.kind == kind)
    if partner_id is not None:
        page = page.where(Service.partner_id == partner_id)
    if service_id is not None:
        page = page.where(Slot.service_id == service_id)
    if date_from is not None:
        page = page.where(Slot.starts_at >= from_local(date_from, time.min))
    if date_to is not None:
        page = page.where(Slot.starts_at < from_local(date_to + timedelta(days=1), time.min))
    if not include_past:
        page = page.where(Slot.starts_at > now)
    if only_open:
        page = page.where(Slot.status == SlotStatus.open, Service.active.is_(True),
                          PartnerOrganisation.approved.is_(True))
    page = page.order_by(Slot.starts_at, Slot.id).limit(min(limit, MAX_ROWS)).subquery("page")
    stmt = (_availability_select(sa.select(page.c.id)).join(page, page.c.id == Slot.id)
            .order_by(Slot.starts_at, Slot.id))
    return _to_availability(db.session.execute(stmt).all())


def slots_visible_to(user: User, *, now: datetime, partner_id: int | None = None,
                     **filters) -> list[SlotAvailability]:
    """:func:`find_slots` as ``user`` may see it: partner staff only their own partner's slots,
    families and district staff every partner's (to book them)."""
    if user.role in PARTNER_ROLES:
        if partner_id is not None and partner_id != user.partner_id:
            return []
        partner_id = user.partner_id
    return find_slots(now=now, partner_id=partner_id, **filters)


def slot_availability(slot_id: int) -> SlotAvailability | None:
    row = db.session.execute(_availability_select([slot_id]).where(Slot.id == slot_id)).first()
    return SlotAvailability(*row) if row else None


def _bookings_select() -> sa.Select:
    """Bookings with their slot, service, partner and recipient loaded in the same statement."""
    return (
        sa.select(Booking)
        .join(Booking.slot).join(Slot.service).join(Service.partner).join(Booking.recipient)
        .options(contains_eager(Booking.slot).contains_eager(Slot.service).contains_eager(Service.partner),
                 contains_eager(Booking.recipient))
    )


def waitlist_positions(slot_ids: set[int]) -> dict[int, int]:
    """booking id -> waitlist position (1 = next in line) for every waitlisted booking in these slots."""
    position = sa.func.row_number().over(partition_by=Booking.slot_id, order_by=Booking.waitlist_order)
    rows = db.session.execute(
        sa.select(Booking.id, position)
        .where(Booking.slot_id.in_(slot_ids), Booking.status == BookingStatus.waitlisted)).all()
    return dict(rows)


@dataclass(frozen=True)
class BookingView:
    booking: Booking
    waitlist_position: int | None


def _with_positions(bookings: list[Booking]) -> list[BookingView]:
    waitlisted = {b.slot_id for b in bookings if b.status == BookingStatus.waitlisted}
    positions = waitlist_positions(waitlisted)
    return [BookingView(b, positions.get(b.id)) for b in bookings]


def household_bookings(household_id: int, *, now: datetime, upcoming: bool = True) -> list[BookingView]:
    """A household's live bookings (soonest first), with waitlist positions: two statements."""
    stmt = (_bookings_select()
            .where(CareRecipient.household_id == household_id, Booking.status != BookingStatus.cancelled)
            .order_by(Slot.starts_at, Booking.id))
    if upcoming:
        stmt = stmt.where(Slot.ends_at > now)
    return _with_positions(list(db.session.scalars(stmt).unique()))


def household_bookings_starting(household_id: int, *, starts_from: datetime, starts_before: datetime | None = None,
                                 cancelled_since: datetime | None = None) -> list[Booking]:
    """A household's bookings whose slot starts in [starts_from, starts_before), soonest first, with the slot,
    service, service point and member loaded: one statement. Cancelled bookings only when ``cancelled_since``
    is given, and then those cancelled since that moment (the calendar feed tells phones to remove them)."""
    live = Booking.status != BookingStatus.cancelled
    if cancelled_since is not None:
        live = sa.or_(live, Booking.cancelled_at >= cancelled_since)
    stmt = (sa.select(Booking)
            .join(Booking.slot).join(Slot.service).join(Service.service_point).join(Booking.recipient)
            .options(contains_eager(Booking.slot).contains_eager(Slot.service).contains_eager(Service.service_point),
                     contains_eager(Booking.recipient))
            .where(CareRecipient.household_id == household_id, Slot.starts_at >= starts_from, live)
            .order_by(Slot.starts_at, CareRecipient.name, Booking.id).limit(MAX_ROWS))
    if starts_before is not None:
        stmt = stmt.where(Slot.starts_at < starts_before)
    return list(db.session.scalars(stmt).unique())


def visible_bookings(user: User, *, slot_id: int | None = None, limit: int = 200) -> list[BookingView]:
    """What the user may see: a family its household's, partner staff their partner's, district staff all."""
    stmt = _bookings_select()
    if user.role == Role.family:
        stmt = stmt.where(CareRecipient.household_id == user.household_id)
    elif user.role in (Role.partner_staff, Role.partner_manager):
        stmt = stmt.where(Service.partner_id == user.partner_id)
    if slot_id is not None:
        stmt = stmt.where(Booking.slot_id == slot_id)
    stmt = stmt.order_by(Slot.starts_at.desc(), Booking.id).limit(min(limit, MAX_ROWS))
    return _with_positions(list(db.session.scalars(stmt).unique()))


def roster(slot_id: int) -> list[BookingView]:
    """Everyone booked into a slot (places first by name, then the waitlist in order): one statement.

    Each booking with its member only: the slot (with its service and partner) is one for them all, and the
    caller has it in the session already (a booking's ``slot`` is then found there without a statement).
    Read with every booking, its columns were most of the work of a popular slot's roster (500 bookings)."""
    bookings = list(db.session.scalars(
        sa.select(Booking).join(Booking.recipient).options(contains_eager(Booking.recipient))
        .where(Booking.slot_id == slot_id, Booking.status != BookingStatus.cancelled)
        .order_by(Booking.status == BookingStatus.waitlisted, Booking.waitlist_order, CareRecipient.name,
                  Booking.id)))
    views, position = [], 0
    for booking in bookings:
        if booking.status == BookingStatus.waitlisted:
            position += 1
            views.append(BookingView(booking, position))
        else:
            views.append(BookingView(booking, None))
    return views

