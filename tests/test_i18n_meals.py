"""Meal help and billing read in Chinese: every page of the area with real data (menus, orders, sheets,
statements, claims), its flash messages and refusals, and the header rows of its CSV and Excel downloads.

The rest of the suite reads these pages in English (tests/test_meals_pages.py, tests/test_billing_pages.py)."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook

from careapp.booking import engine
from careapp.households.models import SpecialGroup
from tests.billing_factories import DECEMBER, build_scene
from tests.i18n_scan import english_in_page
from tests.meals_factories import meals, menu  # noqa: F401  (fixtures)
from tests.factories import make_family
from tests.meals_factories import add_dish, at_local, far_family, lunch_orders, put_on_menu, set_member
from tests.page_helpers import follow, login, text


@pytest.fixture
def app_config():
    return {"FIXED_LANGUAGE": "zh_CN"}


def chinese(response, *words: str, status: int = 200) -> str:
    """The page, checked: the expected status, no English left, and these Chinese words on it."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    page = text(response)
    assert english_in_page(page) == []
    for word in words:
        assert word in page, word
    return page


def order_url(meals, **query) -> str:
    url = f"/meals/slots/{meals.lunch_slot.id}/order"
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.fixture
def orders(meals, menu, clock):
    """tests/meals_factories.lunch_orders, with 王奶奶 on the minimum living allowance."""
    return lunch_orders(meals, menu, clock.now(), special_group=SpecialGroup.dibao)


# --- ordering ---

def test_the_order_page_with_menu_price_subsidy_and_warnings(client, meals, menu):
    set_member(meals.elder, allergies="花生", diet_tags="low_salt", special_group=SpecialGroup.dibao)
    login(client, meals.family.user)
    chinese(client.get(order_url(meals)), "订午餐：长者午餐", "订餐截止", "¥15.00", "¥4.00", "¥11.00",
            "（70岁以上，", "含花生，王奶奶对此过敏", "未标注低盐", "请注意：", "对花生过敏", "用餐方式", "订这一餐",
            "菜品（选填）", "不选则为当天的套餐。", "修改王奶奶的饮食需求", "返回这一餐")


def test_ordering_then_changing_flashes_in_chinese(client, meals, menu):
    fish, chicken = menu
    login(client, meals.family.user)
    response = client.post(order_url(meals), data={"recipient_id": meals.elder.id, "mode": "pick_up",
                                                   "dish_ids": [fish.id]})
    home = follow(client, response)
    assert "已为王奶奶订好" in home and "的午餐。" in home
    chinese(client.get(order_url(meals)), "已订餐：", "修改订餐", "取消这一餐", "清蒸鱼")
    response = client.post(order_url(meals), data={"recipient_id": meals.elder.id, "mode": "delivery",
                                                   "dish_ids": [chicken.id]})
    assert "的午餐已修改。" in follow(client, response)


def test_a_full_canteen_puts_the_order_on_the_waiting_list(client, meals, clock):
    engine.set_capacity(meals.lunch_slot.id, 1, by=meals.manager, now=clock.now())
    other = meals.world.family.add_elder(clock.now(), name="李爷爷")
    engine.book(meals.lunch_slot.id, other.id, by=meals.family.user, now=clock.now())
    login(client, meals.family.user)
    response = client.post(order_url(meals, member=meals.elder.id),
                           data={"recipient_id": meals.elder.id, "mode": "dine_in"})
    assert "食堂名额已满，已排队候补，排在第 1 位。" in follow(client, response)


def test_after_the_cutoff_the_page_says_so_and_an_order_is_refused_in_chinese(client, meals, menu, clock):
    login(client, meals.family.user)
    at_local(clock, meals.day, 9, 1)
    chinese(client.get(order_url(meals)), "这顿午餐的订餐、修改和取消已于", "09:00 截止。")
    response = client.post(order_url(meals), data={"recipient_id": meals.elder.id, "mode": "dine_in"})
    chinese(response, "这顿午餐的订餐已于", "09:00 截止。订餐在用餐当天的截止时间关闭。", status=422)


def test_refusals_on_the_order_form_are_in_chinese(client, meals, menu):
    other = add_dish(meals.world.care_centre.partner.id, "红烧肉")
    login(client, meals.family.user)
    response = client.post(order_url(meals), data={"recipient_id": meals.elder.id, "mode": "dine_in",
                                                   "dish_ids": [other.id]})
    assert response.status_code == 400
    response = client.post(order_url(meals), data={"mode": "dine_in"})
    chinese(response, "请选择为谁订餐。", status=400)


