from __future__ import annotations

import enum
from datetime import date, datetime, time
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.core.db import UTCDateTime, db
from careapp.households.models import CareRecipient
from careapp.partners.models import Slot


class BookingStatus(str, enum.Enum):
    confirmed = "confirmed"
    waitlisted = "waitlisted"
    offered = "offered"
    cancelled = "cancelled"
    checked_in = "checked_in"
    checked_out = "checked_out"
    no_show = "no_show"


# A booking is live until it is cancelled: one live booking per recipient per slot.
LIVE = frozenset(BookingStatus) - {BookingStatus.cancelled}
# These hold one of the slot's places; their count never exceeds the capacity.
HOLDS_PLACE = frozenset({BookingStatus.confirmed, BookingStatus.offered, BookingStatus.checked_in,
                         BookingStatus.checked_out, BookingStatus.no_show})
# A place is booked once someone holds it for good (an open offer is not a booking yet).
BOOKED = frozenset({BookingStatus.confirmed, BookingStatus.checked_in, BookingStatus.checked_out,
                    BookingStatus.no_show})
ATTENDED = frozenset({BookingStatus.checked_in, BookingStatus.checked_out})
# The slot's tally column for each set of statuses (Slot.booked_count, ...): the engine keeps them.
TALLIES = {"booked_count": BOOKED, "attended_count": ATTENDED, "no_show_count": frozenset({BookingStatus.no_show})}


class EndReason(str, enum.Enum):
    """Why a booking was cancelled."""

    cancelled = "cancelled"          # by the family or on its behalf
    declined = "declined"            # an offered place was declined
    offer_expired = "offer_expired"  # an offered place was not accepted in time
    slot_cancelled = "slot_cancelled"  # the partner cancelled the slot
    waitlist_closed = "waitlist_closed"  # booking closed before a place came free


class Booking(db.Model):
    __tablename__ = "booking"

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(sa.ForeignKey("slot.id"))
    recipient_id: Mapped[int] = mapped_column(sa.ForeignKey("care_recipient.id"))
    status: Mapped[BookingStatus] = mapped_column(
        sa.Enum(BookingStatus, name="booking_status", native_enum=False, create_constraint=True, length=12))
    # Arrival order on the slot's waitlist (kept after promotion, for the record).
    waitlist_order: Mapped[int | None]
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    booked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[EndReason | None] = mapped_column(
        sa.Enum(EndReason, name="end_reason", native_enum=False, create_constraint=True, length=20))
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_in_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_out_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    # The standing enrolment that made this booking (None: booked by hand).
    enrolment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enrolment.id"), index=True)
    # Day care: this person needs fetching and bringing home (接送).
    needs_transport: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Childcare: the morning health check at check-in, and who collected the child at check-out.
    health_temperature: Mapped[Decimal | None] = mapped_column(sa.Numeric(3, 1))
    health_notes: Mapped[str | None] = mapped_column(sa.String(500))
    collected_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("authorised_adult.id"))

    slot: Mapped[Slot] = relationship()
    recipient: Mapped[CareRecipient] = relationship()
    booked_by = relationship("User", foreign_keys=[booked_by_id])
    checked_in_by = relationship("User", foreign_keys=[checked_in_by_id])
    checked_out_by = relationship("User", foreign_keys=[checked_out_by_id])
    collected_by = relationship("AuthorisedAdult")
    meal_order = relationship("MealOrder", uselist=False, viewonly=True)

    __table_args__ = (
        # The database itself refuses a second live booking of one person in one slot.
        sa.Index("uq_booking_live_recipient", "slot_id", "recipient_id", unique=True,
                 sqlite_where=sa.text("status <> 'cancelled'"),
                 postgresql_where=sa.text("status <> 'cancelled'")),
        sa.UniqueConstraint("slot_id", "waitlist_order", name="uq_booking_slot_waitlist_order"),
        sa.Index("ix_booking_slot_status", "slot_id", "status"),
        sa.Index("ix_booking_offer_expires_at", "offer_expires_at"),
        # A person's bookings (the family pages), and read from the index alone, the slot and status of each:
        # an area's demand on the coverage dashboard is found through its residents, not the city's bookings.
        sa.Index("ix_booking_recipient_slot_status", "recipient_id", "slot_id", "status"),
        sa.CheckConstraint("health_temperature IS NULL OR health_temperature BETWEEN 30 AND 45",
                           name="health_temperature_range"),
    )

    def snapshot(self) -> dict:
        """The fields an audit entry records before and after a change."""
        return {"status": self.status, "waitlist_order": self.waitlist_order,
                "offer_expires_at": self.offer_expires_at, "end_reason": self.end_reason}


class EnrolmentStatus(str, enum.Enum):
    active = "active"
    paused = "paused"   # until ``resumes_on`` (hospital stay, holiday)
    ended = "ended"


class Enrolment(db.Model):
    """A standing booking: this person, this service, these weekdays, every week from ``starts_on``.

    Each new slot of the service on one of the weekdays (and, when ``start_time`` is set, starting at
    that local time) books the active enrolments in enrolment order; those who do not fit are waitlisted.
    """

    __tablename__ = "enrolment"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(sa.ForeignKey("care_recipient.id"), index=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"), index=True)
    # Weekdays as digits, 0 = Monday (date.weekday()), e.g. "024" for Mon, Wed, Fri.
    weekdays: Mapped[str] = mapped_column(sa.String(7))
    # Only slots starting at this local time (e.g. the morning session); None: every slot of the day.
    start_time: Mapped[time | None]
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    status: Mapped[EnrolmentStatus] = mapped_column(
        sa.Enum(EnrolmentStatus, name="enrolment_status", native_enum=False, create_constraint=True, length=10))
    resumes_on: Mapped[date | None]
    # Booking options copied into every booking it makes: the meal mode and dishes, transport.
    needs_transport: Mapped[bool] = mapped_column(default=False)
    meal_mode: Mapped[str | None] = mapped_column(sa.String(10))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    recipient: Mapped[CareRecipient] = relationship()
    service = relationship("Service")

    __table_args__ = (
        sa.Index("ix_enrolment_service_status", "service_id", "status"),
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
        sa.CheckConstraint("status <> 'paused' OR resumes_on IS NOT NULL", name="paused_has_restart"),
    )

    @property
    def weekday_list(self) -> list[int]:
        return [int(day) for day in self.weekdays]

    def snapshot(self) -> dict:
        return {"status": self.status, "weekdays": self.weekdays, "resumes_on": self.resumes_on,
                "ends_on": self.ends_on, "start_time": self.start_time, "meal_mode": self.meal_mode,
                "needs_transport": self.needs_transport}
