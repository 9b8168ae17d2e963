"""What the scheduler keeps in the database: who holds the active role, and how each job last went."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from careapp.core.db import UTCDateTime, db


class SchedulerLease(db.Model):
    """The active scheduler. On SQLite this row *is* the lock (a lease renewed every few seconds); on
    PostgreSQL an advisory lock decides and this row only says who holds it, for the admin page."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(120))
    # Goes up by one each time the role changes hands.
    epoch: Mapped[int] = mapped_column(default=1)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime())
    renewed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class JobStatus(db.Model):
    """The last run of one scheduled job, for the admin page."""

    __tablename__ = "job_status"

    job_id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    runs: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What the last successful run changed (slots opened, messages sent, ...).
    last_count: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(1000))
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # host:pid of the scheduler that ran it.
    ran_on: Mapped[str | None] = mapped_column(sa.String(120))
