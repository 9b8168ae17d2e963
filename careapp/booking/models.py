from __future__ import annotations

import enum
from datetime import datetime

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


class EndReason(str, enum.Enum):
    """Why a booking was cancelled."""

    cancelled = "cancelled"          # by the family or on its behalf
    declined = "declined"            # an offered place was declined
    offer_expired = "offer_expired"  # an offered place was not accepted in time
    slot_cancelled = "slot_cancelled"  # the partner cancelled the slot


class Booking(db.Model):
    __tablename__ = "booking"

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(sa.ForeignKey("slot.id"))
    recipient_id: Mapped[int] = mapped_column(sa.ForeignKey("care_recipient.id"), index=True)
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

    slot: Mapped[Slot] = relationship()
    recipient: Mapped[CareRecipient] = relationship()
    booked_by = relationship("User", foreign_keys=[booked_by_id])

    __table_args__ = (
        # The database itself refuses a second live booking of one person in one slot.
        sa.Index("uq_booking_live_recipient", "slot_id", "recipient_id", unique=True,
                 sqlite_where=sa.text("status <> 'cancelled'"),
                 postgresql_where=sa.text("status <> 'cancelled'")),
        sa.UniqueConstraint("slot_id", "waitlist_order", name="uq_booking_slot_waitlist_order"),
        sa.Index("ix_booking_slot_status", "slot_id", "status"),
        sa.Index("ix_booking_offer_expires_at", "offer_expires_at"),
    )

    def snapshot(self) -> dict:
        """The fields an audit entry records before and after a change."""
        return {"status": self.status, "waitlist_order": self.waitlist_order,
                "offer_expires_at": self.offer_expires_at, "end_reason": self.end_reason}
