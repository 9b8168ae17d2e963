"""Day-care read models: the day's transport list of a service point (接送)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

import sqlalchemy as sa

from careapp.booking.models import Booking, BookingStatus
from careapp.core.db import db
from careapp.core.privacy import mask_phone
from careapp.core.timefmt import from_local
from careapp.district.models import Building
from careapp.households.models import CareRecipient, Household
from careapp.partners.models import Service, ServiceKind, Slot, SlotStatus

# Who is coming or came: a waitlisted or offered place is not a seat in the minibus yet.
RIDING = (BookingStatus.confirmed, BookingStatus.checked_in, BookingStatus.checked_out)





@dataclass(frozen=True)
class TransportRow:
    booking: Booking
    slot: Slot
    service: Service
    recipient: CareRecipient
    household: Household
    building: Building

    @property
    def address(self) -> str:
        unit = f" {self.household.unit}" if self.household.unit else ""
        return f"{self.building.address} ({self.building.name}){unit}"

    @property
    def phone(self) -> str | None:
        """The person's own phone, else their emergency contact's (someone must answer the driver)."""
        return self.recipient.phone or self.recipient.emergency_contact_phone

    def phone_for(self, whole: bool) -> str:
        return (self.phone or "") if whole else mask_phone(self.phone)


def transport_list(point_id: int, day: date) -> list[TransportRow]:
    """People booked into the point's day-care slots on ``day`` (local) who need fetching and bringing
    home, by slot time, then building and flat (the driver's round): one statement."""
    rows = db.session.execute(
        sa.select(Booking, Slot, Service, CareRecipient, Household, Building)
        .join(Slot, Booking.slot_id == Slot.id)
        .join(Service, Slot.service_id == Service.id)
        .join(CareRecipient, Booking.recipient_id == CareRecipient.id)
        .join(Household, CareRecipient.household_id == Household.id)
        .join(Building, Household.building_id == Building.id)
        .where(Service.service_point_id == point_id, Service.kind == ServiceKind.daycare,
               Slot.starts_at >= from_local(day, time.min),
               Slot.starts_at < from_local(day + timedelta(days=1), time.min),
               Slot.status != SlotStatus.cancelled,
               Booking.status.in_(RIDING), Booking.needs_transport.is_(True))
        .order_by(Slot.starts_at, Building.name, Household.unit, CareRecipient.name, Booking.id)).all()
    return [TransportRow(*row) for row in rows]
