"""Standing enrolments: enrolling, booking each new slot in enrolment order, pausing, resuming, ending.

Tuesday 1 December 2026, 09:00 in the sub-district (the frozen clock). A Mon/Wed/Fri morning session opens
Wed 2, Fri 4, Mon 7, Wed 9, Fri 11 and Mon 14 December.
"""
from __future__ import annotations

from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa

from careapp.booking import engine
from careapp.booking.models import Booking, BookingStatus, Enrolment, EnrolmentStatus
from careapp.core.audit import AuditEntry
from careapp.core.db import db, write_transaction
from careapp.core.errors import BadInput, Conflict, Forbidden, RuleRefused
from careapp.core.timefmt import from_local, local_date, to_local
from careapp.enrolments.services import book_enrolments, end, enrol, pause, resume
from careapp.households.models import RecipientKind
from careapp.households.services import add_recipient
from careapp.meals.models import MealMode, MealOrder
from careapp.partners.models import PartnerOrganisation, Service, ServiceKind, Slot
from careapp.partners.services import create_service, create_slot
from tests.enrolments_factories import (
    FRI,
    MON,
    SAT,
    SUN,
    THU,
    TUE,
    WED,
    audit_actions,
    bookings_of,
    elder_in_own_household,
    live_bookings_of,
    service_slots,
    weekly,
)
from careapp.district.models import Building
from tests.factories import make_family, make_slot

TODAY = date(2026, 12, 1)  # a Tuesday
EVERY_DAY = [MON, TUE, WED, THU, FRI, SAT, SUN]


def new_service(world, name: str, kind: ServiceKind = ServiceKind.daycare, capacity: int = 2, **settings) -> Service:
    setup = world.care_centre
    return create_service(partner_id=setup.partner.id, kind=kind, name=name, capacity=capacity,
                          service_point_id=world.daycare.service_point_id, by=setup.manager, now=world.now,
                          **settings)


def slot_at(service: Service, day: date, at: time = time(14, 0), hours: int = 2, capacity: int | None = None,
            by=None, now=None) -> Slot:
    starts = from_local(day, at)
    return create_slot(service_id=service.id, starts_at=starts, ends_at=starts + timedelta(hours=hours),
                       capacity=capacity, by=by, now=now)


def days_of(bookings: list[Booking]) -> list[date]:
    return [local_date(booking.slot.starts_at) for booking in bookings]


@pytest.fixture
def mwf(world, clock):
    """The world's day care (2 places) every Monday, Wednesday and Friday morning."""
    weekly(world.daycare, world.care_centre, clock.now(), [MON, WED, FRI])
    return world.daycare


# --- enrolling ---

def test_enrolling_books_the_open_slots_on_the_chosen_weekdays(world, clock, mwf):
    elder = world.family.add_elder(clock.now())
    change = enrol(elder.id, mwf.id, [FRI, MON], starts_on=TODAY, by=world.family.user, now=clock.now())
    enrolment = change.enrolment
    assert (enrolment.weekdays, enrolment.status, enrolment.created_by_id) == \
        ("04", EnrolmentStatus.active, world.family.user.id)
    booked = live_bookings_of(elder)
    assert days_of(booked) == [date(2026, 12, 4), date(2026, 12, 7), date(2026, 12, 11), date(2026, 12, 14)]
    assert {(b.status, b.enrolment_id, b.booked_by_id) for b in booked} == \
        {(BookingStatus.confirmed, enrolment.id, None)}
    assert len(change.summary.confirmed) == 4 and change.summary.skipped == []
    assert audit_actions("enrolment", enrolment.id) == ["enrolment.created"]


def test_a_later_first_day_and_a_last_day_limit_the_bookings(world, clock, mwf):
    elder = world.family.add_elder(clock.now())
    enrol(elder.id, mwf.id, [MON, WED, FRI], starts_on=date(2026, 12, 4), ends_on=date(2026, 12, 9),
          by=world.family.user, now=clock.now())
    assert days_of(live_bookings_of(elder)) == [date(2026, 12, 4), date(2026, 12, 7), date(2026, 12, 9)]


