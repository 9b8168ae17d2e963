"""Meal help pages: dishes and menus, ordering, the household's orders, kitchen and delivery sheets."""
from __future__ import annotations

from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from careapp.booking import engine
from careapp.booking.models import Booking, BookingStatus
from careapp.core.db import db, write_transaction
from careapp.households.models import CareRecipient, DietTag, SpecialGroup
from careapp.meals.models import Dish, MealMode, MealOrder, MenuItem
from tests.meals_factories import meals, menu  # noqa: F401  (fixtures)
from tests.meals_factories import add_dish, at_local, far_family, lunch_orders, put_on_menu, set_member
from tests.page_helpers import count, follow, login, text


def order_url(meals, **query):
    url = f"/meals/slots/{meals.lunch_slot.id}/order"
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def the_order(meals, member=None) -> MealOrder | None:
    db.session.expire_all()
    booking = db.session.scalar(sa.select(Booking).where(Booking.slot_id == meals.lunch_slot.id,
                                                         Booking.recipient_id == (member or meals.elder).id,
                                                         Booking.status != BookingStatus.cancelled))
    return db.session.get(MealOrder, booking.id) if booking else None


# --- ordering ---

def test_family_sees_menu_price_subsidy_and_warnings_then_orders(client, meals, menu, clock):
    fish, chicken = menu
    set_member(meals.elder, allergies="花生", diet_tags="low_salt", special_group=SpecialGroup.dibao)
    login(client, meals.family.user)
    page = text(client.get(order_url(meals)))
    assert "清蒸鱼" in page and "宫保鸡丁" in page
    assert "¥15.00" in page and "¥4.00" in page and "¥11.00" in page  # 75 years: ¥2 + 低保 ¥2
    assert "contains 花生, and 王奶奶 is allergic to it" in page
    assert "not marked low-salt" in page  # 宫保鸡丁 lacks the member's low-salt tag
    assert "by <strong>" not in page and "09:00" in page
    response = client.post(order_url(meals), data={"recipient_id": meals.elder.id, "mode": "pick_up",
                                                   "dish_ids": [fish.id]})
    assert response.status_code == 302
    assert "is ordered" in follow(client, response)
    recorded = the_order(meals)
    assert recorded.mode == MealMode.pick_up and [line.dish_id for line in recorded.dishes] == [fish.id]


def test_family_changes_an_order_on_the_same_page(client, meals, menu, clock):
    fish, chicken = menu
    engine.book(meals.lunch_slot.id, meals.elder.id, by=meals.family.user, now=clock.now(),
                options={"dish_ids": [fish.id]})
    login(client, meals.family.user)
    page = text(client.get(order_url(meals)))
    assert "Already ordered" in page and "Change the order" in page and "Cancel this meal" in page
    response = client.post(order_url(meals), data={"recipient_id": meals.elder.id, "mode": "delivery",
                                                   "dish_ids": [chicken.id]})
    assert "is changed" in follow(client, response)
    recorded = the_order(meals)
    assert recorded.mode == MealMode.delivery and [line.dish_id for line in recorded.dishes] == [chicken.id]


def test_cancelling_a_meal_asks_first_and_no_goes_back_to_the_order(client, meals, menu, clock):
    booking = engine.book(meals.lunch_slot.id, meals.elder.id, by=meals.family.user, now=clock.now()).booking
    login(client, meals.family.user)
    url = order_url(meals)
    page = text(client.get(url))
    link = f"/booking/bookings/{booking.id}/cancel?next={url}"
    assert f'<a class="button secondary" href="{link}" aria-describedby="order-status">Cancel this meal</a>' in page
    assert f'action="/booking/bookings/{booking.id}/cancel"' not in page  # no one-click cancel any more

    confirm = text(client.get(link))
    assert "The canteen will not make this meal for 王奶奶." in confirm and "Yes, cancel it" in confirm
    assert f'<a class="button secondary" href="{url}">No, keep it</a>' in confirm
    assert db.session.get(Booking, booking.id).status == BookingStatus.confirmed  # asking changes nothing
    evil = text(client.get(f"/booking/bookings/{booking.id}/cancel?next=//evil.example/"))
    assert '<a class="button secondary" href="/family/">No, keep it</a>' in evil  # never off the site

    client.post(f"/booking/bookings/{booking.id}/cancel")
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.cancelled


