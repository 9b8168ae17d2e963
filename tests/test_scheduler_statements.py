"""The scheduler's work costs statements per batch, never per item (issue 7, "speed at city scale").

Each test does the same job for 3 items and for 12 and counts the SQL statements: writing reminders,
sending the e-mails, booking standing enrolments into a newly opened slot. A change that reads or writes
one row at a time again makes the count for 12 larger than the count for 3, and fails here.
"""
from __future__ import annotations

from datetime import time, timedelta

import pytest

from careapp.booking import engine
from careapp.core.timefmt import from_local, local_date
from careapp.enrolments.services import enrol
from careapp.notifications.models import DeliveryStatus, NotificationStatus
from careapp.notifications.reminders import parse_leads
from careapp.partners.services import add_weekly_pattern
from careapp.scheduler.jobs import open_slots_job, reminders_job, send_notifications_job
from tests.enrolments_factories import elder_in_own_household
from tests.factories import make_slot
from tests.notification_helpers import deliveries, family_with_email, notifications
from tests.smtp_server import SmtpServer
from tests.statements import count_statements


@pytest.fixture
def smtp(app):
    server = SmtpServer().start()
    # One group of connections carries 3 or 12 messages alike, so the counts can be compared exactly.
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_SENDER="care@zhelu.example",
                      SMS_BACKEND="off", MAIL_TIMEOUT=5, MAIL_CONNECTIONS=16,
                      REMINDERS=parse_leads("eve@18:00"))
    yield server
    server.stop()


def booked_slot(world, clock, count: int, days_ahead: int, tag: str):
    """A day-care slot ``days_ahead`` with ``count`` families (each with an e-mail address) booked into it."""
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=count, days_ahead=days_ahead,
                     start=time(9, 0))
    for i in range(count):
        family = family_with_email(world.building, now, f"{tag}家{i}", f"{tag}{i}@example.com")
        engine.book(slot.id, family.add_elder(now, name=f"{tag}老人{i}").id, by=family.user, now=now)
    return slot


def evening_before(slot):
    return from_local(local_date(slot.starts_at) - timedelta(days=1), time(18, 0))


def test_writing_and_sending_reminders_costs_the_same_statements_for_3_bookings_or_12(world, clock, smtp):
    small = booked_slot(world, clock, 3, days_ahead=1, tag="s")
    large = booked_slot(world, clock, 12, days_ahead=2, tag="l")

    def run(slot, expected):
        evening = evening_before(slot)
        with count_statements() as writing:
            assert reminders_job(evening) == expected
        with count_statements() as sending:
            assert send_notifications_job(evening) == expected
        return len(writing), len(sending)

    small_counts = run(small, 3)
    large_counts = run(large, 12)
    assert large_counts == small_counts
    # And the work was done: every reminder written once, every e-mail sent once.
    assert len(smtp.received) == 15 and len({r.recipients[0] for r in smtp.received}) == 15
    assert len([n for n in notifications() if n.status == NotificationStatus.active]) == 15
    assert {d.status for d in deliveries()} == {DeliveryStatus.sent}


def test_booking_standing_enrolments_into_a_new_slot_costs_statements_per_slot_not_per_enrolment(
        app, world, clock, monkeypatch):
    """Opening a slot books every enrolment in a transaction of its own (engine.book), by design; what the
    job does around those bookings (finding the enrolments, their members, the slot's bookings) must not
    grow with their number."""
    app.config["OPEN_DAYS_AHEAD"] = 7  # each run of the job opens the one slot a week later
    now = clock.now()
    weekday = local_date(now).weekday()
    add_weekly_pattern(service_id=world.daycare.id, weekdays=[weekday], start_time=time(8, 30),
                       end_time=time(11, 30), valid_from=local_date(now), by=world.care_centre.manager, now=now,
                       capacity=20, open_days=7)
    inside_engine: list[int] = []
    real_book = engine.book

    def counted_book(*args, **kwargs):
        with count_statements() as statements:
            try:
                return real_book(*args, **kwargs)
            finally:
                inside_engine.append(len(statements))

    def enrol_elders(count: int, tag: str) -> None:
        for i in range(count):
            family, elder = elder_in_own_household(world, clock.now(), f"{tag}{i}")
            enrol(elder.id, world.daycare.id, [weekday], starts_on=local_date(clock.now()), by=family.user,
                  now=clock.now())

    def open_next_week() -> tuple[int, int]:
        """(statements outside engine.book, enrolment bookings made) when next week's slot opens."""
        clock.advance(days=7)
        inside_engine.clear()
        monkeypatch.setattr(engine, "book", counted_book)
        with count_statements() as statements:
            assert open_slots_job(clock.now()) == 1
        monkeypatch.setattr(engine, "book", real_book)
        return len(statements) - sum(inside_engine), len(inside_engine)

    enrol_elders(3, "甲")
    small_outside, small_booked = open_next_week()
    enrol_elders(9, "乙")
    large_outside, large_booked = open_next_week()
    assert (small_booked, large_booked) == (3, 12)
    assert large_outside == small_outside
