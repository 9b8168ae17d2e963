"""The administrator's view of the scheduler and the notification outbox (the JSON twin of /admin/scheduler)."""
from __future__ import annotations

from pydantic import Field

from careapp.accounts.models import Role, User
from careapp.api.registry import api
from careapp.api.schemas import Out, UtcTimestamp
from careapp.core.clock import now
from careapp.core.errors import Forbidden
from careapp.core.i18n import gettext as _
from careapp.notifications.models import Channel, DeliveryStatus, Topic
from careapp.scheduler.queries import (ChannelCounts, DeliveryProblem, JobView, LeaseView, SchedulerOverview,
                                       SkippedNotification, scheduler_overview)


class LeaseOut(Out):
    holder: str = Field(description="host:pid of the scheduler process.")
    epoch: int = Field(description="Goes up by one each time the role changes hands.")
    acquired_at: UtcTimestamp
    renewed_at: UtcTimestamp
    expires_at: UtcTimestamp
    live: bool = Field(description="The lease has not run out: this scheduler is running.")

    @classmethod
    def of(cls, lease: LeaseView) -> LeaseOut:
        return cls(holder=lease.holder, epoch=lease.epoch, acquired_at=lease.acquired_at,
                   renewed_at=lease.renewed_at, expires_at=lease.expires_at, live=lease.live)


class JobOut(Out):
    job_id: str
    description: str
    interval_seconds: int = Field(description="Seconds between runs (CAREAPP_JOB_<ID>_SECONDS).")
    never_run: bool
    last_run_failed: bool
    runs: int
    failures: int
    last_started_at: UtcTimestamp | None
    last_finished_at: UtcTimestamp | None
    last_count: int | None = Field(description="What the last successful run changed.")
    last_error: str | None
    last_error_at: UtcTimestamp | None
    next_run_at: UtcTimestamp | None
    ran_on: str | None = Field(description="host:pid of the scheduler that last ran it.")

    @classmethod
    def of(cls, job: JobView) -> JobOut:
        return cls(job_id=job.job_id, description=job.description, interval_seconds=job.interval_seconds,
                   never_run=job.never_run, last_run_failed=job.last_run_failed, runs=job.runs,
                   failures=job.failures, last_started_at=job.last_started_at,
                   last_finished_at=job.last_finished_at, last_count=job.last_count, last_error=job.last_error,
                   last_error_at=job.last_error_at, next_run_at=job.next_run_at, ran_on=job.ran_on)


class ChannelCountsOut(Out):
    channel: Channel
    pending: int
    sent: int
    failed: int
    skipped: int

    @classmethod
    def of(cls, row: ChannelCounts) -> ChannelCountsOut:
        return cls(channel=row.channel, **{status.value: row.by_status.get(status, 0)
                                           for status in (DeliveryStatus.pending, DeliveryStatus.sent,
                                                          DeliveryStatus.failed, DeliveryStatus.skipped)})


class DeliveryProblemOut(Out):
    id: int
    channel: Channel
    status: DeliveryStatus = Field(description="failed: given up; pending: will be tried again.")
    address: str = Field(description="Masked: 138****1234, wa***@example.com.")
    attempts: int
    next_attempt_at: UtcTimestamp
    last_error: str | None
    topic: Topic

    @classmethod
    def of(cls, item: DeliveryProblem) -> DeliveryProblemOut:
        return cls(id=item.id, channel=item.channel, status=item.status, address=item.address,
                   attempts=item.attempts, next_attempt_at=item.next_attempt_at, last_error=item.last_error,
                   topic=item.topic)


class SkippedNotificationOut(Out):
    id: int
    topic: Topic
    kind: str
    created_at: UtcTimestamp
    skip_reason: str | None

    @classmethod
    def of(cls, item: SkippedNotification) -> SkippedNotificationOut:
        return cls(id=item.id, topic=item.topic, kind=item.kind, created_at=item.created_at,
                   skip_reason=item.skip_reason)


class SchedulerOverviewOut(Out):
    at: UtcTimestamp = Field(description="When this overview was read.")
    running: bool = Field(description="A scheduler holds a live lease.")
    lease: LeaseOut | None = Field(description="The last scheduler to hold the role; null if none ever did.")
    jobs: list[JobOut]
    outbox: list[ChannelCountsOut] = Field(description="Deliveries per channel and status.")
    notifications_skipped: int
    failed_deliveries: list[DeliveryProblemOut] = Field(
        description="The newest 20 deliveries that failed, or are pending after an error; last attempt first.")
    skipped_notifications: list[SkippedNotificationOut] = Field(description="The newest 20.")

    @classmethod
    def of(cls, overview: SchedulerOverview) -> SchedulerOverviewOut:
        return cls(at=overview.now, running=overview.running,
                   lease=LeaseOut.of(overview.lease) if overview.lease is not None else None,
                   jobs=[JobOut.of(job) for job in overview.jobs],
                   outbox=[ChannelCountsOut.of(row) for row in overview.outbox],
                   notifications_skipped=overview.notifications_skipped,
                   failed_deliveries=[DeliveryProblemOut.of(item) for item in overview.failed_deliveries],
                   skipped_notifications=[SkippedNotificationOut.of(item) for item in overview.skipped_notifications])


@api.route("GET", "/admin/scheduler", response=SchedulerOverviewOut, errors=(403,),
           summary="Administrators: the active scheduler, each job's last run, and the outbox's counts and problems")
def scheduler_admin_overview(user: User) -> SchedulerOverviewOut:
    if user.role != Role.admin:
        raise Forbidden(_("Only administrators see the scheduler and the outbox."))
    return SchedulerOverviewOut.of(scheduler_overview(now()))
