"""Billing pages: a household's monthly statement, a partner's subsidy claim and its spreadsheet."""
from __future__ import annotations

from io import BytesIO

import pytest
from openpyxl import load_workbook

from careapp.core.months import Month
from careapp.meals.billing import subsidy_claim
from tests.billing_factories import DECEMBER, BillingScene, build_scene
from tests.page_helpers import login, text


@pytest.fixture
def scene(world, clock) -> BillingScene:
    return build_scene(world, clock)


def test_the_family_reads_its_statement_from_the_household_page(client, scene):
    family = scene.world.family
    login(client, family.user)
    home = text(client.get("/family/"))
    index = f"/billing/households/{family.household.id}"
    assert f'href="{index}"' in home
    response = client.get(index)
    assert response.headers["Location"] == f"{index}/2027-01"  # the clock's month
    page = text(client.get(f"{index}/{DECEMBER}"))
    assert "Meal statement: 李家, December 2026" in page
    assert page.count("<tr>") == 1 + 7 + 1  # header, seven meals served, total
    assert "2026-12-02" in page and "麓枫书院" in page and "Delivered home" in page
    assert 'id="total-price">¥102.00' in page  # 6 lunches at ¥15, one dinner at ¥12
    assert 'id="total-subsidy">¥20.00' in page  # ¥1 x4 (王奶奶), ¥4 (李爷爷 低保), ¥6 x2 (陈奶奶 特困)
    assert 'id="total-to-pay">¥82.00' in page
    assert "陈奶奶" in page and "张爷爷" not in page
    assert "@media print" in page or 'media="print"' in page


def test_the_month_picker_goes_to_the_chosen_month(client, scene):
    family = scene.world.family
    login(client, family.user)
    index = f"/billing/households/{family.household.id}"
    assert client.get(f"{index}?month=2026-11").headers["Location"] == f"{index}/2026-11"
    page = text(client.get(f"{index}/2026-11"))
    assert "No meals were served to your household in November 2026." in page
    assert f'href="{index}/2026-10"' in page and f'href="{index}/2026-12"' in page


@pytest.mark.parametrize("path, status", [("/2026-13", 404), ("/abc", 404), ("/2026-1", 404), ("?month=2026-13", 400),
                                          ("?month=november", 400)])
def test_a_bad_month_gets_a_clear_answer_not_a_500(client, scene, path, status):
    login(client, scene.world.family.user)
    for base in (f"/billing/households/{scene.world.family.household.id}",
                 f"/billing/partners/{scene.world.care_centre.partner.id}"):
        if base.startswith("/billing/partners"):
            login(client, scene.world.care_centre.staff)
        response = client.get(base + path)
        assert response.status_code == status
        assert "for example 2026-11" in text(response)


@pytest.mark.parametrize("role, status", [("family", 200), ("other_family", 403), ("community_staff", 200),
                                          ("admin", 200), ("staff", 403), ("manager", 403)])
def test_who_may_read_a_household_statement(client, scene, role, status):
    world = scene.world
    user = {"family": world.family.user, "other_family": world.other_family.user, "staff": world.care_centre.staff,
            "manager": world.care_centre.manager, "community_staff": world.community_staff,
            "admin": world.admin}[role]
    login(client, user)
    assert client.get(f"/billing/households/{world.family.household.id}/{DECEMBER}").status_code == status
    assert client.get(f"/billing/households/{world.family.household.id}").status_code == \
        (302 if status == 200 else status)


def test_the_partner_reads_its_claim_from_the_dashboard_and_downloads_the_spreadsheet(client, scene, clock):
    partner = scene.world.care_centre.partner
    login(client, scene.world.care_centre.manager)
    assert f'href="/billing/partners/{partner.id}"' in text(client.get(f"/partners/{partner.id}"))
    page = text(client.get(f"/billing/partners/{partner.id}/{DECEMBER}"))
    assert "Meal subsidy claim: 普康养老服务中心, December 2026" in page
    assert 'id="total-meals">7<' in page and 'id="total-claimed">¥23.00<' in page
    assert "70-79" in page and "Minimum living allowance (低保)" in page
    xlsx = client.get(f"/billing/partners/{partner.id}/{DECEMBER}/claim.xlsx")
    assert xlsx.status_code == 200
    assert xlsx.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in xlsx.headers["Content-Disposition"]
    book = load_workbook(BytesIO(xlsx.data))
    total = [row for row in book["Claim"].iter_rows(values_only=True) if row[0] == "Total"][0]
    # The spreadsheet's totals are the page's.
    assert (total[3], f"¥{total[5]:.2f}") == (7, "¥23.00")
    claim = subsidy_claim(partner, Month.parse(DECEMBER), now=clock.now())
    assert round(total[5] * 100) == claim.total_claimed_fen


def test_a_partner_without_meal_services_has_no_claim_link(client, scene):
    login(client, scene.world.nursery.manager)
    assert "/billing/partners/" not in text(client.get(f"/partners/{scene.world.nursery.partner.id}"))


@pytest.mark.parametrize("role, status", [("staff", 200), ("manager", 200), ("community_staff", 200),
                                          ("other_manager", 403), ("other_staff", 403), ("family", 403)])
def test_who_may_read_a_partner_claim(client, scene, role, status):
    world = scene.world
    user = {"staff": world.care_centre.staff, "manager": world.care_centre.manager,
            "community_staff": world.community_staff, "other_manager": world.nursery.manager,
            "other_staff": world.nursery.staff, "family": world.family.user}[role]
    login(client, user)
    base = f"/billing/partners/{world.care_centre.partner.id}"
    assert client.get(f"{base}/{DECEMBER}").status_code == status
    assert client.get(f"{base}/{DECEMBER}/claim.xlsx").status_code == status


def test_anonymous_visitors_are_sent_to_log_in(client, scene):
    for url in (f"/billing/households/{scene.world.family.household.id}/{DECEMBER}",
                f"/billing/partners/{scene.world.care_centre.partner.id}/{DECEMBER}/claim.xlsx"):
        assert client.get(url).headers["Location"].startswith("/login")


@pytest.mark.parametrize("url", ["/billing/households/999999/2026-12", "/billing/partners/999999/2026-12",
                                 "/billing/partners/999999/2026-12/claim.xlsx"])
def test_unknown_households_and_partners_are_404_for_district_staff(client, scene, url):
    login(client, scene.world.community_staff)
    assert client.get(url).status_code == 404
