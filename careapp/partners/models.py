from __future__ import annotations

import enum
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.core.db import UTCDateTime, db


class PartnerKind(str, enum.Enum):
    """Describes the organisation; it does not limit which service kinds it offers."""

    elderly_care_centre = "elderly_care_centre"
    nursery = "nursery"
    canteen = "canteen"
    social_organisation = "social_organisation"
    academy = "academy"


class ServiceKind(str, enum.Enum):
    daycare = "daycare"
    meal = "meal"
    childcare = "childcare"
    activity = "activity"


class FillPolicy(str, enum.Enum):
    """How a freed place reaches the waitlist head: confirmed at once, or offered for some hours."""

    auto = "auto"
    offer = "offer"


class SlotStatus(str, enum.Enum):
    open = "open"
    closed = "closed"
    cancelled = "cancelled"


def _enum(cls, name, length=30):
    return sa.Enum(cls, name=name, native_enum=False, create_constraint=True, length=length)


class PartnerOrganisation(db.Model):
    __tablename__ = "partner_organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    kind: Mapped[PartnerKind] = mapped_column(_enum(PartnerKind, "partner_kind"))
    approved: Mapped[bool] = mapped_column(default=False)
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    service_points: Mapped[list[ServicePoint]] = relationship(
        back_populates="partner", order_by="ServicePoint.id")
    services: Mapped[list[Service]] = relationship(back_populates="partner", order_by="Service.id")

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "kind": self.kind.value, "approved": self.approved}


class ServicePoint(db.Model):
    """A site where a partner delivers services (address and coordinates for the service circle)."""

    __tablename__ = "service_point"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partner_organisation.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    address: Mapped[str] = mapped_column(sa.String(200))
    latitude: Mapped[float]
    longitude: Mapped[float]

    partner: Mapped[PartnerOrganisation] = relationship(back_populates="service_points")

    __table_args__ = (
        sa.CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        sa.CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
    )

    def as_dict(self) -> dict:
        return {"id": self.id, "partner_id": self.partner_id, "name": self.name, "address": self.address,
                "latitude": self.latitude, "longitude": self.longitude}


class Service(db.Model):
    """Something a partner offers, e.g. "半日日托" or "午餐"; its kind picks the booking policy."""

    __tablename__ = "service"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partner_organisation.id"), index=True)
    service_point_id: Mapped[int] = mapped_column(sa.ForeignKey("service_point.id"), index=True)
    kind: Mapped[ServiceKind] = mapped_column(_enum(ServiceKind, "service_kind"))
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str | None] = mapped_column(sa.Text)
    default_capacity: Mapped[int]
    fill_policy: Mapped[FillPolicy] = mapped_column(_enum(FillPolicy, "fill_policy", 10), default=FillPolicy.auto)
    # How long an offered place is held for the family before it passes on.
    offer_hours: Mapped[int] = mapped_column(default=24)
    # Minutes before the start; None means the service kind's default.
    booking_cutoff_minutes: Mapped[int | None]
    cancel_cutoff_minutes: Mapped[int | None]
    # Eligibility settings (None: no limit). Ages in whole years for elders,
    # months for children, because that is how each trade counts them.
    min_age_years: Mapped[int | None]
    max_age_years: Mapped[int | None]
    min_age_months: Mapped[int | None]
    max_age_months: Mapped[int | None]
    # Accepted ability levels as digits, e.g. "012" (None: all levels).
    ability_levels: Mapped[str | None] = mapped_column(sa.String(5))
    active: Mapped[bool] = mapped_column(default=True)

    partner: Mapped[PartnerOrganisation] = relationship(back_populates="services")
    service_point: Mapped[ServicePoint] = relationship()

    __table_args__ = (
        sa.CheckConstraint("default_capacity >= 0", name="default_capacity_not_negative"),
        sa.CheckConstraint("offer_hours > 0", name="offer_hours_positive"),
    )

    @property
    def accepted_ability_levels(self) -> set[int] | None:
        return None if self.ability_levels is None else {int(c) for c in self.ability_levels}

    def as_dict(self) -> dict:
        return {
            "id": self.id, "partner_id": self.partner_id, "service_point_id": self.service_point_id,
            "kind": self.kind.value, "name": self.name, "default_capacity": self.default_capacity,
            "fill_policy": self.fill_policy.value, "offer_hours": self.offer_hours,
            "booking_cutoff_minutes": self.booking_cutoff_minutes,
            "cancel_cutoff_minutes": self.cancel_cutoff_minutes,
            "min_age_years": self.min_age_years, "max_age_years": self.max_age_years,
            "min_age_months": self.min_age_months, "max_age_months": self.max_age_months,
            "ability_levels": sorted(self.accepted_ability_levels) if self.ability_levels is not None else None,
            "active": self.active,
        }


class SlotPattern(db.Model):
    """A weekly recurring slot of a service ("every Monday 08:30-12:00"), in local time."""

    __tablename__ = "slot_pattern"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"), index=True)
    weekday: Mapped[int]  # 0 = Monday, as date.weekday()
    start_time: Mapped[time]
    end_time: Mapped[time]
    capacity: Mapped[int]
    valid_from: Mapped[date]
    valid_until: Mapped[date | None]

    service: Mapped[Service] = relationship()

    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        sa.CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        sa.CheckConstraint("end_time > start_time", name="ends_after_start"),
    )


class Slot(db.Model):
    """A dated, capacity-limited occurrence of a service."""

    __tablename__ = "slot"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"))
    pattern_id: Mapped[int | None] = mapped_column(sa.ForeignKey("slot_pattern.id", ondelete="SET NULL"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    capacity: Mapped[int]
    status: Mapped[SlotStatus] = mapped_column(_enum(SlotStatus, "slot_status", 10), default=SlotStatus.open)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    service: Mapped[Service] = relationship()

    __table_args__ = (
        # A service never has two slots at the same start (the scheduler relies on it).
        sa.UniqueConstraint("service_id", "starts_at"),
        sa.Index("ix_slot_starts_at", "starts_at"),
        sa.CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )
