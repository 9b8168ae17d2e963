"""The booking engine's rules, on a real database with a frozen clock."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from careapp.booking import engine
from careapp.booking.models import HOLDS_PLACE, Booking, BookingStatus, EndReason
from careapp.core.audit import AuditEntry
from careapp.core.db import db, write_transaction
from careapp.core.errors import Conflict, Forbidden, NotFound, RuleRefused
from careapp.partners.models import Slot
from tests.factories import make_family, make_slot


def held(slot_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Booking).where(
        Booking.slot_id == slot_id, Booking.status.in_(HOLDS_PLACE)))


def elders(world, n, now):
    """n elders, each of a different household in the world's building, with their family users."""
    out = []
    for i in range(n):
        family = make_family(world.building, now, f"家{i}")
        out.append((family.user, family.add_elder(now, name=f"老人{i}")))
    return out


@pytest.fixture
def daycare_slot(world, clock):
    return make_slot(world.daycare, world.care_centre.manager, clock.now())  # capacity 2


def test_book_confirms_while_places_remain_then_waitlists_in_arrival_order(world, clock, daycare_slot):
    people = elders(world, 4, clock.now())
    results = [engine.book(daycare_slot.id, r.id, by=u, now=clock.now()) for u, r in people]
    assert [r.booking.status for r in results] == [BookingStatus.confirmed, BookingStatus.confirmed,
                                                   BookingStatus.waitlisted, BookingStatus.waitlisted]
    assert [r.waitlist_position for r in results] == [None, None, 1, 2]
    assert held(daycare_slot.id) == 2


def test_second_live_booking_of_same_person_is_a_conflict(world, clock, daycare_slot):
    elder = world.family.add_elder(clock.now())
    engine.book(daycare_slot.id, elder.id, by=world.family.user, now=clock.now())
    with pytest.raises(Conflict) as refused:
        engine.book(daycare_slot.id, elder.id, by=world.family.user, now=clock.now())
    assert refused.value.code == "duplicate_booking"


def test_database_constraint_refuses_second_live_booking_even_without_the_engine(world, clock, daycare_slot):
    elder = world.family.add_elder(clock.now())
    now = clock.now()
    for status in (BookingStatus.cancelled, BookingStatus.confirmed):
        db.session.add(Booking(slot_id=daycare_slot.id, recipient_id=elder.id, status=status,
                               created_at=now, updated_at=now))
        db.session.commit()
    db.session.add(Booking(slot_id=daycare_slot.id, recipient_id=elder.id, status=BookingStatus.waitlisted,
                           waitlist_order=1, created_at=now, updated_at=now))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_rebooking_after_cancelling_is_allowed(world, clock, daycare_slot):
    elder = world.family.add_elder(clock.now())
    first = engine.book(daycare_slot.id, elder.id, by=world.family.user, now=clock.now()).booking
    engine.cancel(first.id, by=world.family.user, now=clock.now())
    again = engine.book(daycare_slot.id, elder.id, by=world.family.user, now=clock.now())
    assert again.booking.status == BookingStatus.confirmed


@pytest.mark.parametrize("age, ability, kind, rule", [
    (59, 1, "elder", "min_age"),
    (75, 3, "elder", "ability_level"),
    (None, None, "child", "recipient_kind"),
])
def test_daycare_eligibility_names_the_rule(world, clock, daycare_slot, age, ability, kind, rule):
    now = clock.now()
    if kind == "elder":
        person = world.family.add_elder(now, age=age, ability_level=ability)
    else:
        person = world.family.add_child(now)
    with pytest.raises(RuleRefused) as refused:
        engine.book(daycare_slot.id, person.id, by=world.family.user, now=now)
    assert refused.value.code == "ineligible"
    assert refused.value.fields == {"rule": rule}


def test_sixty_on_the_slot_date_is_old_enough(world, clock, daycare_slot):
    elder = world.family.add_elder(clock.now(), age=60)
    assert engine.book(daycare_slot.id, elder.id, by=world.family.user, now=clock.now()).booking.id


