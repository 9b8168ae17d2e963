"""No-shows: partner staff record one from the slot's start; after a slot ends, a job marks every confirmed
booking that never checked in. Only confirmed bookings become no-shows, and running the job twice changes
nothing more."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from careapp.booking import engine
from careapp.booking.models import HOLDS_PLACE, Booking, BookingStatus
from careapp.core.audit import AuditEntry
from careapp.core.db import db
from careapp.core.errors import Conflict, Forbidden, RuleRefused
from tests.enrolments_factories import elder_in_own_household
from tests.factories import make_slot


def status_of(booking: Booking) -> BookingStatus:
    db.session.rollback()
    return db.session.get(Booking, booking.id).status


@pytest.fixture
def day(world, clock):
    """Tomorrow 08:30-11:30, 2 places: 甲 and 乙 confirmed, 丙 waitlisted."""
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now)
    bookings = {}
    for name in ("甲", "乙", "丙"):
        family, elder = elder_in_own_household(world, now, name)
        bookings[name] = engine.book(slot.id, elder.id, by=family.user, now=now).booking
    return slot, bookings


def test_staff_record_a_no_show_from_the_start(world, clock, day):
    slot, bookings = day
    clock.set(slot.starts_at)
    booking = engine.mark_no_show(bookings["甲"].id, by=world.care_centre.staff, now=clock.now())
    assert booking.status == BookingStatus.no_show and booking.status in HOLDS_PLACE  # the place stays used
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "booking.no_show")).one()
    assert (entry.actor_id, entry.object_id) == (world.care_centre.staff.id, booking.id)


def test_not_before_the_start(world, clock, day):
    slot, bookings = day
    clock.set(slot.starts_at - timedelta(minutes=1))
    with pytest.raises(RuleRefused) as refused:
        engine.mark_no_show(bookings["甲"].id, by=world.care_centre.staff, now=clock.now())
    assert refused.value.code == "too_early"
    assert status_of(bookings["甲"]) == BookingStatus.confirmed


@pytest.mark.parametrize("who", ["family", "other_partner", "community_staff"])
def test_only_this_partners_staff(world, clock, day, who):
    slot, bookings = day
    clock.set(slot.starts_at + timedelta(minutes=30))
    user = {"family": world.family.user, "other_partner": world.nursery.staff,
            "community_staff": world.community_staff}[who]
    with pytest.raises(Forbidden):
        engine.mark_no_show(bookings["甲"].id, by=user, now=clock.now())
    assert status_of(bookings["甲"]) == BookingStatus.confirmed


def test_only_a_confirmed_booking(world, clock, day):
    slot, bookings = day
    clock.set(slot.starts_at + timedelta(minutes=5))
    staff = world.care_centre.staff
    engine.check_in(bookings["乙"].id, by=staff, now=clock.now())
    for name, status in (("乙", BookingStatus.checked_in), ("丙", BookingStatus.waitlisted)):
        with pytest.raises(Conflict) as refused:
            engine.mark_no_show(bookings[name].id, by=staff, now=clock.now())
        assert refused.value.code == "wrong_state"
        assert status_of(bookings[name]) == status
    engine.mark_no_show(bookings["甲"].id, by=staff, now=clock.now())
    with pytest.raises(Conflict):  # twice is not a second no-show
        engine.mark_no_show(bookings["甲"].id, by=staff, now=clock.now())


def test_the_job_marks_confirmed_bookings_only_after_the_slot_ends_and_only_once(world, clock, day):
    slot, bookings = day
    clock.set(slot.starts_at + timedelta(minutes=10))
    engine.check_in(bookings["乙"].id, by=world.care_centre.staff, now=clock.now())
    clock.set(slot.ends_at - timedelta(seconds=1))
    assert engine.mark_no_shows(now=clock.now()) == 0
    assert status_of(bookings["甲"]) == BookingStatus.confirmed
    clock.set(slot.ends_at)
    assert engine.mark_no_shows(now=clock.now()) == 1
    assert [status_of(bookings[name]) for name in ("甲", "乙", "丙")] == \
        [BookingStatus.no_show, BookingStatus.checked_in, BookingStatus.waitlisted]
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "booking.no_show")).one()
    assert entry.actor_id is None  # the system acted
    clock.advance(hours=1)
    assert engine.mark_no_shows(now=clock.now()) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "booking.no_show")) == 1


def test_the_job_leaves_slots_still_running_alone(world, clock, day):
    slot, _ = day
    later = make_slot(world.daycare, world.care_centre.manager, world.now, days_ahead=2)
    family, elder = elder_in_own_household(world, world.now, "丁")
    waiting = engine.book(later.id, elder.id, by=family.user, now=world.now).booking
    clock.set(slot.ends_at + timedelta(minutes=1))
    assert engine.mark_no_shows(now=clock.now()) == 2
    assert status_of(waiting) == BookingStatus.confirmed