def test_delivery_not_offered_far_away_and_a_household_without_elders(client, meals, clock):
    family = far_family(meals.world, clock.now())
    family.add_elder(clock.now(), name="远奶奶")
    login(client, family.user)
    chinese(client.get(order_url(meals)), "无法送餐上门：远奶奶家距离食堂", "当天没有公布菜单：食堂供应套餐。")
    client.post("/logout")
    young = make_family(meals.world.other_building, clock.now(), "小家")
    young.add_child(clock.now())
    login(client, young.user)
    chinese(client.get(order_url(meals)), "这个家庭里没有老人，助餐服务只面向老人。", "添加家庭成员")


def test_community_staff_search_and_order_for_a_household(client, meals, menu, clock):
    meals.world.family.add_elder(clock.now(), name="李爷爷")
    login(client, meals.world.community_staff)
    chinese(client.get(order_url(meals, q="1栋")), "李家")
    chinese(client.get(order_url(meals, q="没有这个人")), "没有找到。请换个姓名或楼栋试试。")
    chinese(client.get(order_url(meals, household=meals.family.household.id)), "为王奶奶订餐", "为李爷爷订餐")


def test_the_slot_page_shows_the_menu_and_cutoff(client, meals, menu):
    login(client, meals.family.user)
    chinese(client.get(f"/booking/slots/{meals.lunch_slot.id}"), "午餐菜单", "含花生", "价格 ¥15.00（老人补贴前）。",
            "订这一餐：选择菜品和用餐方式")
    put_on_menu(meals.dinner, meals.day)  # no dishes: the set meal
    chinese(client.get(f"/booking/slots/{meals.dinner_slot.id}"), "食堂当天供应套餐。")


# --- the household page and meal needs ---

def test_the_household_page_shows_meal_orders_needs_and_statement_link(client, orders):
    login(client, orders.family.user)
    chinese(client.get("/family/"), "送餐上门", "清蒸鱼", "¥15.00，补贴 ¥4.00，自付 <strong>¥11.00</strong>",
            "修改或取消这一餐", "王奶奶的饮食需求：", "对花生过敏", "补贴类别：", "李爷爷的饮食需求：未登记饮食需求。",
            "助餐账单", "您家本月的餐费和补贴")
    login(client, orders.world.community_staff)
    chinese(client.get(f"/family/households/{orders.family.household.id}"), "王奶奶的饮食需求：")


def test_the_meal_needs_form_and_its_refusal(client, meals):
    login(client, meals.family.user)
    chinese(client.get(f"/meals/members/{meals.elder.id}/needs"), "王奶奶的饮食需求", "饮食需求",
            "额外助餐补贴类别（选填）", "本人手机号")
    response = client.post(f"/meals/members/{meals.elder.id}/needs", data={"phone": "12345"})
    chinese(response, "11 位手机号", status=400)
    response = client.post(f"/meals/members/{meals.elder.id}/needs", data={"allergies": "虾", "phone": ""})
    assert "王奶奶的饮食需求已保存。" in follow(client, response)


# --- kitchen and delivery sheets ---

def test_the_kitchen_sheet_and_its_print_view(client, orders):
    login(client, orders.world.care_centre.staff)
    page = chinese(client.get(f"/meals/slots/{orders.lunch_slot.id}/kitchen"), "备餐单：长者午餐",
                   "共需备餐 3 份。", "另有 1 人在候补名单上（未计入）。", "按菜品统计份数",
                   "<td>套餐</td>", "出餐方式", "过敏：花生", "请勿遗漏（1）", "对花生过敏",
                   "请核对：宫保鸡丁：含花生，王奶奶对此过敏", "全部用餐人（3）", "打印", "下载 CSV", "送餐单")
    assert "/static/pages/meals-print.css" in page and 'aria-label="请勿遗漏"' in page
    chinese(client.get(f"/meals/slots/{orders.dinner_slot.id}/kitchen"), "共需备餐 0 份。", "没有订餐。",
            "未登记。", "这一餐没有有特殊需求的人。")


