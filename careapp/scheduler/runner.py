"""Triggers the jobs in careapp.scheduler.jobs with APScheduler.

``SCHEDULE`` is the one list of what runs how often. ``add_jobs`` puts it on
any APScheduler scheduler, so the dedicated scheduler process can reuse it;
``start_in_process`` runs it on a background thread beside the demo server.
Web workers (``careapp serve``, wsgi.py) never start a scheduler: with several
workers every job would run once per worker.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from careapp.core.clock import now
from careapp.scheduler.jobs import expire_offers_job, no_shows_job, open_slots_job

# Where the running in-process scheduler is kept on the app.
EXTENSION_KEY = "careapp.scheduler"


@dataclass(frozen=True)
class ScheduledJob:
    id: str  # fixed, so a restart replaces the job instead of adding a second one
    run: Callable[[datetime], int]
    every: timedelta
    # A run that could not start on time (the process was busy or asleep) still
    # starts if it is at most this late; later ones are skipped, and the
    # coalesced next run catches up, since every job sweeps all that is due.
    misfire_grace: timedelta


SCHEDULE: tuple[ScheduledJob, ...] = (
    ScheduledJob("expire_offers", expire_offers_job, every=timedelta(minutes=1),
                 misfire_grace=timedelta(seconds=30)),
    ScheduledJob("open_slots", open_slots_job, every=timedelta(hours=1), misfire_grace=timedelta(minutes=30)),
    ScheduledJob("no_shows", no_shows_job, every=timedelta(minutes=15), misfire_grace=timedelta(minutes=5)),
)


def run_job(app: Flask, job: ScheduledJob) -> int:
    """Run one job in its own app context (so its own database session) at the app clock's time."""
    with app.app_context():
        changed = job.run(now())
    if changed:
        app.logger.info("scheduler job %s changed %d", job.id, changed)
    return changed


def add_jobs(scheduler: BaseScheduler, app: Flask, schedule: tuple[ScheduledJob, ...] = SCHEDULE) -> None:
    for job in schedule:
        scheduler.add_job(
            run_job, trigger=IntervalTrigger(seconds=job.every.total_seconds(), timezone=timezone.utc),
            args=(app, job), id=job.id, name=job.id, replace_existing=True,
            # Never two runs of one job at once, and one catch-up run instead of a burst.
            coalesce=True, max_instances=1, misfire_grace_time=int(job.misfire_grace.total_seconds()))


def build_background_scheduler(app: Flask) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=timezone.utc)
    add_jobs(scheduler, app)
    return scheduler


def start_in_process(app: Flask) -> BackgroundScheduler:
    """Start the jobs on a background thread of this process (``careapp demo`` only)."""
    if not app.config["RUN_SCHEDULER"]:
        raise RuntimeError("RUN_SCHEDULER is off: only `careapp demo` runs the scheduler inside the web process")
    scheduler = build_background_scheduler(app)
    scheduler.start()
    app.extensions[EXTENSION_KEY] = scheduler
    return scheduler
