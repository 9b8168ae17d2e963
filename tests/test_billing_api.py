"""Billing through the API: a household's statement and a partner's subsidy claim for a month."""
from __future__ import annotations

import pytest

from tests.api_helpers import bad_fields, bearer, call, error_of  # noqa: F401
from tests.billing_factories import DECEMBER, BillingScene, build_scene, subsidies_of


@pytest.fixture
def scene(world, clock) -> BillingScene:
    return build_scene(world, clock)


def test_a_household_statement(client, scene, bearer):
    family = scene.world.family
    body = call(client, "GET", f"/households/{family.household.id}/statement?month={DECEMBER}",
                bearer(family.user)).get_json()
    served = scene.served_in_december(household_id=family.household.id)
    assert (body["household_id"], body["month"]) == (family.household.id, DECEMBER)
    assert {meal["booking_id"] for meal in body["meals"]} == served
    assert body["total_subsidy_fen"] == subsidies_of(served) == sum(m["subsidy_fen"] for m in body["meals"])
    assert body["total_price_fen"] == 10200
    assert body["total_to_pay_fen"] == body["total_price_fen"] - body["total_subsidy_fen"]
    first = body["meals"][0]
    assert (first["day"], first["meal"], first["mode"], first["starts_at"]) == \
        ("2026-12-02", "lunch", "dine_in", "2026-12-02T03:30:00+00:00")


def test_a_partner_subsidy_claim(client, scene, bearer):
    partner = scene.world.care_centre.partner
    body = call(client, "GET", f"/partners/{partner.id}/subsidy-claim?month={DECEMBER}",
                bearer(scene.world.care_centre.staff)).get_json()
    assert (body["partner_id"], body["month"], body["total_meals"]) == (partner.id, DECEMBER, 7)
    assert body["total_claimed_fen"] == subsidies_of(scene.served_in_december(partner_id=partner.id)) == 2300
    assert sum(line["subtotal_fen"] for line in body["lines"]) == body["total_claimed_fen"]
    assert body["lines"][1] == {"service_id": scene.lunch.id, "service_name": "午餐", "subsidy_tier": "70",
                                "age_tier": "70-79", "special_group": "dibao", "meals": 1,
                                "subsidy_per_meal_fen": 400, "subtotal_fen": 400}
    assert body["per_service"] == [
        {"service_id": scene.lunch.id, "service_name": "午餐", "meals": 6, "claimed_fen": 1700},
        {"service_id": scene.dinner.id, "service_name": "晚餐", "meals": 1, "claimed_fen": 600}]


def test_without_a_month_it_is_this_months(client, scene, bearer):
    family = scene.world.family
    body = call(client, "GET", f"/households/{family.household.id}/statement", bearer(family.user)).get_json()
    assert body["month"] == "2027-01"  # the clock's month
    assert {meal["booking_id"] for meal in body["meals"]} == {scene.bookings[("EARLY", "陈奶奶")].id,
                                                              scene.bookings[("L4", "李爷爷")].id}


@pytest.mark.parametrize("query", ["?month=2026-13", "?month=12-2026", "?month=2026-12&month=2027-01",
                                   "?month=2026-12&extra=1", "?month=%FF"])
def test_a_bad_or_missing_month_is_a_400_naming_it(client, scene, bearer, query):
    family = scene.world.family
    for path, user in ((f"/households/{family.household.id}/statement", family.user),
                       (f"/partners/{scene.world.care_centre.partner.id}/subsidy-claim", scene.world.admin)):
        fields = bad_fields(call(client, "GET", path + query, bearer(user)))
        assert set(fields) & {"month", "extra"}


def test_who_may_read_statements_and_claims(client, scene, bearer):
    world = scene.world
    statement = f"/households/{world.family.household.id}/statement?month={DECEMBER}"
    claim = f"/partners/{world.care_centre.partner.id}/subsidy-claim?month={DECEMBER}"
    for user in (world.other_family.user, world.care_centre.staff, world.care_centre.manager):
        error_of(call(client, "GET", statement, bearer(user)), 403)
    for user in (world.family.user, world.nursery.manager, world.nursery.staff):
        error_of(call(client, "GET", claim, bearer(user)), 403)
    for user in (world.community_staff, world.admin):
        assert call(client, "GET", statement, bearer(user)).status_code == 200
        assert call(client, "GET", claim, bearer(user)).status_code == 200
    error_of(call(client, "GET", statement), 401)
    error_of(call(client, "GET", f"/households/999999/statement?month={DECEMBER}", bearer(world.admin)), 404)
    error_of(call(client, "GET", f"/partners/999999/subsidy-claim?month={DECEMBER}", bearer(world.admin)), 404)
