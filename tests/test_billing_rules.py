"""Meal billing rules: what a meal served is, household statements and partner subsidy claims (real database)."""
from __future__ import annotations

from datetime import date, time
from io import BytesIO

import pytest
from openpyxl import load_workbook

from careapp.booking import engine
from careapp.core.errors import BadInput
from careapp.core.timefmt import from_local
from careapp.households.models import SpecialGroup
from careapp.core.months import Month
from careapp.meals.billing import (claim_workbook, household_statement, meals_served, subsidy_claim,
                                   tier_label, yuan)
from careapp.pages import LABELS
from tests.billing_factories import DECEMBER, BillingScene, build_scene, elder, order, slot_at, subsidies_of

TIERS = {"60": 100, "70": 200, "80": 300}


@pytest.fixture
def scene(world, clock) -> BillingScene:
    return build_scene(world, clock)


def test_the_subsidy_claim_adds_up_to_the_sum_of_the_meals_served(scene, clock):
    centre = scene.world.care_centre.partner
    claim = subsidy_claim(centre, Month.parse(DECEMBER), now=clock.now())
    served = scene.served_in_december(partner_id=centre.id)
    assert {meal.booking_id for meal in claim.meals} == served
    assert claim.total_meals == len(served) == 7
    assert claim.total_claimed_fen == subsidies_of(served) == sum(line.subtotal_fen for line in claim.lines)
    # With the default settings: 60-69 ¥1; 70-79 ¥2 (+¥2 低保 or 失能); 80+ ¥3 (+¥3 特困).
    assert [(line.service_name, line.tier, line.special_group, line.subsidy_per_meal_fen, line.meals)
            for line in claim.lines] == [
        ("午餐", "60", None, 100, 3),
        ("午餐", "70", "dibao", 400, 1),
        ("午餐", "70", "shineng", 400, 1),
        ("午餐", "80", "tekun", 600, 1),
        ("晚餐", "80", "tekun", 600, 1),
    ]
    assert claim.total_claimed_fen == 2300
    assert [(total.service_name, total.meals, total.claimed_fen) for total in claim.per_service] == [
        ("午餐", 6, 1700), ("晚餐", 1, 600)]


def test_cancelled_no_show_waitlisted_other_month_and_other_partner_meals_are_not_claimed(scene, clock):
    claimed = {meal.booking_id for meal in subsidy_claim(scene.world.care_centre.partner, Month.parse(DECEMBER),
                                                         now=clock.now()).meals}
    for key in [("D1", "李爷爷"), ("L1", "陈奶奶"), ("L3", "李爷爷"), ("L4", "李爷爷"), ("EARLY", "陈奶奶"),
                ("A1", "王奶奶")]:
        assert scene.bookings[key].id not in claimed, key


def test_a_meal_belongs_to_the_local_month_of_its_slot(scene, clock):
    """1 January 07:30 in the sub-district is still 31 December in UTC: it is a January meal."""
    january = {meal.booking_id for meal in meals_served(Month.parse("2027-01"), now=from_local(date(2027, 1, 2),
                                                                                              time(0)))}
    assert january == {scene.bookings[("EARLY", "陈奶奶")].id, scene.bookings[("L4", "李爷爷")].id}


def test_a_confirmed_meal_counts_only_once_its_slot_has_ended(scene, clock):
    on_the_day = from_local(date(2026, 12, 3), time(12, 0))  # the 3 December lunch is still being served
    served = {meal.booking_id for meal in meals_served(Month.parse(DECEMBER), now=on_the_day)}
    assert scene.bookings[("L2", "王奶奶")].id not in served
    assert scene.bookings[("L1", "张爷爷")].id in served
    later = from_local(date(2026, 12, 3), time(13, 0))  # it ended at 13:00
    assert scene.bookings[("L2", "王奶奶")].id in {m.booking_id for m in meals_served(Month.parse(DECEMBER), now=later)}


def test_amounts_fixed_when_ordered_are_kept_when_the_settings_change(scene, app, clock):
    month = Month.parse(DECEMBER)
    before = subsidy_claim(scene.world.care_centre.partner, month, now=clock.now()).total_claimed_fen
    app.config["MEAL_SUBSIDY_TIERS"] = {"60": 500, "70": 600, "80": 700}
    app.config["MEAL_PRICE"] = 3000
    assert subsidy_claim(scene.world.care_centre.partner, month, now=clock.now()).total_claimed_fen == before


def test_a_subsidy_changed_mid_month_gives_two_lines_for_one_tier(world, clock, app):
    scene = build_scene(world, clock)
    clock.set(from_local(date(2026, 12, 10), time(8, 0)))
    app.config["MEAL_SUBSIDY_TIERS"] = {"60": 150, "70": 200, "80": 300}
    slot = slot_at(scene.lunch, world.care_centre.manager, date(2026, 12, 11), time(11, 30), clock.now())
    booking = order(slot, scene.members["王奶奶"], world.family.user, clock.now())
    clock.set(from_local(date(2027, 1, 5), time(9, 0)))
    claim = subsidy_claim(world.care_centre.partner, Month.parse(DECEMBER), now=clock.now())
    sixties = [(line.subsidy_per_meal_fen, line.meals) for line in claim.lines if line.tier == "60"]
    assert sixties == [(100, 3), (150, 1)]
    served = scene.served_in_december(partner_id=world.care_centre.partner.id) | {booking.id}
    assert claim.total_claimed_fen == subsidies_of(served) == 2300 + 150