def test_a_session_time_books_only_that_session(world, clock, mwf):
    weekly(mwf, world.care_centre, clock.now(), [MON], start=time(13, 30), end=time(16, 30))
    elder = world.family.add_elder(clock.now())
    enrol(elder.id, mwf.id, [MON], starts_on=TODAY, start_time=time(13, 30), by=world.family.user, now=clock.now())
    assert [to_local(b.slot.starts_at).time() for b in live_bookings_of(elder)] == [time(13, 30), time(13, 30)]


def test_the_days_and_time_must_be_sessions_of_a_weekly_service(world, clock, mwf):
    elder = world.family.add_elder(clock.now())
    with pytest.raises(BadInput) as no_day:
        enrol(elder.id, mwf.id, [MON, TUE], starts_on=TODAY, by=world.family.user, now=clock.now())
    assert "Tuesday" in no_day.value.message and "weekdays" in no_day.value.fields
    with pytest.raises(BadInput) as no_time:
        enrol(elder.id, mwf.id, [MON], starts_on=TODAY, start_time=time(10, 0), by=world.family.user,
              now=clock.now())
    assert "08:30" in no_time.value.message and "start_time" in no_time.value.fields
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 0


def test_a_service_with_slots_made_by_hand_takes_any_weekday(world, clock):
    elder = world.family.add_elder(clock.now())
    change = enrol(elder.id, world.daycare.id, [SAT], starts_on=TODAY, by=world.family.user, now=clock.now())
    assert change.enrolment.weekdays == "5" and change.summary.booked == []


@pytest.mark.parametrize("weekdays", [[], [7], [-1]])
def test_at_least_one_real_weekday(world, clock, weekdays):
    elder = world.family.add_elder(clock.now())
    with pytest.raises(BadInput) as refused:
        enrol(elder.id, world.daycare.id, weekdays, starts_on=TODAY, by=world.family.user, now=clock.now())
    assert "weekdays" in refused.value.fields


def test_the_first_day_is_not_in_the_past_and_the_last_not_before_the_first(world, clock):
    elder = world.family.add_elder(clock.now())
    with pytest.raises(BadInput) as past:
        enrol(elder.id, world.daycare.id, [MON], starts_on=TODAY - timedelta(days=1), by=world.family.user,
              now=clock.now())
    assert "starts_on" in past.value.fields
    with pytest.raises(BadInput) as backwards:
        enrol(elder.id, world.daycare.id, [MON], starts_on=TODAY, ends_on=TODAY - timedelta(days=1),
              by=world.family.user, now=clock.now())
    assert "ends_on" in backwards.value.fields


def test_only_the_family_or_district_staff_enrol(world, clock):
    elder = world.family.add_elder(clock.now())
    for outsider in (world.other_family.user, world.care_centre.staff, world.care_centre.manager):
        with pytest.raises(Forbidden):
            enrol(elder.id, world.daycare.id, [MON], starts_on=TODAY, by=outsider, now=clock.now())
    change = enrol(elder.id, world.daycare.id, [MON], starts_on=TODAY, by=world.community_staff, now=clock.now())
    assert change.enrolment.created_by_id == world.community_staff.id


@pytest.mark.parametrize("age, level, kind, rule", [
    (59, 1, RecipientKind.elder, "min_age"),
    (75, 3, RecipientKind.elder, "ability_level"),
    (None, None, RecipientKind.child, "recipient_kind"),
])
def test_a_member_the_service_does_not_take_is_refused_naming_the_rule(world, clock, age, level, kind, rule):
    if kind == RecipientKind.child:
        member = world.family.add_child(clock.now())
    else:
        member = world.family.add_elder(clock.now(), age=age, ability_level=level)
    with pytest.raises(RuleRefused) as refused:
        enrol(member.id, world.daycare.id, [MON], starts_on=TODAY, by=world.family.user, now=clock.now())
    assert (refused.value.code, refused.value.fields["rule"]) == ("ineligible", rule)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 0


