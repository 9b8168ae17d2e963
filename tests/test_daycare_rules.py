"""Day care's rules: who may come (age on the slot's date, ability level), what families are told about a
service (session length, lunch, transport), and whether a booking asks for transport (接送)."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from careapp.booking import engine
from careapp.booking.models import Booking
from careapp.core.audit import AuditEntry
from careapp.core.db import db
from careapp.core.errors import BadInput, RuleRefused
from careapp.households.models import RecipientKind
from careapp.households.services import add_recipient
from careapp.partners.models import ServiceKind, SessionLength
from careapp.partners.services import create_service
from tests.api_helpers import bad_fields, bearer, call, error_of  # noqa: F401 (bearer is a fixture)
from tests.factories import make_slot
from tests.page_helpers import count, follow, login, text


def daycare_service(world, name: str = "全日日托", **settings):
    setup = world.care_centre
    return create_service(partner_id=setup.partner.id, kind=ServiceKind.daycare, name=name, capacity=5,
                          service_point_id=world.daycare.service_point_id, by=setup.manager, now=world.now,
                          **settings)


@pytest.fixture
def slot(world, clock):
    """Tomorrow (Wednesday 2 December) morning in the world's day care, which accepts levels 0-2."""
    return make_slot(world.daycare, world.care_centre.manager, clock.now())


# --- eligibility ---

def test_a_59_year_old_is_refused_naming_the_min_age_rule(world, clock, slot):
    elder = world.family.add_elder(clock.now(), name="刘阿姨", age=59)
    with pytest.raises(RuleRefused) as refused:
        engine.book(slot.id, elder.id, by=world.family.user, now=clock.now())
    assert (refused.value.code, refused.value.fields) == ("ineligible", {"rule": "min_age"})
    assert "aged 60 or more" in refused.value.message and "刘阿姨 will be 59" in refused.value.message
    assert count(Booking) == 0


def test_age_is_counted_on_the_slots_date(world, clock, slot):
    """60 on the day of the slot is old enough, though 59 today."""
    elder = add_recipient(household_id=world.family.household.id, by=world.family.user, now=clock.now(),
                          kind=RecipientKind.elder, name="生日", birth_date=date(1966, 12, 2), ability_level=0)
    assert engine.book(slot.id, elder.id, by=world.family.user, now=clock.now()).booking.id


def test_the_minimum_age_setting_is_honoured(world, clock, slot, app):
    elder = world.family.add_elder(clock.now(), age=62)
    app.config["DAYCARE_MIN_AGE"] = 65
    with pytest.raises(RuleRefused) as refused:
        engine.book(slot.id, elder.id, by=world.family.user, now=clock.now())
    assert refused.value.fields == {"rule": "min_age"} and "aged 65 or more" in refused.value.message
    app.config["DAYCARE_MIN_AGE"] = 55
    younger = world.family.add_elder(clock.now(), name="五十七", age=57)
    assert engine.book(slot.id, younger.id, by=world.family.user, now=clock.now()).booking.id


def test_a_services_own_minimum_age_wins_over_the_setting(world, clock):
    service = daycare_service(world, min_age_years=70)
    slot = make_slot(service, world.care_centre.manager, clock.now())
    elder = world.family.add_elder(clock.now(), age=65)
    with pytest.raises(RuleRefused) as refused:
        engine.book(slot.id, elder.id, by=world.family.user, now=clock.now())
    assert refused.value.fields == {"rule": "min_age"} and "aged 70 or more" in refused.value.message


@pytest.mark.parametrize("level", [3, 4, None])
def test_an_ability_level_the_service_does_not_accept_is_refused(world, clock, slot, level):
    elder = world.family.add_elder(clock.now(), ability_level=level)
    with pytest.raises(RuleRefused) as refused:
        engine.book(slot.id, elder.id, by=world.family.user, now=clock.now())
    assert refused.value.fields == {"rule": "ability_level"}
    assert "accepts ability levels 0, 1, 2" in refused.value.message


@pytest.mark.parametrize("level", [0, 2])
def test_accepted_levels_are_booked(world, clock, slot, level):
    elder = world.family.add_elder(clock.now(), ability_level=level)
    assert engine.book(slot.id, elder.id, by=world.family.user, now=clock.now()).booking.id


def test_a_service_accepting_every_level_takes_level_4(world, clock):
    service = daycare_service(world)  # no ability_levels: all
    slot = make_slot(service, world.care_centre.manager, clock.now())
    elder = world.family.add_elder(clock.now(), ability_level=4)
    assert engine.book(slot.id, elder.id, by=world.family.user, now=clock.now()).booking.id