def test_after_the_cutoff_the_page_says_so_and_an_order_is_refused(client, meals, menu, clock):
    login(client, meals.family.user)
    at_local(clock, meals.day, 9, 1)
    page = text(client.get(order_url(meals)))
    assert "closed at 09:00" in page and "Order this meal" not in page
    before = count(Booking)
    response = client.post(order_url(meals), data={"recipient_id": meals.elder.id, "mode": "dine_in"})
    assert response.status_code == 422
    assert "Ordering this lunch closed at 09:00" in text(response)
    assert count(Booking) == before


def test_delivery_is_not_offered_outside_the_radius_and_says_why(client, meals, clock):
    family = far_family(meals.world, clock.now())
    elder = family.add_elder(clock.now(), name="远奶奶")
    login(client, family.user)
    page = text(client.get(order_url(meals)))
    assert 'value="delivery"' not in page
    assert "Delivery is not offered" in page and "within 1000 m" in page
    response = client.post(order_url(meals), data={"recipient_id": elder.id, "mode": "delivery"})
    assert response.status_code == 400  # not one of the offered choices
    assert count(Booking) == 0


def test_a_dish_not_on_the_menu_is_refused_beside_the_field(client, meals, menu, clock):
    other = add_dish(meals.world.care_centre.partner.id, "红烧肉")
    login(client, meals.family.user)
    response = client.post(order_url(meals), data={"recipient_id": meals.elder.id, "mode": "dine_in",
                                                   "dish_ids": [other.id]})
    assert response.status_code == 400
    assert count(Booking) == 0


def test_community_staff_order_for_a_household(client, meals, menu, clock):
    login(client, meals.world.community_staff)
    page = text(client.get(order_url(meals, q="1栋")))
    assert meals.family.household.name in page
    page = text(client.get(order_url(meals, household=meals.family.household.id)))
    assert "For 王奶奶" in page or "王奶奶" in page
    response = client.post(order_url(meals), data={"recipient_id": meals.elder.id, "mode": "dine_in"})
    assert response.status_code == 302
    assert the_order(meals).mode == MealMode.dine_in


def test_another_family_cannot_order_for_this_household(client, meals, clock):
    login(client, meals.world.other_family.user)
    response = client.post(order_url(meals), data={"recipient_id": meals.elder.id, "mode": "dine_in"})
    assert response.status_code == 403
    assert count(Booking) == 0


def test_partner_staff_do_not_order(client, meals, clock):
    login(client, meals.world.care_centre.staff)
    assert client.get(order_url(meals)).status_code == 403


def test_the_slot_page_shows_the_menu_and_the_order_link(client, meals, menu, clock):
    login(client, meals.family.user)
    page = text(client.get(f"/booking/slots/{meals.lunch_slot.id}"))
    assert "Lunch menu" in page and "清蒸鱼" in page and "contains 花生" in page
    assert f"/meals/slots/{meals.lunch_slot.id}/order" in page


def test_the_household_page_shows_mode_and_dishes_of_meal_orders(client, meals, menu, clock):
    fish, _ = menu
    engine.book(meals.lunch_slot.id, meals.elder.id, by=meals.family.user, now=clock.now(),
                options={"mode": "delivery", "dish_ids": [fish.id]})
    login(client, meals.family.user)
    page = text(client.get("/family/"))
    assert "Delivered home" in page and "清蒸鱼" in page and "to pay <strong>¥13.00" in page


def test_cancel_after_the_cutoff_is_refused_with_the_time(client, meals, clock):
    booking = engine.book(meals.lunch_slot.id, meals.elder.id, by=meals.family.user, now=clock.now()).booking
    login(client, meals.family.user)
    at_local(clock, meals.day, 9, 1)
    response = client.post(f"/booking/bookings/{booking.id}/cancel")
    assert "Cancelling this lunch closed at 09:00" in follow(client, response)
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.confirmed


# --- meal needs ---

def test_family_records_diet_tags_special_group_and_phone(client, meals, clock):
    login(client, meals.family.user)
    response = client.post(f"/meals/members/{meals.elder.id}/needs",
                           data={"diet_tags": ["low_salt", "soft"], "allergies": "花生、虾", "diet": "",
                                 "special_group": "tekun", "phone": "13912345678"})
    assert response.status_code == 302
    db.session.expire_all()
    member = db.session.get(CareRecipient, meals.elder.id)
    assert member.diet_tag_list == [DietTag.low_salt, DietTag.soft]
    assert member.special_group == SpecialGroup.tekun and member.phone == "13912345678"


