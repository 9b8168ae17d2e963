"""The scheduler: plain jobs of `now`, run in an app context at the app clock's time; never in web workers."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from careapp import create_app
from careapp.booking import engine
from careapp.booking.models import Booking, BookingStatus, EndReason
from careapp.core.db import db
from careapp.scheduler import runner
from careapp.scheduler.jobs import expire_offers_job
from tests.factories import make_family, make_slot


@pytest.fixture
def offered(world, clock):
    """A one-place nursery slot (places are offered for 12 hours): one offer out, one child waiting behind it."""
    now = clock.now()
    slot = make_slot(world.nursery.services["托小班"], world.nursery.manager, now, days_ahead=3, capacity=1)
    bookings = []
    for i in range(3):
        family = make_family(world.building, now, f"托育家{i}")
        child = family.add_child(now, name=f"孩子{i}")
        bookings.append((family.user, engine.book(slot.id, child.id, by=family.user, now=now).booking))
    first_user, first = bookings[0]
    engine.cancel(first.id, by=first_user, now=now)
    return [booking for _, booking in bookings[1:]]


def status(booking: Booking) -> tuple[BookingStatus, EndReason | None]:
    db.session.refresh(booking)
    return booking.status, booking.end_reason


def test_expire_offers_job_passes_an_expired_offer_on(offered, clock):
    head, next_in_line = offered
    assert status(head) == (BookingStatus.offered, None)
    assert expire_offers_job(clock.now()) == 0  # not expired yet
    clock.advance(hours=12)
    assert expire_offers_job(clock.now()) == 1
    assert status(head) == (BookingStatus.cancelled, EndReason.offer_expired)
    assert status(next_in_line) == (BookingStatus.offered, None)


def test_the_runner_runs_a_job_in_its_own_app_context_at_the_app_clock(app, offered, clock):
    head, _ = offered
    job = next(job for job in runner.SCHEDULE if job.id == "expire_offers")
    assert runner.run_job(app, job) == 0
    clock.advance(hours=12, minutes=1)  # the frozen app clock, not the wall clock, decides
    assert runner.run_job(app, job) == 1
    assert status(head) == (BookingStatus.cancelled, EndReason.offer_expired)


def test_jobs_have_fixed_ids_intervals_and_never_pile_up(app):
    scheduler = runner.build_background_scheduler(app)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {job.id for job in runner.SCHEDULE} == {"expire_offers"}
    for planned in runner.SCHEDULE:
        job = jobs[planned.id]
        assert isinstance(job.trigger, IntervalTrigger)
        assert job.trigger.interval == planned.every
        assert (job.coalesce, job.max_instances) == (True, 1)
        assert job.misfire_grace_time == planned.misfire_grace.total_seconds()
        assert job.args == (app, planned)


def test_adding_the_jobs_again_replaces_them(app):
    scheduler = runner.build_background_scheduler(app)
    scheduler.start(paused=True)
    try:
        runner.add_jobs(scheduler, app)
        assert sorted(job.id for job in scheduler.get_jobs()) == ["expire_offers"]
    finally:
        scheduler.shutdown()


def test_start_in_process_runs_the_scheduler_on_a_background_thread(app):
    app.config["RUN_SCHEDULER"] = True
    scheduler = runner.start_in_process(app)
    try:
        assert scheduler.running and app.extensions[runner.EXTENSION_KEY] is scheduler
        assert "APScheduler" in {thread.name for thread in threading.enumerate()}
        next_run = scheduler.get_job("expire_offers").next_run_time
        assert next_run is not None and next_run.utcoffset() == timedelta(0)
    finally:
        scheduler.shutdown()
    assert "APScheduler" not in {thread.name for thread in threading.enumerate()}


def test_a_web_app_never_starts_a_scheduler(tmp_path, monkeypatch):
    monkeypatch.setenv("CAREAPP_INSTANCE_PATH", str(tmp_path))
    app = create_app()
    assert app.config["RUN_SCHEDULER"] is False
    assert runner.EXTENSION_KEY not in app.extensions
    with pytest.raises(RuntimeError, match="RUN_SCHEDULER is off"):
        runner.start_in_process(app)
    assert "APScheduler" not in {thread.name for thread in threading.enumerate()}
