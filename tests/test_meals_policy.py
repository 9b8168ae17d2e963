"""Meal help rules in the booking engine: cutoffs, mode and dishes, delivery radius, price and subsidy."""
from __future__ import annotations

from datetime import time, timedelta

import pytest

from careapp.booking import engine
from careapp.booking.models import BookingStatus
from careapp.core.db import db
from careapp.core.errors import BadInput, RuleRefused
from careapp.core.geo import distance_m
from careapp.households.models import SpecialGroup
from careapp.meals.models import MealMode, MealOrder
from careapp.meals.policy import MealPolicy
from careapp.meals.pricing import age_tier, meal_price_fen, subsidy_for
from careapp.partners.models import MealTime
from tests.meals_factories import (add_dish, at_local, elder_born, far_family, meal_service, meal_slot, meals,
                                   put_on_menu, set_member)  # noqa: F401  (meals: a fixture)


def order_at(meals, now, slot=None, member=None, **options):
    return engine.book((slot or meals.lunch_slot).id, (member or meals.elder).id, by=meals.family.user,
                       now=now, options=options).booking


def meal_order(booking) -> MealOrder:
    db.session.expire_all()
    return db.session.get(MealOrder, booking.id)


# --- cutoffs ---

def test_lunch_order_one_minute_after_the_0900_cutoff_is_refused_with_the_time(meals, clock):
    at_local(clock, meals.day, 9, 1)
    with pytest.raises(RuleRefused) as refused:
        order_at(meals, clock.now())
    assert refused.value.code == "past_cutoff"
    assert "09:00" in refused.value.message and "closed" in refused.value.message
    assert refused.value.fields["cutoff"] == at_local(clock, meals.day, 9, 0).isoformat()


def test_lunch_order_one_minute_before_the_cutoff_is_taken(meals, clock):
    booking = order_at(meals, at_local(clock, meals.day, 8, 59))
    assert booking.status == BookingStatus.confirmed


def test_dinner_order_closes_at_1400(meals, clock):
    booking = order_at(meals, at_local(clock, meals.day, 13, 59), slot=meals.dinner_slot)
    assert booking.status == BookingStatus.confirmed
    other = meals.family.add_elder(clock.now(), name="李爷爷")
    with pytest.raises(RuleRefused) as refused:
        order_at(meals, at_local(clock, meals.day, 14, 1), slot=meals.dinner_slot, member=other)
    assert refused.value.code == "past_cutoff"
    assert "14:00" in refused.value.message


def test_the_cutoff_settings_move_the_cutoff(app, meals, clock):
    app.config["MEAL_LUNCH_CUTOFF"] = time(10, 30)
    assert order_at(meals, at_local(clock, meals.day, 10, 0)).status == BookingStatus.confirmed
    app.config["MEAL_DINNER_CUTOFF"] = time(12, 0)
    with pytest.raises(RuleRefused) as refused:
        order_at(meals, at_local(clock, meals.day, 12, 1), slot=meals.dinner_slot)
    assert "12:00" in refused.value.message


def test_a_meal_service_without_a_meal_uses_the_slot_start_hour(meals, clock):
    now = clock.now()
    plain = meal_service(meals.world, "助餐", None, now)
    early = meal_slot(plain, meals.day, time(11, 0), meals.manager, now)
    late = meal_slot(plain, meals.day, time(17, 30), meals.manager, now)
    policy = MealPolicy()
    assert policy.booking_closes_at(early) == at_local(clock, meals.day, 9, 0)
    assert policy.booking_closes_at(late) == at_local(clock, meals.day, 14, 0)


def test_changing_and_cancelling_after_the_cutoff_are_refused(meals, clock):
    booking = order_at(meals, clock.now())
    at_local(clock, meals.day, 9, 1)
    with pytest.raises(RuleRefused) as changed:
        engine.change_options(booking.id, {"mode": "pick_up"}, by=meals.family.user, now=clock.now())
    assert changed.value.code == "past_cutoff" and "Changing" in changed.value.message
    assert "09:00" in changed.value.message
    with pytest.raises(RuleRefused) as cancelled:
        engine.cancel(booking.id, by=meals.family.user, now=clock.now())
    assert cancelled.value.code == "past_cutoff" and "Cancelling" in cancelled.value.message
    db.session.expire_all()
    assert meal_order(booking).mode == MealMode.dine_in


def test_change_and_cancel_before_the_cutoff_are_taken(meals, clock):
    booking = order_at(meals, clock.now())
    at_local(clock, meals.day, 8, 59)
    engine.change_options(booking.id, {"mode": "pick_up"}, by=meals.family.user, now=clock.now())
    assert meal_order(booking).mode == MealMode.pick_up
    cancelled = engine.cancel(booking.id, by=meals.family.user, now=clock.now())
    assert cancelled.status == BookingStatus.cancelled