def test_childcare_age_band_in_months(world, clock):
    now = clock.now()
    service = world.nursery.services["托小班"]  # 12-36 months
    slot = make_slot(service, world.nursery.manager, now)
    baby = world.family.add_child(now, name="婴儿", months=8)
    with pytest.raises(RuleRefused) as refused:
        engine.book(slot.id, baby.id, by=world.family.user, now=now)
    assert refused.value.fields == {"rule": "min_age"}
    toddler = world.family.add_child(now, name="幼儿", months=20)
    assert engine.book(slot.id, toddler.id, by=world.family.user, now=now).booking.status == BookingStatus.confirmed


def test_booking_refused_after_the_cutoff(world, clock):
    now = clock.now()
    service = world.daycare
    with write_transaction():
        service.booking_cutoff_minutes = 60
    slot = make_slot(service, world.care_centre.manager, now)
    elder = world.family.add_elder(now)
    clock.set(slot.starts_at - timedelta(minutes=61))
    engine.book(slot.id, elder.id, by=world.family.user, now=clock.now())
    other = world.other_family.add_elder(clock.now())
    clock.set(slot.starts_at - timedelta(minutes=59))
    with pytest.raises(RuleRefused) as refused:
        engine.book(slot.id, other.id, by=world.other_family.user, now=clock.now())
    assert refused.value.code == "past_cutoff"
    assert "closed at" in refused.value.message


def test_default_cutoff_is_the_start(world, clock, daycare_slot):
    elder = world.family.add_elder(clock.now())
    with pytest.raises(RuleRefused) as refused:
        engine.book(daycare_slot.id, elder.id, by=world.family.user, now=daycare_slot.starts_at)
    assert refused.value.code == "past_cutoff"


def test_family_cannot_book_for_another_household_but_community_staff_can(world, clock, daycare_slot):
    elder = world.other_family.add_elder(clock.now())
    with pytest.raises(Forbidden):
        engine.book(daycare_slot.id, elder.id, by=world.family.user, now=clock.now())
    result = engine.book(daycare_slot.id, elder.id, by=world.community_staff, now=clock.now())
    assert result.booking.booked_by_id == world.community_staff.id


def test_partner_staff_cannot_book(world, clock, daycare_slot):
    elder = world.family.add_elder(clock.now())
    with pytest.raises(Forbidden):
        engine.book(daycare_slot.id, elder.id, by=world.care_centre.staff, now=clock.now())


def test_unknown_slot_and_recipient(world, clock):
    with pytest.raises(NotFound):
        engine.book(999999, 1, by=world.family.user, now=clock.now())


def test_cancel_hands_the_place_to_the_waitlist_head_at_once_when_fill_policy_is_auto(world, clock, daycare_slot):
    (u1, r1), (u2, r2), (u3, r3), (u4, r4) = elders(world, 4, clock.now())
    first = engine.book(daycare_slot.id, r1.id, by=u1, now=clock.now()).booking
    engine.book(daycare_slot.id, r2.id, by=u2, now=clock.now())
    third = engine.book(daycare_slot.id, r3.id, by=u3, now=clock.now()).booking
    fourth = engine.book(daycare_slot.id, r4.id, by=u4, now=clock.now()).booking
    engine.cancel(first.id, by=u1, now=clock.now())
    db.session.refresh(third)
    db.session.refresh(fourth)
    assert third.status == BookingStatus.confirmed
    assert engine.waitlist_position(fourth) == 1
    assert held(daycare_slot.id) == 2
    # In the order they were written (a SELECT without ORDER BY has no order; PostgreSQL showed it).
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_id == third.id,
                                                                    AuditEntry.object_type == "booking")
                                 .order_by(AuditEntry.id)).all()
    assert actions == ["booking.waitlisted", "booking.promoted"]