def test_eligibility_is_judged_on_the_first_day(world, clock, app):
    """Sixty on the first day is old enough, even if younger today; the DAYCARE_MIN_AGE setting is honoured."""
    birthday = date(1966, 12, 7)  # 60 on Monday 7 December
    elder = add_recipient(household_id=world.family.household.id, by=world.family.user, now=clock.now(),
                          kind=RecipientKind.elder, name="周阿姨", birth_date=birthday, ability_level=0)
    with pytest.raises(RuleRefused):
        enrol(elder.id, world.daycare.id, [MON], starts_on=TODAY, by=world.family.user, now=clock.now())
    enrol(elder.id, world.daycare.id, [MON], starts_on=date(2026, 12, 7), by=world.family.user, now=clock.now())
    younger = world.family.add_elder(clock.now(), name="吴叔", age=57)
    app.config["DAYCARE_MIN_AGE"] = 55
    enrol(younger.id, world.daycare.id, [MON], starts_on=TODAY, by=world.family.user, now=clock.now())


def test_a_service_not_taking_bookings_is_refused(world, clock):
    elder = world.family.add_elder(clock.now())
    with write_transaction():
        db.session.get(PartnerOrganisation, world.care_centre.partner.id).approved = False
    with pytest.raises(RuleRefused) as refused:
        enrol(elder.id, world.daycare.id, [MON], starts_on=TODAY, by=world.family.user, now=clock.now())
    assert refused.value.code == "service_unavailable"


def test_options_must_fit_the_service(world, clock):
    elder = world.family.add_elder(clock.now())
    lunch = world.care_centre.services["午餐"]
    with pytest.raises(RuleRefused) as no_transport:
        enrol(elder.id, world.daycare.id, [MON], starts_on=TODAY, options={"needs_transport": True},
              by=world.family.user, now=clock.now())
    assert no_transport.value.code == "no_transport"
    with pytest.raises(BadInput) as no_mode:
        enrol(elder.id, lunch.id, [MON], starts_on=TODAY, by=world.family.user, now=clock.now())
    assert "meal_mode" in no_mode.value.fields
    with pytest.raises(BadInput) as wrong_kind:
        enrol(elder.id, lunch.id, [MON], starts_on=TODAY, options={"mode": "delivery", "needs_transport": True},
              by=world.family.user, now=clock.now())
    assert "needs_transport" in wrong_kind.value.fields
    with pytest.raises(BadInput):
        enrol(elder.id, lunch.id, [MON], starts_on=TODAY, options={"mode": "by_drone"}, by=world.family.user,
              now=clock.now())


def test_transport_is_recorded_on_every_booking(world, clock):
    minibus = new_service(world, "全日日托(接送)", transport=True, lunch_included=True)
    weekly(minibus, world.care_centre, clock.now(), [TUE, THU])
    elder = world.family.add_elder(clock.now())
    change = enrol(elder.id, minibus.id, [TUE, THU], starts_on=TODAY, options={"needs_transport": True},
                   by=world.family.user, now=clock.now())
    assert change.enrolment.needs_transport is True
    booked = live_bookings_of(elder)
    assert len(booked) == 4 and all(b.needs_transport for b in booked)


def test_weekday_lunch_delivery(world, clock):
    """Lunch delivered on weekdays: today's lunch has closed (09:00), the other weekdays are ordered."""
    lunch = world.care_centre.services["午餐"]
    weekly(lunch, world.care_centre, clock.now(), [MON, TUE, WED, THU, FRI], start=time(11, 0), end=time(12, 30),
           capacity=20)
    elder = world.family.add_elder(clock.now())
    change = enrol(elder.id, lunch.id, [MON, TUE, WED, THU, FRI], starts_on=TODAY, options={"mode": "delivery"},
                   by=world.family.user, now=clock.now())
    assert change.enrolment.meal_mode == "delivery"
    assert [(s.code, s.slot_id) for s in change.summary.skipped] == [("past_cutoff", service_slots(lunch)[0].id)]
    booked = live_bookings_of(elder)
    assert len(booked) == 10
    assert {db.session.get(MealOrder, b.id).mode for b in booked} == {MealMode.delivery}


