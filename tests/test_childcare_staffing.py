"""Childcare places from the staff roster: class size, staff x ratio, recomputed on every roster change;
booked children are kept when staff drop, new ones wait, and places go to the waitlist when staff return."""
from __future__ import annotations

from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from careapp.booking import engine
from careapp.booking.models import Booking, BookingStatus
from careapp.booking.queries import slot_availability
from careapp.childcare.staffing import restaff_slots, understaffed_slots
from careapp.core.audit import AuditEntry
from careapp.core.db import db, write_transaction
from careapp.core.errors import RuleRefused
from careapp.partners import shifts
from careapp.partners.admin_services import set_account_active
from careapp.partners.models import (
    ChildClass,
    Service,
    ServiceKind,
    Shift,
    ShiftRole,
    Slot,
)
from careapp.partners.services import create_service
from tests.rosters_factories import TOMORROW, scene  # noqa: F401  (a fixture)


def staffed(slot: Slot) -> int | None:
    return db.session.scalar(sa.select(Slot.staffed_places).where(Slot.id == slot.id))


def statuses(bookings: list[Booking]) -> list[BookingStatus]:
    return [db.session.get(Booking, b.id).status for b in bookings]


def test_a_class_slot_offers_at_most_the_class_size(scene):
    with pytest.raises(RuleRefused) as refused:
        scene.slot(capacity=16)  # 托小班: at most 15
    assert refused.value.code == "capacity_above_limit"
    slot = scene.slot()
    assert slot.capacity == 15
    with pytest.raises(RuleRefused):
        engine.set_capacity(slot.id, 16, by=scene.nursery_manager, now=scene.now)


def test_a_new_class_slot_with_nobody_rostered_has_no_places_so_children_wait(scene):
    slot = scene.slot()
    assert staffed(slot) == 0 and db.session.get(Slot, slot.id).places == 0
    booking = scene.book(slot, scene.child("小明", 14))
    assert booking.status == BookingStatus.waitlisted


def test_a_slot_opened_after_the_roster_gets_its_staffed_places_at_once(scene):
    shift = scene.shift()
    scene.roster(shift, scene.staff[0], scene.staff[1])
    assert staffed(scene.slot()) == 10  # 2 staff x 5 toddlers


def test_rostering_staff_gives_places_and_hands_them_to_the_waitlist(scene):
    slot = scene.slot()
    waiting = [scene.book(slot, scene.child(f"孩子{i}", 14)) for i in range(6)]
    shift = scene.shift()
    scene.roster(shift, scene.staff[0])
    assert staffed(slot) == 5
    assert statuses(waiting) == [BookingStatus.confirmed] * 5 + [BookingStatus.waitlisted]
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "slot.restaffed")
                               .order_by(AuditEntry.id.desc())).first()
    assert (entry.before["staffed_places"], entry.after["staffed_places"], entry.after["staff"]) == (0, 5, 1)


def test_removing_a_staff_shift_lowers_places_keeps_booked_children_and_waitlists_new_ones(scene):
    """The issue's case: capacity falls when a staff shift is removed; nobody booked is dropped."""
    slot = scene.slot()
    morning = scene.shift(title="早班A")
    second = scene.shift(title="早班B")
    scene.roster(morning, scene.staff[0])
    scene.roster(second, scene.staff[1])
    assert staffed(slot) == 10
    booked = [scene.book(slot, scene.child(f"孩子{i}", 14)) for i in range(7)]
    assert statuses(booked) == [BookingStatus.confirmed] * 7

    shifts.delete_shift(second.id, by=scene.nursery_manager, now=scene.now)
    assert staffed(slot) == 5 and db.session.get(Slot, slot.id).places == 5
    assert statuses(booked) == [BookingStatus.confirmed] * 7  # kept, never silently dropped
    row = slot_availability(slot.id)
    assert row.understaffed and row.available == 0
    assert [r.slot.id for r in understaffed_slots(scene.partner_id, now=scene.now)] == [slot.id]
    late = scene.book(slot, scene.child("晚来的", 14))
    assert late.status == BookingStatus.waitlisted

    # A child leaving frees no place while the staff are short.
    engine.cancel(booked[0].id, by=scene.families[0].user, now=scene.now)
    assert statuses([late]) == [BookingStatus.waitlisted]

    # Staff come back: places return, and the waiting child gets one.
    back = scene.shift(title="早班C")
    scene.roster(back, scene.staff[2])
    assert staffed(slot) == 10
    assert statuses([late]) == [BookingStatus.confirmed]
    assert not slot_availability(slot.id).understaffed


def test_unassigning_staff_lowers_places_too(scene):
    slot = scene.slot()
    shift = scene.shift()
    scene.roster(shift, scene.staff[0], scene.staff[1])
    assert staffed(slot) == 10
    assignment = db.session.get(Shift, shift.id).assignments[0]
    shifts.unassign(shift.id, assignment.id, by=scene.nursery_manager, now=scene.now)
    assert staffed(slot) == 5


def test_switching_a_carers_account_off_and_on_moves_the_places_of_their_classes(scene):
    slot = scene.slot()
    child = scene.child("小宝", 14)
    scene.roster(scene.shift(), scene.staff[0], scene.staff[1])
    booked = [scene.book(slot, scene.child(f"孩{i}", 14)) for i in range(6)]
    assert staffed(slot) == 10
    set_account_active(scene.staff[1].id, False, by=scene.nursery_manager, now=scene.now)
    assert staffed(slot) == 5
    # The six booked children keep their places; the next one waits.
    assert {db.session.get(Booking, b.id).status for b in booked} == {BookingStatus.confirmed}
    assert scene.book(slot, child).status == BookingStatus.waitlisted
    set_account_active(scene.staff[1].id, True, by=scene.nursery_manager, now=scene.now)
    assert staffed(slot) == 10


