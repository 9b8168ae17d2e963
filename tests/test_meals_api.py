"""Meal help over the JSON API: dishes, menus, meal orders, kitchen and delivery sheets."""
from __future__ import annotations

import pytest

from careapp.booking import engine
from careapp.booking.models import Booking
from careapp.households.models import SpecialGroup
from careapp.meals.models import Dish, MealOrder
from tests.api_helpers import bearer, call, error_of  # noqa: F401  (bearer: a fixture)
from tests.meals_factories import meals, menu  # noqa: F401  (fixtures)
from tests.meals_factories import add_dish, at_local, far_family, set_member
from tests.page_helpers import count


# --- dishes and menus ---

def test_manager_adds_dishes_and_replaces_a_menu(client, meals, bearer):
    partner = meals.world.care_centre.partner.id
    headers = bearer(meals.manager)
    response = call(client, "POST", f"/partners/{partner}/dishes", headers,
                    json={"name": "番茄炒蛋", "diet_tags": ["vegetarian"], "allergens": ["鸡蛋"]})
    assert response.status_code == 201
    dish = response.get_json()
    assert dish["diet_tags"] == ["vegetarian"] and dish["allergens"] == ["鸡蛋"] and dish["active"]
    error_of(call(client, "POST", f"/partners/{partner}/dishes", headers, json={"name": "番茄炒蛋"}), 409,
             "duplicate_dish")
    path = f"/services/{meals.lunch.id}/menu"
    put = call(client, "PUT", path, headers, json={"day": meals.day.isoformat(), "dish_ids": [dish["id"]]})
    assert put.status_code == 200 and [d["name"] for d in put.get_json()["dishes"]] == ["番茄炒蛋"]
    got = call(client, "GET", f"{path}?day={meals.day.isoformat()}", bearer(meals.family.user)).get_json()
    assert got["day"] == meals.day.isoformat() and [d["id"] for d in got["dishes"]] == [dish["id"]]
    listed = call(client, "GET", f"/partners/{partner}/dishes", bearer(meals.world.care_centre.staff))
    assert [d["name"] for d in listed.get_json()] == ["番茄炒蛋"]


def test_a_dish_can_be_deactivated_and_then_not_put_on_a_menu(client, meals, bearer):
    dish = add_dish(meals.world.care_centre.partner.id, "红烧肉")
    headers = bearer(meals.manager)
    assert call(client, "PATCH", f"/dishes/{dish.id}", headers, json={"active": False}).get_json()["active"] is False
    error_of(call(client, "PUT", f"/services/{meals.lunch.id}/menu", headers,
                  json={"day": meals.day.isoformat(), "dish_ids": [dish.id]}), 400, "bad_input")


def test_another_partners_dish_cannot_go_on_the_menu(client, meals, bearer):
    other = add_dish(meals.world.nursery.partner.id, "别家菜")
    error_of(call(client, "PUT", f"/services/{meals.lunch.id}/menu", bearer(meals.manager),
                  json={"day": meals.day.isoformat(), "dish_ids": [other.id]}), 400, "bad_input")


@pytest.mark.parametrize("who", ["staff", "other_manager", "family"])
def test_only_the_manager_changes_dishes_and_menus(client, meals, bearer, who):
    user = {"staff": meals.world.care_centre.staff, "other_manager": meals.world.nursery.manager,
            "family": meals.family.user}[who]
    partner = meals.world.care_centre.partner.id
    headers = bearer(user)
    error_of(call(client, "POST", f"/partners/{partner}/dishes", headers, json={"name": "x"}), 403, "forbidden")
    error_of(call(client, "PUT", f"/services/{meals.lunch.id}/menu", headers,
                  json={"day": meals.day.isoformat(), "dish_ids": []}), 403, "forbidden")
    assert count(Dish) == 0


def test_a_menu_of_a_past_day_cannot_be_changed(client, meals, bearer, clock):
    at_local(clock, meals.day, 10, 0)
    yesterday = meals.day.replace(day=meals.day.day - 1)
    error_of(call(client, "PUT", f"/services/{meals.lunch.id}/menu", bearer(meals.manager),
                  json={"day": yesterday.isoformat(), "dish_ids": []}), 422, "past_day")


