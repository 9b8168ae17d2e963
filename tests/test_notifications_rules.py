"""What is written to the outbox, and when: notices in the engine's own transactions, reminders at their
lead times (stale ones skipped), the kitchen sheet at the meal cutoff, waitlists filled and closed."""
from __future__ import annotations

from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from careapp.booking import engine
from careapp.booking.models import Booking, BookingStatus, EndReason
from careapp.core.db import db, write_transaction
from careapp.core.errors import RuleRefused
from careapp.core.timefmt import from_local, local_date
from careapp.meals.models import MealMode
from careapp.notifications.models import Channel, DeliveryStatus, NotificationStatus, Topic
from careapp.notifications.outbox import render
from careapp.notifications.reminders import Lead, parse_leads
from careapp.partners.models import FillPolicy, Service, Slot
from careapp.scheduler.jobs import fill_places_job, kitchen_sheets_job, reminders_job
from tests.factories import make_family, make_slot
from tests.notification_helpers import deliveries, family_with_email, notifications


@pytest.fixture
def mail_on(app):
    app.config["MAIL_SERVER"] = "127.0.0.1"  # deliveries are written; nothing here sends them


def full_slot(world, clock, *, fill_policy=FillPolicy.auto, capacity=1, offer_hours=24):
    """A day-care slot tomorrow whose one place is taken by 李家, with 张家 waiting."""
    now = clock.now()
    with write_transaction():
        service = db.session.get(Service, world.daycare.id)
        service.fill_policy, service.offer_hours = fill_policy, offer_hours
    slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=capacity)
    holder = world.family.add_elder(now, name="李奶奶")
    waiter = world.other_family.add_elder(now, name="张爷爷")
    first = engine.book(slot.id, holder.id, by=world.family.user, now=now).booking
    second = engine.book(slot.id, waiter.id, by=world.other_family.user, now=now).booking
    assert second.status == BookingStatus.waitlisted
    return slot, first, second


# --- notices written by the engine, in the same transaction as the change ---

def test_a_cancellation_that_confirms_the_next_in_line_tells_that_family(world, clock):
    slot, first, second = full_slot(world, clock)
    engine.cancel(first.id, by=world.family.user, now=clock.now())
    [notice] = notifications()
    assert (notice.topic, notice.kind, notice.booking_id) == (Topic.waitlist_confirmed, "waitlist_confirmed", second.id)
    assert notice.household_id == world.other_family.household.id and notice.read_at is None
    text = render(notice, "zh_CN")
    assert "张爷爷" in text.subject and "候补成功" in text.subject
    assert "08:30" in text.body and "日间照料" in text.body
    assert "Good news" in render(notice, "en").body


def test_an_offered_place_says_until_when_in_local_time(world, clock):
    slot, first, second = full_slot(world, clock, fill_policy=FillPolicy.offer)
    engine.cancel(first.id, by=world.family.user, now=clock.now())
    [notice] = notifications()
    assert notice.topic == Topic.place_offered
    local = render(notice, "en").body
    # offer_hours 24 from Tuesday 09:00 is capped at the slot's start, Wednesday 08:30 local.
    assert "Wednesday 2 December 2026 08:30" in local


def test_a_rolled_back_change_leaves_no_notice(world, clock):
    slot, first, second = full_slot(world, clock)
    with pytest.raises(RuleRefused):
        engine.cancel(first.id, by=world.family.user, now=slot.starts_at + timedelta(minutes=1))
    assert notifications() == []


def test_a_partner_cancelling_a_slot_tells_every_household_once(world, clock):
    slot, first, second = full_slot(world, clock)
    engine.cancel_slot(slot.id, by=world.care_centre.manager, now=clock.now())
    notices = notifications(topic=Topic.slot_cancelled)
    assert sorted(n.booking_id for n in notices) == sorted([first.id, second.id])
    assert "取消" in render(notices[0], "zh_CN").subject


def test_notices_get_an_email_delivery_per_family_account_with_an_address(app, world, clock, mail_on):
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=1)
    holder = family_with_email(world.building, now, "周家", "zhou@example.com")
    waiter = family_with_email(world.building, now, "吴家", "wu@example.com")
    first = engine.book(slot.id, holder.add_elder(now).id, by=holder.user, now=now).booking
    engine.book(slot.id, waiter.add_elder(now, name="吴奶奶").id, by=waiter.user, now=now)
    engine.cancel(first.id, by=holder.user, now=now)
    [email_delivery, sms_delivery] = sorted(deliveries(), key=lambda d: d.channel.value)
    assert (email_delivery.channel, email_delivery.address, email_delivery.user_id) == (
        Channel.email, "wu@example.com", waiter.user.id)
    assert sms_delivery.channel == Channel.sms and sms_delivery.address == waiter.user.login
    assert email_delivery.status == DeliveryStatus.pending and email_delivery.language == "zh_CN"