def test_delivery_to_a_home_beyond_the_canteens_radius_is_refused_when_enrolling(world, clock):
    """Said once, at enrolment, rather than as a refusal skipped on every day it would book."""
    lunch = world.care_centre.services["午餐"]
    weekly(lunch, world.care_centre, clock.now(), [MON, TUE], start=time(11, 0), end=time(12, 30), capacity=20)
    with write_transaction():
        far = Building(grid_id=world.grid.id, name="远楼", address="远处路9号", latitude=31.35, longitude=118.37)
        db.session.add(far)
    family = make_family(far, clock.now(), "远家")
    elder = family.add_elder(clock.now())
    with pytest.raises(RuleRefused) as refused:
        enrol(elder.id, lunch.id, [MON, TUE], starts_on=TODAY, options={"mode": "delivery"}, by=family.user,
              now=clock.now())
    assert refused.value.code == "outside_delivery_radius"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 0
    enrol(elder.id, lunch.id, [MON, TUE], starts_on=TODAY, options={"mode": "pick_up"}, by=family.user,
          now=clock.now())


# --- clashes ---

def test_a_second_enrolment_on_the_same_weekday_is_a_conflict(world, clock, mwf):
    elder = world.family.add_elder(clock.now())
    first = enrol(elder.id, mwf.id, [MON, WED], starts_on=TODAY, by=world.family.user, now=clock.now()).enrolment
    with pytest.raises(Conflict) as clash:
        enrol(elder.id, mwf.id, [WED, FRI], starts_on=TODAY, by=world.family.user, now=clock.now())
    assert clash.value.code == "enrolment_clash" and "Wednesday" in clash.value.message
    enrol(elder.id, mwf.id, [FRI], starts_on=TODAY, by=world.family.user, now=clock.now())  # another day is fine
    pause(first.id, resumes_on=date(2026, 12, 20), by=world.family.user, now=clock.now())
    with pytest.raises(Conflict):  # a paused enrolment still holds its days
        enrol(elder.id, mwf.id, [MON], starts_on=TODAY, by=world.family.user, now=clock.now())
    end(first.id, by=world.family.user, now=clock.now())
    enrol(elder.id, mwf.id, [MON, WED], starts_on=TODAY, by=world.family.user, now=clock.now())


def test_other_sessions_and_other_periods_do_not_clash(world, clock, mwf):
    weekly(mwf, world.care_centre, clock.now(), [MON], start=time(13, 30), end=time(16, 30))
    elder = world.family.add_elder(clock.now())
    enrol(elder.id, mwf.id, [MON], starts_on=TODAY, start_time=time(8, 30), ends_on=date(2026, 12, 31),
          by=world.family.user, now=clock.now())
    enrol(elder.id, mwf.id, [MON], starts_on=TODAY, start_time=time(13, 30), by=world.family.user, now=clock.now())
    enrol(elder.id, mwf.id, [MON], starts_on=date(2027, 1, 4), start_time=time(8, 30), by=world.family.user,
          now=clock.now())
    with pytest.raises(Conflict):  # every session of Monday overlaps the ones above
        enrol(elder.id, mwf.id, [MON], starts_on=date(2027, 2, 1), by=world.family.user, now=clock.now())


# --- booking a new slot ---

@pytest.fixture
def three_enrolled(world, clock):
    """Three elders enrolled every day in the world's day care (2 places), in the order C, A, B."""
    now = clock.now()
    people = {name: elder_in_own_household(world, now, name) for name in ("A", "B", "C")}
    enrolments = {}
    for name in ("C", "A", "B"):
        family, elder = people[name]
        enrolments[name] = enrol(elder.id, world.daycare.id, EVERY_DAY, starts_on=TODAY, by=family.user,
                                 now=now).enrolment
    return people, enrolments


def test_a_new_slot_books_enrolments_in_enrolment_order_then_waitlists(world, clock, three_enrolled):
    _, enrolments = three_enrolled
    slot = make_slot(world.daycare, world.care_centre.manager, clock.now())  # publishing books them at once
    db.session.rollback()
    rows = db.session.scalars(sa.select(Booking).where(Booking.slot_id == slot.id).order_by(Booking.id)).all()
    assert [(b.enrolment_id, b.status) for b in rows] == [
        (enrolments["C"].id, BookingStatus.confirmed), (enrolments["A"].id, BookingStatus.confirmed),
        (enrolments["B"].id, BookingStatus.waitlisted)]
    assert engine.waitlist_position(rows[2]) == 1


def test_booking_a_slot_twice_books_nobody_twice(world, clock, three_enrolled):
    slot = make_slot(world.daycare, world.care_centre.manager, clock.now())
    again = book_enrolments(slot.id, now=clock.now())
    assert again.booked == []
    assert {s.code for s in again.skipped} == {"already_booked"} and len(again.skipped) == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 3