def test_offer_policy_offers_accept_decline_and_expiry(world, clock):
    now = clock.now()
    service = world.nursery.services["托小班"]  # fill policy offer, 12 hours
    slot = make_slot(service, world.nursery.manager, now, days_ahead=3, capacity=1)
    families = [make_family(world.building, now, f"童家{i}") for i in range(4)]
    kids = [f.add_child(now, name=f"孩子{i}") for i, f in enumerate(families)]
    bookings = [engine.book(slot.id, k.id, by=f.user, now=now).booking for f, k in zip(families, kids)]
    engine.cancel(bookings[0].id, by=families[0].user, now=now)
    db.session.refresh(bookings[1])
    assert bookings[1].status == BookingStatus.offered
    assert bookings[1].offer_expires_at == now + timedelta(hours=12)
    # Declining passes the offer to the next in line.
    engine.decline_offer(bookings[1].id, by=families[1].user, now=now)
    db.session.refresh(bookings[2])
    assert bookings[2].status == BookingStatus.offered
    # Not accepted in time: the scheduler's job expires it and offers the place on.
    clock.advance(hours=13)
    with pytest.raises(RuleRefused) as late:
        engine.accept_offer(bookings[2].id, by=families[2].user, now=clock.now())
    assert late.value.code == "offer_expired"
    assert engine.expire_offers(now=clock.now()) == 1
    db.session.refresh(bookings[2])
    db.session.refresh(bookings[3])
    assert (bookings[2].status, bookings[2].end_reason) == (BookingStatus.cancelled, EndReason.offer_expired)
    assert bookings[3].status == BookingStatus.offered
    engine.accept_offer(bookings[3].id, by=families[3].user, now=clock.now())
    db.session.refresh(bookings[3])
    assert bookings[3].status == BookingStatus.confirmed
    assert held(slot.id) == 1


def test_offer_never_outlives_booking_cutoff(world, clock):
    now = clock.now()
    service = world.nursery.services["托小班"]
    slot = make_slot(service, world.nursery.manager, now, days_ahead=1, capacity=1)
    a, b = make_family(world.building, now, "甲"), make_family(world.building, now, "乙")
    ka, kb = a.add_child(now), b.add_child(now)
    first = engine.book(slot.id, ka.id, by=a.user, now=now).booking
    second = engine.book(slot.id, kb.id, by=b.user, now=now).booking
    late = slot.starts_at - timedelta(hours=2)
    engine.cancel(first.id, by=a.user, now=late)
    db.session.refresh(second)
    assert second.offer_expires_at == slot.starts_at  # not 12 hours later


def test_waitlist_does_not_move_after_booking_closes(world, clock):
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=1)
    (u1, r1), (u2, r2) = elders(world, 2, now)
    first = engine.book(slot.id, r1.id, by=u1, now=now).booking
    second = engine.book(slot.id, r2.id, by=u2, now=now).booking
    with write_transaction():
        world.daycare.cancel_cutoff_minutes = 0
        world.daycare.booking_cutoff_minutes = 120
    engine.cancel(first.id, by=u1, now=slot.starts_at - timedelta(minutes=30))
    db.session.refresh(second)
    assert second.status == BookingStatus.waitlisted


def test_cancel_after_cancellation_cutoff_is_refused(world, clock, daycare_slot):
    with write_transaction():
        world.daycare.cancel_cutoff_minutes = 24 * 60
    elder = world.family.add_elder(clock.now())
    booking = engine.book(daycare_slot.id, elder.id, by=world.family.user, now=clock.now()).booking
    with pytest.raises(RuleRefused) as refused:
        engine.cancel(booking.id, by=world.family.user, now=daycare_slot.starts_at - timedelta(hours=23))
    assert refused.value.code == "past_cutoff"


def test_cancel_a_cancelled_booking_is_a_wrong_state_conflict(world, clock, daycare_slot):
    elder = world.family.add_elder(clock.now())
    booking = engine.book(daycare_slot.id, elder.id, by=world.family.user, now=clock.now()).booking
    engine.cancel(booking.id, by=world.family.user, now=clock.now())
    with pytest.raises(Conflict) as refused:
        engine.cancel(booking.id, by=world.family.user, now=clock.now())
    assert refused.value.code == "wrong_state"


def test_another_family_cannot_cancel(world, clock, daycare_slot):
    elder = world.family.add_elder(clock.now())
    booking = engine.book(daycare_slot.id, elder.id, by=world.family.user, now=clock.now()).booking
    with pytest.raises(Forbidden):
        engine.cancel(booking.id, by=world.other_family.user, now=clock.now())