def test_the_delivery_sheet(client, orders):
    login(client, orders.world.community_staff)
    chinese(client.get(f"/meals/slots/{orders.lunch_slot.id}/delivery"), "送餐单：长者午餐",
            "共 2 份餐需送餐上门", "送往 2 栋楼。", "138****1234", "房号", "已送达", "对花生过敏")
    chinese(client.get(f"/meals/slots/{orders.dinner_slot.id}/delivery"), "没有需要送餐上门的餐。")


def test_the_sheet_downloads_have_chinese_headers(client, orders):
    login(client, orders.world.care_centre.staff)
    kitchen = list(csv.reader(io.StringIO(
        client.get(f"/meals/slots/{orders.lunch_slot.id}/kitchen.csv").get_data(as_text=True).lstrip("\ufeff"))))
    # (Name, Needs and People are words other areas share; their wording is checked by english_in_page.)
    assert ["菜品", "份数"] in kitchen and ["方式", "餐食"] in kitchen and ["饮食需求", "1"] not in kitchen
    assert ["套餐", "1"] in kitchen and ["过敏：花生", "1"] in kitchen and ["总餐数", "3"] in kitchen
    assert ["候补名单（不备餐）", "1"] in kitchen and ["已发空位邀请、尚未接受（不备餐）", "0"] in kitchen
    assert any(row[:1] == ["饮食需求"] for row in kitchen)
    assert any(row[1:3] == ["方式", "菜品"] and row[4] == "请核对" for row in kitchen if len(row) == 5)
    assert ["王奶奶", "送餐上门", "宫保鸡丁、清蒸鱼", "低盐；对花生过敏",
            "宫保鸡丁：含花生，王奶奶对此过敏；宫保鸡丁：未标注低盐"] in kitchen
    assert not [cell for row in kitchen for cell in row if english_in_page(f"<p>{cell}</p>")]
    delivery = list(csv.reader(io.StringIO(
        client.get(f"/meals/slots/{orders.lunch_slot.id}/delivery.csv").get_data(as_text=True).lstrip("\ufeff"))))
    header = delivery[0]
    assert header[:5] == ["社区", "网格", "楼栋", "房号", "地址"] and header[6:8] == ["电话", "菜品"]
    assert not [cell for row in delivery for cell in row if english_in_page(f"<p>{cell}</p>")]
    assert any("对花生过敏" in cell for row in delivery for cell in row)


# --- dishes and menus ---

def test_the_dishes_page_empty_then_with_dishes_and_its_forms(client, meals):
    partner = meals.world.care_centre.partner.id
    login(client, meals.manager)
    chinese(client.get(f"/meals/partners/{partner}/dishes"), "普康养老服务中心的菜品",
            "还没有菜品。请在下面添加第一道菜。", "添加菜品", "菜品名称", "添加这道菜")
    response = client.post(f"/meals/partners/{partner}/dishes",
                           data={"name": "番茄炒蛋", "diet_tags": ["vegetarian"], "allergens": "鸡蛋"})
    assert "已将番茄炒蛋添加到菜品中。" in follow(client, response)
    chinese(client.post(f"/meals/partners/{partner}/dishes", data={"name": "番茄炒蛋"}),
            "已经有一道叫“番茄炒蛋”的菜了", status=409)
    chinese(client.post(f"/meals/partners/{partner}/dishes", data={"name": ""}), "请填写菜品名称。", status=400)
    old = add_dish(partner, "红烧肉", None, None)
    client.post(f"/meals/partners/{partner}/dishes/edit?dish={old.id}", data={"name": "红烧肉", "active": ""})
    chinese(client.get(f"/meals/partners/{partner}/dishes"), "过敏原：鸡蛋", "过敏原：未登记", "暂停供应",
            "适合：", "无特殊饮食", "修改番茄炒蛋")
    chinese(client.get(f"/meals/partners/{partner}/dishes/edit?dish={old.id}"), "修改红烧肉", "仍在供应",
            "保存菜品", "返回菜品")