def test_a_day_the_family_cancelled_is_not_booked_again(world, clock, three_enrolled):
    people, _ = three_enrolled
    slot = make_slot(world.daycare, world.care_centre.manager, clock.now())
    family, elder_c = people["C"]
    booking = live_bookings_of(elder_c)[0]
    engine.cancel(booking.id, by=family.user, now=clock.now())
    book_enrolments(slot.id, now=clock.now())
    assert live_bookings_of(elder_c) == []


def test_someone_already_booked_by_hand_is_skipped(world, clock):
    slot = make_slot(world.daycare, world.care_centre.manager, clock.now())
    elder = world.family.add_elder(clock.now())
    by_hand = engine.book(slot.id, elder.id, by=world.family.user, now=clock.now()).booking
    change = enrol(elder.id, world.daycare.id, EVERY_DAY, starts_on=TODAY, by=world.family.user, now=clock.now())
    assert [s.code for s in change.summary.skipped] == ["duplicate_booking"]
    assert [b.id for b in live_bookings_of(elder)] == [by_hand.id]
    assert book_enrolments(slot.id, now=clock.now()).skipped[0].code == "already_booked"


def test_one_refusal_does_not_undo_the_other_days(world, clock):
    """An elder turning 81 on Tuesday 8 December in a service for 80 or younger: booked until then only."""
    service = new_service(world, "长者日托", max_age_years=80)
    weekly(service, world.care_centre, clock.now(), [MON, TUE, WED, THU, FRI])
    elder = add_recipient(household_id=world.family.household.id, by=world.family.user, now=clock.now(),
                          kind=RecipientKind.elder, name="郑爷爷", birth_date=date(1945, 12, 8), ability_level=1)
    change = enrol(elder.id, service.id, [MON, TUE, WED, THU, FRI], starts_on=TODAY, by=world.family.user,
                   now=clock.now())
    assert days_of(live_bookings_of(elder)) == [date(2026, 12, d) for d in (2, 3, 4, 7)]
    assert {(s.code, s.rule) for s in change.summary.skipped} == {("ineligible", "max_age")}
    assert len(change.summary.skipped) == 6


def test_booking_closed_is_skipped(world, clock):
    service = new_service(world, "日托(提前两小时)", booking_cutoff_minutes=120)
    elder = world.family.add_elder(clock.now())
    enrol(elder.id, service.id, EVERY_DAY, starts_on=TODAY, by=world.family.user, now=clock.now())
    slot = slot_at(service, TODAY, time(10, 0), by=world.care_centre.manager, now=clock.now())
    summary = book_enrolments(slot.id, now=clock.now())
    assert [s.code for s in summary.skipped] == ["past_cutoff"]
    assert live_bookings_of(elder) == []


def test_weekly_slots_added_later_book_the_enrolments(world, clock):
    elder = world.family.add_elder(clock.now())
    enrol(elder.id, world.daycare.id, [WED], starts_on=TODAY, by=world.family.user, now=clock.now())
    weekly(world.daycare, world.care_centre, clock.now(), [MON, WED])
    assert days_of(live_bookings_of(elder)) == [date(2026, 12, 2), date(2026, 12, 9)]


def test_inside_a_callers_transaction_each_booking_still_stands_alone(world, clock):
    """Publishing a slot inside an open transaction (the demo loads in one): a refused enrolment is skipped
    through a savepoint; the slot and the other bookings are kept."""
    service = new_service(world, "长者日托", max_age_years=80)
    turning_81 = add_recipient(household_id=world.family.household.id, by=world.family.user, now=clock.now(),
                               kind=RecipientKind.elder, name="郑爷爷", birth_date=date(1945, 12, 8), ability_level=1)
    younger = world.family.add_elder(clock.now(), name="王奶奶", age=70)
    for elder in (turning_81, younger):
        enrol(elder.id, service.id, EVERY_DAY, starts_on=TODAY, by=world.family.user, now=clock.now())
    with write_transaction():
        slot = slot_at(service, date(2026, 12, 9), by=world.care_centre.manager, now=clock.now())
    db.session.rollback()
    assert db.session.get(Slot, slot.id) is not None
    assert [b.recipient_id for b in db.session.scalars(sa.select(Booking).where(Booking.slot_id == slot.id))] == \
        [younger.id]


