"""The scheduler: plain jobs of `now`, run in an app context at the app clock's time; never in web workers."""
from __future__ import annotations

import threading
import time as time_module
from datetime import time, timedelta, timezone

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from careapp import create_app
from careapp.booking import engine
from careapp.booking.models import Booking, BookingStatus, EndReason
from careapp.core.db import db, write_transaction
from careapp.core.timefmt import local_date
from careapp.enrolments.services import enrol
from careapp.partners.models import PartnerOrganisation, Service, Slot
from careapp.partners.services import add_weekly_pattern
from careapp.scheduler import runner
from careapp.scheduler.models import JobStatus, SchedulerLease
from careapp.scheduler.jobs import fill_places_job as expire_offers_job, no_shows_job, open_slots_job
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


def test_the_runner_runs_a_job_in_its_own_app_context_at_the_app_clock_and_records_it(app, offered, clock):
    head, _ = offered
    job = next(job for job in runner.schedule(app) if job.id == "fill_places")
    assert runner.run_job(app, job) == 0
    clock.advance(hours=12, minutes=1)  # the frozen app clock, not the wall clock, decides
    assert runner.run_job(app, job) == 1
    assert status(head) == (BookingStatus.cancelled, EndReason.offer_expired)
    db.session.rollback()
    record = db.session.get(JobStatus, "fill_places")
    assert (record.runs, record.failures, record.last_count, record.last_error) == (2, 0, 1, None)
    assert record.last_finished_at == clock.now()


def test_a_failing_job_is_recorded_and_does_not_stop_the_scheduler(app, clock):
    def broken(now):
        raise RuntimeError("the kitchen printer is on fire")

    assert runner.run_job(app, runner.ScheduledJob("reminders", broken, timedelta(minutes=1))) is None
    db.session.rollback()
    record = db.session.get(JobStatus, "reminders")
    assert (record.runs, record.failures) == (1, 1)
    assert record.last_error == "RuntimeError: the kitchen printer is on fire"
    assert record.last_error_at == clock.now()


EVERY_JOB = {"open_slots", "fill_places", "reminders", "kitchen_sheets", "send_notifications", "no_shows",
             "audit_retention", "coverage_snapshot"}


def test_jobs_have_fixed_ids_intervals_and_never_pile_up(app):
    scheduler = BackgroundScheduler(timezone=timezone.utc)
    runner.add_jobs(scheduler, app)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    planned_jobs = runner.schedule(app)
    assert set(jobs) == {job.id for job in planned_jobs} == EVERY_JOB
    for planned in planned_jobs:
        job = jobs[planned.id]
        assert isinstance(job.trigger, IntervalTrigger)
        assert job.trigger.interval == planned.every == timedelta(seconds=app.config["JOB_INTERVALS"][planned.id])
        assert (job.coalesce, job.max_instances) == (True, 1)
        assert 5 <= job.misfire_grace_time == planned.misfire_grace.total_seconds() <= 1800
        assert job.args == (app, planned, scheduler, None)


def test_job_intervals_are_settings(app):
    app.config["JOB_INTERVALS"] = {**app.config["JOB_INTERVALS"], "reminders": 300}
    assert next(job for job in runner.schedule(app) if job.id == "reminders").every == timedelta(minutes=5)


def test_adding_the_jobs_again_replaces_them(app):
    scheduler = BackgroundScheduler(timezone=timezone.utc)
    scheduler.start(paused=True)
    try:
        runner.add_jobs(scheduler, app)
        runner.add_jobs(scheduler, app)
        assert {job.id for job in scheduler.get_jobs()} == EVERY_JOB
    finally:
        scheduler.shutdown()


def test_start_in_process_takes_the_active_role_then_runs_the_jobs_on_a_background_thread(app):
    app.config["RUN_SCHEDULER"] = True
    scheduler = runner.start_in_process(app)
    try:
        _, coordinator = app.extensions[runner.EXTENSION_KEY]
        assert scheduler.running and "APScheduler" in {thread.name for thread in threading.enumerate()}
        # The leadership job runs at once, on the scheduler's thread: it takes the role, then adds the jobs
        # (in that order, so no job runs before the role is held). Wait for both: on a loaded machine the
        # test can look between the two.
        def scheduled() -> set[str]:
            return {job.id for job in scheduler.get_jobs()}

        for _ in range(200):
            if coordinator.active and scheduled() == EVERY_JOB | {runner.LEADERSHIP_JOB}:
                break
            time_module.sleep(0.05)
        assert coordinator.active
        assert scheduled() == EVERY_JOB | {runner.LEADERSHIP_JOB}
        next_run = scheduler.get_job("fill_places").next_run_time
        assert next_run is not None and next_run.utcoffset() == timedelta(0)
    finally:
        runner.stop_in_process(app)
    assert "APScheduler" not in {thread.name for thread in threading.enumerate()}
    db.session.rollback()
    lease = db.session.get(SchedulerLease, "scheduler")
    assert lease.expires_at <= app.extensions["careapp.clock"].now()  # given up on the way out


