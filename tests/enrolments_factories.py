"""Test helpers for standing enrolments and day care: weekly sessions, elders of their own households."""
from __future__ import annotations

from datetime import datetime, time

import sqlalchemy as sa

from careapp.booking.models import Booking, BookingStatus
from careapp.core.audit import AuditEntry
from careapp.core.db import db
from careapp.core.timefmt import local_date
from careapp.households.models import CareRecipient
from careapp.partners.models import Service, Slot
from careapp.partners.services import add_weekly_pattern
from tests.factories import Family, PartnerSetup, make_family

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def weekly(service: Service, setup: PartnerSetup, now: datetime, weekdays: list[int], *, start: time = time(8, 30),
           end: time = time(11, 30), open_days: int = 14, capacity: int | None = None) -> list[Slot]:
    """A weekly session of the service from today; returns the slots it opened, soonest first."""
    add_weekly_pattern(service_id=service.id, weekdays=weekdays, start_time=start, end_time=end,
                       valid_from=local_date(now), by=setup.manager, now=now, open_days=open_days,
                       capacity=capacity)
    return service_slots(service)


def service_slots(service: Service) -> list[Slot]:
    return list(db.session.scalars(sa.select(Slot).where(Slot.service_id == service.id)
                                   .order_by(Slot.starts_at, Slot.id)))


def elder_in_own_household(world, now: datetime, name: str, **kwargs) -> tuple[Family, CareRecipient]:
    family = make_family(world.building, now, f"{name}家")
    return family, family.add_elder(now, name=name, **kwargs)


def bookings_of(recipient: CareRecipient) -> list[Booking]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(Booking).join(Slot, Slot.id == Booking.slot_id)
                                   .where(Booking.recipient_id == recipient.id).order_by(Slot.starts_at)))


def live_bookings_of(recipient: CareRecipient) -> list[Booking]:
    return [booking for booking in bookings_of(recipient) if booking.status != BookingStatus.cancelled]


def audit_actions(object_type: str, object_id: int) -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.object_type == object_type, AuditEntry.object_id == object_id).order_by(AuditEntry.id)))