# --- pausing, resuming, ending ---

def test_pausing_cancels_the_days_before_the_restart_and_passes_the_places_on(world, clock, mwf):
    now = clock.now()
    (family_a, a), (_, b), (_, c) = (elder_in_own_household(world, now, name) for name in "ABC")
    first = None
    for family, elder in ((family_a, a), (None, b), (None, c)):
        user = family.user if family else world.community_staff
        change = enrol(elder.id, mwf.id, [MON, WED, FRI], starts_on=TODAY, by=user, now=now)
        first = first or change.enrolment
    assert {bk.status for bk in live_bookings_of(c)} == {BookingStatus.waitlisted}
    change = pause(first.id, resumes_on=date(2026, 12, 9), by=family_a.user, now=now)
    assert (change.enrolment.status, change.enrolment.resumes_on, change.cancelled) == \
        (EnrolmentStatus.paused, date(2026, 12, 9), 3)
    assert days_of(live_bookings_of(a)) == [date(2026, 12, 9), date(2026, 12, 11), date(2026, 12, 14)]
    # C had waited for those three days; now C has them.
    assert [(local_date(bk.slot.starts_at).day, bk.status) for bk in live_bookings_of(c)] == [
        (2, BookingStatus.confirmed), (4, BookingStatus.confirmed), (7, BookingStatus.confirmed),
        (9, BookingStatus.waitlisted), (11, BookingStatus.waitlisted), (14, BookingStatus.waitlisted)]
    assert audit_actions("enrolment", first.id)[-1] == "enrolment.paused"


def test_a_booking_too_late_to_cancel_is_kept_on_pause(world, clock):
    strict = new_service(world, "日托(提前一天取消)", cancel_cutoff_minutes=24 * 60)
    weekly(strict, world.care_centre, clock.now(), [WED, FRI])
    elder = world.family.add_elder(clock.now())
    enrolment = enrol(elder.id, strict.id, [WED, FRI], starts_on=TODAY, by=world.family.user,
                      now=clock.now()).enrolment
    change = pause(enrolment.id, resumes_on=date(2026, 12, 5), by=world.family.user, now=clock.now())
    assert change.cancelled == 1
    assert [local_date(bk.slot.starts_at) for bk in change.kept] == [date(2026, 12, 2)]
    assert days_of(live_bookings_of(elder))[0] == date(2026, 12, 2)


def test_pause_refusals(world, clock, mwf):
    elder = world.family.add_elder(clock.now())
    enrolment = enrol(elder.id, mwf.id, [MON], starts_on=TODAY, by=world.family.user, now=clock.now()).enrolment
    with pytest.raises(BadInput) as today:
        pause(enrolment.id, resumes_on=TODAY, by=world.family.user, now=clock.now())
    assert "resumes_on" in today.value.fields
    with pytest.raises(Forbidden):
        pause(enrolment.id, resumes_on=date(2026, 12, 20), by=world.other_family.user, now=clock.now())
    pause(enrolment.id, resumes_on=date(2026, 12, 20), by=world.community_staff, now=clock.now())
    end(enrolment.id, by=world.family.user, now=clock.now())
    with pytest.raises(Conflict):
        pause(enrolment.id, resumes_on=date(2026, 12, 20), by=world.family.user, now=clock.now())


def test_a_paused_enrolment_skips_new_slots_until_the_restart_then_becomes_active(world, clock):
    elder = world.family.add_elder(clock.now())
    enrolment = enrol(elder.id, world.daycare.id, EVERY_DAY, starts_on=TODAY, by=world.family.user,
                      now=clock.now()).enrolment
    pause(enrolment.id, resumes_on=date(2026, 12, 9), by=world.family.user, now=clock.now())
    manager = world.care_centre.manager
    during = slot_at(world.daycare, date(2026, 12, 4), by=manager, now=clock.now())
    assert [s.code for s in book_enrolments(during.id, now=clock.now()).skipped] == ["paused"]
    slot_at(world.daycare, date(2026, 12, 11), by=manager, now=clock.now())  # after the restart day: booked
    assert days_of(live_bookings_of(elder)) == [date(2026, 12, 11)]
    assert db.session.get(Enrolment, enrolment.id).status == EnrolmentStatus.paused
    clock.set(from_local(date(2026, 12, 9), time(7, 0)))
    slot_at(world.daycare, date(2026, 12, 16), by=manager, now=clock.now())
    db.session.rollback()
    enrolment = db.session.get(Enrolment, enrolment.id)
    assert (enrolment.status, enrolment.resumes_on) == (EnrolmentStatus.active, None)
    resumed = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "enrolment.resumed")).one()
    assert resumed.actor_id is None
    assert days_of(live_bookings_of(elder)) == [date(2026, 12, 11), date(2026, 12, 16)]