def test_a_day_that_is_no_date_is_400(client, meals, bearer):
    response = call(client, "GET", f"/services/{meals.lunch.id}/menu?day=2026-13-99", bearer(meals.manager))
    error_of(response, 400, "bad_input")
    assert "day" in response.get_json()["error"]["fields"]


def test_an_ordered_dish_stays_on_the_menu(client, meals, menu, bearer, clock):
    fish, chicken = menu
    engine.book(meals.lunch_slot.id, meals.elder.id, by=meals.family.user, now=clock.now(),
                options={"dish_ids": [fish.id]})
    error_of(call(client, "PUT", f"/services/{meals.lunch.id}/menu", bearer(meals.manager),
                  json={"day": meals.day.isoformat(), "dish_ids": [chicken.id]}), 422, "dish_already_ordered")


# --- orders ---

def test_family_orders_and_changes_a_meal(client, meals, menu, bearer):
    fish, chicken = menu
    set_member(meals.elder, special_group=SpecialGroup.tekun)
    headers = bearer(meals.family.user)
    response = call(client, "POST", f"/slots/{meals.lunch_slot.id}/meal-orders", headers,
                    json={"recipient_id": meals.elder.id, "mode": "delivery", "dish_ids": [fish.id]})
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert order["status"] == "confirmed" and order["mode"] == "delivery" and order["dishes"] == ["清蒸鱼"]
    assert (order["price_fen"], order["subsidy_fen"], order["to_pay_fen"]) == (1500, 500, 1000)
    assert (order["subsidy_tier"], order["special_group"]) == ("70", "tekun")
    changed = call(client, "PATCH", f"/meal-orders/{order['booking_id']}", headers, json={"dish_ids": [chicken.id]})
    assert changed.status_code == 200
    assert changed.get_json()["mode"] == "delivery" and changed.get_json()["dish_ids"] == [chicken.id]


def test_order_refusals_in_the_error_shape(client, meals, menu, bearer, clock):
    headers = bearer(meals.family.user)
    path = f"/slots/{meals.lunch_slot.id}/meal-orders"
    other = add_dish(meals.world.care_centre.partner.id, "红烧肉")
    error = error_of(call(client, "POST", path, headers, json={"recipient_id": meals.elder.id,
                                                               "dish_ids": [other.id]}), 422, "not_on_menu")
    assert error["fields"] == {"dish_ids": str(other.id)}
    far = far_family(meals.world, clock.now())
    far_elder = far.add_elder(clock.now(), name="远奶奶")
    error = error_of(call(client, "POST", path, bearer(far.user),
                          json={"recipient_id": far_elder.id, "mode": "delivery"}), 422, "outside_delivery_radius")
    assert "1000 m" in error["message"]
    error_of(call(client, "POST", path, headers, json={"recipient_id": meals.elder.id, "mode": "fly"}), 400)
    at_local(clock, meals.day, 9, 1)
    error = error_of(call(client, "POST", path, headers, json={"recipient_id": meals.elder.id}), 422, "past_cutoff")
    assert "09:00" in error["message"]
    assert count(Booking) == 0 and count(MealOrder) == 0


def test_change_after_the_cutoff_is_refused(client, meals, bearer, clock):
    booking = engine.book(meals.lunch_slot.id, meals.elder.id, by=meals.family.user, now=clock.now()).booking
    at_local(clock, meals.day, 9, 1)
    error = error_of(call(client, "PATCH", f"/meal-orders/{booking.id}", bearer(meals.family.user),
                          json={"mode": "pick_up"}), 422, "past_cutoff")
    assert "09:00" in error["message"]


def test_another_family_cannot_change_the_order(client, meals, bearer, clock):
    booking = engine.book(meals.lunch_slot.id, meals.elder.id, by=meals.family.user, now=clock.now()).booking
    error_of(call(client, "PATCH", f"/meal-orders/{booking.id}", bearer(meals.world.other_family.user),
                  json={"mode": "pick_up"}), 403)