@pytest.mark.parametrize("phone", ["12912345678", "1391234567", "139123456789", "abc"])
def test_a_phone_that_is_not_a_mainland_mobile_is_refused(client, meals, clock, phone):
    login(client, meals.family.user)
    response = client.post(f"/meals/members/{meals.elder.id}/needs", data={"phone": phone})
    assert response.status_code == 400
    assert "11 digits" in text(response)
    db.session.expire_all()
    assert db.session.get(CareRecipient, meals.elder.id).phone is None


def test_add_member_form_records_diet_tags_and_phone(client, meals, clock):
    login(client, meals.family.user)
    response = client.post(f"/family/households/{meals.family.household.id}/members/new",
                           data={"kind": "elder", "name": "赵爷爷", "birth_date": "1945-03-01",
                                 "diet_tags": ["halal"], "special_group": "shineng", "phone": "13700001111"})
    assert response.status_code == 302
    member = db.session.scalar(sa.select(CareRecipient).where(CareRecipient.name == "赵爷爷"))
    assert member.diet_tags == "halal" and member.special_group == SpecialGroup.shineng
    assert member.phone == "13700001111"
    assert "Halal" in text(client.get("/family/"))


def test_community_staff_see_the_number_masked_and_an_empty_field_keeps_it(client, meals, clock):
    """Staff filling in an elder's needs on their behalf never get the whole number in the form (PIPL)."""
    with write_transaction():
        db.session.get(CareRecipient, meals.elder.id).phone = "13912345678"
    login(client, meals.world.community_staff)
    page = text(client.get(f"/meals/members/{meals.elder.id}/needs"))
    assert "13912345678" not in page
    assert "139****5678" in page
    response = client.post(f"/meals/members/{meals.elder.id}/needs", data={"allergies": "虾", "phone": ""})
    assert response.status_code == 302
    db.session.expire_all()
    member = db.session.get(CareRecipient, meals.elder.id)
    assert member.phone == "13912345678" and member.allergies == "虾"
    client.post(f"/meals/members/{meals.elder.id}/needs", data={"phone": "13700001111"})
    db.session.expire_all()
    assert db.session.get(CareRecipient, meals.elder.id).phone == "13700001111"


def test_the_household_sees_its_own_number_whole_in_the_form(client, meals, clock):
    with write_transaction():
        db.session.get(CareRecipient, meals.elder.id).phone = "13912345678"
    login(client, meals.family.user)
    assert 'value="13912345678"' in text(client.get(f"/meals/members/{meals.elder.id}/needs"))


def test_other_family_cannot_change_meal_needs(client, meals, clock):
    login(client, meals.world.other_family.user)
    assert client.post(f"/meals/members/{meals.elder.id}/needs", data={"phone": "13912345678"}).status_code == 403


# --- dishes and menus ---

def test_manager_adds_and_edits_dishes_with_unique_names(client, meals, clock):
    partner = meals.world.care_centre.partner.id
    login(client, meals.manager)
    response = client.post(f"/meals/partners/{partner}/dishes",
                           data={"name": "番茄炒蛋", "diet_tags": ["vegetarian"], "allergens": "鸡蛋"})
    assert response.status_code == 302
    again = client.post(f"/meals/partners/{partner}/dishes", data={"name": "番茄炒蛋"})
    assert again.status_code == 409 and "already a dish called 番茄炒蛋" in text(again)
    dish = db.session.scalar(sa.select(Dish).where(Dish.name == "番茄炒蛋"))
    assert dish.diet_tag_list == ["vegetarian"] and dish.allergen_list == ["鸡蛋"]
    page = text(client.get(f"/meals/partners/{partner}/dishes/edit?dish={dish.id}"))
    assert "番茄炒蛋" in page and "checked" in page
    response = client.post(f"/meals/partners/{partner}/dishes/edit?dish={dish.id}",
                           data={"name": "番茄炒鸡蛋", "allergens": "鸡蛋", "active": ""})
    assert response.status_code == 302
    db.session.expire_all()
    dish = db.session.get(Dish, dish.id)
    assert dish.name == "番茄炒鸡蛋" and not dish.active