def test_resuming_early_books_the_open_days_again(world, clock, mwf):
    elder = world.family.add_elder(clock.now())
    enrolment = enrol(elder.id, mwf.id, [MON, WED, FRI], starts_on=TODAY, by=world.family.user,
                      now=clock.now()).enrolment
    pause(enrolment.id, resumes_on=date(2026, 12, 12), by=world.family.user, now=clock.now())
    assert days_of(live_bookings_of(elder)) == [date(2026, 12, 14)]
    clock.advance(days=1)  # Wednesday 2 December, 09:00: that morning's session has started
    change = resume(enrolment.id, by=world.family.user, now=clock.now())
    assert (change.enrolment.status, change.enrolment.resumes_on) == (EnrolmentStatus.active, None)
    assert days_of(live_bookings_of(elder)) == [date(2026, 12, d) for d in (4, 7, 9, 11, 14)]
    with pytest.raises(Conflict):
        resume(enrolment.id, by=world.family.user, now=clock.now())


def test_ending_cancels_the_bookings_to_come_and_books_no_more(world, clock, mwf):
    elder = world.family.add_elder(clock.now())
    enrolment = enrol(elder.id, mwf.id, [MON, WED, FRI], starts_on=TODAY, by=world.family.user,
                      now=clock.now()).enrolment
    change = end(enrolment.id, by=world.family.user, now=clock.now())
    assert (change.enrolment.status, change.enrolment.ends_on, change.cancelled) == \
        (EnrolmentStatus.ended, TODAY, 6)
    assert live_bookings_of(elder) == []
    slot_at(mwf, date(2026, 12, 16), time(8, 30), by=world.care_centre.manager, now=clock.now())
    assert live_bookings_of(elder) == []
    assert audit_actions("enrolment", enrolment.id)[-1] == "enrolment.ended"
    with pytest.raises(Conflict):
        end(enrolment.id, by=world.family.user, now=clock.now())


def test_ending_after_a_last_day_keeps_the_days_until_then(world, clock, mwf):
    elder = world.family.add_elder(clock.now())
    enrolment = enrol(elder.id, mwf.id, [MON, WED, FRI], starts_on=TODAY, by=world.family.user,
                      now=clock.now()).enrolment
    with pytest.raises(BadInput):
        end(enrolment.id, ends_on=TODAY - timedelta(days=1), by=world.family.user, now=clock.now())
    change = end(enrolment.id, ends_on=date(2026, 12, 7), by=world.family.user, now=clock.now())
    assert (change.enrolment.status, change.enrolment.ends_on, change.cancelled) == \
        (EnrolmentStatus.active, date(2026, 12, 7), 3)
    assert days_of(live_bookings_of(elder)) == [date(2026, 12, 2), date(2026, 12, 4), date(2026, 12, 7)]
    slot_at(mwf, date(2026, 12, 9), by=world.care_centre.manager, now=clock.now())
    assert len(live_bookings_of(elder)) == 3


def test_only_the_household_changes_its_enrolments(world, clock):
    elder = world.family.add_elder(clock.now())
    enrolment = enrol(elder.id, world.daycare.id, [MON], starts_on=TODAY, by=world.family.user,
                      now=clock.now()).enrolment
    for outsider in (world.other_family.user, world.care_centre.manager):
        with pytest.raises(Forbidden):
            end(enrolment.id, by=outsider, now=clock.now())
    assert db.session.get(Enrolment, enrolment.id).status == EnrolmentStatus.active
    assert bookings_of(elder) == []
