"""Partners, service points, services and slots through the API: who may do what, and the rules' refusals."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from careapp.booking.models import Booking, BookingStatus
from careapp.core.db import db, write_transaction
from careapp.partners.models import PartnerOrganisation, Service, Slot, SlotStatus
from tests.api_helpers import bad_fields, bearer, booked, call, daycare_slot, error_of  # noqa: F401
from tests.factories import make_family

# --- listing partners ---


def test_families_see_approved_partners_with_their_points_and_services(client, world, bearer):
    with write_transaction():
        db.session.add(PartnerOrganisation(name="待审机构", kind="canteen", approved=False, created_at=world.now))
    rows = call(client, "GET", "/partners", bearer(world.family.user)).get_json()
    assert [row["name"] for row in rows] == sorted(["普康养老服务中心", "艺涵托育园", "麓枫书院"])
    centre = next(row for row in rows if row["id"] == world.care_centre.partner.id)
    assert [s["name"] for s in centre["services"]] == ["日间照料", "午餐"]
    assert centre["services"][0]["ability_levels"] == [0, 1, 2]
    assert centre["service_points"][0]["partner_id"] == centre["id"]
    staff_rows = call(client, "GET", "/partners", bearer(world.community_staff)).get_json()
    assert len(staff_rows) == 4 and any(not row["approved"] for row in staff_rows)


@pytest.mark.parametrize("who", ["staff", "manager"])
def test_partner_staff_see_only_their_own_partner(client, world, bearer, who):
    rows = call(client, "GET", "/partners", bearer(getattr(world.nursery, who))).get_json()
    assert [row["id"] for row in rows] == [world.nursery.partner.id]


# --- adding a partner ---


@pytest.mark.parametrize("role", ["community_staff", "admin"])
def test_district_staff_add_a_partner_approved_at_once(client, world, bearer, role):
    response = call(client, "POST", "/partners", bearer(getattr(world, role)),
                    json={"name": "新希望社会组织", "kind": "social_organisation", "phone": "05531234567"})
    assert response.status_code == 201
    body = response.get_json()
    assert (body["approved"], body["kind"], body["phone"]) == (True, "social_organisation", "05531234567")
    assert (body["services"], body["service_points"]) == ([], [])


def test_a_duplicate_partner_name_is_a_409(client, world, bearer):
    response = call(client, "POST", "/partners", bearer(world.admin), json={"name": "麓枫书院", "kind": "academy"})
    assert error_of(response, 409, "duplicate_name")["fields"] == {"name": "taken"}


@pytest.mark.parametrize("who", ["family", "partner_manager", "partner_staff"])
def test_others_cannot_add_partners(client, world, bearer, who):
    user = {"family": world.family.user, "partner_manager": world.academy.manager,
            "partner_staff": world.academy.staff}[who]
    error_of(call(client, "POST", "/partners", bearer(user), json={"name": "某机构", "kind": "canteen"}), 403)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PartnerOrganisation)) == 3


@pytest.mark.parametrize("body, field", [
    ({"name": "某机构", "kind": "hospital"}, "kind"), ({"name": "某机构"}, "kind"), ({"kind": "canteen"}, "name"),
    ({"name": "  ", "kind": "canteen"}, "name"), ({"name": 7, "kind": "canteen"}, "name"),
    ({"name": "某机构", "kind": "canteen", "phone": 13800000000}, "phone"),
])
def test_partner_bad_input(client, world, bearer, body, field):
    assert field in bad_fields(call(client, "POST", "/partners", bearer(world.admin), json=body))


# --- service points ---

POINT = {"name": "二号服务点", "address": "赭麓街道2号", "latitude": 31.34, "longitude": 118.38}


@pytest.mark.parametrize("who", ["manager", "community_staff", "admin"])
def test_a_partners_manager_and_district_staff_add_service_points(client, world, bearer, who):
    user = world.care_centre.manager if who == "manager" else getattr(world, who)
    response = call(client, "POST", f"/partners/{world.care_centre.partner.id}/service-points", bearer(user),
                    json=POINT)
    assert response.status_code == 201
    assert response.get_json() == {"id": response.get_json()["id"], "partner_id": world.care_centre.partner.id,
                                   **POINT}


@pytest.mark.parametrize("who", ["own_staff", "other_manager", "family"])
def test_others_cannot_add_service_points(client, world, bearer, who):
    user = {"own_staff": world.care_centre.staff, "other_manager": world.nursery.manager,
            "family": world.family.user}[who]
    error_of(call(client, "POST", f"/partners/{world.care_centre.partner.id}/service-points", bearer(user),
                  json=POINT), 403)


def test_service_point_of_an_unknown_partner_is_404(client, world, bearer):
    error_of(call(client, "POST", "/partners/999999/service-points", bearer(world.admin), json=POINT), 404)


@pytest.mark.parametrize("raw, field", [
    ({**POINT, "latitude": 91}, "latitude"),            # the rule's range
    ({**POINT, "longitude": -181}, "longitude"),
    ({**POINT, "latitude": "31.34"}, "latitude"),
    ({**POINT, "address": None}, "address"),
    ({k: v for k, v in POINT.items() if k != "longitude"}, "longitude"),
    ('{"name": "x", "address": "y", "latitude": NaN, "longitude": 1}', "latitude"),
    ('{"name": "x", "address": "y", "latitude": 1e400, "longitude": 1}', "latitude"),
])
def test_service_point_bad_input(client, world, bearer, raw, field):
    kwargs = {"data": raw, "content_type": "application/json"} if isinstance(raw, str) else {"json": raw}
    response = call(client, "POST", f"/partners/{world.care_centre.partner.id}/service-points",
                    bearer(world.admin), **kwargs)
    assert field in bad_fields(response)


# --- services ---


def service_body(world, **changes) -> dict:
    point_id = world.care_centre.partner.service_points[0].id
    return {"kind": "daycare", "name": "全日日托", "capacity": 12, "service_point_id": point_id, **changes}


def test_a_manager_publishes_a_service_with_its_settings(client, world, bearer):
    body = service_body(world, fill_policy="offer", offer_hours=6, booking_cutoff_minutes=120,
                        cancel_cutoff_minutes=60, min_age_years=65, ability_levels=[2, 0, 1, 1],
                        description="含午餐和接送")
    response = call(client, "POST", f"/partners/{world.care_centre.partner.id}/services",
                    bearer(world.care_centre.manager), json=body)
    assert response.status_code == 201
    created = response.get_json()
    assert created["ability_levels"] == [0, 1, 2]
    assert (created["default_capacity"], created["fill_policy"], created["offer_hours"]) == (12, "offer", 6)
    assert (created["booking_cutoff_minutes"], created["min_age_years"], created["max_age_years"]) == (120, 65, None)
    service = db.session.get(Service, created["id"])
    assert (service.ability_levels, service.description) == ("012", "含午餐和接送")


def test_an_admin_publishes_a_service_with_the_kinds_defaults(client, world, bearer):
    response = call(client, "POST", f"/partners/{world.care_centre.partner.id}/services", bearer(world.admin),
                    json=service_body(world))
    created = response.get_json()
    assert (response.status_code, created["fill_policy"], created["offer_hours"]) == (201, "auto", 24)
    assert created["booking_cutoff_minutes"] is None and created["ability_levels"] is None


@pytest.mark.parametrize("who", ["own_staff", "other_manager", "community_staff", "family"])
def test_only_that_partners_manager_or_an_admin_publishes_services(client, world, bearer, who):
    user = {"own_staff": world.care_centre.staff, "other_manager": world.nursery.manager,
            "community_staff": world.community_staff, "family": world.family.user}[who]
    error_of(call(client, "POST", f"/partners/{world.care_centre.partner.id}/services", bearer(user),
                  json=service_body(world)), 403)


def test_service_of_an_unknown_partner_is_404(client, world, bearer):
    error_of(call(client, "POST", "/partners/999999/services", bearer(world.admin), json=service_body(world)), 404)


@pytest.mark.parametrize("changes, field", [
    ({"kind": "massage"}, "kind"),
    ({"fill_policy": "lottery"}, "fill_policy"),
    ({"capacity": -1}, "capacity"),
    ({"capacity": "12"}, "capacity"),
    ({"capacity": 2**31}, "capacity"),
    ({"service_point_id": 999999}, "service_point_id"),       # the rule: not this partner's point
    ({"ability_levels": [0, 5]}, "ability_levels"),           # the rule: GB/T 42195-2022 has 0-4
    ({"ability_levels": []}, "ability_levels"),
    ({"ability_levels": "012"}, "ability_levels"),
    ({"ability_levels": [0, "1"]}, "ability_levels.1"),
    ({"booking_cutoff_minutes": 10**9}, "booking_cutoff_minutes"),  # the rule: far past any sane cutoff
    ({"cancel_cutoff_minutes": -5}, "cancel_cutoff_minutes"),
    ({"offer_hours": 0}, "offer_hours"),                      # the rule: at least an hour
    ({"min_age_years": 80, "max_age_years": 70}, "max_age_years"),
    ({"name": ""}, "name"),
])
def test_service_bad_input(client, world, bearer, changes, field):
    response = call(client, "POST", f"/partners/{world.care_centre.partner.id}/services",
                    bearer(world.care_centre.manager), json=service_body(world, **changes))
    assert field in bad_fields(response)


def test_another_partners_service_point_is_refused(client, world, bearer):
    theirs = world.nursery.partner.service_points[0].id
    response = call(client, "POST", f"/partners/{world.care_centre.partner.id}/services",
                    bearer(world.care_centre.manager), json=service_body(world, service_point_id=theirs))
    assert bad_fields(response) == {"service_point_id": "unknown"}


# --- slots: opening, capacity, cancelling ---

TOMORROW_0830 = "2026-12-02T08:30:00+08:00"
TOMORROW_1130 = "2026-12-02T11:30:00+08:00"


def test_a_manager_opens_a_slot_given_in_local_time_and_gets_it_back_in_utc(client, world, bearer):
    response = call(client, "POST", f"/services/{world.daycare.id}/slots", bearer(world.care_centre.manager),
                    json={"starts_at": TOMORROW_0830, "ends_at": TOMORROW_1130})
    assert response.status_code == 201
    slot = response.get_json()
    assert slot["starts_at"] == "2026-12-02T00:30:00+00:00"
    assert datetime.fromisoformat(slot["ends_at"]) == datetime.fromisoformat(TOMORROW_1130)
    assert (slot["capacity"], slot["confirmed"], slot["waitlisted"], slot["available"]) == (2, 0, 0, 2)
    assert (slot["service_id"], slot["kind"], slot["status"]) == (world.daycare.id, "daycare", "open")


def test_a_slot_with_its_own_capacity_and_utc_z_times(client, world, bearer):
    response = call(client, "POST", f"/services/{world.daycare.id}/slots", bearer(world.admin),
                    json={"starts_at": "2026-12-03T00:30:00Z", "ends_at": "2026-12-03T03:30:00Z", "capacity": 5})
    assert (response.status_code, response.get_json()["capacity"]) == (201, 5)


def test_two_slots_of_a_service_cannot_start_together(client, world, bearer):
    headers, body = bearer(world.care_centre.manager), {"starts_at": TOMORROW_0830, "ends_at": TOMORROW_1130}
    call(client, "POST", f"/services/{world.daycare.id}/slots", headers, json=body)
    same_moment = {"starts_at": "2026-12-02T00:30:00+00:00", "ends_at": TOMORROW_1130}
    response = call(client, "POST", f"/services/{world.daycare.id}/slots", headers, json=same_moment)
    assert error_of(response, 409, "duplicate_slot")["fields"] == {"starts_at": "taken"}


def test_an_unapproved_partner_cannot_open_slots(client, world, bearer):
    with write_transaction():
        world.care_centre.partner.approved = False
    response = call(client, "POST", f"/services/{world.daycare.id}/slots", bearer(world.care_centre.manager),
                    json={"starts_at": TOMORROW_0830, "ends_at": TOMORROW_1130})
    error_of(response, 422, "partner_not_approved")


@pytest.mark.parametrize("who", ["own_staff", "other_manager", "community_staff", "family"])
def test_only_that_partners_manager_or_an_admin_opens_slots(client, world, bearer, who):
    user = {"own_staff": world.care_centre.staff, "other_manager": world.nursery.manager,
            "community_staff": world.community_staff, "family": world.family.user}[who]
    error_of(call(client, "POST", f"/services/{world.daycare.id}/slots", bearer(user),
                  json={"starts_at": TOMORROW_0830, "ends_at": TOMORROW_1130}), 403)


def test_slot_of_an_unknown_service_is_404(client, world, bearer):
    error_of(call(client, "POST", "/services/999999/slots", bearer(world.admin),
                  json={"starts_at": TOMORROW_0830, "ends_at": TOMORROW_1130}), 404)


@pytest.mark.parametrize("changes, field", [
    ({"starts_at": "2026-12-02T08:30:00"}, "starts_at"),          # naive: which zone?
    ({"starts_at": "2026-12-02 08:30"}, "starts_at"),
    ({"starts_at": "tomorrow morning"}, "starts_at"),
    ({"starts_at": "2026-13-02T08:30:00+08:00"}, "starts_at"),
    ({"starts_at": 1796171400}, "starts_at"),
    ({"ends_at": "9999-12-31T23:00:00-05:00"}, "ends_at"),         # past the last year Python can hold in UTC
    ({"ends_at": "2026-12-02T08:00:00+08:00"}, "ends_at"),         # the rule: ends before it starts
    ({"starts_at": "2026-11-30T08:30:00+08:00"}, "starts_at"),     # the rule: in the past
    ({"capacity": -3}, "capacity"),
    ({"capacity": 3.0}, "capacity"),
])
def test_slot_bad_input(client, world, bearer, changes, field):
    body = {"starts_at": TOMORROW_0830, "ends_at": TOMORROW_1130, **changes}
    response = call(client, "POST", f"/services/{world.daycare.id}/slots", bearer(world.care_centre.manager),
                    json=body)
    assert field in bad_fields(response)


def waitlisted_slot(world) -> tuple[Slot, list[Booking]]:
    """A 2-place slot with two confirmed and one waitlisted booking, of three households."""
    slot = daycare_slot(world)
    bookings = []
    for i in range(3):
        family = make_family(world.building, world.now, f"排队{i}")
        bookings.append(booked(world, slot, family.add_elder(world.now, name=f"老人{i}"), by=family.user))
    return slot, bookings


def test_raising_capacity_confirms_the_waitlist(client, world, bearer):
    slot, bookings = waitlisted_slot(world)
    response = call(client, "PATCH", f"/slots/{slot.id}", bearer(world.care_centre.manager), json={"capacity": 4})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["capacity"], body["confirmed"], body["waitlisted"], body["available"]) == (4, 3, 0, 1)
    assert db.session.get(Booking, bookings[2].id).status == BookingStatus.confirmed


def test_capacity_cannot_fall_below_places_booked(client, world, bearer):
    slot, _ = waitlisted_slot(world)
    response = call(client, "PATCH", f"/slots/{slot.id}", bearer(world.care_centre.manager), json={"capacity": 1})
    assert error_of(response, 422, "capacity_below_bookings")["fields"] == {"capacity": "at least 2"}


@pytest.mark.parametrize("who", ["own_staff", "other_manager", "community_staff", "family"])
def test_only_that_partners_manager_or_an_admin_changes_capacity_or_cancels(client, world, bearer, who):
    slot = daycare_slot(world)
    user = {"own_staff": world.care_centre.staff, "other_manager": world.nursery.manager,
            "community_staff": world.community_staff, "family": world.family.user}[who]
    error_of(call(client, "PATCH", f"/slots/{slot.id}", bearer(user), json={"capacity": 9}), 403)
    error_of(call(client, "POST", f"/slots/{slot.id}/cancel", bearer(user)), 403)
    assert db.session.get(Slot, slot.id).capacity == 2


@pytest.mark.parametrize("raw, field", [
    ({"capacity": -1}, "capacity"), ({"capacity": "3"}, "capacity"), ({"capacity": None}, "capacity"),
    ({}, "capacity"), ({"capacity": 10**20}, "capacity"), ([{"capacity": 3}], "body"), ("3", "body"),
])
def test_capacity_bad_input(client, world, bearer, raw, field):
    slot = daycare_slot(world)
    response = call(client, "PATCH", f"/slots/{slot.id}", bearer(world.care_centre.manager), json=raw)
    assert field in bad_fields(response)


def test_unknown_slot_is_404_for_capacity_and_cancel(client, world, bearer):
    headers = bearer(world.admin)
    error_of(call(client, "PATCH", "/slots/999999", headers, json={"capacity": 3}), 404)
    error_of(call(client, "POST", "/slots/999999/cancel", headers), 404)


def test_cancelling_a_slot_ends_its_bookings_and_cannot_happen_twice(client, world, bearer):
    slot, bookings = waitlisted_slot(world)
    headers = bearer(world.admin)
    response = call(client, "POST", f"/slots/{slot.id}/cancel", headers)
    assert response.status_code == 200
    assert (response.get_json()["status"], response.get_json()["confirmed"]) == ("cancelled", 0)
    assert {db.session.get(Booking, b.id).status for b in bookings} == {BookingStatus.cancelled}
    error_of(call(client, "POST", f"/slots/{slot.id}/cancel", headers), 409, "wrong_state")


def test_a_started_slot_cannot_be_cancelled(client, world, clock, bearer):
    slot = daycare_slot(world)
    clock.set(slot.starts_at + timedelta(minutes=1))
    error_of(call(client, "POST", f"/slots/{slot.id}/cancel", bearer(world.care_centre.manager)), 422, "past_cutoff")
    assert db.session.get(Slot, slot.id).status == SlotStatus.open