def test_a_household_statement_lists_its_meals_from_every_canteen(scene, clock):
    family = scene.world.family
    statement = household_statement(family.household, Month.parse(DECEMBER), now=clock.now())
    served = scene.served_in_december(household_id=family.household.id)
    assert {meal.booking_id for meal in statement.meals} == served
    assert len(served) == 7 and scene.bookings[("A1", "王奶奶")].id in served  # the academy's lunch too
    assert scene.bookings[("L1", "张爷爷")].id not in served  # another household's
    assert statement.subsidy_fen == subsidies_of(served)
    assert statement.price_fen == 5 * 1500 + 1200 + 1500  # five care-centre lunches, a dinner, the academy's lunch
    assert statement.to_pay_fen == statement.price_fen - statement.subsidy_fen
    first = statement.meals[0]
    assert (first.day, first.meal.value, first.partner_name, first.mode.value) == \
        (date(2026, 12, 2), "lunch", "普康养老服务中心", "dine_in")
    assert [meal.day for meal in statement.meals] == sorted(meal.day for meal in statement.meals)
    other = household_statement(scene.world.other_family.household, Month.parse(DECEMBER), now=clock.now())
    assert [(m.member_name, m.subsidy_fen, m.to_pay_fen) for m in other.meals] == [("张爷爷", 400, 1100)]


def test_a_month_with_no_meals_is_empty_not_an_error(scene, clock):
    claim = subsidy_claim(scene.world.nursery.partner, Month.parse(DECEMBER), now=clock.now())
    assert (claim.lines, claim.total_meals, claim.total_claimed_fen) == ([], 0, 0)


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "26-11", "2026-1", "2026/11", "1999-12", "2101-01", "",
                                  None, "2026-11-01", "２０２６-11", "2026-11\n"])
def test_a_bad_month_is_refused_clearly(text):
    with pytest.raises(BadInput) as refused:
        Month.parse(text)
    assert refused.value.fields == {"month": "YYYY-MM"}
    assert "for example 2026-11" in refused.value.message


def test_months_step_across_years():
    assert (str(Month.parse("2026-12").next), str(Month.parse("2027-01").previous)) == ("2027-01", "2026-12")
    assert Month.parse("2026-12").label == "December 2026"


@pytest.mark.parametrize("tier, label", [("60", "60-69"), ("70", "70-79"), ("80", "80 and over"), (None, "No age tier"),
                                         ("65", "65-69")])
def test_tier_labels(tier, label):
    assert tier_label(tier, TIERS) == label


def test_money_is_shown_in_yuan():
    assert (yuan(300), yuan(0), yuan(123456), yuan(5)) == ("¥3.00", "¥0.00", "¥1,234.56", "¥0.05")


# --- the spreadsheet ---


def read_workbook(content: bytes):
    return load_workbook(BytesIO(content))


def test_the_claim_spreadsheet_has_the_header_the_table_and_every_meal(scene, clock):
    claim = subsidy_claim(scene.world.care_centre.partner, Month.parse(DECEMBER), now=clock.now())
    book = read_workbook(claim_workbook(claim, sub_district="赭麓街道", tiers=TIERS, groups=LABELS["special_group"]))
    sheet = book["Claim"]
    rows = [tuple(cell.value for cell in row) for row in sheet.iter_rows()]
    header = {row[0]: row[1] for row in rows[:6] if row and row[0]}
    assert (header["Sub-district"], header["Partner"], header["Month"], header["Generated at"]) == \
        ("赭麓街道", "普康养老服务中心", "2026-12", "2027-01-05 09:00")
    table = rows[rows.index(("Meal service", "Age tier", "Special group", "Meals", "Subsidy per meal", "Subtotal")) + 1:]
    assert table[:5] == [
        ("午餐", "60-69", "None", 3, 1.0, 3.0),
        ("午餐", "70-79", LABELS["special_group"][SpecialGroup.dibao], 1, 4.0, 4.0),
        ("午餐", "70-79", LABELS["special_group"][SpecialGroup.shineng], 1, 4.0, 4.0),
        ("午餐", "80 and over", LABELS["special_group"][SpecialGroup.tekun], 1, 6.0, 6.0),
        ("晚餐", "80 and over", LABELS["special_group"][SpecialGroup.tekun], 1, 6.0, 6.0),
    ]
    total = rows[-1]
    assert (total[0], total[3], round(total[5] * 100)) == ("Total", claim.total_meals, claim.total_claimed_fen)
    assert not [cell.coordinate for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]
    detail = list(book["Meals served"].iter_rows(values_only=True))
    assert len(detail) == 1 + claim.total_meals
    assert round(sum(row[8] for row in detail[1:]) * 100) == claim.total_claimed_fen
    assert detail[1][:5] == ("2026-12-02", "lunch", "午餐", "张爷爷", "70-79")


def test_text_a_spreadsheet_would_run_is_neutralised(world, clock):
    lunch = slot_at(build_scene(world, clock).lunch, world.care_centre.manager, date(2027, 1, 6), time(11, 30),
                    clock.now())
    sly = elder(world.family, clock.now(), "=HYPERLINK(\"http://x\",\"y\")", 70)
    engine.book(lunch.id, sly.id, by=world.family.user, now=clock.now(), options={"mode": "pick_up"})
    clock.set(from_local(date(2027, 1, 7), time(9, 0)))
    claim = subsidy_claim(world.care_centre.partner, Month.parse("2027-01"), now=clock.now())
    book = read_workbook(claim_workbook(claim, sub_district="+赭麓街道", tiers=TIERS, groups=LABELS["special_group"]))
    names = [row[3] for row in book["Meals served"].iter_rows(min_row=2, values_only=True)]
    assert "'=HYPERLINK(\"http://x\",\"y\")" in names
    assert book["Claim"]["B3"].value == "'+赭麓街道"
    assert not [cell for sheet in book for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]
