"""The family's list of adults who may collect a child: add, remove, on the pages and the API."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from careapp.core.audit import AuditEntry
from careapp.core.db import db
from careapp.core.errors import BadInput, Conflict, Forbidden
from careapp.households.models import AuthorisedAdult
from careapp.households.services import add_authorised_adult, remove_authorised_adult
from tests.api_helpers import bearer, call, error_of  # noqa: F401  (bearer: a fixture)
from tests.page_helpers import follow, login


@pytest.fixture
def child(world, clock):
    return world.family.add_child(clock.now(), name="小宝", months=20)


@pytest.fixture
def grandma(world, clock, child):
    return add_authorised_adult(child_id=child.id, by=world.family.user, now=clock.now(), name="李奶奶",
                                relation="奶奶", phone="139 0000 3333")


def test_an_adult_is_added_with_a_checked_phone_and_removed_with_an_audit_entry(world, clock, grandma):
    assert grandma.phone == "13900003333"
    removed = remove_authorised_adult(grandma.id, by=world.family.user, now=clock.now())
    assert removed.active is False
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "authorised_adult.removed")).one()
    assert entry.object_id == grandma.id and entry.actor_id == world.family.user.id


def test_a_bad_phone_is_refused(world, clock, child):
    with pytest.raises(BadInput) as refused:
        add_authorised_adult(child_id=child.id, by=world.family.user, now=clock.now(), name="王叔叔",
                             relation="叔叔", phone="12345")
    assert "phone" in refused.value.fields


def test_removing_twice_is_a_conflict(world, clock, grandma):
    remove_authorised_adult(grandma.id, by=world.family.user, now=clock.now())
    with pytest.raises(Conflict):
        remove_authorised_adult(grandma.id, by=world.family.user, now=clock.now())


def test_another_household_may_not_remove_an_adult(world, clock, grandma):
    with pytest.raises(Forbidden):
        remove_authorised_adult(grandma.id, by=world.other_family.user, now=clock.now())
    assert db.session.get(AuthorisedAdult, grandma.id).active is True


def test_community_staff_may_change_the_list_on_a_familys_behalf(world, clock, grandma):
    assert remove_authorised_adult(grandma.id, by=world.community_staff, now=clock.now()).active is False


def test_the_family_removes_an_adult_from_its_home_page(client, world, clock, grandma):
    login(client, world.family.user)
    home = client.get("/family/").get_data(as_text=True)
    assert f"/family/adults/{grandma.id}/remove" in home
    page = follow(client, client.post(f"/family/adults/{grandma.id}/remove"))
    assert "李奶奶 may no longer collect 小宝." in page
    assert f"/family/adults/{grandma.id}/remove" not in page
    assert db.session.get(AuthorisedAdult, grandma.id).active is False


def test_another_family_is_refused_the_remove_button(client, world, grandma):
    login(client, world.other_family.user)
    assert client.post(f"/family/adults/{grandma.id}/remove").status_code == 403
    assert db.session.get(AuthorisedAdult, grandma.id).active is True


def test_the_api_lists_adds_and_removes_adults(client, world, clock, child, bearer):
    headers = bearer(world.family.user)
    added = call(client, "POST", f"/recipients/{child.id}/authorised-adults", headers,
                 json={"name": "张伟", "relation": "父亲", "phone": "13800138004"})
    assert added.status_code == 201
    adult = added.get_json()
    assert (adult["name"], adult["child_id"], adult["active"]) == ("张伟", child.id, True)
    removed = call(client, "POST", f"/authorised-adults/{adult['id']}/remove", headers)
    assert removed.status_code == 200 and removed.get_json()["active"] is False
    listed = call(client, "GET", f"/recipients/{child.id}/authorised-adults", headers).get_json()
    assert [(a["name"], a["active"]) for a in listed] == [("张伟", False)]
    error_of(call(client, "POST", f"/authorised-adults/{adult['id']}/remove", headers), 409, "wrong_state")


def test_the_api_refuses_other_households_and_elders(client, world, clock, child, bearer):
    elder = world.family.add_elder(clock.now())
    error_of(call(client, "GET", f"/recipients/{child.id}/authorised-adults", bearer(world.other_family.user)),
             403, "forbidden")
    error_of(call(client, "POST", f"/recipients/{elder.id}/authorised-adults", bearer(world.family.user),
                  json={"name": "张伟", "relation": "儿子"}), 404, "not_found")
    error_of(call(client, "POST", f"/recipients/{child.id}/authorised-adults", bearer(world.family.user),
                  json={"name": "张伟", "relation": "父亲", "phone": "12"}), 400, "bad_input")
