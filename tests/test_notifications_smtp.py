"""E-mail through a real SMTP server on localhost (aiosmtpd): what arrives, once; retries while the
server is down; refusals; a sender that lost its claim sends nothing; the scheduler down for two hours."""
from __future__ import annotations

from datetime import time, timedelta

import pytest

from careapp.booking import engine
from careapp.core.db import db, write_transaction
from careapp.core.timefmt import from_local, local_date
from careapp.notifications import delivery as delivery_module
from careapp.notifications.delivery import backoff, send_due
from careapp.notifications.models import Channel, Delivery, DeliveryStatus, NotificationStatus
from careapp.scheduler.jobs import reminders_job, send_notifications_job
from tests.factories import make_slot
from tests.notification_helpers import deliveries, family_with_email, notifications
from tests.smtp_server import SmtpServer


@pytest.fixture
def smtp(app):
    server = SmtpServer().start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_SENDER="care@zhelu.example",
                      SMS_BACKEND="off", MAIL_TIMEOUT=5)
    yield server
    server.stop()


def book_families(world, clock, count: int, *, start=time(9, 0), days_ahead=1):
    """``count`` families with e-mail, each with an elder booked into one day-care slot."""
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=count, days_ahead=days_ahead,
                     start=start)
    families = []
    for i in range(count):
        family = family_with_email(world.building, now, f"家{i}", f"family{i}@example.com")
        elder = family.add_elder(now, name=f"老人{i}")
        engine.book(slot.id, elder.id, by=family.user, now=now)
        families.append(family)
    return slot, families


def test_each_reminder_arrives_once_with_recipient_subject_and_local_time(world, clock, smtp):
    slot, families = book_families(world, clock, 3)
    eve = from_local(local_date(clock.now()), time(18, 0))
    assert reminders_job(eve) == 3
    assert send_notifications_job(eve) == 3
    assert send_notifications_job(eve + timedelta(minutes=1)) == 0
    received = sorted(smtp.received, key=lambda r: r.recipients[0])
    assert [r.recipients for r in received] == [[f"family{i}@example.com"] for i in range(3)]
    for i, message in enumerate(received):
        assert message.sender == "care@zhelu.example"
        assert message.subject == f"提醒：老人{i} 2026年12月2日 星期三 09:00 日间照料"
        # 09:00 local (Asia/Shanghai) is 01:00 UTC: the text says the local time.
        assert "2026年12月2日 星期三 09:00–12:00" in message.body and "01:00" not in message.body
        assert "普康养老服务中心" in message.body
    assert len({r.message_id for r in received}) == 3
    assert {d.status for d in deliveries()} == {DeliveryStatus.sent}


def test_an_english_reader_gets_english(world, clock, smtp):
    slot, [family] = book_families(world, clock, 1)
    with write_transaction():
        db.session.merge(family.user).language = "en"
    reminders_job(slot.starts_at - timedelta(hours=1))
    send_due(now=slot.starts_at - timedelta(hours=1))
    [message] = smtp.received
    assert message.subject == "Reminder: 老人0, 日间照料, Wednesday 2 December 2026 09:00"
    assert "09:00-12:00" in message.body


def test_while_smtp_is_down_messages_wait_with_backoff_and_go_when_it_returns(world, clock, smtp):
    slot, families = book_families(world, clock, 2)
    now = from_local(local_date(clock.now()), time(18, 0))
    reminders_job(now)
    smtp.stop()
    assert send_due(now=now) == 0
    waiting = deliveries()
    assert {(d.status, d.attempts) for d in waiting} == {(DeliveryStatus.pending, 1)}
    assert all(d.next_attempt_at == now + timedelta(seconds=30) for d in waiting)
    assert "cannot reach the mail server" in waiting[0].last_error
    assert send_due(now=now + timedelta(seconds=29)) == 0  # not yet due again: nothing tried
    assert {d.attempts for d in deliveries()} == {1}
    assert send_due(now=now + timedelta(seconds=30)) == 0  # tried again, still down: waits twice as long
    assert {(d.attempts, d.next_attempt_at) for d in deliveries()} == {(2, now + timedelta(seconds=90))}
    smtp.start()
    assert send_due(now=now + timedelta(seconds=90)) == 2
    assert len(smtp.received) == 2 and {d.status for d in deliveries()} == {DeliveryStatus.sent}


