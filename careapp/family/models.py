"""A household's private calendar link (the iCalendar feed a phone's calendar subscribes to)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from careapp.core.db import UTCDateTime, db


class CalendarFeed(db.Model):
    """One private feed link of a household. Only the SHA-256 hash of the link's secret is kept: the link is
    shown once when it is made, and a copy of the database gives nobody the families' calendars."""

    __tablename__ = "calendar_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def live(self) -> bool:
        return self.revoked_at is None
