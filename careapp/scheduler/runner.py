"""Triggers the jobs of careapp.scheduler.jobs with APScheduler, in one active process at a time.

- ``careapp scheduler`` (production) runs :func:`run_dedicated`: a BlockingScheduler in its own process.
- ``careapp demo`` runs :func:`start_in_process`: the same jobs on a BackgroundScheduler thread beside
  the demo's web server (the demo is one process).
- Web workers (``careapp serve``, wsgi.py) never start a scheduler.

Either way a ``leadership`` job runs first and every few seconds: it takes or renews the active role
(careapp.scheduler.leadership). Only while this process holds it are the work jobs scheduled; a second
scheduler started by mistake waits as a standby and takes over when the active one dies. Every job has a
fixed id, an interval trigger (CAREAPP_JOB_<ID>_SECONDS), ``coalesce`` and ``max_instances=1`` (never two
runs of one job at once, and one catch-up run instead of a burst) and a misfire grace time.
"""
from __future__ import annotations

import logging
import signal
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from careapp.core.clock import now
from careapp.core.db import db, write_transaction
from careapp.core.process import process_id
from careapp.notifications.delivery import release_claims
from careapp.scheduler.jobs import JOBS
from careapp.scheduler.leadership import Leadership, leadership_for
from careapp.scheduler.models import JobStatus

log = logging.getLogger("careapp.scheduler")
# Where the running in-process scheduler is kept on the app.
EXTENSION_KEY = "careapp.scheduler"
LEADERSHIP_JOB = "leadership"
# A run that could not start on time still starts if at most this late (half its interval, up to this);
# later ones are skipped, and the coalesced next run catches up, since every job sweeps all that is due.
LONGEST_GRACE = timedelta(minutes=30)


@dataclass(frozen=True)
class ScheduledJob:
    id: str  # fixed, so a restart replaces the job instead of adding a second one
    run: Callable[[datetime], int]
    every: timedelta

    @property
    def misfire_grace(self) -> timedelta:
        return min(max(self.every / 2, timedelta(seconds=5)), LONGEST_GRACE)


def schedule(app: Flask) -> tuple[ScheduledJob, ...]:
    """The one list of what runs how often (intervals are settings)."""
    intervals = app.config["JOB_INTERVALS"]
    return tuple(ScheduledJob(job_id, run, timedelta(seconds=intervals[job_id])) for job_id, run in JOBS.items())


# --- running one job ---

def run_job(app: Flask, job: ScheduledJob, scheduler: BaseScheduler | None = None,
            coordinator: Coordinator | None = None) -> int | None:
    """Run one job in its own app context (its own database session) at the app clock's time, and record
    how it went in ``job_status``. Returns what it changed, or None when it failed or was not run."""
    if coordinator is not None and not coordinator.active:
        return None  # lost the active role since this run was planned
    started = _wall_clock(app)
    changed, error = None, None
    try:
        with app.app_context():
            changed = job.run(now())
    except Exception as exc:  # a failing job must not stop the scheduler; it is recorded and logged
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        log.exception("scheduler job %s failed", job.id)
    if changed:
        log.info("scheduler job %s changed %d", job.id, changed)
    _record(app, job, scheduler, started=started, changed=changed, error=error)
    return changed


def _wall_clock(app: Flask) -> datetime:
    with app.app_context():
        return now()


def _record(app: Flask, job: ScheduledJob, scheduler: BaseScheduler | None, *, started: datetime,
            changed: int | None, error: str | None) -> None:
    try:
        with app.app_context():
            finished = now()
            with write_transaction():
                status = db.session.get(JobStatus, job.id) or JobStatus(job_id=job.id, runs=0, failures=0)
                db.session.add(status)
                status.runs += 1
                status.last_started_at, status.last_finished_at, status.ran_on = started, finished, process_id()
                # The next run of an interval trigger. (Asking APScheduler from inside a job would
                # deadlock with its shutdown, which holds the job store's lock while it waits for jobs.)
                status.next_run_at = started + job.every if scheduler is not None else None
                if error is None:
                    status.last_count = changed
                else:
                    status.failures += 1
                    status.last_error, status.last_error_at = error[:1000], finished
    except Exception:
        log.exception("scheduler: could not record the run of %s", job.id)


# --- the active role ---

