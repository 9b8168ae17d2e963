"""Read models for community staff: every partner's services with upcoming places, in one grouped statement."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from careapp.booking.models import Booking, BookingStatus
from careapp.booking.queries import ATTENDING
from careapp.core.db import db
from careapp.partners.models import PartnerOrganisation, Service, Slot, SlotStatus


@dataclass(frozen=True)
class ServiceLoad:
    """A service's upcoming open slots and how full they are."""

    service: Service
    slots: int
    capacity: int
    booked: int
    offered: int
    waitlisted: int

    @property
    def available(self) -> int:
        return max(self.capacity - self.booked - self.offered, 0)


@dataclass
class PartnerLoad:
    partner: PartnerOrganisation
    services: list[ServiceLoad] = field(default_factory=list)


def _count(condition) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def partner_overview(*, now: datetime) -> list[PartnerLoad]:
    """Every partner with each service's upcoming open slots, places and waitlist: one statement.

    Bookings are counted per slot first, so that a slot's capacity is summed once however many
    bookings it has.
    """
    per_slot = (
        sa.select(Booking.slot_id,
                  _count(Booking.status.in_(ATTENDING)).label("booked"),
                  _count(Booking.status == BookingStatus.offered).label("offered"),
                  _count(Booking.status == BookingStatus.waitlisted).label("waitlisted"))
        .where(Booking.status != BookingStatus.cancelled)
        .group_by(Booking.slot_id).subquery("per_slot"))
    upcoming = sa.and_(Slot.service_id == Service.id, Slot.starts_at > now, Slot.status == SlotStatus.open)
    stmt = (
        sa.select(PartnerOrganisation, Service, sa.func.count(Slot.id),
                  sa.func.coalesce(sa.func.sum(Slot.capacity), 0),
                  sa.func.coalesce(sa.func.sum(per_slot.c.booked), 0),
                  sa.func.coalesce(sa.func.sum(per_slot.c.offered), 0),
                  sa.func.coalesce(sa.func.sum(per_slot.c.waitlisted), 0))
        .outerjoin(Service, Service.partner_id == PartnerOrganisation.id)
        .outerjoin(Slot, upcoming)
        .outerjoin(per_slot, per_slot.c.slot_id == Slot.id)
        .group_by(PartnerOrganisation.id, Service.id)
        .order_by(PartnerOrganisation.name, Service.name, Service.id))
    partners: dict[int, PartnerLoad] = {}
    for partner, service, slots, capacity, booked, offered, waitlisted in db.session.execute(stmt):
        load = partners.setdefault(partner.id, PartnerLoad(partner))
        if service is not None:
            load.services.append(ServiceLoad(service, slots, capacity, booked, offered, waitlisted))
    return list(partners.values())
