"""`careapp scheduler` as real processes against the test database and a real SMTP server on localhost:
killed with SIGKILL in the middle of a batch and started again, every reminder arrives exactly once; two
schedulers at once double nothing, and the standby takes over when the active one dies.

The scheduler processes use the real clock, so the data here is made around the real time: slots start
half an hour from now, booked two hours ago, so each booking's hour-before reminder is due at once.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time as wall
from collections import Counter
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from careapp.booking import engine
from careapp.booking.models import Booking
from careapp.core.db import db
from careapp.core.timefmt import local_date
from careapp.enrolments.services import enrol
from careapp.notifications.channels import MAIL_CONNECTIONS
from careapp.notifications.models import Delivery, DeliveryStatus, Notification
from careapp.partners.models import Slot
from careapp.partners.services import add_weekly_pattern, create_slot
from careapp.scheduler.models import SchedulerLease
from tests.notification_helpers import family_with_email
from tests.smtp_server import SmtpServer
from tests.test_concurrency import die_with_parent

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).resolve().parent.parent
LEASE_SECONDS = 3
# The subprocesses keep patterns open further ahead than the test app did, so they have slots to open.
OPEN_DAYS_AHEAD = 21


class SchedulerProcess:
    def __init__(self, name: str, database_url: str, tmp_path: Path, smtp_port: int, **settings: str):
        self.log = tmp_path / f"{name}.log"
        env = {**os.environ, **settings, "CAREAPP_DATABASE_URL": database_url,
               "CAREAPP_INSTANCE_PATH": str(tmp_path / "instance"), "CAREAPP_SECRET_KEY": "scheduler-test",
               "CAREAPP_MAIL_SERVER": "127.0.0.1", "CAREAPP_MAIL_PORT": str(smtp_port),
               "CAREAPP_MAIL_SENDER": "care@zhelu.example", "CAREAPP_SMS_BACKEND": "off",
               "CAREAPP_SCHEDULER_LEASE_SECONDS": str(LEASE_SECONDS), "CAREAPP_OPEN_DAYS_AHEAD": str(OPEN_DAYS_AHEAD),
               "CAREAPP_JOB_REMINDERS_SECONDS": "1", "CAREAPP_JOB_SEND_NOTIFICATIONS_SECONDS": "1",
               "CAREAPP_JOB_OPEN_SLOTS_SECONDS": "2", "CAREAPP_JOB_FILL_PLACES_SECONDS": "2"}
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "careapp", "scheduler"], env=env, cwd=PROJECT,
                                            stdout=out, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)

    @property
    def pid(self) -> int:
        return self.process.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    @property
    def active(self) -> bool:
        return ": active (" in self.text()

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_until(condition, timeout: float, what: str) -> float:
    started = wall.monotonic()
    while not condition():
        if wall.monotonic() - started > timeout:
            raise AssertionError(f"waited {timeout} s for {what() if callable(what) else what}")
        wall.sleep(0.1)
    return wall.monotonic() - started


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def processes(database, tmp_path, smtp):
    started: list[SchedulerProcess] = []

    def start(name: str, **settings: str) -> SchedulerProcess:
        process = SchedulerProcess(name, database, tmp_path, smtp.port, **settings)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


@pytest.fixture
def real_time(clock):
    clock.set(datetime.now(timezone.utc).replace(microsecond=0))
    return clock


def due_reminders(world, clock, count: int, *, prefix: str = "家", mailbox: str = "family",
                  minutes: int = 30) -> list[str]:
    """``count`` families with e-mail, booked two hours ago into a reading-room slot half an hour from now
    (the reading room, so that day care is left to its weekly pattern and standing enrolments)."""
    now = clock.now()
    starts_at = now + timedelta(minutes=minutes)
    booked_at = now - timedelta(hours=2)
    slot = create_slot(service_id=world.academy.services["图书阅览"].id, starts_at=starts_at,
                       ends_at=starts_at + timedelta(hours=2), capacity=count, by=world.academy.manager, now=booked_at)
    addresses = []
    for i in range(count):
        address = f"{mailbox}{i}@example.com"
        family = family_with_email(world.building, booked_at, f"{prefix}{i}", address)
        elder = family.add_elder(booked_at, name=f"{prefix}老人{i}")
        engine.book(slot.id, elder.id, by=family.user, now=booked_at)
        addresses.append(address)
    return addresses


def arrivals(smtp: SmtpServer) -> Counter:
    return Counter(recipient for message in smtp.received for recipient in message.recipients)


def email_statuses() -> Counter:
    db.session.rollback()
    return Counter(db.session.scalars(sa.select(Delivery.status)))


def test_killed_in_the_middle_of_a_batch_and_restarted_every_reminder_arrives_exactly_once(
        world, real_time, smtp, processes):
    """One e-mail at a time (CAREAPP_MAIL_CONNECTIONS=1): each is recorded sent just before its "." goes, so a
    kill loses nothing and the restarted scheduler sends exactly what is left."""
    addresses = due_reminders(world, real_time, 30)
    first = processes("first", CAREAPP_MAIL_CONNECTIONS="1")
    smtp.recorder.on_message = lambda count: os.kill(first.pid, signal.SIGKILL) if count == 10 else None
    wait_until(lambda: first.process.poll() is not None, 60, "the first scheduler to be killed at message 10")
    assert first.process.returncode == -signal.SIGKILL
    assert len(smtp.received) == 10  # killed mid-batch: 20 still to go
    assert email_statuses()[DeliveryStatus.pending] == 20
    smtp.recorder.on_message = None

    second = processes("second")
    wait_until(lambda: len(smtp.received) >= 30, 90, "the restarted scheduler to send the rest")
    wall.sleep(3)  # a few more sending rounds: nothing may arrive twice
    assert arrivals(smtp) == Counter({address: 1 for address in addresses})
    assert len({message.message_id for message in smtp.received}) == 30
    assert email_statuses() == Counter({DeliveryStatus.sent: 30})
    assert second.active and "Traceback" not in second.text()


def test_killed_while_sending_side_by_side_nothing_arrives_twice_or_unrecorded(world, real_time, smtp, processes):
    """With e-mails sent side by side (the default, 25 connections) one commit records a group sent before
    its "."s go, so a kill in the middle of those "."s can lose what was recorded but not yet finished: at
    most one group, never a message twice, never one that is not recorded sent (docs/scheduler.md)."""
    addresses = due_reminders(world, real_time, 30)
    first = processes("first")
    smtp.recorder.on_message = lambda count: os.kill(first.pid, signal.SIGKILL) if count == 10 else None
    wait_until(lambda: first.process.poll() is not None, 60, "the first scheduler to be killed at message 10")
    wall.sleep(1)  # what was written before the kill is read by the server
    smtp.recorder.on_message = None
    sent_before = email_statuses()[DeliveryStatus.sent]
    assert 10 <= len(smtp.received) <= sent_before
    assert sent_before - len(smtp.received) <= MAIL_CONNECTIONS  # lost: at most the group of the kill

    second = processes("second")
    wait_until(lambda: email_statuses() == Counter({DeliveryStatus.sent: 30}), 90,
               "the restarted scheduler to send the rest")
    wall.sleep(2)  # a few more sending rounds: nothing may arrive twice
    assert set(arrivals(smtp).values()) == {1} and set(arrivals(smtp)) <= set(addresses)
    assert len(smtp.received) >= 30 - MAIL_CONNECTIONS
    assert second.active and "Traceback" not in second.text()


def test_two_schedulers_at_once_double_nothing_and_the_standby_takes_over(world, real_time, smtp, processes):
    now = real_time.now()
    today = local_date(now)
    add_weekly_pattern(service_id=world.daycare.id, weekdays=list(range(7)), start_time=time(8, 30),
                       end_time=time(11, 30), valid_from=today, capacity=10, by=world.care_centre.manager, now=now)
    elders = []
    for i in range(3):
        family = family_with_email(world.building, now, f"常客{i}", f"regular{i}@example.com")
        elder = family.add_elder(now, name=f"常客老人{i}")
        enrol(elder.id, world.daycare.id, list(range(7)), starts_on=today, by=family.user, now=now)
        elders.append(elder)
    addresses = due_reminders(world, real_time, 20)
    db.session.rollback()
    slots_before = db.session.scalar(sa.select(sa.func.count()).select_from(Slot))

    a, b = processes("a"), processes("b")
    wait_until(lambda: len(smtp.received) >= 20, 90, "the 20 due reminders")
    # Every pattern day out to OPEN_DAYS_AHEAD is opened, with the three standing enrolments booked into it.
    last_day = today + timedelta(days=OPEN_DAYS_AHEAD)
    pattern_slots = sa.select(Slot.id).where(Slot.pattern_id.is_not(None))
    seen: list = []

    def all_opened() -> bool:
        db.session.rollback()
        starts = db.session.scalars(sa.select(Slot.starts_at).where(Slot.pattern_id.is_not(None))).all()
        booked = db.session.scalar(sa.select(sa.func.count()).select_from(Booking)
                                   .where(Booking.enrolment_id.is_not(None)))
        seen[:] = [max(local_date(start) for start in starts), len(starts), booked]
        return seen[0] == last_day and booked == 3 * len(starts)

    wait_until(all_opened, 60, lambda: f"the slots to {last_day} and their enrolment bookings; seen "
                                       f"(last day, slots, bookings) {seen}")
    expected_slots = db.session.scalar(sa.select(sa.func.count()).select_from(pattern_slots.subquery())) + 1
    assert expected_slots == db.session.scalar(sa.select(sa.func.count()).select_from(Slot))
    assert expected_slots > slots_before
    wall.sleep(4)  # let both run several more rounds

    db.session.rollback()
    assert [a.active, b.active].count(True) == 1, "exactly one scheduler is active"
    starts = db.session.execute(sa.select(Slot.service_id, Slot.starts_at)).all()
    assert len(starts) == len(set(starts)) == expected_slots
    per_slot = db.session.execute(sa.select(Booking.slot_id, Booking.recipient_id)
                                  .where(Booking.enrolment_id.is_not(None))).all()
    assert len(per_slot) == len(set(per_slot))
    assert arrivals(smtp) == Counter({address: 1 for address in addresses})
    kinds = db.session.execute(sa.select(Notification.booking_id, Notification.kind)).all()
    assert len(kinds) == len(set(kinds))

    # The active one dies; the standby takes over within a minute and carries on.
    active, standby = (a, b) if a.active else (b, a)
    active.kill()
    took = wait_until(lambda: standby.active, 60, "the standby to take over")
    assert took < 60
    db.session.rollback()
    late = due_reminders(world, real_time, 3, prefix="后来", mailbox="late", minutes=40)
    wait_until(lambda: len(smtp.received) >= 23, 60, "the new reminders, sent by the new active scheduler")
    wall.sleep(2)
    assert arrivals(smtp) == Counter({address: 1 for address in addresses + late})
    db.session.rollback()
    lease = db.session.get(SchedulerLease, "scheduler")
    assert lease.holder.split(":")[1] == str(standby.pid) and lease.epoch >= 2
    assert "Traceback" not in standby.text()


def test_a_stopped_scheduler_gives_up_its_role_at_once(world, real_time, smtp, processes):
    first = processes("first")
    wait_until(lambda: first.active, 30, "the first scheduler to become active")
    second = processes("second")
    wait_until(lambda: "waiting for the active role" in second.text(), 30, "the second to start")
    first.stop()  # SIGTERM: a clean stop releases the lock or lease
    assert first.process.returncode == 0 and "stopping (signal 15)" in first.text()
    took = wait_until(lambda: second.active, 30, "the second to take over")
    assert took < LEASE_SECONDS + 2
