"""Families registering, the buildings to register at, and a household's members, through the API."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from careapp.core.db import db, write_transaction
from careapp.district.models import Building, Community, Grid
from careapp.households.models import CareRecipient, Household
from tests.api_helpers import bad_fields, bearer, call, error_of  # noqa: F401  (bearer: a fixture)
from tests.factories import PASSWORD
from tests.statements import count_statements

# --- registering a family ---


def family_body(world, **changes) -> dict:
    return {"login": "13912345678", "password": PASSWORD, "name": "陈家", "building_id": world.building.id,
            "unit": "3-201", **changes}


def test_a_family_registers_without_a_token_and_can_then_log_in(client, world):
    response = call(client, "POST", "/families", json=family_body(world))
    assert response.status_code == 201
    body = response.get_json()
    household = db.session.get(Household, body["household_id"])
    assert (household.building_id, household.unit, household.name) == (world.building.id, "3-201", "陈家")
    assert call(client, "POST", "/tokens", json={"login": "13912345678", "password": PASSWORD}).status_code == 201
    assert body["user_id"] != world.family.user.id


def test_a_taken_login_is_a_409(client, world):
    error = error_of(call(client, "POST", "/families", json=family_body(world, login=world.family.user.login)),
                     409, "login_taken")
    assert error["fields"] == {"login": "taken"}


@pytest.mark.parametrize("changes, field", [
    ({"building_id": 999999}, "building_id"),        # the rule: no such building
    ({"login": "12345"}, "login"),                   # the rule: neither a mobile number nor an e-mail
    ({"password": "short"}, "password"),             # the rule: at least 8 characters
    ({"name": "   "}, "name"),                       # the rule: a name is required
    ({"building_id": "1"}, "building_id"),           # a string where a number belongs
    ({"building_id": 10**30}, "building_id"),        # would overflow the database's integer
    ({"building_id": 1.5}, "building_id"),
    ({"building_id": None}, "building_id"),
    ({"phone": "1" * 21}, "phone"),                  # longer than its column
    ({"name": "陈\u0000家"}, "name"),                 # PostgreSQL refuses NUL in text
    ({"unit": ["3", "201"]}, "unit"),
    ({"role": "admin"}, "role"),                     # no smuggling of other fields
])
def test_registration_bad_input_names_the_field(client, world, changes, field):
    assert field in bad_fields(call(client, "POST", "/families", json=family_body(world, **changes)))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Household)) == 2  # the world's two only


def test_registration_with_missing_fields_names_them_all(client, world):
    fields = bad_fields(call(client, "POST", "/families", json={"name": "陈家"}))
    assert set(fields) == {"login", "password", "building_id"}
    assert fields["login"] == "Field required"


# --- buildings ---


@pytest.fixture
def far_grid(world):
    """A second community with a grid of three buildings, so filters have something to leave out."""
    with write_transaction():
        community = Community(name="滨江社区")
        grid = Grid(community=community, name="第九网格")
        for i in range(1, 4):
            db.session.add(Building(grid=grid, name=f"{i}0栋", address=f"滨江{i}0栋", latitude=31.3, longitude=118.3))
    return grid


def test_buildings_are_public_and_carry_grid_and_community(client, world, far_grid):
    response = call(client, "GET", "/buildings")
    assert response.status_code == 200
    rows = response.get_json()
    assert len(rows) == 5
    mine = next(row for row in rows if row["id"] == world.building.id)
    assert mine == {"id": world.building.id, "name": "1栋", "address": "旭日天都1栋", "grid_id": world.grid.id,
                    "community_id": world.community.id, "latitude": 31.331, "longitude": 118.371}


def test_buildings_filter_by_grid_and_part_of_the_name(client, world, far_grid):
    by_grid = call(client, "GET", f"/buildings?grid_id={far_grid.id}").get_json()
    assert {row["name"] for row in by_grid} == {"10栋", "20栋", "30栋"}
    by_name = call(client, "GET", "/buildings?q=2").get_json()
    assert {row["name"] for row in by_name} == {"2栋", "20栋"}
    both = call(client, "GET", f"/buildings?grid_id={world.grid.id}&q=2").get_json()
    assert [row["name"] for row in both] == ["2栋"]
    assert call(client, "GET", "/buildings?q=%25").get_json() == []  # "%" is a character, not a wildcard


def test_empty_query_values_mean_not_given(client, world, far_grid):
    assert len(call(client, "GET", "/buildings?grid_id=&q=").get_json()) == 5


def test_buildings_load_in_one_statement_however_many(client, world, far_grid):
    db.session.expire_all()
    with count_statements() as statements:
        assert len(call(client, "GET", "/buildings").get_json()) == 5
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


@pytest.mark.parametrize("query, field", [
    ("grid_id=abc", "grid_id"), ("grid_id=0", "grid_id"), ("grid_id=-1", "grid_id"),
    ("grid_id=99999999999999999999", "grid_id"), ("q=" + "x" * 101, "q"), ("q=a%00b", "q"),
    ("grid_id=1&grid_id=2", "grid_id"), ("community=1", "community"),
])
def test_buildings_bad_query_names_the_parameter(client, world, query, field):
    assert field in bad_fields(call(client, "GET", "/buildings?" + query))


# --- a household's members ---


def recipient_body(**changes) -> dict:
    return {"name": "王爷爷", "kind": "elder", "birth_date": "1948-05-01", "ability_level": 1,
            "needs": {"diet": "low-salt", "allergies": "peanuts"}, **changes}


def test_a_family_adds_and_lists_its_own_members(client, world, bearer):
    headers = bearer(world.family.user)
    response = call(client, "POST", "/recipients", headers, json=recipient_body())
    assert response.status_code == 201
    created = response.get_json()
    assert created["household_id"] == world.family.household.id
    assert created["needs"]["diet"] == "low-salt" and created["needs"]["mobility"] is None
    assert (created["kind"], created["birth_date"], created["ability_level"]) == ("elder", "1948-05-01", 1)
    listed = call(client, "GET", "/recipients", headers).get_json()
    assert listed == [created]


def test_a_child_without_ability_level_or_needs(client, world, bearer):
    body = {"name": "小红", "kind": "child", "birth_date": "2024-10-01"}
    created = call(client, "POST", "/recipients", bearer(world.family.user), json=body).get_json()
    assert (created["kind"], created["ability_level"]) == ("child", None)


def test_a_family_cannot_see_or_add_to_another_household(client, world, bearer):
    headers, other = bearer(world.family.user), world.other_family.household.id
    error_of(call(client, "GET", f"/recipients?household_id={other}", headers), 403)
    error_of(call(client, "POST", "/recipients", headers, json=recipient_body(household_id=other)), 403)
    # An id that does not exist is refused the same way: a family learns nothing about other households.
    error_of(call(client, "GET", "/recipients?household_id=999999", headers), 403)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CareRecipient)) == 0


@pytest.mark.parametrize("role", ["community_staff", "admin"])
def test_district_staff_act_on_behalf_of_a_named_household(client, world, bearer, role):
    headers, household_id = bearer(getattr(world, role)), world.other_family.household.id
    response = call(client, "POST", "/recipients", headers, json=recipient_body(household_id=household_id))
    assert response.status_code == 201
    listed = call(client, "GET", f"/recipients?household_id={household_id}", headers).get_json()
    assert [member["id"] for member in listed] == [response.get_json()["id"]]
    error_of(call(client, "GET", "/recipients?household_id=999999", headers), 404)
    error_of(call(client, "POST", "/recipients", headers, json=recipient_body(household_id=999999)), 404)
    assert bad_fields(call(client, "GET", "/recipients", headers)) == {"household_id": "required"}
    assert bad_fields(call(client, "POST", "/recipients", headers, json=recipient_body())) == {
        "household_id": "required"}


@pytest.mark.parametrize("who", ["partner_staff", "partner_manager"])
def test_partner_staff_do_not_see_households(client, world, bearer, who):
    headers = bearer(getattr(world.care_centre, who.split("_")[1]))
    household_id = world.family.household.id
    error_of(call(client, "GET", f"/recipients?household_id={household_id}", headers), 403)
    error_of(call(client, "POST", "/recipients", headers, json=recipient_body(household_id=household_id)), 403)


@pytest.mark.parametrize("changes, field", [
    ({"kind": "dog"}, "kind"),
    ({"kind": None}, "kind"),
    ({"birth_date": "1948-02-30"}, "birth_date"),
    ({"birth_date": "01/05/1948"}, "birth_date"),
    ({"birth_date": 19480501}, "birth_date"),
    ({"birth_date": "2027-01-01"}, "birth_date"),    # the rule: not born yet
    ({"birth_date": "1850-01-01"}, "birth_date"),    # the rule: before 1900
    ({"ability_level": 7}, "ability_level"),         # the rule: GB/T 42195-2022 has 0-4
    ({"ability_level": "1"}, "ability_level"),
    ({"ability_level": -1}, "ability_level"),
    ({"kind": "child", "birth_date": "2024-01-01"}, "ability_level"),  # the rule: elders only
    ({"needs": {"shoe_size": "40"}}, "needs.shoe_size"),
    ({"needs": "low-salt"}, "needs"),
    ({"needs": {"diet": "x" * 201}}, "needs.diet"),
    ({"name": ""}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"household_id": 0}, "household_id"),
])
def test_recipient_bad_input_names_the_field(client, world, bearer, changes, field):
    response = call(client, "POST", "/recipients", bearer(world.family.user), json=recipient_body(**changes))
    assert field in bad_fields(response)


@pytest.mark.parametrize("query, field", [("household_id=abc", "household_id"), ("household_id=1.5", "household_id"),
                                          ("member=1", "member")])
def test_recipient_list_bad_query(client, world, bearer, query, field):
    assert field in bad_fields(call(client, "GET", "/recipients?" + query, bearer(world.family.user)))