def test_the_menus_of_a_week_the_menu_form_and_copying(client, meals, menu):
    partner = meals.world.care_centre.partner.id
    login(client, meals.manager)
    chinese(client.get(f"/meals/partners/{partner}/menus"), "菜单：", "上一周", "本周", "下一周",
            "宫保鸡丁、清蒸鱼", "未排菜单：供应套餐。", "把本周长者午餐的菜单复制到下一周", "星期")
    day = meals.day.isoformat()
    chinese(client.get(f"/meals/services/{meals.lunch.id}/menu?day={day}"), "长者午餐：2026年12月2日 星期三的菜单",
            "清蒸鱼（低盐、", "；含鱼）", "宫保鸡丁（含花生）", "保存菜单", "返回本周")
    response = client.post(f"/meals/services/{meals.lunch.id}/menu?day={day}", data={"dish_ids": [menu[0].id]})
    assert "长者午餐 2026年12月2日的菜单共有 1 道菜。" in follow(client, response)
    monday = meals.day - timedelta(days=meals.day.weekday())
    response = client.post(f"/meals/services/{meals.lunch.id}/menus/copy-week", data={"week": monday.isoformat()})
    assert "长者午餐：已复制 1 天的菜单到" in follow(client, response)


def test_menu_pages_without_dishes_or_meal_services(client, meals):
    login(client, meals.manager)
    chinese(client.get(f"/meals/services/{meals.lunch.id}/menu?day={meals.day.isoformat()}"),
            "还没有菜品。请先", "添加菜品")
    login(client, meals.world.nursery.manager)
    chinese(client.get(f"/meals/partners/{meals.world.nursery.partner.id}/menus"), "艺涵托育园还没有助餐服务。")


def test_the_partner_dashboard_links_the_sheets_menus_and_claim(client, meals, menu):
    login(client, meals.manager)
    chinese(client.get(f"/partners/{meals.world.care_centre.partner.id}"), "助餐", "本周菜单", "今天", "明天",
            "今天没有餐。", "备餐单", "送餐单", "助餐补贴申报", "本月已供餐和可申报的补贴（网页和 Excel）")


# --- billing ---

@pytest.fixture
def billing(world, clock):
    return build_scene(world, clock)


def test_the_household_statement_and_its_month_picker(client, billing):
    family = billing.world.family
    login(client, family.user)
    index = f"/billing/households/{family.household.id}"
    page = chinese(client.get(f"{index}/{DECEMBER}"), "助餐账单：李家，2026年12月", "已供餐 7 份", "日期", "餐次",
                   "社区食堂", "自付", "2026年12月2日", "送餐上门", "2026年12月合计", "月份", "查看这个月",
                   "上个月", "下个月", "返回 李家")
    assert 'id="total-price">¥102.00' in page and 'id="total-to-pay">¥82.00' in page
    chinese(client.get(f"{index}/2026-11"), "2026年11月没有为您家供餐。")
    chinese(client.get(f"{index}/2026-13"), "没有这个月份", status=404)


def test_the_partner_claim_and_its_spreadsheet(client, billing):
    partner = billing.world.care_centre.partner
    login(client, billing.world.care_centre.manager)
    page = chinese(client.get(f"/billing/partners/{partner.id}/{DECEMBER}"),
                   "助餐补贴申报：普康养老服务中心，2026年12月", "按年龄档和群体统计的餐数", "70-79岁", "80岁及以上",
                   "每餐补贴", "小计", "合计", "按助餐服务统计", "申报金额", "下载报街道办的申报表（Excel）")
    assert 'id="total-claimed">¥23.00<' in page
    chinese(client.get(f"/billing/partners/{partner.id}/2026-11"), "2026年11月没有供餐。")
    book = load_workbook(BytesIO(client.get(f"/billing/partners/{partner.id}/{DECEMBER}/claim.xlsx").data))
    assert book.sheetnames == ["补贴申报", "已供餐明细"]
    rows = [row for row in book["补贴申报"].iter_rows(values_only=True)]
    assert rows[0][0] == "助餐补贴申报" and [row[0] for row in rows[2:6]] == ["街道", "合作机构", "月份", "生成时间"]
    assert ("助餐服务", "年龄档", "特殊群体", "餐食", "每餐补贴", "小计") in rows
    assert any(row[:3] == ("午餐", "60-69岁", "无") for row in rows)
    assert [row for row in rows if row[0] == "合计"][0][5] == 23.0
    detail = list(book["已供餐明细"].iter_rows(values_only=True))
    assert detail[0] == ("日期", "餐次", "助餐服务", "家庭成员", "年龄档", "特殊群体", "用餐方式", "价格", "补贴")
    assert detail[1][1] == "午餐" and {row[6] for row in detail[1:]} <= {"堂食", "自取", "送餐上门"}
