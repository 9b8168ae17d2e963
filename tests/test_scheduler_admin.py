"""The administrator's page and API of the scheduler and the outbox: the live scheduler, each job's last run,
the outbox's counts and its problems, for administrators only, in a fixed number of statements."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from careapp.accounts.models import Role
from careapp.core.db import db, write_transaction
from careapp.notifications.models import (Channel, Delivery, DeliveryStatus, Notification, NotificationStatus,
                                          Topic)
from careapp.scheduler.jobs import JOBS
from careapp.scheduler.models import JobStatus, SchedulerLease
from careapp.core.privacy import mask_email
from careapp.scheduler.queries import describe, scheduler_overview
from careapp.scheduler.views import every
from tests.api_helpers import bearer, call, error_of  # noqa: F401  (bearer: a fixture)
from tests.factories import make_slot
from tests.page_helpers import login, text
from tests.statements import count_statements

PAGE = "/admin/scheduler"


@pytest.fixture
def slot(world, clock):
    return make_slot(world.daycare, world.care_centre.manager, clock.now())


def add_lease(now, *, expires_in: timedelta = timedelta(seconds=20), holder: str = "web-1:4242") -> None:
    with write_transaction():
        db.session.add(SchedulerLease(name="scheduler", holder=holder, epoch=3, acquired_at=now - timedelta(hours=2),
                                      renewed_at=now - timedelta(seconds=10), expires_at=now + expires_in))


def add_notification(world, slot, now, *, kind: str, topic: Topic = Topic.reminder, skip_reason: str | None = None,
                     age: timedelta = timedelta(0)) -> Notification:
    with write_transaction():
        notification = Notification(
            topic=topic, kind=kind, slot_id=slot.id, service_id=slot.service_id,
            household_id=world.family.household.id, params={},
            status=NotificationStatus.skipped if skip_reason else NotificationStatus.active,
            skip_reason=skip_reason, created_at=now - age)
        db.session.add(notification)
    return notification


def add_delivery(world, notification, now, *, channel: Channel, address: str, status: DeliveryStatus,
                 attempts: int = 0, last_error: str | None = None, user=None) -> Delivery:
    with write_transaction():
        delivery = Delivery(notification_id=notification.id, channel=channel, user_id=(user or world.family.user).id,
                            address=address, language="zh_CN", status=status, attempts=attempts,
                            next_attempt_at=now + timedelta(minutes=5), last_error=last_error, created_at=now,
                            updated_at=now)
        db.session.add(delivery)
    return delivery


@pytest.fixture
def outbox(world, clock, slot):
    """A live scheduler, two jobs that ran (one failed last), and an outbox with each kind of problem."""
    now = clock.now()
    add_lease(now)
    with write_transaction():
        db.session.add_all([
            JobStatus(job_id="open_slots", runs=12, failures=0, last_started_at=now - timedelta(minutes=30),
                      last_finished_at=now - timedelta(minutes=30), last_count=7,
                      next_run_at=now + timedelta(minutes=30), ran_on="web-1:4242"),
            JobStatus(job_id="send_notifications", runs=40, failures=2, last_started_at=now - timedelta(seconds=20),
                      last_finished_at=now - timedelta(seconds=19), last_count=3,
                      last_error="SMTPServerDisconnected: Connection unexpectedly closed",
                      last_error_at=now - timedelta(seconds=19), next_run_at=now + timedelta(seconds=10),
                      ran_on="web-1:4242"),
        ])
    sent = add_notification(world, slot, now, kind="reminder:60m")
    add_delivery(world, sent, now, channel=Channel.email, address="li@example.com", status=DeliveryStatus.sent,
                 attempts=1)
    add_delivery(world, sent, now, channel=Channel.sms, address="13800001111", status=DeliveryStatus.sent,
                 attempts=1)
    failing = add_notification(world, slot, now, kind="place_offered", topic=Topic.place_offered)
    failed = add_delivery(world, failing, now, channel=Channel.email, address="wangxiuying@example.com",
                          status=DeliveryStatus.failed, attempts=1, last_error="550 mailbox unavailable")
    retrying = add_delivery(world, failing, now, channel=Channel.sms, address="13812345678",
                            status=DeliveryStatus.pending, attempts=2, last_error="gateway timeout")
    waiting = add_notification(world, slot, now, kind="reminder:1440m")
    add_delivery(world, waiting, now, channel=Channel.sms, address="13800002222", status=DeliveryStatus.pending)
    skipped = add_notification(world, slot, now, kind="reminder:30m", skip_reason="the slot has started",
                               age=timedelta(hours=1))
    add_delivery(world, skipped, now, channel=Channel.email, address="zhang@example.com",
                 status=DeliveryStatus.skipped, last_error="the slot has started")
    return {"failed": failed.id, "retrying": retrying.id, "skipped": skipped.id}


@pytest.fixture
def admin(client, world):
    login(client, world.admin)
    return world.admin


def row(page: str, row_id: str) -> str:
    """One table row's text, tags removed and spaces collapsed."""
    match = re.search(rf'<tr id="{row_id}">(.*?)</tr>', page, re.S)
    assert match, f"no row {row_id}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


