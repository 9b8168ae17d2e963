"""A partner's manager publishes services and slots; staff keep the roster and attendance."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from careapp.booking import engine
from careapp.booking.models import Booking, BookingStatus
from careapp.core.audit import AuditEntry
from careapp.core.db import db
from careapp.households.services import add_authorised_adult
from careapp.partners.models import Service, ServiceKind, Slot, SlotPattern, SlotStatus
from tests.factories import make_family, make_slot
from tests.page_helpers import count, follow, login, text


@pytest.fixture
def manager(client, world):
    login(client, world.care_centre.manager)
    return world.care_centre.manager


def service_form(world, **changes) -> dict:
    point = world.care_centre.partner.service_points[0]
    data = {"kind": "daycare", "name": "全日日托", "capacity": "12", "service_point_id": str(point.id),
            "fill_policy": "offer", "offer_hours": "6", "booking_cutoff_minutes": "60", "cancel_cutoff_minutes": "",
            "min_age_years": "65", "max_age_years": "", "min_age_months": "", "max_age_months": "",
            "ability_levels": ["0", "1", "2"]}
    data.update(changes)
    return data


def test_dashboard_lists_services_and_upcoming_slots_with_counts(client, world, clock):
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=2)
    engine.book(slot.id, world.family.add_elder(now).id, by=world.family.user, now=now)
    login(client, world.care_centre.staff)
    page = text(client.get(f"/partners/{world.care_centre.partner.id}"))
    assert "日间照料" in page and "午餐" in page
    assert "<strong>1</strong> of 2 places left" in page and "1 booked" in page
    assert f'href="/partners/slots/{slot.id}"' in page
    assert "Create a service" not in page  # staff do not manage


def test_manager_creates_a_service(client, world, manager):
    response = client.post(f"/partners/{world.care_centre.partner.id}/services/new", data=service_form(world))
    assert "The service 全日日托 is created." in follow(client, response)
    service = db.session.scalar(sa.select(Service).where(Service.name == "全日日托"))
    assert (service.kind, service.default_capacity, service.ability_levels, service.offer_hours,
            service.booking_cutoff_minutes, service.cancel_cutoff_minutes, service.min_age_years) == \
        (ServiceKind.daycare, 12, "012", 6, 60, None, 65)


@pytest.mark.parametrize("changes, field, message", [
    ({"capacity": "-1"}, "capacity", "Between 0 and 10000 places."),
    ({"capacity": "many"}, "capacity", "Not a valid integer value."),
    ({"service_point_id": ""}, "service_point_id", "Please choose where the service takes place."),
    ({"name": ""}, "name", "Please give the service a name."),
    ({"offer_hours": "0"}, "offer_hours", "From 1 to 336 hours."),
    ({"max_age_years": "60"}, "max_age_years", "The oldest age must not be below the youngest."),
    ({"kind": "haircut"}, "kind", "Not a valid choice."),
])
def test_bad_service_input_is_shown_by_the_field_and_nothing_is_written(client, world, manager, changes, field,
                                                                        message):
    before = count(Service), count(AuditEntry)
    response = client.post(f"/partners/{world.care_centre.partner.id}/services/new",
                           data=service_form(world, **changes))
    assert response.status_code == 400
    assert f'id="{field}-error">{message}' in text(response)
    assert (count(Service), count(AuditEntry)) == before


def test_another_partners_service_point_is_not_a_choice(client, world, manager):
    theirs = world.nursery.partner.service_points[0]
    response = client.post(f"/partners/{world.care_centre.partner.id}/services/new",
                           data=service_form(world, service_point_id=str(theirs.id)))
    assert response.status_code == 400
    assert 'id="service_point_id-error">Please choose one from the list.' in text(response)


def test_manager_adds_a_service_point(client, world, manager):
    response = client.post(f"/partners/{world.care_centre.partner.id}/points/new",
                           data={"name": "二号助餐点", "address": "赭麓街道2号", "latitude": "31.34",
                                 "longitude": "118.38"})
    assert "The service point 二号助餐点 is added." in follow(client, response)


def test_manager_creates_a_one_off_slot_in_local_time(client, world, manager):
    response = client.post(f"/partners/services/{world.daycare.id}/slots/new",
                           data={"day": "2026-12-05", "start_time": "08:30", "end_time": "11:30", "capacity": ""})
    assert "A slot of 日间照料 on 2026-12-05 08:30 is added." in follow(client, response)
    slot = db.session.scalars(sa.select(Slot)).one()
    assert slot.starts_at.isoformat() == "2026-12-05T00:30:00+00:00"  # 08:30 in Shanghai
    assert slot.capacity == world.daycare.default_capacity


@pytest.mark.parametrize("changes, field, message", [
    ({"day": "2026-11-30"}, "start_time", "A slot must start in the future."),
    ({"end_time": "08:00"}, "end_time", "A slot must end after it starts."),
    ({"day": ""}, "day", "Please give the day."),
    ({"capacity": "-3"}, "capacity", "Between 0 and 10000 places."),
])
def test_bad_slot_input_is_shown_by_the_field(client, world, manager, changes, field, message):
    data = {"day": "2026-12-05", "start_time": "08:30", "end_time": "11:30", "capacity": "4", **changes}
    response = client.post(f"/partners/services/{world.daycare.id}/slots/new", data=data)
    assert response.status_code == 400
    assert f'id="{field}-error">{message}' in text(response)
    assert count(Slot) == 0


def test_a_second_slot_at_the_same_start_is_a_conflict(client, world, manager):
    data = {"day": "2026-12-05", "start_time": "08:30", "end_time": "11:30"}
    client.post(f"/partners/services/{world.daycare.id}/slots/new", data=data)
    response = client.post(f"/partners/services/{world.daycare.id}/slots/new", data=data)
    assert response.status_code == 409
    assert 'id="start_time-error">This service already has a slot starting then.' in text(response)
    assert count(Slot) == 1


def test_manager_creates_a_weekly_pattern(client, world, manager):
    response = client.post(f"/partners/services/{world.daycare.id}/weekly/new",
                           data={"weekdays": ["0", "2"], "start_time": "14:00", "end_time": "16:30",
                                 "capacity": "8", "valid_from": "2026-12-01", "valid_until": ""})
    assert "日间照料 now repeats on 2 day(s) each week" in follow(client, response)
    assert sorted(db.session.scalars(sa.select(SlotPattern.weekday))) == [0, 2]
    starts = [s.starts_at.isoformat() for s in db.session.scalars(sa.select(Slot).order_by(Slot.starts_at))]
    # Wednesdays 2 and 9, Mondays 7 and 14 December, 14:00 local = 06:00 UTC; two weeks ahead.
    assert starts == ["2026-12-02T06:00:00+00:00", "2026-12-07T06:00:00+00:00", "2026-12-09T06:00:00+00:00",
                      "2026-12-14T06:00:00+00:00"]


def test_a_weekly_pattern_needs_a_day(client, world, manager):
    response = client.post(f"/partners/services/{world.daycare.id}/weekly/new",
                           data={"start_time": "14:00", "end_time": "16:30", "valid_from": "2026-12-01"})
    assert response.status_code == 400
    assert 'id="weekdays-error">Please tick at least one day.' in text(response)
    assert 'name="weekdays" type="checkbox" value="0"' in text(response)  # no box is "required" on its own
    assert count(SlotPattern) == 0


def two_booked(world, clock) -> Slot:
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=2)
    for name in ("甲", "乙"):
        family = make_family(world.building, now, name)
        engine.book(slot.id, family.add_elder(now, name=f"{name}老人").id, by=family.user, now=now)
    return slot


def test_manager_changes_capacity_and_is_refused_below_bookings(client, world, clock, manager):
    slot = two_booked(world, clock)
    page = follow(client, client.post(f"/partners/slots/{slot.id}/capacity", data={"capacity": "1"}))
    assert "2 places are already booked; capacity cannot go below 2." in page
    assert db.session.get(Slot, slot.id).capacity == 2
    page = follow(client, client.post(f"/partners/slots/{slot.id}/capacity", data={"capacity": "5"}))
    assert "The slot now has 5 places." in page
    assert db.session.get(Slot, slot.id).capacity == 5
    page = follow(client, client.post(f"/partners/slots/{slot.id}/capacity", data={"capacity": "lots"}))
    assert "Not a valid integer value." in page


def test_cancelling_a_slot_asks_first_then_ends_every_booking(client, world, clock, manager):
    slot = two_booked(world, clock)
    page = text(client.get(f"/partners/slots/{slot.id}/cancel"))
    assert "Cancel this slot?" in page and "Every booking and the waiting list of this slot will be cancelled" in page
    assert db.session.get(Slot, slot.id).status == SlotStatus.open  # asking changes nothing
    page = follow(client, client.post(f"/partners/slots/{slot.id}/cancel"))
    assert "The slot on 2026-12-02 08:30 is cancelled, with every booking in it." in page
    assert db.session.get(Slot, slot.id).status == SlotStatus.cancelled
    assert set(db.session.scalars(sa.select(Booking.status))) == {BookingStatus.cancelled}
    page = follow(client, client.post(f"/partners/slots/{slot.id}/cancel"))
    assert "This slot is already cancelled." in page


def test_roster_shows_people_needs_waitlist_and_who_may_collect_a_child(client, world, clock):
    now = clock.now()
    slot = make_slot(world.nursery.services["托小班"], world.nursery.manager, now, capacity=1)
    child = world.family.add_child(now)
    add_authorised_adult(child_id=child.id, by=world.family.user, now=now, name="李奶奶", relation="grandmother",
                         phone="13900003333")
    engine.book(slot.id, child.id, by=world.family.user, now=now)
    waiting = world.other_family.add_child(now, name="小红")
    engine.book(slot.id, waiting.id, by=world.other_family.user, now=now)
    login(client, world.nursery.staff)
    page = text(client.get(f"/partners/slots/{slot.id}"))
    assert "<h3>小明</h3>" in page and "Child, 26 months" in page
    assert "李奶奶 (grandmother, 13900003333)" in page
    assert "<h2>Waiting list (1)</h2>" in page and "<li>小红 (Child, 26 months)</li>" in page
    assert "Change this slot" not in page  # staff, not manager


def test_staff_check_in_and_out_from_the_roster(client, world, clock):
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now)
    elder = world.family.add_elder(now)
    booking = engine.book(slot.id, elder.id, by=world.family.user, now=now).booking
    login(client, world.care_centre.staff)
    page = text(client.get(f"/partners/slots/{slot.id}"))
    assert f'action="/partners/bookings/{booking.id}/check-in"' in page and "Check in 王奶奶" in page
    page = follow(client, client.post(f"/partners/bookings/{booking.id}/check-in"))
    assert "Check-in opens at 2026-12-02 06:30." in page  # the day before is too early

    clock.set(slot.starts_at - timedelta(minutes=5))
    page = follow(client, client.post(f"/partners/bookings/{booking.id}/check-in"))
    assert "王奶奶 is checked in." in page and "in at 08:25" in page
    assert "Check out 王奶奶" in page
    clock.advance(hours=3, minutes=10)
    page = follow(client, client.post(f"/partners/bookings/{booking.id}/check-out"))
    assert "王奶奶 is checked out." in page and "out at 11:35" in page
    booking = db.session.get(Booking, booking.id)
    assert (booking.status, booking.checked_in_by_id) == (BookingStatus.checked_out, world.care_centre.staff.id)


def test_another_partners_staff_cannot_check_in(client, world, clock):
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now)
    booking = engine.book(slot.id, world.family.add_elder(now).id, by=world.family.user, now=now).booking
    clock.set(slot.starts_at - timedelta(minutes=5))
    login(client, world.nursery.staff)
    assert client.get(f"/partners/slots/{slot.id}").status_code == 403
    assert client.post(f"/partners/bookings/{booking.id}/check-in").status_code == 403
    assert db.session.get(Booking, booking.id).status == BookingStatus.confirmed


def test_a_manager_creates_a_staff_account_for_their_own_partner_only(client, world):
    from careapp.accounts.models import Role, User

    login(client, world.care_centre.manager)
    data = {"role": "partner_staff", "name": "新护理员", "login": "13966667777", "password": "first-pass-1"}
    response = client.post(f"/partners/{world.care_centre.partner.id}/accounts/new", data=data)
    assert "新护理员 can now log in with 13966667777." in follow(client, response)
    user = db.session.scalar(sa.select(User).where(User.login == "13966667777"))
    assert (user.role, user.partner_id) == (Role.partner_staff, world.care_centre.partner.id)
    before = count(User)
    other = client.post(f"/partners/{world.nursery.partner.id}/accounts/new", data={**data, "login": "13966668888"})
    assert other.status_code == 403
    assert count(User) == before
