"""The day's transport list (接送) of a service point: who to fetch, where, how to reach them; as a printable
page, a CSV and an API route; whole phone numbers for the partner's own staff only."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from careapp.booking import engine
from careapp.households.models import RecipientKind
from careapp.households.services import add_recipient
from careapp.partners.models import ServiceKind
from careapp.partners.services import add_service_point, create_service
from tests.api_helpers import bad_fields, bearer, call, error_of  # noqa: F401 (bearer is a fixture)
from tests.factories import make_family, make_slot, years_ago
from tests.page_helpers import login, text

TOMORROW = date(2026, 12, 2)


def elder(world, now, name: str, *, phone: str | None = None, **needs):
    family = make_family(world.building, now, f"{name}家")
    member = add_recipient(household_id=family.household.id, by=family.user, now=now, kind=RecipientKind.elder,
                           name=name, birth_date=years_ago(TOMORROW, 78), ability_level=1, phone=phone, needs=needs)
    return family.user, member


@pytest.fixture
def scene(world, clock):
    """Tomorrow's full day with transport (3 places): 甲 and a formula-named elder need fetching, 乙 does not,
    丙 waits for a place; 丁 is fetched the day after; another point's day care is not on this list."""
    now = clock.now()
    manager = world.care_centre.manager
    point_id = world.daycare.service_point_id
    service = create_service(partner_id=world.care_centre.partner.id, kind=ServiceKind.daycare, name="全日日托(接送)",
                             capacity=3, service_point_id=point_id, by=manager, now=now, transport=True)
    other_point = add_service_point(partner_id=world.care_centre.partner.id, name="二号点", address="赭麓街道2号",
                                    latitude=31.33, longitude=118.37, by=world.admin, now=now)
    elsewhere = create_service(partner_id=world.care_centre.partner.id, kind=ServiceKind.daycare, name="二号点日托",
                               capacity=3, service_point_id=other_point.id, by=manager, now=now, transport=True)
    slot = make_slot(service, manager, now, hours=8)
    later = make_slot(service, manager, now, days_ahead=2, hours=8)
    far = make_slot(elsewhere, manager, now, hours=8)
    people = {
        "甲": (elder(world, now, "甲", phone="13912345678", mobility="wheelchair"), slot, True),
        "乙": (elder(world, now, "乙", phone="13911112222"), slot, False),
        "=HYPERLINK(1)": (elder(world, now, "=HYPERLINK(1)", emergency_contact_phone="13800001111"), slot, True),
        "丙": (elder(world, now, "丙"), slot, True),  # the fourth: waitlisted
        "丁": (elder(world, now, "丁"), later, True),
        "戊": (elder(world, now, "戊"), far, True),
    }
    for (user, member), booked_slot, transport in people.values():
        engine.book(booked_slot.id, member.id, by=user, now=now, options={"needs_transport": transport})
    return point_id, slot


def url(point_id: int, csv_file: bool = False) -> str:
    return f"/daycare/points/{point_id}/transport{'.csv' if csv_file else ''}?day=2026-12-02"


def test_partner_staff_see_who_to_fetch_with_whole_phones(client, world, scene):
    point_id, _ = scene
    login(client, world.care_centre.staff)
    page = text(client.get(url(point_id)))
    assert "Transport (接送): Wednesday 2 December 2026" in page
    assert "2 people to fetch and bring home." in page
    assert "甲" in page and "13912345678" in page and "wheelchair" in page and "旭日天都1栋 (1栋)" in page
    assert "13800001111" in page  # no phone of their own: the emergency contact's
    for absent in ("乙", "丙", "丁", "戊"):
        assert f"<td>{absent}" not in page
    # The print rules (A4) are a static file: the Content-Security-Policy allows no inline style.
    assert "/static/pages/transport.css" in page
    assert url(point_id, csv_file=True) in page


def test_community_staff_see_masked_phones(client, world, scene):
    point_id, _ = scene
    login(client, world.community_staff)
    page = text(client.get(url(point_id)))
    assert "139****5678" in page and "13912345678" not in page
    assert "138****1111" in page


@pytest.mark.parametrize("who", ["other_partner", "family"])
def test_others_may_not_see_the_list(client, world, scene, who):
    point_id, _ = scene
    login(client, world.nursery.staff if who == "other_partner" else world.family.user)
    assert client.get(url(point_id)).status_code == 403
    assert client.get(url(point_id, csv_file=True)).status_code == 403


def test_a_bad_day_is_shown_by_the_field(client, world, scene):
    point_id, _ = scene
    login(client, world.care_centre.staff)
    response = client.get(f"/daycare/points/{point_id}/transport?day=2026-02-30")
    assert response.status_code == 400 and 'id="day-error">' in text(response)
    assert client.get("/daycare/points/999999/transport").status_code == 404


def test_the_day_defaults_to_today(client, world, scene):
    point_id, _ = scene
    login(client, world.care_centre.staff)
    page = text(client.get(f"/daycare/points/{point_id}/transport"))
    assert "Tuesday 1 December 2026" in page and "Nobody needs fetching on this day." in page


def test_the_csv_opens_in_excel_and_runs_no_formula(client, world, scene):
    point_id, _ = scene
    login(client, world.care_centre.staff)
    response = client.get(url(point_id, csv_file=True))
    assert response.mimetype == "text/csv"
    assert 'filename="transport-' in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows[0] == ["Time", "Service", "Name", "Address", "Phone", "Mobility aid", "Status"]
    assert rows[1][:3] == ["08:30-16:30", "全日日托(接送)", "'=HYPERLINK(1)"]
    assert rows[2][2:6] == ["甲", "旭日天都1栋 (1栋)", "13912345678", "wheelchair"]
    assert len(rows) == 3


def test_the_csv_masks_phones_for_community_staff(client, world, scene):
    point_id, _ = scene
    login(client, world.community_staff)
    body = client.get(url(point_id, csv_file=True)).get_data(as_text=True)
    assert "139****5678" in body and "13912345678" not in body


def test_the_partner_dashboard_links_the_list(client, world, scene):
    point_id, _ = scene
    login(client, world.care_centre.manager)
    page = text(client.get(f"/partners/{world.care_centre.partner.id}"))
    assert f'href="/daycare/points/{point_id}/transport"' in page
    login(client, world.nursery.manager)
    assert "/transport" not in text(client.get(f"/partners/{world.nursery.partner.id}"))


def test_the_api_lists_the_same_people(client, world, scene, bearer):
    point_id, slot = scene
    rows = call(client, "GET", f"/service-points/{point_id}/transport?day=2026-12-02",
                bearer(world.care_centre.staff)).get_json()
    assert [(row["name"], row["phone"], row["mobility"], row["slot_id"]) for row in rows] == [
        ("=HYPERLINK(1)", "13800001111", None, slot.id), ("甲", "13912345678", "wheelchair", slot.id)]
    masked = call(client, "GET", f"/service-points/{point_id}/transport?day=2026-12-02",
                  bearer(world.community_staff)).get_json()
    assert [row["phone"] for row in masked] == ["138****1111", "139****5678"]
    error_of(call(client, "GET", f"/service-points/{point_id}/transport", bearer(world.nursery.staff)), 403)
    error_of(call(client, "GET", f"/service-points/{point_id}/transport", bearer(world.family.user)), 403)
    error_of(call(client, "GET", "/service-points/999999/transport", bearer(world.admin)), 404)
    assert "day" in bad_fields(call(client, "GET", f"/service-points/{point_id}/transport?day=tomorrow",
                                    bearer(world.admin)))