def test_backoff_doubles_up_to_fifteen_minutes():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4, 5, 6, 7, 10)] == [
        30, 60, 120, 240, 480, 900, 900, 900]


def test_a_message_still_failing_after_the_retry_window_is_failed(app, world, clock, smtp):
    now = clock.now()
    slot, [holder, waiter] = book_families(world, clock, 2, days_ahead=5)
    engine.set_capacity(slot.id, 3, by=world.care_centre.manager, now=now)
    third = family_with_email(world.building, now, "第三家", "third@example.com")
    engine.set_capacity(slot.id, 2, by=world.care_centre.manager, now=now)
    waiting = engine.book(slot.id, third.add_elder(now, name="第三位").id, by=third.user, now=now).booking
    engine.set_capacity(slot.id, 3, by=world.care_centre.manager, now=now)  # 第三家 is confirmed and told
    [delivery] = deliveries()
    assert delivery.address == "third@example.com" and waiting.id is not None
    smtp.stop()
    send_due(now=now)
    window = timedelta(hours=app.config["MAIL_GIVE_UP_HOURS"])
    send_due(now=now + window - timedelta(seconds=1))
    assert deliveries()[0].status == DeliveryStatus.pending
    send_due(now=now + window + timedelta(minutes=1))  # the next try, past the window
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.failed, 3)
    assert delivery.last_error.startswith("gave up after 3 attempts: cannot reach the mail server")
    smtp.start()
    assert send_due(now=now + window + timedelta(hours=1)) == 0 and smtp.received == []  # never again


def test_a_refused_mailbox_fails_at_once_and_is_not_retried(world, clock, smtp):
    slot, families = book_families(world, clock, 1)
    now = slot.starts_at - timedelta(hours=1)
    reminders_job(now)
    smtp.recorder.refuse = "550 5.1.1 no such mailbox"
    assert send_due(now=now) == 0
    [delivery] = deliveries()
    assert delivery.status == DeliveryStatus.failed and "550" in delivery.last_error
    smtp.recorder.refuse = None
    assert send_due(now=now + timedelta(hours=1)) == 0 and smtp.received == []


def test_a_temporary_refusal_after_the_data_is_taken_back_and_retried(world, clock, smtp):
    slot, families = book_families(world, clock, 1)
    now = slot.starts_at - timedelta(hours=1, minutes=30)
    reminders_job(now)  # the evening reminder, written late (the family booked in the morning)
    smtp.recorder.refuse = "451 4.3.0 try again later"
    assert send_due(now=now) == 0
    [delivery] = deliveries()
    # Recorded sent, then taken back when the server refused after the data: one attempt, retried in 30 s.
    assert (delivery.status, delivery.sent_at, delivery.attempts) == (DeliveryStatus.pending, None, 1)
    assert delivery.last_error.startswith("451")
    smtp.recorder.refuse = None
    assert send_due(now=now + timedelta(seconds=30)) == 1 and len(smtp.received) == 1


def test_a_sender_whose_claim_was_taken_over_sends_nothing(world, clock, smtp, monkeypatch):
    """Fencing: a stalled sender that lost its claim to a new active scheduler cannot record the message
    sent, so it drops the connection before the final '.' and the server discards the message."""
    slot, families = book_families(world, clock, 1)
    now = slot.starts_at - timedelta(hours=1)
    reminders_job(now)
    real_record = delivery_module._record_sent

    def taken_over_meanwhile(delivery_ids, token, at, *recorder):
        with write_transaction():
            for delivery_id in delivery_ids:
                db.session.get(Delivery, delivery_id).claim_token = "another-scheduler"
        return real_record(delivery_ids, token, at, *recorder)

    monkeypatch.setattr(delivery_module, "_record_sent", taken_over_meanwhile)
    assert send_due(now=now) == 0
    assert smtp.received == []
    [delivery] = deliveries()
    assert (delivery.status, delivery.claim_token) == (DeliveryStatus.pending, "another-scheduler")


def test_a_reminder_whose_slot_started_before_it_could_be_sent_is_skipped(world, clock, smtp):
    slot, families = book_families(world, clock, 1)
    reminders_job(slot.starts_at - timedelta(minutes=30))
    assert send_due(now=slot.starts_at) == 0
    [delivery] = deliveries()
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.skipped, "the slot had already started")
    assert smtp.received == []


