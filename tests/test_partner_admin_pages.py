"""Partner administration pages: registering, approving, the profile, rooms and staff accounts."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from careapp.accounts.models import Role, User
from careapp.core.audit import AuditEntry
from careapp.core.db import db
from careapp.partners.admin_services import add_room, register_partner
from careapp.partners.models import PartnerKind, PartnerOrganisation, Room, ServiceKind
from careapp.partners.services import create_service
from tests.factories import PASSWORD
from tests.page_helpers import count, follow, login, text

REGISTRATION = {"name": "新希望助餐点", "kind": "canteen", "phone": "0553-1234567", "description": "午餐",
                "manager_name": "周主任", "login": "13955550001", "password": PASSWORD, "confirm": PASSWORD}


def registered(now, name="新希望助餐点", login="13955550001"):
    return register_partner(name=name, kind=PartnerKind.canteen, manager_name="周主任", login=login,
                            password=PASSWORD, phone="0553-1234567", now=now)


# --- registration ---


def test_a_partner_registers_and_lands_on_its_dashboard_logged_in(client, world):
    assert client.get("/partners/register").status_code == 200
    response = client.post("/partners/register", data=REGISTRATION)
    partner = db.session.scalar(sa.select(PartnerOrganisation).where(PartnerOrganisation.name == "新希望助餐点"))
    assert response.headers["Location"] == f"/partners/{partner.id}"
    page = follow(client, response)
    assert "新希望助餐点 is registered. Community staff will review it" in page
    assert "Waiting for community staff to approve it" in page
    assert f'href="/partners/{partner.id}/profile"' in page and f'href="/partners/{partner.id}/staff"' in page
    manager = db.session.scalar(sa.select(User).where(User.login == "13955550001"))
    assert (manager.role, manager.partner_id, partner.approved) == (Role.partner_manager, partner.id, False)


@pytest.mark.parametrize("changes, field, message", [
    ({"name": "麓枫书院"}, "name", "A partner called 麓枫书院 is already registered."),
    ({"login": "abc"}, "login", "Log in with a mobile number"),
    ({"password": "short", "confirm": "short"}, "password", "The password needs at least 8 characters."),
    ({"confirm": "something-else"}, "confirm", "The two passwords are not the same."),
    ({"kind": "bank"}, "kind", "Not a valid choice."),
    ({"phone": ""}, "phone", "Please give a phone number"),
])
def test_bad_registrations_are_explained_by_the_field_and_write_nothing(client, world, changes, field, message):
    before = count(PartnerOrganisation), count(User)
    response = client.post("/partners/register", data={**REGISTRATION, **changes})
    assert response.status_code in (400, 409)
    assert f'id="{field}-error">{message}' in text(response)
    assert (count(PartnerOrganisation), count(User)) == before


def test_logged_in_users_are_sent_to_their_start_page(client, world):
    login(client, world.family.user)
    assert client.get("/partners/register").headers["Location"] == "/family/"


class TestRateLimit:
    @pytest.fixture
    def app_config(self) -> dict:
        return {"RATELIMIT_ENABLED": True, "REGISTER_RATE_LIMIT": "2 per hour"}

    def test_registration_is_rate_limited(self, client, world):
        for number in (1, 2):
            data = {**REGISTRATION, "name": f"机构{number}", "login": f"1395555000{number}"}
            assert client.post("/partners/register", data=data).status_code == 302
            client.post("/logout")
        response = client.post("/partners/register", data={**REGISTRATION, "name": "机构3", "login": "13955550003"})
        assert response.status_code == 429
        assert "Too many attempts" in text(response)
        assert count(PartnerOrganisation) == 3 + 2


# --- approval ---


def test_community_staff_see_a_waiting_partner_review_and_approve_it(client, world, clock):
    manager = registered(clock.now())
    partner_id = manager.partner_id
    login(client, world.community_staff)
    overview = text(client.get("/community/"))
    assert "Waiting for approval" in overview and f'href="/partners/{partner_id}/review"' in overview
    assert "新希望助餐点" in text(client.get("/partners/pending"))
    review = text(client.get(f"/partners/{partner_id}/review"))
    assert "周主任" in review and "13955550001" in review and "0553-1234567" in review
    page = follow(client, client.post(f"/partners/{partner_id}/approve"))
    assert "新希望助餐点 is approved. It can now publish slots." in page
    partner = db.session.get(PartnerOrganisation, partner_id)
    assert (partner.approved, partner.approved_by_id) == (True, world.community_staff.id)
    assert "No partner is waiting for approval." in text(client.get("/partners/pending"))


def test_declining_needs_a_reason_which_the_manager_then_sees(client, other_client, world, clock):
    manager = registered(clock.now())
    login(client, world.community_staff)
    before = count(AuditEntry)
    response = client.post(f"/partners/{manager.partner_id}/decline", data={"reason": ""})
    assert response.status_code == 400
    assert 'id="reason-error">Please say why' in text(response)
    assert count(AuditEntry) == before
    page = follow(client, client.post(f"/partners/{manager.partner_id}/decline", data={"reason": "请补充营业执照"}))
    assert "is declined; its manager sees your reason" in page
    login(other_client, manager)
    assert "Declined on 2026-12-01: 请补充营业执照" in text(other_client.get(f"/partners/{manager.partner_id}"))


def test_approving_an_approved_partner_says_so(client, world):
    login(client, world.admin)
    page = follow(client, client.post(f"/partners/{world.academy.partner.id}/approve"))
    assert "麓枫书院 is already approved." in page


# --- who may open what ---

ANON = "anonymous"
PAGES = {
    "pending": ("/partners/pending", {"community_staff": 200, "admin": 200}),
    "review": ("/partners/{partner}/review", {"community_staff": 200, "admin": 200}),
    "profile": ("/partners/{partner}/profile", {"community_staff": 200, "admin": 200, "manager": 200}),
    "staff": ("/partners/{partner}/staff", {"community_staff": 200, "admin": 200, "manager": 200}),
    "new_room": ("/partners/points/{point}/rooms/new", {"community_staff": 200, "admin": 200, "manager": 200}),
    "edit_room": ("/partners/rooms/{room}", {"community_staff": 200, "admin": 200, "manager": 200}),
}
POSTS = {
    "approve": "/partners/{pending}/approve",
    "decline": "/partners/{pending}/decline",
    "profile": "/partners/{partner}/profile",
    "new_room": "/partners/points/{point}/rooms/new",
    "edit_room": "/partners/rooms/{room}",
    "remove_room": "/partners/rooms/{room}/remove",
    "deactivate": "/partners/accounts/{account}/deactivate",
}
ROLES = (ANON, "family", "staff", "manager", "other_manager", "other_staff", "community_staff", "admin")


@pytest.fixture
def scene(world, clock):
    room = add_room(world.care_centre.partner.service_points[0].id, name="餐厅", by=world.admin, now=clock.now())
    pending = registered(clock.now())
    users = {"family": world.family.user, "staff": world.care_centre.staff, "manager": world.care_centre.manager,
             "other_manager": world.nursery.manager, "other_staff": world.nursery.staff,
             "community_staff": world.community_staff, "admin": world.admin}
    ids = {"partner": world.care_centre.partner.id, "point": room.service_point_id, "room": room.id,
           "account": world.care_centre.staff.id, "pending": pending.partner_id}
    return users, ids


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_who_may_open_each_page(client, scene, page, role):
    users, ids = scene
    url, allowed = PAGES[page]
    if role != ANON:
        login(client, users[role])
    response = client.get(url.format(**ids))
    if role == ANON:
        assert response.headers["Location"].startswith("/login")
    else:
        assert response.status_code == allowed.get(role, 403)


@pytest.mark.parametrize("action", POSTS)
@pytest.mark.parametrize("role", ["family", "staff", "other_manager", "other_staff"])
def test_refused_changes_change_nothing(client, scene, action, role):
    users, ids = scene
    login(client, users[role])
    before = {table: count(table) for table in (AuditEntry, Room)}
    response = client.post(POSTS[action].format(**ids), data={"reason": "x", "name": "新名字", "seats": "3"})
    assert response.status_code == 403
    assert {table: count(table) for table in (AuditEntry, Room)} == before
    assert db.session.get(PartnerOrganisation, ids["pending"]).approved is False


@pytest.mark.parametrize("url", ["/partners/999999/review", "/partners/999999/profile", "/partners/999999/staff",
                                 "/partners/points/999999/rooms/new", "/partners/rooms/999999"])
def test_unknown_objects_are_404(client, scene, url):
    users, _ = scene
    login(client, users["admin"])
    assert client.get(url).status_code == 404


# --- profile ---


def test_the_manager_edits_the_profile(client, world):
    login(client, world.care_centre.manager)
    partner_id = world.care_centre.partner.id
    form = text(client.get(f"/partners/{partner_id}/profile"))
    assert 'value="普康养老服务中心"' in form
    response = client.post(f"/partners/{partner_id}/profile",
                           data={"name": "普康养老服务中心", "phone": "0553-7777777", "description": "日托 助餐"})
    page = follow(client, response)
    assert "The profile is saved." in page and "0553-7777777" in page and "日托 助餐" in page


def test_a_taken_name_is_shown_by_the_name_field(client, world):
    login(client, world.care_centre.manager)
    response = client.post(f"/partners/{world.care_centre.partner.id}/profile", data={"name": "艺涵托育园"})
    assert response.status_code == 409
    assert 'id="name-error">A partner called 艺涵托育园 is already registered' in text(response)


# --- rooms ---


def test_the_manager_adds_changes_and_removes_a_room_from_the_dashboard(client, world):
    login(client, world.care_centre.manager)
    point = world.care_centre.partner.service_points[0]
    dashboard = text(client.get(f"/partners/{world.care_centre.partner.id}"))
    assert f'href="/partners/points/{point.id}/rooms/new"' in dashboard and "No rooms yet." in dashboard
    page = follow(client, client.post(f"/partners/points/{point.id}/rooms/new",
                                      data={"name": "餐厅", "purpose": "dining area", "seats": "40"}))
    assert "The room 餐厅 is added to 普康养老服务中心服务点." in page and "餐厅 · dining area · 40 seats" in page
    room = db.session.scalar(sa.select(Room))
    page = follow(client, client.post(f"/partners/rooms/{room.id}", data={"name": "餐厅", "purpose": "",
                                                                          "seats": "36"}))
    assert "The room is saved." in page and "餐厅 · 36 seats" in page
    page = follow(client, client.post(f"/partners/rooms/{room.id}/remove"))
    assert "The room 餐厅 is removed." in page and count(Room) == 0


def test_removing_a_room_in_use_is_refused_with_a_message(client, world, clock):
    point = world.care_centre.partner.service_points[0]
    room = add_room(point.id, name="日托室", by=world.care_centre.manager, now=clock.now())
    create_service(partner_id=world.care_centre.partner.id, kind=ServiceKind.daycare, name="全日日托", capacity=8,
                   service_point_id=point.id, by=world.care_centre.manager, now=clock.now(), room_id=room.id)
    login(client, world.care_centre.manager)
    page = follow(client, client.post(f"/partners/rooms/{room.id}/remove"))
    assert "日托室 is used by 全日日托. Move that service to another room first." in page
    assert count(Room) == 1


def test_bad_seats_are_shown_by_the_field(client, world):
    login(client, world.care_centre.manager)
    point = world.care_centre.partner.service_points[0]
    response = client.post(f"/partners/points/{point.id}/rooms/new", data={"name": "餐厅", "seats": "-3"})
    assert response.status_code == 400
    assert 'id="seats-error">A whole number from 0 to 10000.' in text(response)
    assert count(Room) == 0


def test_staff_see_rooms_but_no_buttons(client, world, clock):
    add_room(world.care_centre.partner.service_points[0].id, name="餐厅", by=world.admin, now=clock.now())
    login(client, world.care_centre.staff)
    page = text(client.get(f"/partners/{world.care_centre.partner.id}"))
    assert "餐厅" in page and "/remove" not in page and "Edit the profile" not in page


# --- staff accounts ---


def test_the_manager_switches_a_staff_account_off_and_its_open_session_ends(client, other_client, world):
    staff = world.care_centre.staff
    login(other_client, staff)
    assert other_client.get(f"/partners/{staff.partner_id}").status_code == 200
    login(client, world.care_centre.manager)
    page = text(client.get(f"/partners/{staff.partner_id}/staff"))
    assert staff.name in page and staff.login in page and "Partner staff" in page
    assert f'href="/partners/{staff.partner_id}/accounts/new"' in page
    assert f"/partners/accounts/{world.care_centre.manager.id}/deactivate" not in page  # not their own
    page = follow(client, client.post(f"/partners/accounts/{staff.id}/deactivate"))
    assert f"{staff.name} can no longer log in." in page and "No, switched off" in page
    assert other_client.get(f"/partners/{staff.partner_id}").headers["Location"].startswith("/login")
    assert other_client.post("/login", data={"login": staff.login, "password": PASSWORD}).status_code == 401
    page = follow(client, client.post(f"/partners/accounts/{staff.id}/reactivate"))
    assert f"{staff.name} can log in again." in page
    login(other_client, staff)


def test_the_manager_cannot_switch_themself_off(client, world):
    manager = world.care_centre.manager
    login(client, manager)
    page = follow(client, client.post(f"/partners/accounts/{manager.id}/deactivate"))
    assert "You cannot switch off your own account." in page
    assert db.session.get(User, manager.id).active