def test_manager_sets_a_days_menu_and_sees_the_week(client, meals, clock):
    partner = meals.world.care_centre.partner.id
    fish, rice = add_dish(partner, "清蒸鱼"), add_dish(partner, "米饭")
    login(client, meals.manager)
    url = f"/meals/services/{meals.lunch.id}/menu?day={meals.day.isoformat()}"
    assert "清蒸鱼" in text(client.get(url))
    response = client.post(url, data={"dish_ids": [fish.id, rice.id]})
    assert response.status_code == 302
    week = text(client.get(f"/meals/partners/{partner}/menus"))
    assert "清蒸鱼, 米饭" in week
    assert count(MenuItem) == 2


def test_manager_copies_a_week_of_menus_to_the_next(client, meals, clock):
    partner = meals.world.care_centre.partner.id
    fish = add_dish(partner, "清蒸鱼")
    put_on_menu(meals.lunch, meals.day, fish)
    monday = meals.day - timedelta(days=meals.day.weekday())
    login(client, meals.manager)
    response = client.post(f"/meals/services/{meals.lunch.id}/menus/copy-week", data={"week": monday.isoformat()})
    assert "1 day(s) copied" in follow(client, response)
    copied = db.session.scalar(sa.select(MenuItem).where(MenuItem.day == meals.day + timedelta(days=7)))
    assert copied.dish_id == fish.id


@pytest.mark.parametrize("who", ["staff", "other_manager", "family"])
def test_only_the_partners_manager_changes_dishes_and_menus(client, meals, clock, who):
    user = {"staff": meals.world.care_centre.staff, "other_manager": meals.world.nursery.manager,
            "family": meals.family.user}[who]
    partner = meals.world.care_centre.partner.id
    login(client, user)
    assert client.get(f"/meals/partners/{partner}/dishes").status_code == 403
    assert client.post(f"/meals/partners/{partner}/dishes", data={"name": "x"}).status_code == 403
    assert client.get(f"/meals/partners/{partner}/menus").status_code == 403
    url = f"/meals/services/{meals.lunch.id}/menu?day={meals.day.isoformat()}"
    assert client.post(url, data={"dish_ids": []}).status_code == 403
    assert count(Dish) == 0


# --- sheets ---

@pytest.fixture
def orders(meals, menu, clock):
    """Four elders of three households: two delivered, one picking up, one waiting (capacity 3)."""
    return lunch_orders(meals, menu, clock.now())


def test_kitchen_sheet_page_and_csv(client, orders, clock):
    login(client, orders.world.care_centre.staff)
    page = text(client.get(f"/meals/slots/{orders.lunch_slot.id}/kitchen"))
    assert "3 meals to cook" in page and "1 more on the waiting list" in page
    assert "<td>清蒸鱼</td><td class=\"number\">2</td>" in page
    assert "<td>Set meal</td><td class=\"number\">1</td>" in page
    assert "Allergy: 花生" in page and "Check: 宫保鸡丁: contains 花生" in page
    assert "迟奶奶" not in page
    csv_response = client.get(f"/meals/slots/{orders.lunch_slot.id}/kitchen.csv")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    body = csv_response.get_data(as_text=True)
    assert body.startswith("\ufeff") and "清蒸鱼,2" in body and "Total meals,3" in body


def test_delivery_sheet_page_and_csv_mask_phones(client, orders, clock):
    login(client, orders.world.community_staff)
    page = text(client.get(f"/meals/slots/{orders.lunch_slot.id}/delivery"))
    assert "2 meals to deliver" in page
    assert "138****1234" in page and "13812341234" not in page
    assert "李爷爷" not in page  # picking up
    assert page.index("1栋") < page.index("2栋")
    body = client.get(f"/meals/slots/{orders.lunch_slot.id}/delivery.csv").get_data(as_text=True)
    assert "138****1234" in body and "13812341234" not in body


@pytest.mark.parametrize("who, status", [("staff", 200), ("manager", 200), ("community", 200), ("admin", 200),
                                         ("other_staff", 403), ("other_manager", 403), ("family", 403)])
def test_who_may_see_the_sheets(client, meals, clock, who, status):
    world = meals.world
    user = {"staff": world.care_centre.staff, "manager": world.care_centre.manager,
            "community": world.community_staff, "admin": world.admin, "other_staff": world.nursery.staff,
            "other_manager": world.nursery.manager, "family": world.family.user}[who]
    login(client, user)
    for sheet in ("kitchen", "kitchen.csv", "delivery", "delivery.csv"):
        assert client.get(f"/meals/slots/{meals.lunch_slot.id}/{sheet}").status_code == status, sheet


