"""Partner administration through the API: registration, approval, profile, rooms and staff accounts."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from careapp.accounts.models import User
from careapp.core.db import db
from careapp.partners.admin_services import add_room
from careapp.partners.models import PartnerOrganisation, Room, ServiceKind
from careapp.partners.services import create_service
from tests.api_helpers import bad_fields, bearer, call, error_of  # noqa: F401
from tests.factories import PASSWORD
from tests.page_helpers import count

REGISTRATION = {"name": "新希望助餐点", "kind": "canteen", "phone": "0553-1234567", "description": "午餐",
                "manager_name": "周主任", "login": "zhou@example.cn", "password": PASSWORD}


def register(client, **changes):
    return call(client, "POST", "/partner-registrations", json={**REGISTRATION, **changes})


# --- registration and approval ---


def test_a_partner_registers_without_a_token_then_logs_in(client, world):
    response = register(client)
    assert response.status_code == 201
    body = response.get_json()
    assert body["approved"] is False
    partner = db.session.get(PartnerOrganisation, body["partner_id"])
    assert (partner.name, partner.approved) == ("新希望助餐点", False)
    token = call(client, "POST", "/tokens", json={"login": "zhou@example.cn", "password": PASSWORD})
    assert token.status_code == 201


def test_a_registered_partner_cannot_publish_slots_until_approved(client, world, bearer):
    register(client)
    manager = db.session.scalar(sa.select(User).where(User.login == "zhou@example.cn"))
    headers = bearer(manager)
    point = call(client, "POST", f"/partners/{manager.partner_id}/service-points", headers,
                 json={"name": "助餐点", "address": "赭麓街道8号", "latitude": 31.33, "longitude": 118.37}).get_json()
    room = call(client, "POST", f"/service-points/{point['id']}/rooms", headers, json={"name": "餐厅", "seats": 40})
    assert room.status_code == 201
    service = call(client, "POST", f"/partners/{manager.partner_id}/services", headers,
                   json={"kind": "activity", "name": "读书会", "capacity": 30, "service_point_id": point["id"]}).get_json()
    slot = {"starts_at": "2026-12-03T11:00:00+08:00", "ends_at": "2026-12-03T12:30:00+08:00"}
    error_of(call(client, "POST", f"/services/{service['id']}/slots", headers, json=slot), 422, "partner_not_approved")
    approved = call(client, "POST", f"/partners/{manager.partner_id}/approve", bearer(world.community_staff))
    assert approved.status_code == 200 and approved.get_json()["approved"] is True
    assert call(client, "POST", f"/services/{service['id']}/slots", headers, json=slot).status_code == 201


@pytest.mark.parametrize("changes, status, field", [
    ({"name": "麓枫书院"}, 409, "name"),
    ({"login": "not-a-login"}, 400, "login"),
    ({"kind": "bank"}, 400, "kind"),
    ({"phone": "call me"}, 400, "phone"),
    ({"password": 12345678}, 400, "password"),
])
def test_bad_registrations_answer_with_the_field_and_write_nothing(client, world, changes, status, field):
    before = count(PartnerOrganisation), count(User)
    error = error_of(register(client, **changes), status)
    assert field in error["fields"]
    assert (count(PartnerOrganisation), count(User)) == before


class TestRateLimit:
    @pytest.fixture
    def app_config(self) -> dict:
        return {"RATELIMIT_ENABLED": True, "REGISTER_RATE_LIMIT": "2 per hour"}

    def test_registration_is_rate_limited(self, client, world):
        assert register(client, name="甲", login="jia@example.cn").status_code == 201
        assert register(client, name="乙", login="yi@example.cn").status_code == 201
        error_of(register(client, name="丙", login="bing@example.cn"), 429, "throttled")


def test_the_pending_list_is_for_district_staff(client, world, bearer):
    register(client)
    rows = call(client, "GET", "/partners/pending", bearer(world.community_staff)).get_json()
    assert [(row["name"], row["approved"], row["declined_at"]) for row in rows] == [("新希望助餐点", False, None)]
    for user in (world.family.user, world.care_centre.manager, world.care_centre.staff):
        error_of(call(client, "GET", "/partners/pending", bearer(user)), 403)


def test_decline_then_approve(client, world, bearer):
    partner_id = register(client).get_json()["partner_id"]
    headers = bearer(world.admin)
    assert "reason" in bad_fields(call(client, "POST", f"/partners/{partner_id}/decline", headers, json={"reason": ""}))
    declined = call(client, "POST", f"/partners/{partner_id}/decline", headers, json={"reason": "请补充材料"}).get_json()
    assert (declined["decline_reason"], declined["approved"]) == ("请补充材料", False)
    assert call(client, "GET", "/partners/pending", headers).get_json() == []
    approved = call(client, "POST", f"/partners/{partner_id}/approve", headers).get_json()
    assert (approved["approved"], approved["decline_reason"]) == (True, None)
    error_of(call(client, "POST", f"/partners/{partner_id}/approve", headers), 409, "already_approved")
    error_of(call(client, "POST", "/partners/999999/approve", headers), 404)


@pytest.mark.parametrize("who", ["family", "manager", "staff"])
def test_only_district_staff_approve(client, world, bearer, who):
    partner_id = register(client).get_json()["partner_id"]
    user = {"family": world.family.user, "manager": world.care_centre.manager, "staff": world.care_centre.staff}[who]
    error_of(call(client, "POST", f"/partners/{partner_id}/approve", bearer(user)), 403)
    error_of(call(client, "POST", f"/partners/{partner_id}/decline", bearer(user), json={"reason": "x"}), 403)
    assert db.session.get(PartnerOrganisation, partner_id).approved is False


# --- profile ---


def test_the_manager_reads_and_changes_the_profile(client, world, bearer):
    partner_id, headers = world.care_centre.partner.id, bearer(world.care_centre.manager)
    profile = call(client, "GET", f"/partners/{partner_id}/profile", headers).get_json()
    assert (profile["name"], profile["approved"]) == ("普康养老服务中心", True)
    changed = call(client, "PATCH", f"/partners/{partner_id}/profile", headers,
                   json={"description": "日托与助餐", "phone": "0553-1111111"}).get_json()
    assert (changed["name"], changed["description"], changed["phone"]) == \
        ("普康养老服务中心", "日托与助餐", "0553-1111111")
    cleared = call(client, "PATCH", f"/partners/{partner_id}/profile", headers, json={"phone": None}).get_json()
    assert (cleared["phone"], cleared["description"]) == (None, "日托与助餐")
    error_of(call(client, "PATCH", f"/partners/{partner_id}/profile", headers, json={"name": "艺涵托育园"}), 409)
    assert "approved" in bad_fields(call(client, "PATCH", f"/partners/{partner_id}/profile", headers,
                                         json={"approved": True}))


def test_who_sees_a_profile(client, world, bearer):
    pending_id = register(client).get_json()["partner_id"]
    centre = world.care_centre.partner.id
    assert call(client, "GET", f"/partners/{centre}/profile", bearer(world.family.user)).status_code == 200
    error_of(call(client, "GET", f"/partners/{pending_id}/profile", bearer(world.family.user)), 403)
    error_of(call(client, "GET", f"/partners/{centre}/profile", bearer(world.nursery.staff)), 403)
    assert call(client, "GET", f"/partners/{pending_id}/profile", bearer(world.community_staff)).status_code == 200
    error_of(call(client, "PATCH", f"/partners/{centre}/profile", bearer(world.care_centre.staff),
                  json={"name": "x"}), 403)


# --- rooms ---


def test_rooms_of_a_service_point(client, world, bearer):
    point = world.care_centre.partner.service_points[0]
    headers = bearer(world.care_centre.manager)
    created = call(client, "POST", f"/service-points/{point.id}/rooms", headers,
                   json={"name": "阅览室", "purpose": "reading area", "seats": 12})
    assert created.status_code == 201
    room = created.get_json()
    error_of(call(client, "POST", f"/service-points/{point.id}/rooms", headers, json={"name": "阅览室"}), 409,
             "duplicate_name")
    assert "seats" in bad_fields(call(client, "POST", f"/service-points/{point.id}/rooms", headers,
                                      json={"name": "餐厅", "seats": -1}))
    changed = call(client, "PATCH", f"/rooms/{room['id']}", headers, json={"seats": None}).get_json()
    assert (changed["name"], changed["purpose"], changed["seats"]) == ("阅览室", "reading area", None)
    listed = call(client, "GET", f"/service-points/{point.id}/rooms", bearer(world.family.user)).get_json()
    assert [r["name"] for r in listed] == ["阅览室"]
    error_of(call(client, "GET", f"/service-points/{point.id}/rooms", bearer(world.nursery.manager)), 403)
    error_of(call(client, "POST", f"/service-points/{point.id}/rooms", bearer(world.nursery.manager),
                  json={"name": "x"}), 403)
    assert call(client, "DELETE", f"/rooms/{room['id']}", headers).status_code == 204
    assert count(Room) == 0
    error_of(call(client, "DELETE", f"/rooms/{room['id']}", headers), 404)


def test_a_room_in_use_is_not_removed(client, world, clock, bearer):
    point = world.care_centre.partner.service_points[0]
    room = add_room(point.id, name="日托室", by=world.admin, now=clock.now())
    create_service(partner_id=world.care_centre.partner.id, kind=ServiceKind.daycare, name="全日日托", capacity=8,
                   service_point_id=point.id, by=world.care_centre.manager, now=clock.now(), room_id=room.id)
    error_of(call(client, "DELETE", f"/rooms/{room.id}", bearer(world.care_centre.manager)), 422, "room_in_use")
    assert count(Room) == 1


# --- staff accounts ---


def test_the_manager_lists_and_switches_staff_accounts(client, world, bearer):
    manager, staff = world.care_centre.manager, world.care_centre.staff
    headers = bearer(manager)
    staff_headers = bearer(staff)
    rows = call(client, "GET", f"/partners/{manager.partner_id}/staff", headers).get_json()
    assert [(r["name"], r["role"], r["active"]) for r in rows] == [
        (manager.name, "partner_manager", True), (staff.name, "partner_staff", True)]
    off = call(client, "POST", f"/users/{staff.id}/deactivate", headers).get_json()
    assert off["active"] is False
    error_of(call(client, "GET", "/me", staff_headers), 401)  # its token ended with it
    error_of(call(client, "POST", "/tokens", json={"login": staff.login, "password": PASSWORD}), 401)
    error_of(call(client, "POST", f"/users/{staff.id}/deactivate", headers), 409, "wrong_state")
    assert call(client, "POST", f"/users/{staff.id}/reactivate", headers).get_json()["active"] is True
    assert call(client, "POST", "/tokens", json={"login": staff.login, "password": PASSWORD}).status_code == 201
    error_of(call(client, "POST", f"/users/{manager.id}/deactivate", headers), 422, "own_account")


def test_other_partners_and_other_kinds_of_account_are_refused(client, world, bearer):
    headers = bearer(world.nursery.manager)
    error_of(call(client, "GET", f"/partners/{world.care_centre.partner.id}/staff", headers), 403)
    error_of(call(client, "GET", f"/partners/{world.care_centre.partner.id}/staff", bearer(world.care_centre.staff)),
             403)
    error_of(call(client, "POST", f"/users/{world.care_centre.staff.id}/deactivate", headers), 403)
    error_of(call(client, "POST", f"/users/{world.family.user.id}/deactivate", bearer(world.care_centre.manager)),
             403)
    error_of(call(client, "POST", "/users/999999/deactivate", headers), 404)
    assert db.session.get(User, world.care_centre.staff.id).active
