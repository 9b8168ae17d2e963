"""Only one scheduler is active at a time; a standby takes over within a lease when the active one dies.

- PostgreSQL: a session-level advisory lock, held on a connection of its own for as long as the process
  lives. When the process dies its connection closes and PostgreSQL frees the lock at once; a standby
  trying every few seconds takes it.
- SQLite (one machine): a lease row, renewed every third of CAREAPP_SCHEDULER_LEASE_SECONDS (30). When
  the active process dies its lease runs out, and a standby takes the role within one lease.

Either way the ``scheduler_lease`` row says who is active, for the admin page, and its ``epoch`` goes
up each time the role changes hands. Leadership is the first guard; the second is that every job is
safe to run twice (see careapp.scheduler.jobs), so even a stalled ex-leader cannot double anything.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from careapp.core.db import db, write_transaction
from careapp.scheduler.models import SchedulerLease

log = logging.getLogger("careapp.scheduler")
LEASE_NAME = "scheduler"
# pg_try_advisory_lock key: "careapp" in ASCII, as one bigint (advisory locks are per database).
ADVISORY_KEY = int.from_bytes(b"careapp", "big")


class Leadership:
    """Acquire or renew the active role at ``now``; ``held`` says whether this process has it."""

    def __init__(self, app: Flask, holder: str):
        self.app = app
        self.holder = holder
        self.held = False
        self.lease = timedelta(seconds=app.config["SCHEDULER_LEASE_SECONDS"])

    def try_acquire(self, now: datetime) -> bool:
        raise NotImplementedError

    def release(self, now: datetime) -> None:
        raise NotImplementedError

    # --- the lease row: the lock itself on SQLite, the record of who holds it on PostgreSQL ---

    def _claim_row(self, now: datetime, *, force: bool) -> bool:
        """Take or renew the lease row; ``force`` when the advisory lock already decided."""
        with self.app.app_context():
            try:
                with write_transaction():
                    lease = db.session.scalar(sa.select(SchedulerLease).where(SchedulerLease.name == LEASE_NAME)
                                              .with_for_update().execution_options(populate_existing=True))
                    if lease is None:
                        db.session.add(SchedulerLease(name=LEASE_NAME, holder=self.holder, epoch=1, acquired_at=now,
                                                      renewed_at=now, expires_at=now + self.lease))
                        return True
                    mine = lease.holder == self.holder and lease.expires_at > now
                    if not (mine or force or lease.expires_at <= now):
                        return False
                    if not mine:
                        lease.holder, lease.epoch, lease.acquired_at = self.holder, lease.epoch + 1, now
                    lease.renewed_at, lease.expires_at = now, now + self.lease
                    return True
            except IntegrityError:
                return False  # another scheduler inserted the first row at the same moment

    def _release_row(self, now: datetime) -> None:
        with self.app.app_context():
            with write_transaction():
                db.session.execute(sa.update(SchedulerLease)
                                   .where(SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == self.holder)
                                   .values(expires_at=now).execution_options(synchronize_session=False))


class LeaseLeadership(Leadership):
    """SQLite: the lease row is the lock."""

    def try_acquire(self, now: datetime) -> bool:
        try:
            self.held = self._claim_row(now, force=False)
        except DBAPIError as error:
            log.warning("scheduler lease: the database cannot be used (%s)", error.orig)
            self.held = False
        return self.held

    def release(self, now: datetime) -> None:
        if self.held:
            self._release_row(now)
            self.held = False


class AdvisoryLockLeadership(Leadership):
    """PostgreSQL: an advisory lock on a connection kept open for the process's life."""

    def __init__(self, app: Flask, holder: str):
        super().__init__(app, holder)
        self.connection: Connection | None = None

    def try_acquire(self, now: datetime) -> bool:
        try:
            if self.held:
                self.connection.exec_driver_sql("SELECT 1")  # a live session still holds its lock
            else:
                self.held = bool(self._connection().scalar(sa.select(sa.func.pg_try_advisory_lock(ADVISORY_KEY))))
            if self.held:
                self._claim_row(now, force=True)
        except DBAPIError as error:
            log.warning("scheduler lock: lost the database connection (%s)", error.orig)
            self._drop_connection()
        return self.held

    def _connection(self) -> Connection:
        if self.connection is None:
            with self.app.app_context():
                self.connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self.connection

    def _drop_connection(self) -> None:
        connection, self.connection, self.held = self.connection, None, False
        if connection is not None:
            try:
                connection.invalidate()  # never back to the pool: the lock lives with the session
            except DBAPIError:
                pass

    def release(self, now: datetime) -> None:
        if self.held:
            try:
                self.connection.scalar(sa.select(sa.func.pg_advisory_unlock(ADVISORY_KEY)))
                self._release_row(now)
            except DBAPIError:
                pass
        self._drop_connection()


def leadership_for(app: Flask, holder: str) -> Leadership:
    with app.app_context():
        dialect = db.engine.dialect.name
    return (AdvisoryLockLeadership if dialect == "postgresql" else LeaseLeadership)(app, holder)