def test_sheets_of_a_slot_that_is_not_a_meal_are_404(client, meals, clock):
    from tests.factories import make_slot

    slot = make_slot(meals.world.daycare, meals.manager, clock.now())
    login(client, meals.world.admin)
    assert client.get(f"/meals/slots/{slot.id}/kitchen").status_code == 404


def test_dashboard_links_todays_and_tomorrows_sheets(client, meals, clock):
    today_slot_start = time(11, 30)
    from tests.meals_factories import meal_slot

    today = meals.day - timedelta(days=1)
    today_slot = meal_slot(meals.lunch, today, today_slot_start, meals.manager, clock.now())
    login(client, meals.manager)
    page = text(client.get(f"/partners/{meals.world.care_centre.partner.id}"))
    assert f"/meals/slots/{today_slot.id}/kitchen" in page
    assert f"/meals/slots/{meals.lunch_slot.id}/kitchen" in page
    assert f"/meals/slots/{meals.dinner_slot.id}/delivery" in page
    assert "/meals/partners/" in page


@pytest.mark.parametrize("page", ["family_home", "kitchen", "delivery", "kitchen.csv"])
def test_meal_pages_issue_the_same_number_of_statements_whatever_the_orders(client, meals, menu, clock, page):
    from tests.factories import make_family
    from tests.statements import count_statements

    fish, chicken = menu
    now = clock.now()
    world = meals.world
    viewer = world.family.user if page == "family_home" else world.care_centre.staff
    url = "/family/" if page == "family_home" else f"/meals/slots/{meals.lunch_slot.id}/{page}"
    login(client, viewer)

    def order_for(family, name, slot):
        elder = family.add_elder(now, name=name)
        set_member(elder, diet_tags="soft", allergies="花生", phone="13812345678")
        engine.book(slot.id, elder.id, by=family.user, now=now,
                    options={"mode": "delivery", "dish_ids": [fish.id, chicken.id]})

    def statements() -> int:
        with count_statements() as seen:
            assert client.get(url).status_code == 200
        return len(seen)

    order_for(world.family, "甲", meals.lunch_slot)
    small = statements()
    for n in range(4):
        order_for(world.family if n % 2 else make_family(world.other_building, now, f"家{n}"), f"乙{n}",
                  meals.lunch_slot)
    put_on_menu(meals.dinner, meals.day, fish, chicken)
    order_for(world.family, "丙", meals.dinner_slot)
    assert statements() == small


JUNK = ["", "abc", "-1", "0", str(2**63), "1.5", "a\x00b", "x" * 5000, "nan"]


@pytest.mark.parametrize("junk", JUNK)
def test_junk_on_the_meal_forms_is_a_clear_answer_and_changes_nothing(client, meals, menu, clock, junk):
    """The site-wide sweep meets a day-care slot; this one sends junk to a real meal slot and service."""
    from tests.test_pages_hostile_input import snapshot

    login(client, meals.family.user)
    before = snapshot()
    for data in ({"recipient_id": junk, "mode": "dine_in"}, {"recipient_id": meals.elder.id, "mode": junk},
                 {"recipient_id": meals.elder.id, "mode": "dine_in", "dish_ids": [junk]}):
        assert client.post(order_url(meals), data=data).status_code in (400, 403, 404, 422)
    for query in (f"member={junk}", f"household={junk}", f"q={junk}"):
        assert client.get(order_url(meals) + "?" + query).status_code in (200, 400)
    client.post("/logout")
    login(client, meals.manager)
    day = meals.day.isoformat()
    assert client.post(f"/meals/services/{meals.lunch.id}/menu?day={day}",
                       data={"dish_ids": [junk]}).status_code == 400
    assert client.get(f"/meals/services/{meals.lunch.id}/menu?day={junk}").status_code == 404
    assert client.get(f"/meals/partners/{meals.world.care_centre.partner.id}/menus?week={junk}").status_code == 200
    assert client.post(f"/meals/services/{meals.lunch.id}/menus/copy-week", data={"week": junk}).status_code == 302
    assert snapshot() == before