# --- mode, dishes, delivery ---

def test_an_order_without_options_is_the_set_meal_eaten_at_the_canteen(meals, clock):
    booking = order_at(meals, clock.now())
    recorded = meal_order(booking)
    assert recorded.mode == MealMode.dine_in and recorded.dishes == []
    assert MealPolicy().options_of(booking) == {"mode": "dine_in", "dish_ids": [], "price_fen": 1500,
                                                "subsidy_fen": 200}


def test_dishes_must_be_on_that_days_menu(meals, clock):
    partner = meals.world.care_centre.partner.id
    fish, tofu = add_dish(partner, "清蒸鱼", "low_salt"), add_dish(partner, "麻婆豆腐")
    put_on_menu(meals.lunch, meals.day, fish)
    put_on_menu(meals.dinner, meals.day, tofu)  # another meal's menu does not count
    with pytest.raises(RuleRefused) as refused:
        order_at(meals, clock.now(), dish_ids=[fish.id, tofu.id])
    assert refused.value.code == "not_on_menu"
    assert refused.value.fields == {"dish_ids": str(tofu.id)}
    assert db.session.scalar(db.select(db.func.count()).select_from(MealOrder)) == 0  # nothing half-written
    booking = order_at(meals, clock.now(), dish_ids=[fish.id])
    assert [line.dish_id for line in meal_order(booking).dishes] == [fish.id]


def test_a_dish_on_another_days_menu_is_refused(meals, clock):
    fish = add_dish(meals.world.care_centre.partner.id, "清蒸鱼")
    put_on_menu(meals.lunch, meals.day - timedelta(days=1), fish)
    with pytest.raises(RuleRefused):
        order_at(meals, clock.now(), dish_ids=[fish.id])


def test_change_replaces_mode_and_dishes(meals, clock):
    partner = meals.world.care_centre.partner.id
    fish, rice = add_dish(partner, "清蒸鱼"), add_dish(partner, "米饭")
    put_on_menu(meals.lunch, meals.day, fish, rice)
    booking = order_at(meals, clock.now(), dish_ids=[fish.id])
    engine.change_options(booking.id, {"mode": "pick_up", "dish_ids": [rice.id]}, by=meals.family.user,
                          now=clock.now())
    recorded = meal_order(booking)
    assert recorded.mode == MealMode.pick_up
    assert [line.dish_id for line in recorded.dishes] == [rice.id]


@pytest.mark.parametrize("options, field", [
    ({"mode": "teleport"}, "mode"), ({"dish_ids": "1,2"}, "dish_ids"), ({"dish_ids": [True]}, "dish_ids"),
    ({"dishes": [1]}, "dishes"),
])
def test_bad_options_are_bad_input_naming_the_field(meals, clock, options, field):
    with pytest.raises(BadInput) as refused:
        order_at(meals, clock.now(), **options)
    assert field in refused.value.fields


def test_delivery_inside_the_radius_is_taken(meals, clock):
    booking = order_at(meals, clock.now(), mode="delivery")
    assert meal_order(booking).mode == MealMode.delivery


def test_delivery_outside_the_radius_is_refused_naming_distance_and_radius(meals, clock):
    family = far_family(meals.world, clock.now())
    elder = family.add_elder(clock.now(), name="远奶奶")
    with pytest.raises(RuleRefused) as refused:
        engine.book(meals.lunch_slot.id, elder.id, by=family.user, now=clock.now(), options={"mode": "delivery"})
    assert refused.value.code == "outside_delivery_radius"
    distance = round(distance_m(31.35, 118.37, 31.33, 118.37))
    assert f"{distance} m" in refused.value.message and "1000 m" in refused.value.message
    # pick-up from the same home is fine
    engine.book(meals.lunch_slot.id, elder.id, by=family.user, now=clock.now(), options={"mode": "pick_up"})


def test_the_service_radius_and_the_setting_decide_delivery(app, meals, clock):
    app.config["MEAL_DELIVERY_RADIUS"] = 100  # the elder lives about 145 m away
    with pytest.raises(RuleRefused):
        order_at(meals, clock.now(), mode="delivery")
    wide = meal_service(meals.world, "送餐午餐", MealTime.lunch, clock.now(), delivery_radius_m=500)
    slot = meal_slot(wide, meals.day, time(11, 45), meals.manager, clock.now())
    assert meal_order(order_at(meals, clock.now(), slot=slot, mode="delivery")).mode == MealMode.delivery


def test_changing_to_delivery_outside_the_radius_is_refused_and_keeps_the_order(app, meals, clock):
    booking = order_at(meals, clock.now(), mode="pick_up")
    app.config["MEAL_DELIVERY_RADIUS"] = 100
    with pytest.raises(RuleRefused):
        engine.change_options(booking.id, {"mode": "delivery"}, by=meals.family.user, now=clock.now())
    assert meal_order(booking).mode == MealMode.pick_up