def test_children_are_not_day_care_members(world, clock, slot):
    child = world.family.add_child(clock.now())
    with pytest.raises(RuleRefused) as refused:
        engine.book(slot.id, child.id, by=world.family.user, now=clock.now())
    assert refused.value.fields == {"rule": "recipient_kind"}


# --- transport on a booking ---

@pytest.fixture
def minibus(world, clock):
    """A full-day session with lunch and transport, tomorrow."""
    service = daycare_service(world, session_length=SessionLength.full_day, lunch_included=True, transport=True)
    return make_slot(service, world.care_centre.manager, clock.now(), hours=8)


def test_a_booking_records_whether_transport_is_needed(world, clock, minibus):
    elder = world.family.add_elder(clock.now())
    booking = engine.book(minibus.id, elder.id, by=world.family.user, now=clock.now(),
                          options={"needs_transport": True}).booking
    assert db.session.get(Booking, booking.id).needs_transport is True
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "booking.confirmed")).one()
    assert entry.after["needs_transport"] is True
    engine.change_options(booking.id, {"needs_transport": False}, by=world.family.user, now=clock.now())
    assert db.session.get(Booking, booking.id).needs_transport is False


def test_transport_is_refused_where_the_service_has_none(world, clock, slot):
    elder = world.family.add_elder(clock.now())
    with pytest.raises(RuleRefused) as refused:
        engine.book(slot.id, elder.id, by=world.family.user, now=clock.now(), options={"needs_transport": True})
    assert refused.value.code == "no_transport"
    with pytest.raises(BadInput):
        engine.book(slot.id, elder.id, by=world.family.user, now=clock.now(), options={"needs_transport": "yes"})
    with pytest.raises(BadInput):
        engine.book(slot.id, elder.id, by=world.family.user, now=clock.now(), options={"lunch": True})
    assert count(Booking) == 0


def test_families_see_session_lunch_and_transport_and_tick_transport_when_booking(client, world, clock, minibus):
    elder = world.family.add_elder(clock.now())
    login(client, world.family.user)
    page = text(client.get(f"/booking/slots/{minibus.id}"))
    assert "<dt>Session</dt><dd>Full day</dd>" in page
    assert "<dt>Lunch</dt><dd>Included</dd>" in page
    assert "Yes, ask for it when you book" in page
    assert 'name="needs_transport"' in page
    response = client.post(f"/booking/slots/{minibus.id}/book", data={"recipient_id": elder.id,
                                                                       "needs_transport": "y"})
    assert "confirmed, fetched and brought home." in follow(client, response)
    assert db.session.scalars(sa.select(Booking)).one().needs_transport is True


def test_no_transport_box_where_there_is_no_transport(client, world, clock, slot):
    elder = world.family.add_elder(clock.now())
    login(client, world.family.user)
    page = text(client.get(f"/booking/slots/{slot.id}"))
    assert 'name="needs_transport"' not in page and "No, please come by yourself" in page
    response = client.post(f"/booking/slots/{slot.id}/book", data={"recipient_id": elder.id, "needs_transport": "y"})
    assert "does not offer transport" in follow(client, response)
    assert count(Booking) == 0


def test_the_api_books_with_transport(client, world, clock, bearer, minibus, slot):
    elder = world.family.add_elder(clock.now())
    headers = bearer(world.family.user)
    response = call(client, "POST", f"/slots/{minibus.id}/bookings", headers,
                    json={"recipient_id": elder.id, "needs_transport": True})
    assert response.status_code == 201
    assert response.get_json()["needs_transport"] is True
    assert db.session.get(Booking, response.get_json()["id"]).needs_transport is True
    error_of(call(client, "POST", f"/slots/{slot.id}/bookings", headers,
                  json={"recipient_id": elder.id, "needs_transport": True}), 422, "no_transport")
    assert "needs_transport" in bad_fields(call(client, "POST", f"/slots/{slot.id}/bookings", headers,
                                                json={"recipient_id": elder.id, "needs_transport": "yes"}))
    reading = world.academy.services["图书阅览"]
    reading_slot = make_slot(reading, world.academy.manager, clock.now())
    error_of(call(client, "POST", f"/slots/{reading_slot.id}/bookings", headers,
                  json={"recipient_id": elder.id, "needs_transport": True}), 400, "bad_input")
    ok = call(client, "POST", f"/slots/{reading_slot.id}/bookings", headers, json={"recipient_id": elder.id})
    assert ok.status_code == 201
