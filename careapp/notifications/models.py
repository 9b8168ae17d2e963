"""The outbox: what careapp tells people, written in the same transaction as the change it tells of.

A ``Notification`` is one message to one household (or one partner), e.g. "a place was offered to
王秀英". The in-app inbox shows it as soon as its transaction commits. Each other channel (e-mail, SMS)
gets a ``Delivery`` row per person, sent by the scheduler exactly once: the unique constraints below are
what make a second scheduler, or a restarted one, unable to write or send anything twice.
"""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.core.db import UTCDateTime, db
from careapp.partners.models import ServiceKind


def _enum(cls, name, length=20):
    return sa.Enum(cls, name=name, native_enum=False, create_constraint=True, length=length)


class Topic(str, enum.Enum):
    """What a notification is about; each topic has its own message template."""

    reminder = "reminder"                      # a confirmed booking is coming up
    place_offered = "place_offered"            # a freed place is offered to someone waiting
    waitlist_confirmed = "waitlist_confirmed"  # someone waiting got a place
    slot_cancelled = "slot_cancelled"          # the partner cancelled the slot
    waitlist_closed = "waitlist_closed"        # booking closed and no place came free
    kitchen_sheet = "kitchen_sheet"            # to the canteen at the meal cutoff


class NotificationStatus(str, enum.Enum):
    active = "active"
    # Not worth sending any more (a reminder whose slot has started, an offer already gone): kept, with
    # the reason, so the admin page can show it; never sent late.
    skipped = "skipped"


class Channel(str, enum.Enum):
    email = "email"
    sms = "sms"


class DeliveryStatus(str, enum.Enum):
    pending = "pending"
    sent = "sent"
    failed = "failed"     # refused for good (a bad address), or given up after the retry window
    skipped = "skipped"   # no longer worth sending (see NotificationStatus.skipped)


LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"


class Notification(db.Model):
    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[Topic] = mapped_column(_enum(Topic, "notification_topic"))
    # The topic, made unique per booking: a reminder's kind names its lead time ("reminder:60m").
    kind: Mapped[str] = mapped_column(sa.String(40))
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("booking.id"))
    slot_id: Mapped[int] = mapped_column(sa.ForeignKey("slot.id"), index=True)
    # Whose partner's templates and which service kind's texts apply.
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"))
    # Exactly one addressee: a household (its family accounts) or a partner (its staff).
    household_id: Mapped[int | None] = mapped_column(sa.ForeignKey("household.id"))
    partner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partner_organisation.id"))
    # The facts the message is made from (names, local times), fixed when the notification is written.
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    status: Mapped[NotificationStatus] = mapped_column(_enum(NotificationStatus, "notification_status", 10),
                                                       default=NotificationStatus.active)
    skip_reason: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    service = relationship("Service")
    slot = relationship("Slot")
    booking = relationship("Booking")
    deliveries: Mapped[list[Delivery]] = relationship(back_populates="notification", order_by="Delivery.id")

    __table_args__ = (
        # One notification of each kind per booking, whoever (and however many schedulers) writes it.
        sa.UniqueConstraint("booking_id", "kind", name="uq_notification_booking_kind"),
        # Slot-wide notices (the kitchen sheet) are unique per slot and kind.
        sa.Index("uq_notification_slot_kind", "slot_id", "kind", unique=True,
                 sqlite_where=sa.text("booking_id IS NULL"), postgresql_where=sa.text("booking_id IS NULL")),
        sa.Index("ix_notification_household", "household_id", "id"),
        sa.Index("ix_notification_partner", "partner_id", "id"),
        sa.CheckConstraint("(household_id IS NULL) <> (partner_id IS NULL)", name="one_addressee"),
    )


class Delivery(db.Model):
    """One notification to one person on one channel; sent at most once (see careapp.notifications.delivery)."""

    __tablename__ = "delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(sa.ForeignKey("notification.id"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "delivery_channel", 10))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    # The e-mail address or mobile number, as it was when the notification was written.
    address: Mapped[str] = mapped_column(sa.String(120))
    language: Mapped[str] = mapped_column(sa.String(5))
    status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus, "delivery_status", 10),
                                                   default=DeliveryStatus.pending)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The sender that claimed it; only that sender may record it sent (a fencing token).
    claim_token: Mapped[str | None] = mapped_column(sa.String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    notification: Mapped[Notification] = relationship(back_populates="deliveries")
    user = relationship("User")

    __table_args__ = (
        sa.UniqueConstraint("notification_id", "channel", "user_id", name="uq_delivery_notification_channel_user"),
        sa.Index("ix_delivery_due", "status", "next_attempt_at"),
    )


class MessageTemplate(db.Model):
    """A partner's own wording of one topic's message, for one service kind and language."""

    __tablename__ = "message_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partner_organisation.id"), index=True)
    service_kind: Mapped[ServiceKind] = mapped_column(_enum(ServiceKind, "service_kind", 30))
    topic: Mapped[Topic] = mapped_column(_enum(Topic, "notification_topic"))
    language: Mapped[str] = mapped_column(sa.String(5))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    __table_args__ = (
        sa.UniqueConstraint("partner_id", "service_kind", "topic", "language",
                            name="uq_message_template_partner_kind_topic_language"),
    )