def test_haversine_distance():
    # One degree of latitude is about 111.2 km.
    assert distance_m(31.0, 118.0, 32.0, 118.0) == pytest.approx(111_195, rel=1e-3)
    assert distance_m(31.33, 118.37, 31.33, 118.37) == 0


# --- price and subsidy ---

@pytest.mark.parametrize("age, tier, subsidy", [(59, None, 0), (60, "60", 100), (69, "60", 100), (70, "70", 200),
                                               (79, "70", 200), (80, "80", 300), (101, "80", 300)])
def test_subsidy_by_age_tier_on_the_meal_date(app, meals, clock, age, tier, subsidy):
    member = elder_born(meals.family, clock.now(), meals.day.replace(year=meals.day.year - age), f"老人{age}")
    assert subsidy_for(member, meals.day, 1500, app.config) == (subsidy, tier, None)


def test_the_age_is_taken_on_the_meals_local_date(app, meals, clock):
    """A breakfast at 07:00 local is still the previous day in UTC; the elder turns 70 that local day."""
    now = clock.now()
    breakfast = meal_service(meals.world, "早餐", MealTime.lunch, now)
    slot = meal_slot(breakfast, meals.day, time(7, 0), meals.manager, now)
    assert slot.starts_at.date() < meals.day  # UTC date is the day before
    member = elder_born(meals.family, now, meals.day.replace(year=meals.day.year - 70), "寿星")
    booking = engine.book(slot.id, member.id, by=meals.family.user, now=now).booking
    recorded = meal_order(booking)
    assert (recorded.subsidy_tier, recorded.subsidy_fen) == ("70", 200)


@pytest.mark.parametrize("group, extra", [(SpecialGroup.dibao, 200), (SpecialGroup.tekun, 300),
                                          (SpecialGroup.shineng, 200)])
def test_special_groups_get_their_extra(app, meals, clock, group, extra):
    member = set_member(meals.elder, special_group=group)  # aged 75: tier 70
    assert subsidy_for(member, meals.day, 1500, app.config) == (200 + extra, "70", group.value)


def test_the_subsidy_is_never_above_the_price(app, meals, clock):
    member = set_member(meals.elder, special_group=SpecialGroup.tekun)
    assert subsidy_for(member, meals.day, 400, app.config) == (400, "70", "tekun")


def test_the_price_is_the_services_own_else_the_setting(app, meals, clock):
    assert meal_price_fen(meals.lunch, app.config) == 1500
    app.config["MEAL_PRICE"] = 1200
    assert meal_price_fen(meals.lunch, app.config) == 1200
    own = meal_service(meals.world, "小份午餐", MealTime.lunch, clock.now(), price_fen=800)
    assert meal_price_fen(own, app.config) == 800


def test_tier_settings_change_the_subsidy(app, meals, clock):
    app.config["MEAL_SUBSIDY_TIERS"] = {"65": 150, "75": 250}
    app.config["MEAL_SPECIAL_SUBSIDY"] = {}
    member = set_member(meals.elder, special_group=SpecialGroup.dibao)
    assert subsidy_for(member, meals.day, 1500, app.config) == (250, "75", None)
    assert age_tier(64, app.config["MEAL_SUBSIDY_TIERS"]) is None


def test_the_order_fixes_price_and_subsidy_when_placed(app, meals, clock):
    set_member(meals.elder, special_group=SpecialGroup.dibao)
    booking = order_at(meals, clock.now(), mode="pick_up")
    app.config["MEAL_PRICE"] = 2000  # a later setting change does not rewrite what was charged
    recorded = meal_order(booking)
    assert (recorded.price_fen, recorded.subsidy_fen, recorded.subsidy_tier, recorded.special_group) == \
        (1500, 400, "70", "dibao")
    assert recorded.to_pay_fen == 1100


def test_children_cannot_order_meals(meals, clock):
    child = meals.family.add_child(clock.now())
    with pytest.raises(RuleRefused) as refused:
        order_at(meals, clock.now(), member=child)
    assert refused.value.fields == {"rule": "recipient_kind"}


def test_a_change_keeps_the_price_and_subsidy_fixed_when_ordered(app, meals, clock):
    booking = order_at(meals, clock.now())
    app.config["MEAL_PRICE"] = 2000
    set_member(meals.elder, special_group=SpecialGroup.tekun)
    engine.change_options(booking.id, {"mode": "pick_up"}, by=meals.family.user, now=clock.now())
    recorded = meal_order(booking)
    assert (recorded.mode, recorded.price_fen, recorded.subsidy_fen, recorded.special_group) == \
        (MealMode.pick_up, 1500, 200, None)
