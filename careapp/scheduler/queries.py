"""Read model of the admin page: the active scheduler, how each job last went, and the outbox.

Six statements whatever the numbers: the lease, the jobs' status rows, the deliveries counted per channel
and status, the skipped notifications counted, and the newest twenty of each problem list.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from careapp.core.db import db
from careapp.core.privacy import mask_email, mask_phone
from careapp.notifications.models import (Channel, Delivery, DeliveryStatus, Notification, NotificationStatus,
                                          Topic)
from careapp.scheduler.jobs import DEFAULT_INTERVALS, JOBS
from careapp.scheduler.leadership import LEASE_NAME
from careapp.scheduler.models import JobStatus, SchedulerLease

LIST_LENGTH = 20


@dataclass(frozen=True)
class LeaseView:
    holder: str
    epoch: int
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime
    live: bool  # the lease has not run out: this scheduler is (as far as we know) running


@dataclass(frozen=True)
class JobView:
    """One job of ``JOBS``, with how its last run went (all empty when it never ran)."""

    job_id: str
    description: str
    interval_seconds: int
    runs: int = 0
    failures: int = 0
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    last_count: int | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    next_run_at: datetime | None = None
    ran_on: str | None = None

    @property
    def never_run(self) -> bool:
        return self.last_started_at is None and self.runs == 0

    @property
    def last_run_failed(self) -> bool:
        """The runner keeps the last error after later successes; it is the last run's only if no run finished
        after it."""
        if self.last_error_at is None:
            return False
        return self.last_finished_at is None or self.last_error_at >= self.last_finished_at


@dataclass(frozen=True)
class ChannelCounts:
    channel: Channel
    by_status: dict[DeliveryStatus, int]  # every status, zeros included, in DeliveryStatus order


@dataclass(frozen=True)
class DeliveryProblem:
    """A delivery that failed for good, or is still pending after an error (it will be tried again)."""

    id: int
    channel: Channel
    status: DeliveryStatus
    address: str  # masked
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    topic: Topic


@dataclass(frozen=True)
class SkippedNotification:
    id: int
    topic: Topic
    kind: str
    created_at: datetime
    skip_reason: str | None


@dataclass(frozen=True)
class SchedulerOverview:
    now: datetime
    lease: LeaseView | None
    jobs: list[JobView]
    outbox: list[ChannelCounts]
    notifications_skipped: int
    failed_deliveries: list[DeliveryProblem]
    skipped_notifications: list[SkippedNotification]

    @property
    def running(self) -> bool:
        return self.lease is not None and self.lease.live


def scheduler_overview(now: datetime) -> SchedulerOverview:
    return SchedulerOverview(now=now, lease=_lease(now), jobs=_jobs(), outbox=_outbox_counts(),
                             notifications_skipped=_skipped_count(), failed_deliveries=_failed_deliveries(),
                             skipped_notifications=_skipped_notifications())


def describe(job) -> str:
    """A job's docstring's first paragraph, as one line (a sentence may wrap in the source)."""
    text = inspect.cleandoc(job.__doc__ or "")
    return " ".join(text.split("\n\n", 1)[0].split())


def mask_address(channel: Channel, address: str) -> str:
    return mask_phone(address) if channel == Channel.sms else mask_email(address)


def _lease(now: datetime) -> LeaseView | None:
    lease = db.session.execute(
        sa.select(SchedulerLease.holder, SchedulerLease.epoch, SchedulerLease.acquired_at, SchedulerLease.renewed_at,
                  SchedulerLease.expires_at).where(SchedulerLease.name == LEASE_NAME)).one_or_none()
    if lease is None:
        return None
    return LeaseView(*lease, live=lease.expires_at > now)


STATUS_COLUMNS = (JobStatus.runs, JobStatus.failures, JobStatus.last_started_at, JobStatus.last_finished_at,
                  JobStatus.last_count, JobStatus.last_error, JobStatus.last_error_at, JobStatus.next_run_at,
                  JobStatus.ran_on)


def _jobs() -> list[JobView]:
    rows = db.session.execute(sa.select(JobStatus.job_id, *STATUS_COLUMNS)
                              .where(JobStatus.job_id.in_(list(JOBS))))
    statuses = {row.job_id: row._mapping for row in rows}
    intervals = current_app.config.get("JOB_INTERVALS") or {}
    views = []
    for job_id, job in JOBS.items():
        status = statuses.get(job_id)
        values = {column.key: status[column.key] for column in STATUS_COLUMNS} if status is not None else {}
        views.append(JobView(job_id=job_id, description=describe(job),
                             interval_seconds=intervals.get(job_id, DEFAULT_INTERVALS.get(job_id, 0)), **values))
    return views


def _outbox_counts() -> list[ChannelCounts]:
    counts = {(channel, status): number for channel, status, number in db.session.execute(
        sa.select(Delivery.channel, Delivery.status, sa.func.count()).group_by(Delivery.channel, Delivery.status))}
    return [ChannelCounts(channel, {status: counts.get((channel, status), 0) for status in DeliveryStatus})
            for channel in Channel]


def _skipped_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                             .where(Notification.status == NotificationStatus.skipped)) or 0


def _failed_deliveries() -> list[DeliveryProblem]:
    """The newest problems first: by when the delivery last changed (its last attempt)."""
    problem = sa.or_(Delivery.status == DeliveryStatus.failed,
                     sa.and_(Delivery.status == DeliveryStatus.pending, Delivery.last_error.is_not(None)))
    rows = db.session.execute(
        sa.select(Delivery.id, Delivery.channel, Delivery.status, Delivery.address, Delivery.attempts,
                  Delivery.next_attempt_at, Delivery.last_error, Notification.topic)
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(problem).order_by(Delivery.updated_at.desc(), Delivery.id.desc()).limit(LIST_LENGTH))
    return [DeliveryProblem(id=row.id, channel=row.channel, status=row.status,
                            address=mask_address(row.channel, row.address), attempts=row.attempts,
                            next_attempt_at=row.next_attempt_at, last_error=row.last_error, topic=row.topic)
            for row in rows]


def _skipped_notifications() -> list[SkippedNotification]:
    rows = db.session.execute(
        sa.select(Notification.id, Notification.topic, Notification.kind, Notification.created_at,
                  Notification.skip_reason)
        .where(Notification.status == NotificationStatus.skipped)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(LIST_LENGTH))
    return [SkippedNotification(*row) for row in rows]
