"""A family's home, adding members and who may collect a child."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from careapp.core.audit import AuditEntry
from careapp.core.db import db
from careapp.households.models import AuthorisedAdult, CareRecipient, RecipientKind
from tests.page_helpers import count, follow, login, text


def member_url(world) -> str:
    return f"/family/households/{world.family.household.id}/members/new"


def elder_form(**changes) -> dict:
    data = {"kind": "elder", "name": "王奶奶", "birth_date": "1948-05-20", "ability_level": "1",
            "diet": "low-salt", "allergies": "", "mobility": "walking stick", "medication_notes": "",
            "emergency_contact_name": "王先生", "emergency_contact_phone": "13900001111"}
    data.update(changes)
    return data


def test_home_shows_household_and_invites_to_add_people(client, world):
    login(client, world.family.user)
    page = text(client.get("/family/"))
    assert "<h1>李家</h1>" in page
    assert "1栋" in page
    assert "Nobody added yet." in page
    assert "No bookings yet." in page


def test_add_an_elder_with_needs(client, world):
    login(client, world.family.user)
    response = client.post(member_url(world), data=elder_form())
    assert response.headers["Location"] == "/family/"
    page = follow(client, response)
    assert "王奶奶 is added to your household." in page
    assert "Elder, 78 years · ability level 1 - mildly impaired" in page  # born 1948-05-20, today 2026-12-01
    assert "<dt>Diet</dt><dd>low-salt</dd>" in page
    assert "<dt>Mobility</dt><dd>walking stick</dd>" in page
    assert "<dt>Allergies</dt>" not in page  # empty needs are not stored
    member = db.session.scalars(sa.select(CareRecipient)).one()
    assert (member.diet, member.allergies, member.emergency_contact_phone) == ("low-salt", None, "13900001111")


def test_add_a_child_and_an_adult_who_may_collect_the_child(client, world):
    login(client, world.family.user)
    client.post(member_url(world), data={"kind": "child", "name": "小明", "birth_date": "2024-10-01"})
    child = db.session.scalars(sa.select(CareRecipient)).one()
    assert child.kind == RecipientKind.child
    page = text(client.get("/family/"))
    assert "Child, 26 months" in page
    assert "nobody added yet" in page
    response = client.post(f"/family/members/{child.id}/adults/new",
                           data={"name": "张阿姨", "relation": "aunt", "phone": "13900002222"})
    page = follow(client, response)
    assert "张阿姨 may now collect 小明." in page
    assert "张阿姨 (aunt)" in page


@pytest.mark.parametrize("changes, field, message", [
    ({"birth_date": "2030-01-01"}, "birth_date", "The birth date is in the future."),
    ({"birth_date": "1850-01-01"}, "birth_date", "Please check the birth date."),
    ({"birth_date": "20th May"}, "birth_date", "Not a valid date value."),
    ({"kind": "child", "birth_date": "2024-01-01"}, "ability_level", "An ability level is assessed for elders only."),
    ({"ability_level": "7"}, "ability_level", "Please choose one from the list."),
    ({"name": ""}, "name", "Please give the name."),
    ({"kind": ""}, "kind", "Please choose elder or child."),
    ({"emergency_contact_phone": "ring me"}, "emergency_contact_phone", "Use digits only"),
    ({"diet": "x" * 201}, "diet", "Field cannot be longer than 200 characters."),
])
def test_bad_member_input_shows_a_message_by_the_field_and_writes_nothing(client, world, changes, field, message):
    login(client, world.family.user)
    audit_before = count(AuditEntry)
    response = client.post(member_url(world), data=elder_form(**changes))
    assert response.status_code == 400
    assert f'id="{field}-error">{message}' in text(response)
    assert count(CareRecipient) == 0
    assert count(AuditEntry) == audit_before


def test_an_elder_has_no_authorised_adults_page(client, world, clock):
    elder = world.family.add_elder(clock.now())
    login(client, world.family.user)
    assert client.get(f"/family/members/{elder.id}/adults/new").status_code == 404


def test_bad_authorised_adult_input_writes_nothing(client, world, clock):
    child = world.family.add_child(clock.now())
    login(client, world.family.user)
    response = client.post(f"/family/members/{child.id}/adults/new", data={"name": "", "relation": ""})
    assert response.status_code == 400
    page = text(response)
    assert "Please give the adult's name." in page
    assert "Please say how they are related." in page
    assert count(AuthorisedAdult) == 0


def test_another_family_cannot_add_to_this_household(client, world):
    login(client, world.other_family.user)
    response = client.post(member_url(world), data=elder_form())
    assert response.status_code == 403
    assert count(CareRecipient) == 0


def test_community_staff_add_a_member_on_behalf_and_see_the_household(client, world):
    login(client, world.community_staff)
    response = client.post(member_url(world), data=elder_form(name="独居老人"))
    assert response.headers["Location"] == f"/family/households/{world.family.household.id}"
    assert "独居老人" in follow(client, response)