def test_without_a_mail_server_no_email_is_queued(app, world, clock):
    app.config["SMS_BACKEND"] = "off"
    slot, first, second = full_slot(world, clock)
    engine.cancel(first.id, by=world.family.user, now=clock.now())
    assert len(notifications()) == 1 and deliveries() == []


# --- the fill job ---

def test_fill_job_gives_a_place_freed_without_a_handover_to_the_waitlist_head(world, clock):
    slot, first, second = full_slot(world, clock)
    with write_transaction():  # e.g. a capacity raised by hand in the database, or a race with a cutoff
        db.session.get(Slot, slot.id).capacity = 2
    assert fill_places_job(clock.now()) == 1
    db.session.refresh(second)
    assert second.status == BookingStatus.confirmed
    assert [n.topic for n in notifications()] == [Topic.waitlist_confirmed]
    assert fill_places_job(clock.now()) == 0


def test_fill_job_closes_the_waitlist_at_the_booking_cutoff_and_tells_those_still_waiting(world, clock):
    slot, first, second = full_slot(world, clock)
    closes = slot.starts_at  # day care closes at the start by default
    assert fill_places_job(closes - timedelta(minutes=1)) == 0
    assert fill_places_job(closes) == 1
    db.session.refresh(second)
    assert (second.status, second.end_reason) == (BookingStatus.cancelled, EndReason.waitlist_closed)
    [notice] = notifications()
    assert notice.topic == Topic.waitlist_closed and notice.booking_id == second.id
    assert "没有等到空位" in render(notice, "zh_CN").body
    assert fill_places_job(closes) == 0


def test_fill_job_expires_offers_and_passes_the_place_on(world, clock):
    now = clock.now()
    slot, first, second = full_slot(world, clock, fill_policy=FillPolicy.offer, offer_hours=2)
    third_family = make_family(world.building, now, "赵家")
    third = engine.book(slot.id, third_family.add_elder(now, name="赵奶奶").id, by=third_family.user, now=now).booking
    engine.cancel(first.id, by=world.family.user, now=now)
    clock.advance(hours=1)  # the offer is held for 2 hours
    assert fill_places_job(clock.now()) == 0
    db.session.refresh(second)
    assert fill_places_job(second.offer_expires_at) == 1
    assert [(n.topic, n.booking_id) for n in notifications()] == [
        (Topic.place_offered, second.id), (Topic.place_offered, third.id)]


# --- reminders ---

def test_reminder_leads_are_parsed_with_clear_refusals():
    assert parse_leads("eve@18:00, 1h, 90m") == (Lead(evening_at=time(18)), Lead(before=timedelta(hours=1)),
                                                  Lead(before=timedelta(minutes=90)))
    for bad in ("tomorrow", "eve@25:00", "0m", "1h,60m"):
        with pytest.raises(ValueError):
            parse_leads(bad)


def booked_tomorrow(world, clock, start=time(9, 0)):
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now, start=start)
    elder = world.family.add_elder(now)
    return slot, engine.book(slot.id, elder.id, by=world.family.user, now=now).booking


def test_the_evening_reminder_is_due_at_1800_local_the_day_before(world, clock):
    slot, booking = booked_tomorrow(world, clock)
    eve = from_local(local_date(clock.now()), time(18, 0))
    assert reminders_job(eve - timedelta(seconds=1)) == 0
    assert reminders_job(eve) == 1
    assert reminders_job(eve + timedelta(minutes=1)) == 0  # once
    [notice] = notifications()
    assert (notice.kind, notice.status) == ("reminder:eve@18:00", NotificationStatus.active)
    assert "09:00" in render(notice, "zh_CN").body


def test_the_hour_before_reminder_follows_and_both_are_written_once(world, clock):
    slot, booking = booked_tomorrow(world, clock)
    reminders_job(from_local(local_date(clock.now()), time(18, 0)))
    assert reminders_job(slot.starts_at - timedelta(hours=1)) == 1
    assert [n.kind for n in notifications()] == ["reminder:eve@18:00", "reminder:60m"]


def test_a_cancelled_booking_gets_no_reminder(world, clock):
    slot, booking = booked_tomorrow(world, clock)
    engine.cancel(booking.id, by=world.family.user, now=clock.now())
    assert reminders_job(slot.starts_at - timedelta(minutes=30)) == 0
    assert notifications() == []