# --- the page ---

def test_the_page_shows_the_live_scheduler_the_jobs_and_the_outbox(client, admin, outbox):
    response = client.get(PAGE)
    assert response.status_code == 200
    page = text(response)
    assert "A scheduler is running on <strong>web-1:4242</strong>, active since 2026-12-01 07:00:00" in page
    assert "<dt>Lease runs out</dt><dd>2026-12-01 09:00:20" in page and "<dd>3 (goes up by one" in page
    assert "No scheduler is running" not in page
    assert row(page, "job-open_slots") == (
        "open_slots " + describe(JOBS["open_slots"]) + " every hour 2026-12-01 08:30 on web-1:4242 "
        "Done: 7 changed 2026-12-01 09:30 No error 12 / 0")
    assert row(page, "job-send_notifications") == (
        "send_notifications " + describe(JOBS["send_notifications"]) + " every 30 seconds 2026-12-01 08:59 "
        "on web-1:4242 Failed 2026-12-01 09:00 SMTPServerDisconnected: Connection unexpectedly closed "
        "at 2026-12-01 08:59 40 / 2")
    assert row(page, "job-no_shows") == (
        "no_shows " + describe(JOBS["no_shows"]) + " every 15 minutes Never run Never run Not planned No error 0 / 0")
    assert row(page, "outbox-email") == "E-mail 0 1 1 1"
    assert row(page, "outbox-sms") == "SMS 2 1 0 0"
    assert "1 notification skipped" in page


def test_the_page_lists_failures_masked_and_skipped_notifications(client, admin, outbox):
    page = text(client.get(PAGE))
    assert row(page, f"delivery-{outbox['failed']}") == (
        f"#{outbox['failed']} Place offered E-mail: wa***@example.com Failed 1 Not tried again 550 mailbox unavailable")
    assert row(page, f"delivery-{outbox['retrying']}") == (
        f"#{outbox['retrying']} Place offered SMS: 138****5678 Will be tried again 2 2026-12-01 09:05 "
        "gateway timeout")
    assert "wangxiuying" not in page and "13812345678" not in page
    # A pending delivery with no error is not a problem; a skipped one is listed with its notification.
    assert page.count('<tr id="delivery-') == 2
    assert row(page, f"notification-{outbox['skipped']}") == (
        f"#{outbox['skipped']} Reminder reminder:30m 2026-12-01 08:00 the slot has started")
    assert page.count('<tr id="notification-') == 1


def test_empty_states(client, admin):
    page = text(client.get(PAGE))
    assert "No scheduler is running." in page
    for job_id in JOBS:
        assert "Never run Never run Not planned No error 0 / 0" in row(page, f"job-{job_id}")
    assert row(page, "outbox-email") == "E-mail 0 0 0 0"
    assert row(page, "outbox-sms") == "SMS 0 0 0 0"
    assert "0 notifications skipped" in page
    assert "No delivery failed, and none is waiting to be tried again." in page
    assert "No notification was skipped." in page