def test_after_two_hours_down_the_useful_reminders_are_sent_and_the_stale_ones_skipped(world, clock, smtp):
    """The scheduler last ran at 08:00 local and comes back at 10:00. Slots at 09:00 and 09:30 started
    meanwhile: their reminders are recorded skipped. The 10:30 and 11:00 slots' hour-before reminders fell
    due in the outage and are still useful: they are sent (their evening reminders were sent on time)."""
    day = local_date(clock.now()) + timedelta(days=1)
    starts = [time(9, 0), time(9, 30), time(10, 30), time(11, 0)]
    slots = {}
    for start in starts:
        slot, _ = book_families(world, clock, 1, start=start)
        slots[start] = slot
    evening = from_local(day - timedelta(days=1), time(18, 0))
    reminders_job(evening)
    send_due(now=evening)
    assert len(smtp.received) == 4
    last_run = from_local(day, time(8, 0))
    assert reminders_job(last_run) == 1  # the 09:00 slot's hour-before reminder
    send_due(now=last_run)
    assert len(smtp.received) == 5
    back = from_local(day, time(10, 0))  # two hours later
    assert reminders_job(back) == 2
    assert send_notifications_job(back) == 2
    hour_before = {n.slot_id: n for n in notifications() if n.kind == "reminder:60m"}
    assert hour_before[slots[time(9, 30)].id].status == NotificationStatus.skipped
    assert hour_before[slots[time(9, 30)].id].skip_reason == "the slot had already started"
    assert all(hour_before[slots[t].id].status == NotificationStatus.active for t in (time(9), time(10, 30),
                                                                                       time(11)))
    late = [r for r in smtp.received[5:]]
    assert sorted(r.subject.split()[-2] for r in late) == ["10:30", "11:00"]
    assert len(smtp.received) == 7


def test_sms_goes_through_the_logging_channel_by_default(app, world, clock, caplog):
    app.config["SMS_BACKEND"] = "log"
    slot, families = book_families(world, clock, 1)
    now = slot.starts_at - timedelta(hours=1)
    reminders_job(now)
    with caplog.at_level("INFO", logger="careapp.notifications"):
        assert send_due(now=now) == 1
    [delivery] = deliveries(channel=Channel.sms)
    assert delivery.status == DeliveryStatus.sent
    phone = families[0].user.login
    assert f"{phone[:3]}****{phone[-4:]}" in caplog.text and phone not in caplog.text
    assert "老人0" in caplog.text


def test_an_sms_backend_that_cannot_be_loaded_leaves_messages_waiting(app, world, clock):
    app.config["SMS_BACKEND"] = "no.such.module:Sender"
    slot, families = book_families(world, clock, 1)
    now = slot.starts_at - timedelta(hours=1)
    reminders_job(now)
    assert send_due(now=now) == 0
    [delivery] = deliveries(channel=Channel.sms)
    assert delivery.status == DeliveryStatus.pending and "cannot be loaded" in delivery.last_error


def test_an_address_no_smtp_server_takes_fails_that_message_only(world, clock, smtp):
    slot, families = book_families(world, clock, 2)
    with write_transaction():
        db.session.merge(families[0].user).email = "王家@例子.中国"
    now = slot.starts_at - timedelta(hours=1)
    reminders_job(now)
    assert send_due(now=now) == 1
    statuses = {d.address: (d.status, d.last_error) for d in deliveries()}
    assert statuses["王家@例子.中国"][0] == DeliveryStatus.failed
    assert "characters an SMTP server cannot take" in statuses["王家@例子.中国"][1]
    assert statuses["family1@example.com"] == (DeliveryStatus.sent, None)


def test_an_unexpected_error_in_one_delivery_leaves_it_waiting_and_the_batch_goes_on(world, clock, smtp,
                                                                                    monkeypatch):
    from careapp.notifications import channels

    slot, families = book_families(world, clock, 2)
    now = slot.starts_at - timedelta(hours=1)
    reminders_job(now)
    real_message = channels.SmtpSender.message

    def broken_for_one(self, address, text, message_id):
        if address == "family0@example.com":
            raise ValueError("a bug")
        return real_message(self, address, text, message_id)

    monkeypatch.setattr(channels.SmtpSender, "message", broken_for_one)
    assert send_due(now=now) == 1
    statuses = {d.address: (d.status, d.attempts) for d in deliveries()}
    assert statuses == {"family0@example.com": (DeliveryStatus.pending, 1),
                        "family1@example.com": (DeliveryStatus.sent, 1)}