class Coordinator:
    """Holds or waits for the active role, and schedules the work jobs only while it is held."""

    def __init__(self, app: Flask, scheduler: BaseScheduler, leadership: Leadership | None = None):
        self.app = app
        self.scheduler = scheduler
        self.leadership = leadership or leadership_for(app, process_id())
        self.active = False
        self.stopping = False
        self.lock = threading.Lock()

    def tick(self) -> None:
        """The leadership job: take or renew the role; start or stop the work jobs when it changes hands."""
        with self.lock:
            if self.stopping:
                return
            held = self.leadership.try_acquire(_wall_clock(self.app))
            if held and not self.active:
                self._become_active()
            elif not held and self.active:
                self._stand_down()
            elif not held:
                log.debug("scheduler %s: standby", self.leadership.holder)

    def _become_active(self) -> None:
        with self.app.app_context():
            released = release_claims(keep=process_id())
        log.info("scheduler %s: active (released %d claims of an earlier scheduler)", self.leadership.holder,
                 released)
        self.active = True
        add_jobs(self.scheduler, self.app, coordinator=self)

    def _stand_down(self) -> None:
        log.warning("scheduler %s: lost the active role; standing by", self.leadership.holder)
        self.active = False
        for job in schedule(self.app):
            if self.scheduler.get_job(job.id) is not None:
                self.scheduler.remove_job(job.id)

    def stop(self) -> None:
        """Before the scheduler shuts down: no job starts any more and the jobs list is left alone. (The
        shutdown holds APScheduler's job store lock while it waits for running jobs, so a job that then
        added or removed jobs would wait for it forever.)"""
        with self.lock:
            self.stopping, self.active = True, False

    def release(self) -> None:
        """After the scheduler has shut down: give the active role up, so a standby takes it at once."""
        with self.lock:
            self.leadership.release(_wall_clock(self.app))


def shut_down(scheduler: BaseScheduler, coordinator: Coordinator) -> None:
    """Stop starting jobs, let the running ones finish, then hand the role on."""
    coordinator.stop()
    if scheduler.running:
        scheduler.shutdown(wait=True)
    coordinator.release()


def add_jobs(scheduler: BaseScheduler, app: Flask, coordinator: Coordinator | None = None) -> None:
    for job in schedule(app):
        scheduler.add_job(
            run_job, trigger=IntervalTrigger(seconds=job.every.total_seconds(), timezone=timezone.utc),
            args=(app, job, scheduler, coordinator), id=job.id, name=job.id, replace_existing=True,
            # The first run straight away: a scheduler back from an outage catches up at once.
            next_run_time=datetime.now(timezone.utc),
            coalesce=True, max_instances=1, misfire_grace_time=int(job.misfire_grace.total_seconds()))


def add_leadership(scheduler: BaseScheduler, coordinator: Coordinator) -> None:
    every = max(coordinator.leadership.lease.total_seconds() / 3, 1)
    scheduler.add_job(coordinator.tick, trigger=IntervalTrigger(seconds=every, timezone=timezone.utc),
                      id=LEADERSHIP_JOB, name=LEADERSHIP_JOB, replace_existing=True,
                      next_run_time=datetime.now(timezone.utc), coalesce=True, max_instances=1,
                      misfire_grace_time=int(every))


# --- the two ways to run ---

def run_dedicated(app: Flask) -> None:
    """``careapp scheduler``: block in this process until SIGTERM or SIGINT, then give the role up."""
    scheduler = BlockingScheduler(timezone=timezone.utc)
    coordinator = Coordinator(app, scheduler)
    add_leadership(scheduler, coordinator)

    def stop(signum, frame):
        if scheduler.running and not coordinator.stopping:  # a second signal while stopping changes nothing
            log.info("scheduler %s: stopping (signal %d)", coordinator.leadership.holder, signum)
            coordinator.stop()
            scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler %s: started; waiting for the active role", coordinator.leadership.holder)
    try:
        scheduler.start()
    finally:
        coordinator.release()


def build_background_scheduler(app: Flask) -> tuple[BackgroundScheduler, Coordinator]:
    scheduler = BackgroundScheduler(timezone=timezone.utc)
    coordinator = Coordinator(app, scheduler)
    add_leadership(scheduler, coordinator)
    return scheduler, coordinator


def start_in_process(app: Flask) -> BackgroundScheduler:
    """Start the jobs on a background thread of this process (``careapp demo`` only)."""
    if not app.config["RUN_SCHEDULER"]:
        raise RuntimeError("RUN_SCHEDULER is off: only `careapp demo` runs the scheduler inside the web process")
    scheduler, coordinator = build_background_scheduler(app)
    scheduler.start()
    app.extensions[EXTENSION_KEY] = (scheduler, coordinator)
    return scheduler


def stop_in_process(app: Flask) -> None:
    scheduler, coordinator = app.extensions.pop(EXTENSION_KEY)
    shut_down(scheduler, coordinator)
