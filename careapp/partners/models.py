from __future__ import annotations

import enum
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
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


class SessionLength(str, enum.Enum):
    """How long a day-care or childcare session lasts, and whether it is a one-off (临时托)."""

    half_day = "half_day"
    full_day = "full_day"
    occasional = "occasional"
    after_school = "after_school"


class MealTime(str, enum.Enum):
    lunch = "lunch"
    dinner = "dinner"


class ChildClass(str, enum.Enum):
    """Nursery classes of 托育机构设置标准(试行) 2019, plus after-school care (settings per service)."""

    infant = "infant"            # 乳儿班 6-12 months
    toddler = "toddler"          # 托小班 12-24 months
    preschool = "preschool"      # 托大班 24-36 months
    mixed = "mixed"              # mixed class, 18 months or more
    after_school = "after_school"  # school children, e.g. 四点半课堂


class ShiftRole(str, enum.Enum):
    staff = "staff"
    volunteer = "volunteer"


def _enum(cls, name, length=30):
    return sa.Enum(cls, name=name, native_enum=False, create_constraint=True, length=length)


class PartnerOrganisation(db.Model):
    __tablename__ = "partner_organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    kind: Mapped[PartnerKind] = mapped_column(_enum(PartnerKind, "partner_kind"))
    approved: Mapped[bool] = mapped_column(default=False)
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    description: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Self-registered partners wait for community staff to approve them.
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", use_alter=True))
    # Community staff may decline a registration, with the reason the partner sees (approval clears it).
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decline_reason: Mapped[str | None] = mapped_column(sa.String(500))

    approved_by = relationship("User", foreign_keys=[approved_by_id])
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
    rooms: Mapped[list[Room]] = relationship(back_populates="service_point", order_by="Room.id")

    __table_args__ = (
        sa.CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        sa.CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
    )

    def as_dict(self) -> dict:
        return {"id": self.id, "partner_id": self.partner_id, "name": self.name, "address": self.address,
                "latitude": self.latitude, "longitude": self.longitude}