def test_a_lease_that_ran_out_is_no_running_scheduler(client, admin, clock):
    add_lease(clock.now(), expires_in=timedelta(seconds=-5), holder="old-host:99")
    page = text(client.get(PAGE))
    assert "No scheduler is running." in page
    assert "The last one, old-host:99, stopped renewing its lease: it ran out at 2026-12-01 08:59:55" in page


def test_an_error_before_a_later_success_is_shown_but_the_last_run_succeeded(client, admin, clock):
    now = clock.now()
    with write_transaction():
        db.session.add(JobStatus(job_id="reminders", runs=5, failures=1, last_started_at=now,
                                 last_finished_at=now, last_count=0, last_error="boom",
                                 last_error_at=now - timedelta(hours=1), next_run_at=now - timedelta(minutes=2)))
    cells = row(text(client.get(PAGE)), "job-reminders")
    assert "Done: 0 changed" in cells and "Failed" not in cells
    assert "boom at 2026-12-01 08:00" in cells
    assert "2026-12-01 08:58 (overdue)" in cells


def test_the_interval_comes_from_the_settings(app, client, admin):
    app.config["JOB_INTERVALS"] = {**app.config["JOB_INTERVALS"], "no_shows": 7200, "reminders": 90}
    page = text(client.get(PAGE))
    assert "every 2 hours" in row(page, "job-no_shows")
    assert "every 90 seconds" in row(page, "job-reminders")


def test_only_admins_see_the_nav_link(client, world):
    login(client, world.admin)
    assert f'href="{PAGE}">Scheduler</a>' in text(client.get("/community/"))
    client.post("/logout")
    login(client, world.community_staff)
    assert "Scheduler</a>" not in text(client.get("/community/"))


@pytest.mark.parametrize("who", ["family", "partner_staff", "partner_manager", "community_staff"])
def test_everyone_but_admins_is_refused(client, world, who):
    user = {"family": world.family.user, "partner_staff": world.care_centre.staff,
            "partner_manager": world.care_centre.manager, "community_staff": world.community_staff}[who]
    login(client, user)
    response = client.get(PAGE)
    assert response.status_code == 403
    assert "Sorry" in text(response) and "Only administrators" in text(response)


def test_anonymous_are_sent_to_log_in(client, world):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/admin/scheduler")


def test_the_page_reads_a_fixed_number_of_statements_whatever_the_rows(client, admin, world, clock, slot):
    now = clock.now()

    def statements() -> int:
        with count_statements() as seen:
            assert client.get(PAGE).status_code == 200
        return len(seen)

    few = statements()
    add_lease(now)
    with write_transaction():
        db.session.add_all([JobStatus(job_id=job_id, runs=1, failures=1, last_started_at=now, last_finished_at=now,
                                      last_error="boom", last_error_at=now) for job_id in JOBS])
    for i in range(25):
        notification = add_notification(world, slot, now, kind=f"reminder:{i}m",
                                        skip_reason="too late" if i % 2 else None)
        add_delivery(world, notification, now, channel=Channel.email, address=f"user{i}@example.com",
                     status=DeliveryStatus.failed, last_error="refused")
        add_delivery(world, notification, now, channel=Channel.sms, address=f"1390000{i:04d}",
                     status=DeliveryStatus.pending, last_error="timeout", attempts=1)
    page = text(client.get(PAGE))
    assert page.count('<tr id="delivery-') == 20 and page.count('<tr id="notification-') == 12
    assert statements() == few


def test_the_read_model_is_six_statements(app, world, clock, outbox):
    db.session.expire_all()
    with count_statements() as seen:
        overview = scheduler_overview(clock.now())
    assert len(seen) == 6
    assert overview.running and [job.job_id for job in overview.jobs] == list(JOBS)


# --- the API ---

