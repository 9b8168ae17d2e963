"""The engine's hooks for the care services: booking options per kind, changes before the cutoff,
the health check at check-in, and places limited by staffing (Slot.places)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from careapp.booking import engine
from careapp.booking.models import BookingStatus
from careapp.core.audit import AuditEntry
from careapp.core.db import db, write_transaction
from careapp.core.errors import BadInput, Conflict, RuleRefused
from careapp.partners.models import Service, Slot
from tests.factories import make_family, make_slot
from tests.meals_factories import meals  # noqa: F401  (fixture)


@pytest.fixture
def daycare_slot(world, clock):
    return make_slot(world.daycare, world.care_centre.manager, clock.now())  # capacity 2, 08:30 tomorrow


@pytest.fixture
def elder(world, clock):
    return world.family.add_elder(clock.now())


def _offer_transport(service: Service, offered: bool) -> None:
    with write_transaction():
        db.session.get(Service, service.id).transport = offered


def test_a_kind_without_options_refuses_any(world, clock, elder):
    slot = make_slot(world.academy.services["图书阅览"], world.academy.manager, clock.now())
    with pytest.raises(BadInput) as refused:
        engine.book(slot.id, elder.id, by=world.family.user, now=clock.now(), options={"colour": "red"})
    assert refused.value.fields == {"colour": "not accepted here"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(engine.Booking)) == 0


def test_transport_is_recorded_only_where_the_service_offers_it(world, clock, daycare_slot, elder):
    with pytest.raises(RuleRefused) as refused:
        engine.book(daycare_slot.id, elder.id, by=world.family.user, now=clock.now(),
                    options={"needs_transport": True})
    assert refused.value.code == "no_transport"
    _offer_transport(world.daycare, True)
    result = engine.book(daycare_slot.id, elder.id, by=world.family.user, now=clock.now(),
                         options={"needs_transport": True})
    assert result.booking.needs_transport is True
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "booking.confirmed")).one()
    assert entry.after["needs_transport"] is True


def test_transport_must_be_yes_or_no(world, clock, daycare_slot, elder):
    _offer_transport(world.daycare, True)
    with pytest.raises(BadInput) as refused:
        engine.book(daycare_slot.id, elder.id, by=world.family.user, now=clock.now(),
                    options={"needs_transport": "yes"})
    assert "needs_transport" in refused.value.fields


def test_change_options_is_audited_and_closes_with_cancellation(world, clock, daycare_slot, elder):
    _offer_transport(world.daycare, True)
    booking = engine.book(daycare_slot.id, elder.id, by=world.family.user, now=clock.now()).booking
    engine.change_options(booking.id, {"needs_transport": True}, by=world.family.user, now=clock.now())
    assert db.session.get(engine.Booking, booking.id).needs_transport is True
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "booking.changed")).one()
    assert (entry.before, entry.after) == ({"needs_transport": False}, {"needs_transport": True})
    with pytest.raises(RuleRefused) as refused:
        engine.change_options(booking.id, {"needs_transport": False}, by=world.family.user,
                              now=daycare_slot.starts_at)
    assert refused.value.code == "past_cutoff"


def test_only_pending_bookings_change(world, clock, daycare_slot, elder):
    booking = engine.book(daycare_slot.id, elder.id, by=world.family.user, now=clock.now()).booking
    engine.cancel(booking.id, by=world.family.user, now=clock.now())
    with pytest.raises(Conflict):
        engine.change_options(booking.id, {}, by=world.family.user, now=clock.now())


@pytest.mark.parametrize("reading", ["33.9", "43.1", "hot", "NaN", "Infinity", 1e400])
def test_implausible_temperatures_are_refused(world, clock, daycare_slot, elder, reading):
    booking = engine.book(daycare_slot.id, elder.id, by=world.family.user, now=clock.now()).booking
    with pytest.raises(BadInput) as refused:
        engine.check_in(booking.id, by=world.care_centre.staff, now=daycare_slot.starts_at, temperature=reading)
    assert "temperature" in refused.value.fields
    assert db.session.get(engine.Booking, booking.id).status == BookingStatus.confirmed


def test_the_health_check_is_stored_with_the_check_in(world, clock, daycare_slot, elder):
    booking = engine.book(daycare_slot.id, elder.id, by=world.family.user, now=clock.now()).booking
    engine.check_in(booking.id, by=world.care_centre.staff, now=daycare_slot.starts_at, temperature="36.64",
                    health_notes="  slight cough ")
    stored = db.session.get(engine.Booking, booking.id)
    assert (stored.health_temperature, stored.health_notes) == (Decimal("36.6"), "slight cough")


def test_check_in_after_the_slot_has_ended_is_refused(world, clock, daycare_slot, elder):
    booking = engine.book(daycare_slot.id, elder.id, by=world.family.user, now=clock.now()).booking
    with pytest.raises(RuleRefused) as refused:
        engine.check_in(booking.id, by=world.care_centre.staff, now=daycare_slot.ends_at)
    assert refused.value.code == "too_late"


def _set_staffed(slot: Slot, places: int | None) -> None:
    with write_transaction():
        db.session.get(Slot, slot.id).staffed_places = places


def test_staffed_places_below_capacity_waitlist_new_bookings(world, clock, daycare_slot):
    _set_staffed(daycare_slot, 1)
    people = [make_family(world.building, clock.now(), f"家{i}") for i in range(2)]
    results = [engine.book(daycare_slot.id, f.add_elder(clock.now(), name=f"老人{i}").id, by=f.user,
                           now=clock.now()) for i, f in enumerate(people)]
    assert [r.booking.status for r in results] == [BookingStatus.confirmed, BookingStatus.waitlisted]
    assert db.session.scalar(sa.select(Slot.places).where(Slot.id == daycare_slot.id)) == 1


def test_places_is_the_smaller_of_capacity_and_staffing_in_sql_and_python(world, clock, daycare_slot):
    for staffed, expected in ((None, 2), (5, 2), (1, 1), (0, 0)):
        _set_staffed(daycare_slot, staffed)
        slot = db.session.get(Slot, daycare_slot.id)
        assert slot.places == expected
        assert db.session.scalar(sa.select(Slot.places).where(Slot.id == slot.id)) == expected


def test_a_freed_place_is_not_handed_on_while_staffing_is_short(world, clock, daycare_slot):
    people = [make_family(world.building, clock.now(), f"家{i}") for i in range(3)]
    bookings = [engine.book(daycare_slot.id, f.add_elder(clock.now(), name=f"老人{i}").id, by=f.user,
                            now=clock.now()).booking for i, f in enumerate(people)]
    _set_staffed(daycare_slot, 1)
    engine.cancel(bookings[0].id, by=people[0].user, now=clock.now() + timedelta(minutes=1))
    # Two held places, one cancelled: one held, but staffing allows one, so the waitlist waits.
    assert db.session.get(engine.Booking, bookings[2].id).status == BookingStatus.waitlisted


def test_ordered_meals_are_not_swept_into_no_shows(world, clock, meals):  # noqa: F811
    """A canteen does not check each diner in: after the meal, a confirmed order stands as served."""
    meal = engine.book(meals.lunch_slot.id, meals.elder.id, by=meals.family.user, now=clock.now()).booking
    day_care = make_slot(world.daycare, world.care_centre.manager, clock.now())
    elder = world.family.add_elder(clock.now(), name="李爷爷")
    missed = engine.book(day_care.id, elder.id, by=world.family.user, now=clock.now()).booking
    after = max(meals.lunch_slot.ends_at, day_care.ends_at) + timedelta(minutes=1)
    assert engine.mark_no_shows(now=after) == 1
    assert db.session.get(engine.Booking, meal.id).status == BookingStatus.confirmed
    assert db.session.get(engine.Booking, missed.id).status == BookingStatus.no_show