class Room(db.Model):
    """A room of a service point: dining area, reading area, activity area, a nursery classroom."""

    __tablename__ = "room"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_point_id: Mapped[int] = mapped_column(sa.ForeignKey("service_point.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    purpose: Mapped[str | None] = mapped_column(sa.String(100))
    seats: Mapped[int | None]

    service_point: Mapped[ServicePoint] = relationship(back_populates="rooms")

    __table_args__ = (
        sa.UniqueConstraint("service_point_id", "name"),
        sa.CheckConstraint("seats IS NULL OR seats >= 0", name="seats_not_negative"),
    )

    def as_dict(self) -> dict:
        return {"id": self.id, "service_point_id": self.service_point_id, "name": self.name,
                "purpose": self.purpose, "seats": self.seats}


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
    room_id: Mapped[int | None] = mapped_column(sa.ForeignKey("room.id"))
    # Day care and childcare: half-day, full-day, occasional (临时托) or after-school sessions.
    session_length: Mapped[SessionLength | None] = mapped_column(_enum(SessionLength, "session_length", 20))
    # Day care: lunch is part of the session; the centre fetches and brings people home (接送).
    lunch_included: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    transport: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Meal help: which meal, its price before subsidy (fen; None: the MEAL_PRICE setting) and how far the
    # canteen delivers (metres; None: the MEAL_DELIVERY_RADIUS setting).
    meal: Mapped[MealTime | None] = mapped_column(_enum(MealTime, "meal_time", 10))
    price_fen: Mapped[int | None]
    delivery_radius_m: Mapped[int | None]
    # Childcare: the class; class size and children per staff member override the standard's numbers.
    child_class: Mapped[ChildClass | None] = mapped_column(_enum(ChildClass, "child_class", 20))
    class_size: Mapped[int | None]
    children_per_staff: Mapped[int | None]

    partner: Mapped[PartnerOrganisation] = relationship(back_populates="services")
    service_point: Mapped[ServicePoint] = relationship()
    room: Mapped[Room | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint("default_capacity >= 0", name="default_capacity_not_negative"),
        sa.CheckConstraint("offer_hours > 0", name="offer_hours_positive"),
        sa.CheckConstraint("price_fen IS NULL OR price_fen >= 0", name="price_not_negative"),
        sa.CheckConstraint("delivery_radius_m IS NULL OR delivery_radius_m >= 0", name="delivery_radius_not_negative"),
        sa.CheckConstraint("class_size IS NULL OR class_size >= 0", name="class_size_not_negative"),
        sa.CheckConstraint("children_per_staff IS NULL OR children_per_staff > 0",
                           name="children_per_staff_positive"),
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
            "active": self.active, "room_id": self.room_id,
            "session_length": self.session_length.value if self.session_length else None,
            "lunch_included": self.lunch_included, "transport": self.transport,
            "meal": self.meal.value if self.meal else None, "price_fen": self.price_fen,
            "delivery_radius_m": self.delivery_radius_m,
            "child_class": self.child_class.value if self.child_class else None,
            "class_size": self.class_size, "children_per_staff": self.children_per_staff,
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
    # The places the partner offers.
    capacity: Mapped[int]
    # Childcare: what the rostered staff allow (staff x ratio), kept up to date by roster changes;
    # None where staffing does not limit places. New bookings fit within the smaller of the two.
    staffed_places: Mapped[int | None]
    status: Mapped[SlotStatus] = mapped_column(_enum(SlotStatus, "slot_status", 10), default=SlotStatus.open)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Tallies of the slot's bookings (careapp.booking.models.TALLIES), kept by the booking engine under the
    # slot's lock, where every booking's status changes; so reports at city scale sum slots instead of
    # counting every booking ever made.
    booked_count: Mapped[int] = mapped_column(default=0, server_default="0")
    attended_count: Mapped[int] = mapped_column(default=0, server_default="0")
    no_show_count: Mapped[int] = mapped_column(default=0, server_default="0")

    service: Mapped[Service] = relationship()

    @hybrid_property
    def places(self) -> int:
        """How many may hold a place now: the capacity, or fewer when staffing allows fewer."""
        if self.staffed_places is None:
            return self.capacity
        return min(self.capacity, self.staffed_places)

    @places.inplace.expression
    @classmethod
    def _places_expression(cls) -> sa.ColumnElement[int]:
        return sa.case((sa.and_(cls.staffed_places.is_not(None), cls.staffed_places < cls.capacity),
                        cls.staffed_places), else_=cls.capacity)

    __table_args__ = (
        # A service never has two slots at the same start (the scheduler relies on it).
        sa.UniqueConstraint("service_id", "starts_at"),
        sa.Index("ix_slot_starts_at", "starts_at"),
        sa.CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint("staffed_places IS NULL OR staffed_places >= 0", name="staffed_places_not_negative"),
    )


class Volunteer(db.Model):
    """A volunteer who works shifts for a partner (no login of their own)."""

    __tablename__ = "volunteer"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partner_organisation.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    active: Mapped[bool] = mapped_column(default=True)

    partner: Mapped[PartnerOrganisation] = relationship()


class Shift(db.Model):
    """Work at a service point on one day, in local time, needing between min_people and max_people."""

    __tablename__ = "shift"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_point_id: Mapped[int] = mapped_column(sa.ForeignKey("service_point.id"))
    # The class or service this shift staffs (childcare ratios count its staff); None: the point in general.
    service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service.id"), index=True)
    day: Mapped[date]
    start_time: Mapped[time]
    end_time: Mapped[time]
    role: Mapped[ShiftRole] = mapped_column(_enum(ShiftRole, "shift_role", 10))
    title: Mapped[str] = mapped_column(sa.String(100))
    min_people: Mapped[int] = mapped_column(default=1)
    max_people: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    service_point: Mapped[ServicePoint] = relationship()
    service: Mapped[Service | None] = relationship()
    assignments: Mapped[list[ShiftAssignment]] = relationship(
        back_populates="shift", order_by="ShiftAssignment.id", cascade="all, delete-orphan")

    __table_args__ = (
        sa.Index("ix_shift_point_day", "service_point_id", "day"),
        sa.CheckConstraint("end_time > start_time", name="ends_after_start"),
        sa.CheckConstraint("min_people >= 0", name="min_people_not_negative"),
        sa.CheckConstraint("max_people >= min_people AND max_people >= 1", name="max_people_at_least_min"),
    )


class ShiftAssignment(db.Model):
    """One person on a shift: a staff account or a volunteer (exactly one of the two)."""

    __tablename__ = "shift_assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(sa.ForeignKey("shift.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    volunteer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("volunteer.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    shift: Mapped[Shift] = relationship(back_populates="assignments")
    user = relationship("User")
    volunteer: Mapped[Volunteer | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint("(user_id IS NULL) <> (volunteer_id IS NULL)", name="one_person"),
        sa.UniqueConstraint("shift_id", "user_id", name="uq_shift_assignment_user"),
        sa.UniqueConstraint("shift_id", "volunteer_id", name="uq_shift_assignment_volunteer"),
    )