def test_a_web_app_never_starts_a_scheduler(tmp_path, monkeypatch):
    monkeypatch.setenv("CAREAPP_INSTANCE_PATH", str(tmp_path))
    app = create_app()
    assert app.config["RUN_SCHEDULER"] is False
    assert runner.EXTENSION_KEY not in app.extensions
    with pytest.raises(RuntimeError, match="RUN_SCHEDULER is off"):
        runner.start_in_process(app)
    assert "APScheduler" not in {thread.name for thread in threading.enumerate()}


# --- keeping slots open, and standing enrolments in them ---

def _slots_of(service) -> list[Slot]:
    db.session.rollback()
    return db.session.scalars(sa.select(Slot).where(Slot.service_id == service.id).order_by(Slot.starts_at)).all()


@pytest.fixture
def every_day(world, clock):
    """Day care every day at 08:30, opened 14 days ahead when the pattern is made."""
    add_weekly_pattern(service_id=world.daycare.id, weekdays=list(range(7)), start_time=time(8, 30),
                       end_time=time(11, 30), valid_from=local_date(clock.now()), by=world.care_centre.manager,
                       now=clock.now())
    return world.daycare


def test_open_slots_job_keeps_each_pattern_open_two_weeks_ahead_and_never_twice(every_day, clock):
    first = _slots_of(every_day)
    assert local_date(first[-1].starts_at) == local_date(clock.now()) + timedelta(days=14)
    assert open_slots_job(clock.now()) == 0
    clock.advance(days=7)
    assert open_slots_job(clock.now()) == 7
    assert open_slots_job(clock.now()) == 0
    slots = _slots_of(every_day)
    starts = [slot.starts_at for slot in slots]
    assert len(starts) == len(set(starts)) == len(first) + 7
    assert local_date(slots[-1].starts_at) == local_date(clock.now()) + timedelta(days=14)


def test_open_slots_job_books_standing_enrolments_into_the_new_slots(world, every_day, clock):
    elder = world.family.add_elder(clock.now())
    enrol(elder.id, every_day.id, list(range(7)), starts_on=local_date(clock.now()), by=world.family.user,
          now=clock.now())
    clock.advance(days=7)
    opened = open_slots_job(clock.now())
    booked = db.session.scalars(sa.select(Booking).join(Slot, Slot.id == Booking.slot_id).where(
        Booking.recipient_id == elder.id, Slot.starts_at > clock.now() + timedelta(days=7))).all()
    assert opened == 7 and len(booked) == 7
    assert all(b.enrolment_id is not None and b.booked_by_id is None for b in booked)


def test_open_slots_job_leaves_inactive_services_and_unapproved_partners_alone(world, every_day, clock):
    with write_transaction():
        db.session.get(Service, every_day.id).active = False
    clock.advance(days=7)
    assert open_slots_job(clock.now()) == 0
    with write_transaction():
        db.session.get(Service, every_day.id).active = True
        db.session.get(PartnerOrganisation, every_day.partner_id).approved = False
    assert open_slots_job(clock.now()) == 0


def test_open_days_ahead_is_a_setting(app, world, clock):
    app.config["OPEN_DAYS_AHEAD"] = 3  # each test has its own copy of the settings
    add_weekly_pattern(service_id=world.daycare.id, weekdays=list(range(7)), start_time=time(8, 30),
                       end_time=time(11, 30), valid_from=local_date(clock.now()), by=world.care_centre.manager,
                       now=clock.now())
    assert local_date(_slots_of(world.daycare)[-1].starts_at) == local_date(clock.now()) + timedelta(days=3)


def test_no_shows_job_marks_who_never_came_once_the_slot_has_ended(world, clock):
    slot = make_slot(world.daycare, world.care_centre.manager, clock.now())
    elder = world.family.add_elder(clock.now())
    booking = engine.book(slot.id, elder.id, by=world.family.user, now=clock.now()).booking
    assert no_shows_job(slot.ends_at - timedelta(minutes=1)) == 0
    assert no_shows_job(slot.ends_at) == 1
    assert status(booking) == (BookingStatus.no_show, None)
    assert no_shows_job(slot.ends_at) == 0