def test_a_slot_that_is_not_a_meal_takes_no_meal_orders(client, meals, bearer):
    from tests.factories import make_slot

    slot = make_slot(meals.world.daycare, meals.manager, meals.world.now)
    error_of(call(client, "POST", f"/slots/{slot.id}/meal-orders", bearer(meals.family.user),
                  json={"recipient_id": meals.elder.id}), 404)


# --- sheets ---

def test_kitchen_and_delivery_sheets(client, meals, menu, bearer, clock):
    fish, chicken = menu
    now = clock.now()
    set_member(meals.elder, diet_tags="soft", allergies="花生", phone="13912345678")
    engine.book(meals.lunch_slot.id, meals.elder.id, by=meals.family.user, now=now,
                options={"mode": "delivery", "dish_ids": [fish.id, chicken.id]})
    zhang = meals.world.other_family.add_elder(now, name="张爷爷")
    engine.book(meals.lunch_slot.id, zhang.id, by=meals.world.other_family.user, now=now)
    headers = bearer(meals.world.care_centre.staff)
    sheet = call(client, "GET", f"/slots/{meals.lunch_slot.id}/kitchen-sheet", headers).get_json()
    assert sheet["total"] == 2 and sheet["waitlisted"] == 0
    assert {c["name"]: c["count"] for c in sheet["by_dish"]} == {"清蒸鱼": 1, "宫保鸡丁": 1, "Set meal": 1}
    assert {c["name"]: c["count"] for c in sheet["by_mode"]} == {"dine_in": 1, "pick_up": 0, "delivery": 1}
    assert sheet["by_diet_tag"] == [{"name": "soft", "count": 1}]
    assert [a["name"] for a in sheet["attention"]] == ["王奶奶"]
    assert any("花生" in warning for warning in sheet["attention"][0]["warnings"])
    delivery = call(client, "GET", f"/slots/{meals.lunch_slot.id}/delivery-sheet", headers).get_json()
    assert delivery["total"] == 1
    [group] = delivery["groups"]
    assert (group["community"], group["grid"], group["building"]) == ("旭日天都社区", "第一网格", "1栋")
    assert group["orders"][0]["phone"] == "139****5678"


@pytest.mark.parametrize("who, status", [("other_staff", 403), ("family", 403), ("community", 200)])
def test_who_may_read_the_sheets(client, meals, bearer, who, status):
    user = {"other_staff": meals.world.nursery.staff, "family": meals.family.user,
            "community": meals.world.community_staff}[who]
    for sheet in ("kitchen-sheet", "delivery-sheet"):
        response = call(client, "GET", f"/slots/{meals.lunch_slot.id}/{sheet}", bearer(user))
        assert response.status_code == status


# --- member meal needs ---

def test_recipients_carry_diet_tags_special_group_and_phone(client, meals, bearer):
    headers = bearer(meals.family.user)
    created = call(client, "POST", "/recipients", headers,
                   json={"name": "赵爷爷", "kind": "elder", "birth_date": "1945-03-01", "diet_tags": ["halal"],
                         "special_group": "dibao", "phone": "13700001111"})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["diet_tags"], body["special_group"], body["phone"]) == (["halal"], "dibao", "13700001111")
    changed = call(client, "PATCH", f"/recipients/{body['id']}/meal-needs", headers,
                   json={"diet_tags": ["low_salt", "soft"], "special_group": None})
    assert changed.get_json()["diet_tags"] == ["low_salt", "soft"] and changed.get_json()["special_group"] is None
    error = error_of(call(client, "PATCH", f"/recipients/{body['id']}/meal-needs", headers,
                          json={"phone": "12345678901"}), 400)
    assert "phone" in error["fields"]
    error_of(call(client, "PATCH", f"/recipients/{body['id']}/meal-needs", bearer(meals.world.other_family.user),
                  json={"phone": "13912345678"}), 403)