def test_editing_a_shift_moves_places_between_days_and_classes(scene):
    tomorrow = scene.slot()
    next_day = scene.slot(day=TOMORROW + timedelta(days=1))
    infants = scene.slot(scene.infants)
    shift = scene.shift()
    scene.roster(shift, scene.staff[0])
    assert (staffed(tomorrow), staffed(next_day), staffed(infants)) == (5, 0, 0)
    shifts.update_shift(shift.id, day=TOMORROW + timedelta(days=1), by=scene.nursery_manager, now=scene.now)
    assert (staffed(tomorrow), staffed(next_day), staffed(infants)) == (0, 5, 0)
    shifts.update_shift(shift.id, service_id=scene.infants.id, day=TOMORROW, by=scene.nursery_manager,
                        now=scene.now)
    assert (staffed(tomorrow), staffed(next_day), staffed(infants)) == (0, 0, 3)  # 乳儿班 1 : 3


def test_only_staff_covering_the_whole_slot_count_and_volunteers_never_do(scene):
    slot = scene.slot(start=time(8, 30), end=time(16, 30))
    short = scene.shift(title="上午", start=time(8), end=time(12))
    scene.roster(short, scene.staff[0])
    assert staffed(slot) == 0  # 08:00-12:00 does not cover until 16:30
    afternoon = scene.shift(title="下午", start=time(12), end=time(17))
    scene.roster(afternoon, scene.staff[0])
    assert staffed(slot) == 5  # the same person back to back covers the whole day
    helpers = scene.shift(title="志愿", start=time(8), end=time(17), role=ShiftRole.volunteer)
    scene.roster(helpers, scene.volunteer)
    assert staffed(slot) == 5
    general = scene.shift(title="园区值班", start=time(8), end=time(17), service=None)
    scene.roster(general, scene.staff[1])
    assert staffed(slot) == 5  # a shift for the point in general staffs no class


def test_a_deactivated_staff_account_no_longer_counts_when_the_roster_is_next_recomputed(scene):
    slot = scene.slot()
    shift = scene.shift()
    scene.roster(shift, scene.staff[0], scene.staff[1])
    with write_transaction():
        db.session.get(type(scene.staff[1]), scene.staff[1].id).active = False
        restaff_slots(scene.toddlers.id, TOMORROW, now=scene.now, by=scene.nursery_manager)
    assert staffed(slot) == 5


def test_the_service_can_set_its_own_class_size_and_ratio(scene):
    after_school = create_service(partner_id=scene.partner_id, kind=ServiceKind.childcare, name="四点半课堂",
                                  capacity=20, service_point_id=scene.point.id, by=scene.nursery_manager,
                                  now=scene.now, child_class=ChildClass.after_school, class_size=20,
                                  children_per_staff=10)
    with pytest.raises(RuleRefused):
        scene.slot(after_school, start=time(16, 30), end=time(18, 30), capacity=21)
    slot = scene.slot(after_school, start=time(16, 30), end=time(18, 30))
    shift = scene.shift(service=after_school, start=time(16), end=time(19), title="课堂")
    scene.roster(shift, scene.staff[0])
    assert staffed(slot) == 10


def test_after_school_care_without_its_own_numbers_falls_back_to_25_and_1_to_12(scene):
    from careapp.childcare.policy import children_per_staff, class_size

    service = Service(kind=ServiceKind.childcare, child_class=ChildClass.after_school)
    assert (class_size(service), children_per_staff(service)) == (25, 12)
    mixed = Service(kind=ServiceKind.childcare, child_class=ChildClass.mixed)
    assert (class_size(mixed), children_per_staff(mixed)) == (18, 5)


def test_a_childcare_service_without_a_class_or_ratio_is_not_limited_by_staffing(scene):
    plain = create_service(partner_id=scene.partner_id, kind=ServiceKind.childcare, name="亲子活动", capacity=8,
                           service_point_id=scene.point.id, by=scene.nursery_manager, now=scene.now)
    slot = scene.slot(plain)
    assert staffed(slot) is None and db.session.get(Slot, slot.id).places == 8
    assert scene.book(slot, scene.child("小明", 20)).status == BookingStatus.confirmed


def test_ended_slots_are_left_as_they_were(scene, clock):
    today_slot = scene.slot(day=scene.now.date(), start=time(9, 30), end=time(10, 30))
    shift = scene.shift(day=scene.now.date(), start=time(9), end=time(12))
    scene.roster(shift, scene.staff[0])
    assert staffed(today_slot) == 5
    clock.set(scene.now + timedelta(hours=2))  # 11:00, the slot is over
    with write_transaction():
        restaff_slots(scene.toddlers.id, scene.now.date(), now=clock.now(), by=scene.nursery_manager)
        assignment = db.session.get(Shift, shift.id).assignments[0]
    shifts.unassign(shift.id, assignment.id, by=scene.nursery_manager, now=clock.now())
    assert staffed(today_slot) == 5


def test_switching_a_staff_account_off_can_recompute_its_classes(scene):
    from careapp.childcare.staffing import restaff_for_user

    slot, next_day = scene.slot(), scene.slot(day=TOMORROW + timedelta(days=1))
    for day in (TOMORROW, TOMORROW + timedelta(days=1)):
        scene.roster(scene.shift(day=day), scene.staff[0], scene.staff[1])
    assert (staffed(slot), staffed(next_day)) == (10, 10)
    with write_transaction():
        db.session.get(type(scene.staff[1]), scene.staff[1].id).active = False
        changed = restaff_for_user(scene.staff[1].id, now=scene.now, by=scene.admin)
    assert {s.id for s in changed} == {slot.id, next_day.id}
    assert (staffed(slot), staffed(next_day)) == (5, 5)