def test_when_two_reminders_are_due_together_only_the_later_is_sent(world, clock):
    slot, booking = booked_tomorrow(world, clock)
    assert reminders_job(slot.starts_at - timedelta(minutes=30)) == 1
    eve, hour = notifications()
    assert (eve.status, eve.skip_reason) == (NotificationStatus.skipped, "a later reminder replaces it")
    assert hour.status == NotificationStatus.active


def test_a_reminder_whose_slot_has_started_is_skipped_not_sent(world, clock):
    slot, booking = booked_tomorrow(world, clock)
    assert reminders_job(slot.starts_at + timedelta(minutes=5)) == 0
    assert {(n.status, n.skip_reason) for n in notifications()} == {
        (NotificationStatus.skipped, "the slot had already started")}


def test_a_booking_made_after_a_reminder_was_due_gets_no_such_reminder(world, clock):
    clock.set(from_local(local_date(clock.now()), time(20, 0)))  # booked at 20:00 for 09:00 tomorrow
    slot, booking = booked_tomorrow(world, clock)
    assert reminders_job(clock.now()) == 0
    [eve] = notifications()
    assert eve.skip_reason == "booked after this reminder was due"
    assert reminders_job(slot.starts_at - timedelta(hours=1)) == 1


def test_reminder_lead_times_are_a_setting(app, world, clock):
    app.config["REMINDERS"] = parse_leads("2h")
    slot, booking = booked_tomorrow(world, clock)
    assert reminders_job(slot.starts_at - timedelta(hours=2)) == 1
    assert [n.kind for n in notifications()] == ["reminder:120m"]


def test_meals_get_no_reminders(world, clock):
    now = clock.now()
    lunch = make_slot(world.care_centre.services["午餐"], world.care_centre.manager, now, start=time(11, 30), hours=1)
    elder = world.family.add_elder(now)
    engine.book(lunch.id, elder.id, by=world.family.user, now=now, options={"mode": MealMode.dine_in.value})
    assert reminders_job(lunch.starts_at - timedelta(minutes=30)) == 0
    assert notifications() == []


# --- the kitchen sheet ---

def test_the_kitchen_sheet_goes_to_the_canteen_at_the_meal_cutoff(world, clock):
    now = clock.now()
    lunch = make_slot(world.care_centre.services["午餐"], world.care_centre.manager, now, start=time(11, 30), hours=1)
    for name in ("甲", "乙"):
        elder = world.family.add_elder(now, name=f"{name}奶奶")
        engine.book(lunch.id, elder.id, by=world.family.user, now=now,
                    options={"mode": MealMode.delivery.value if name == "甲" else MealMode.dine_in.value})
    cutoff = from_local(local_date(lunch.starts_at), time(9, 0))
    assert kitchen_sheets_job(cutoff - timedelta(minutes=1)) == 0
    assert kitchen_sheets_job(cutoff) == 1
    assert kitchen_sheets_job(cutoff) == 0
    [sheet] = notifications()
    assert sheet.partner_id == world.care_centre.partner.id and sheet.household_id is None
    body = render(sheet, "zh_CN").body
    assert "总份数: 2" in body and "送餐上门 × 1" in body and "堂食 × 1" in body
    assert "Meals in all: 2" in render(sheet, "en").body


def test_a_kitchen_sheet_whose_meal_has_started_is_recorded_skipped(world, clock):
    lunch = make_slot(world.care_centre.services["午餐"], world.care_centre.manager, clock.now(),
                      start=time(11, 30), hours=1)
    assert kitchen_sheets_job(lunch.starts_at + timedelta(minutes=10)) == 0
    [sheet] = notifications()
    assert (sheet.status, sheet.skip_reason) == (NotificationStatus.skipped, "the meal had already started")


def test_a_second_writer_cannot_add_the_same_notice(world, clock):
    """The unique constraint is the last word: a second row of one booking and kind is refused."""
    from careapp.notifications.outbox import add_once, booking_notification

    slot, first, second = full_slot(world, clock)
    engine.cancel(first.id, by=world.family.user, now=clock.now())
    with write_transaction():
        booking = db.session.get(Booking, second.id)
        assert add_once(booking_notification(booking, Topic.waitlist_confirmed, "waitlist_confirmed",
                                             now=clock.now())) is None
    assert len(notifications()) == 1
    # ... and the database refuses one that gets past the check.
    from careapp.notifications.models import Notification
    with pytest.raises(sa.exc.IntegrityError):
        with write_transaction():
            booking = db.session.get(Booking, second.id)
            db.session.add(booking_notification(booking, Topic.waitlist_confirmed, "waitlist_confirmed",
                                                now=clock.now()))
            db.session.flush()
    assert len(notifications()) == 1 and isinstance(notifications()[0], Notification)