def test_capacity_cannot_fall_below_places_held(world, clock, daycare_slot):
    (u1, r1), (u2, r2) = elders(world, 2, clock.now())
    engine.book(daycare_slot.id, r1.id, by=u1, now=clock.now())
    engine.book(daycare_slot.id, r2.id, by=u2, now=clock.now())
    with pytest.raises(RuleRefused) as refused:
        engine.set_capacity(daycare_slot.id, 1, by=world.care_centre.manager, now=clock.now())
    assert refused.value.code == "capacity_below_bookings"
    assert "2 places are already booked" in refused.value.message
    assert db.session.get(Slot, daycare_slot.id).capacity == 2


def test_raising_capacity_confirms_waitlisted_people(world, clock, daycare_slot):
    people = elders(world, 4, clock.now())
    bookings = [engine.book(daycare_slot.id, r.id, by=u, now=clock.now()).booking for u, r in people]
    engine.set_capacity(daycare_slot.id, 3, by=world.care_centre.manager, now=clock.now())
    statuses = [db.session.get(Booking, b.id).status for b in bookings]
    assert statuses == [BookingStatus.confirmed] * 3 + [BookingStatus.waitlisted]


def test_only_that_partners_manager_changes_capacity(world, clock, daycare_slot):
    for user in (world.care_centre.staff, world.nursery.manager, world.family.user):
        with pytest.raises(Forbidden):
            engine.set_capacity(daycare_slot.id, 5, by=user, now=clock.now())


def test_check_in_and_out_by_that_partners_staff_only(world, clock, daycare_slot):
    elder = world.family.add_elder(clock.now())
    booking = engine.book(daycare_slot.id, elder.id, by=world.family.user, now=clock.now()).booking
    with pytest.raises(RuleRefused):  # the day before: too early
        engine.check_in(booking.id, by=world.care_centre.staff, now=clock.now())
    clock.set(daycare_slot.starts_at - timedelta(minutes=10))
    with pytest.raises(Forbidden):
        engine.check_in(booking.id, by=world.nursery.staff, now=clock.now())
    with pytest.raises(Conflict):
        engine.check_out(booking.id, by=world.care_centre.staff, now=clock.now())
    engine.check_in(booking.id, by=world.care_centre.staff, now=clock.now())
    clock.advance(hours=3)
    engine.check_out(booking.id, by=world.care_centre.staff, now=clock.now())
    booking = db.session.get(Booking, booking.id)
    assert booking.status == BookingStatus.checked_out
    assert booking.checked_in_by_id == world.care_centre.staff.id
    assert booking.checked_out_at == clock.now()


def test_partner_cancels_a_slot_and_every_live_booking_ends(world, clock, daycare_slot):
    people = elders(world, 3, clock.now())
    bookings = [engine.book(daycare_slot.id, r.id, by=u, now=clock.now()).booking for u, r in people]
    engine.cancel_slot(daycare_slot.id, by=world.care_centre.manager, now=clock.now())
    for booking in bookings:
        booking = db.session.get(Booking, booking.id)
        assert (booking.status, booking.end_reason) == (BookingStatus.cancelled, EndReason.slot_cancelled)
    elder = world.family.add_elder(clock.now())
    with pytest.raises(RuleRefused) as refused:
        engine.book(daycare_slot.id, elder.id, by=world.family.user, now=clock.now())
    assert refused.value.code == "slot_not_open"


def test_every_state_change_writes_an_audit_entry(world, clock, daycare_slot):
    elder = world.family.add_elder(clock.now())
    booking = engine.book(daycare_slot.id, elder.id, by=world.family.user, now=clock.now()).booking
    engine.cancel(booking.id, by=world.family.user, now=clock.now())
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.object_type == "booking",
                                                             AuditEntry.object_id == booking.id)
                                 .order_by(AuditEntry.id)).all()
    assert [(e.action, e.actor_id) for e in entries] == [("booking.confirmed", world.family.user.id),
                                                         ("booking.cancelled", world.family.user.id)]
    assert entries[1].before["status"] == "confirmed"
    assert entries[1].after["status"] == "cancelled"


def test_a_refused_booking_leaves_nothing_behind(world, clock, daycare_slot):
    young = world.family.add_elder(clock.now(), age=50)
    count_before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    with pytest.raises(RuleRefused):
        engine.book(daycare_slot.id, young.id, by=world.family.user, now=clock.now())
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == count_before