def test_the_api_gives_the_same_overview(client, world, outbox, bearer):
    response = call(client, "GET", "/admin/scheduler", bearer(world.admin))
    assert response.status_code == 200
    body = response.get_json()
    assert body["running"] is True and body["at"] == "2026-12-01T01:00:00+00:00"
    assert body["lease"] == {"holder": "web-1:4242", "epoch": 3, "acquired_at": "2026-11-30T23:00:00+00:00",
                             "renewed_at": "2026-12-01T00:59:50+00:00", "expires_at": "2026-12-01T01:00:20+00:00",
                             "live": True}
    jobs = {job["job_id"]: job for job in body["jobs"]}
    assert list(jobs) == list(JOBS)
    assert jobs["send_notifications"]["last_run_failed"] is True
    assert jobs["send_notifications"]["last_error"].startswith("SMTPServerDisconnected")
    assert jobs["send_notifications"]["interval_seconds"] == 30
    assert jobs["no_shows"]["never_run"] is True and jobs["no_shows"]["runs"] == 0
    assert jobs["no_shows"]["description"] == describe(JOBS["no_shows"])
    assert body["outbox"] == [{"channel": "email", "pending": 0, "sent": 1, "failed": 1, "skipped": 1},
                              {"channel": "sms", "pending": 2, "sent": 1, "failed": 0, "skipped": 0}]
    assert body["notifications_skipped"] == 1
    failures = {item["id"]: item for item in body["failed_deliveries"]}
    assert set(failures) == {outbox["failed"], outbox["retrying"]}
    assert failures[outbox["failed"]] == {
        "id": outbox["failed"], "channel": "email", "status": "failed", "address": "wa***@example.com",
        "attempts": 1, "next_attempt_at": "2026-12-01T01:05:00+00:00", "last_error": "550 mailbox unavailable",
        "topic": "place_offered"}
    assert failures[outbox["retrying"]]["address"] == "138****5678"
    assert body["skipped_notifications"] == [{"id": outbox["skipped"], "topic": "reminder", "kind": "reminder:30m",
                                              "created_at": "2026-12-01T00:00:00+00:00",
                                              "skip_reason": "the slot has started"}]


def test_the_api_when_nothing_ran(client, world, bearer):
    body = call(client, "GET", "/admin/scheduler", bearer(world.admin)).get_json()
    assert body["running"] is False and body["lease"] is None
    assert all(job["never_run"] for job in body["jobs"])
    assert body["failed_deliveries"] == [] and body["skipped_notifications"] == []
    assert [row["pending"] + row["sent"] + row["failed"] + row["skipped"] for row in body["outbox"]] == [0, 0]


@pytest.mark.parametrize("role", [Role.family, Role.partner_staff, Role.partner_manager, Role.community_staff])
def test_the_api_is_for_admins_only(client, world, bearer, role):
    user = {Role.family: world.family.user, Role.partner_staff: world.care_centre.staff,
            Role.partner_manager: world.care_centre.manager, Role.community_staff: world.community_staff}[role]
    error_of(call(client, "GET", "/admin/scheduler", bearer(user)), 403, "forbidden")


def test_the_api_needs_a_token(client, world):
    error_of(call(client, "GET", "/admin/scheduler"), 401, "not_authenticated")


# --- the helpers ---

@pytest.mark.parametrize("address, masked", [
    ("wang@example.com", "wa***@example.com"), ("ab@example.com", "a***@example.com"),
    ("a@example.com", "***@example.com"), ("no-at-sign", "***"), ("", ""), ("  ", ""),
    ('"odd@local"@example.com', '"o***@example.com'),
])
def test_mask_email(address, masked):
    assert mask_email(address) == masked


@pytest.mark.parametrize("seconds, words", [
    (1, "every second"), (30, "every 30 seconds"), (60, "every minute"), (90, "every 90 seconds"),
    (900, "every 15 minutes"), (3600, "every hour"), (5400, "every 90 minutes"), (7200, "every 2 hours"),
])
def test_every_in_words(seconds, words):
    assert every(seconds) == words
