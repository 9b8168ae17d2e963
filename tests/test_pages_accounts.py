"""Logging in and out, registering a family, and each role's start page."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from careapp.accounts.models import Role, User
from careapp.core.audit import AuditEntry
from careapp.core.db import db
from careapp.households.models import Household
from tests.factories import PASSWORD, make_user
from tests.page_helpers import count, follow, login, text


def test_log_in_with_mobile_number_goes_to_the_family_home(client, world):
    response = client.post("/login", data={"login": world.family.user.login, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/family/"
    assert "李家" in text(client.get("/family/"))


def test_log_in_with_email(client, world, clock):
    user = make_user(Role.community_staff, clock.now(), login="Grid.Worker@example.cn")
    response = client.post("/login", data={"login": " grid.worker@example.cn ", "password": PASSWORD})
    assert response.headers["Location"] == "/community/"
    assert user.login == "grid.worker@example.cn"


def test_wrong_password_shows_a_message_and_stays_logged_out(client, world):
    response = client.post("/login", data={"login": world.family.user.login, "password": "wrong-password"})
    assert response.status_code == 401
    assert "Wrong login or password." in text(response)
    assert client.get("/family/").headers["Location"].startswith("/login")


def test_empty_login_form_says_what_is_missing(client, world):
    response = client.post("/login", data={"login": "", "password": ""})
    assert response.status_code == 400
    page = text(response)
    assert "Please give your mobile number or e-mail." in page
    assert "Please give your password." in page


def test_a_protected_page_sends_to_log_in_and_back(client, world):
    response = client.get("/booking/slots?kind=daycare")
    assert response.headers["Location"] == "/login?next=/booking/slots?kind%3Ddaycare"
    page = follow(client, response)
    assert "Please log in to see that page." in page
    assert 'name="next" type="hidden" value="/booking/slots?kind=daycare"' in page
    response = client.post("/login", data={"login": world.family.user.login, "password": PASSWORD,
                                           "next": "/booking/slots?kind=daycare"})
    assert response.headers["Location"] == "/booking/slots?kind=daycare"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example",
                                    "javascript:alert(1)", "evil.example", "/\t/evil.example", "/\x7f/x"])
def test_next_never_leaves_the_site(client, world, target):
    response = client.post("/login", data={"login": world.family.user.login, "password": PASSWORD,
                                           "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/family/"


def test_log_out_is_a_post(client, world):
    login(client, world.family.user)
    assert client.get("/logout").status_code == 405
    page = follow(client, client.post("/logout"))
    assert "You have logged out." in page
    assert client.get("/family/").status_code == 302


@pytest.mark.parametrize("who, start", [
    ("family", "/family/"), ("staff", "/partners/{partner}"), ("manager", "/partners/{partner}"),
    ("community_staff", "/community/"), ("admin", "/community/"),
])
def test_the_home_url_sends_each_role_to_its_start_page(client, world, who, start):
    users = {"family": world.family.user, "staff": world.care_centre.staff, "manager": world.care_centre.manager,
             "community_staff": world.community_staff, "admin": world.admin}
    login(client, users[who])
    response = client.get("/")
    assert response.headers["Location"] == start.format(partner=world.care_centre.partner.id)
    assert client.get(response.headers["Location"]).status_code == 200


def test_anonymous_home_goes_to_log_in(client, world):
    assert client.get("/").headers["Location"] == "/login"


def registration(world, **changes) -> dict:
    data = {"name": "陈家", "login": "13912345678", "password": "long-enough-1", "confirm": "long-enough-1",
            "building_id": str(world.other_building.id), "unit": "3-201", "email": "", "phone": ""}
    data.update(changes)
    return data


def test_register_lists_buildings_grouped_by_community_and_grid(client, world):
    page = text(client.get("/register"))
    assert '<optgroup label="旭日天都社区 · 第一网格">' in page
    assert "2栋 (旭日天都2栋)" in page
    assert '<option selected value="">Choose your building</option>' in page


def test_register_creates_the_household_logs_in_and_goes_home(client, world):
    response = client.post("/register", data=registration(world))
    assert response.headers["Location"] == "/family/"
    page = follow(client, response)
    assert "Welcome! Your family is registered." in page
    assert "<h1>陈家</h1>" in page and "2栋 3-201" in page
    user = db.session.scalar(sa.select(User).where(User.login == "13912345678"))
    assert user.household.building_id == world.other_building.id
    assert user.phone == "13912345678"


@pytest.mark.parametrize("changes, field, message, status", [
    ({"confirm": "something-else"}, "confirm", "The two passwords are not the same.", 400),
    ({"building_id": ""}, "building_id", "Please choose your building.", 400),
    ({"building_id": "999999"}, "building_id", "Please choose one from the list.", 400),
    ({"name": "  "}, "name", "Please give your name.", 400),
    ({"login": "12345"}, "login", "Log in with a mobile number (11 digits starting 13-19) or an e-mail address.",
     400),
    ({"password": "short", "confirm": "short"}, "password", "The password needs at least 8 characters.", 400),
    ({"email": "not-an-address"}, "email", "Please check the e-mail address.", 400),
    ({"phone": "call me"}, "phone", "Use digits only", 400),
])
def test_bad_registration_shows_the_message_next_to_the_field_and_writes_nothing(client, world, changes, field,
                                                                                  message, status):
    before = count(Household), count(User), count(AuditEntry)
    response = client.post("/register", data=registration(world, **changes))
    assert response.status_code == status
    page = text(response)
    assert f'<p class="field-error" id="{field}-error">{message}' in page
    assert (count(Household), count(User), count(AuditEntry)) == before


def test_a_taken_login_is_refused_by_the_rule_and_nothing_is_written(client, world):
    before = count(Household), count(User)
    response = client.post("/register", data=registration(world, login=world.family.user.login))
    assert response.status_code == 409
    assert '<p class="field-error" id="login-error">That login is already registered.' in text(response)
    assert (count(Household), count(User)) == before
