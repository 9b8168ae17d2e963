"""Booking, day care, childcare and standing enrolments read in Chinese: every page of the area (GET) with real
data, the rule refusals and the messages after an action, with no English left over (see tests/test_i18n.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta

import pytest

from careapp.booking import engine
from careapp.booking.models import Booking
from careapp.core.db import db
from careapp.enrolments.services import enrol, pause
from careapp.households.models import CareRecipient
from careapp.partners import shifts
from careapp.partners.models import MealTime, Service, ServiceKind, SessionLength, Slot
from careapp.partners.services import create_service
from tests.enrolments_factories import FRI, MON, THU, TUE, WED, weekly
from tests.factories import Family, make_family, make_slot
from tests.i18n_scan import english_in_page
from tests.page_helpers import follow, login, text
from tests.rosters_factories import TOMORROW, Scene, build_scene

WEEKDAYS = [MON, TUE, WED, THU, FRI]


@pytest.fixture
def app_config():
    return {"FIXED_LANGUAGE": "zh_CN"}


def chinese(page: str, *words: str) -> str:
    """The page has no English left, and has these Chinese words."""
    assert english_in_page(page) == []
    for word in words:
        assert word in page, word
    return page


def get(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return text(response)


@dataclass
class Bookings:
    """The family's bookings of every state, in slots of day care (with transport), childcare and meals."""

    family: Family
    elder: CareRecipient
    child: CareRecipient
    transport: Service
    meal: Service
    open_slot: Slot         # day care with transport: the elder has a confirmed place, fetched and brought home
    full_slot: Slot         # day care, one place taken by another family: the elder waits second in line
    nursery_slot: Slot      # childcare: the child was offered the freed place
    meal_slot: Slot
    confirmed: Booking
    waitlisted: Booking
    offered: Booking
    meal_booking: Booking
    cancelled: Booking


@pytest.fixture
def bookings(world, clock) -> Bookings:
    now = clock.now()
    centre = world.care_centre
    point_id = world.daycare.service_point_id
    transport = create_service(partner_id=centre.partner.id, kind=ServiceKind.daycare, name="全日日托", capacity=3,
                               service_point_id=point_id, by=centre.manager, now=now, transport=True,
                               lunch_included=True, session_length=SessionLength.full_day)
    meal = create_service(partner_id=centre.partner.id, kind=ServiceKind.meal, name="晚餐", capacity=20,
                          service_point_id=point_id, by=centre.manager, now=now, meal=MealTime.dinner)
    family = world.family
    elder, child = family.add_elder(now), family.add_child(now)
    open_slot = make_slot(transport, centre.manager, now, hours=8)
    full_slot = make_slot(world.daycare, centre.manager, now, days_ahead=2, capacity=1)
    nursery_slot = make_slot(world.nursery.services["托小班"], world.nursery.manager, now, days_ahead=3, capacity=1)
    meal_slot = make_slot(meal, centre.manager, now, days_ahead=2, start=time(17, 0), hours=2)

    confirmed = engine.book(open_slot.id, elder.id, by=family.user, now=now,
                            options={"needs_transport": True}).booking
    others = [make_family(world.building, now, name) for name in ("赵家", "钱家")]
    engine.book(full_slot.id, others[0].add_elder(now, name="赵奶奶").id, by=others[0].user, now=now)
    engine.book(full_slot.id, others[1].add_elder(now, name="钱爷爷").id, by=others[1].user, now=now)
    waitlisted = engine.book(full_slot.id, elder.id, by=family.user, now=now).booking
    first = engine.book(nursery_slot.id, others[0].add_child(now, name="赵小宝").id, by=others[0].user,
                        now=now).booking
    offered = engine.book(nursery_slot.id, child.id, by=family.user, now=now).booking
    engine.cancel(first.id, by=others[0].user, now=now)  # the place is offered to the child
    meal_booking = engine.book(meal_slot.id, elder.id, by=family.user, now=now, options={"mode": "dine_in"}).booking
    reading = make_slot(world.academy.services["图书阅览"], world.academy.manager, now, days_ahead=4)
    cancelled = engine.book(reading.id, elder.id, by=family.user, now=now).booking
    engine.cancel(cancelled.id, by=family.user, now=now)
    return Bookings(family, elder, child, transport, meal, open_slot, full_slot, nursery_slot, meal_slot,
                    confirmed, db.session.get(Booking, waitlisted.id), db.session.get(Booking, offered.id),
                    meal_booking, db.session.get(Booking, cancelled.id))


# --- finding slots and booking ---

def test_the_slot_finder_with_results_with_none_and_with_a_wrong_range(client, world, bookings):
    login(client, world.family.user)
    chinese(get(client, "/booking/slots"), "找服务", "全日日托", "艺涵托育园")
    chinese(get(client, "/booking/slots?kind=daycare&date_from=2026-12-02&date_to=2026-12-03"), "全日日托")
    chinese(get(client, "/booking/slots?date_from=2027-01-10&date_to=2027-01-11"), "找服务")
    page = chinese(get(client, "/booking/slots?date_from=2026-12-10&date_to=2026-12-01", 400))
    assert "结束日期不能早于开始日期。" in page
    page = chinese(get(client, "/booking/slots?date_from=2026-12-01&date_to=2027-06-01", 400))
    assert "每次最多查找 92 天。" in page


def test_a_full_slot_with_the_waiting_list_and_the_familys_own_bookings(client, world, bookings):
    login(client, world.family.user)
    page = chinese(get(client, f"/booking/slots/{bookings.full_slot.id}"), "剩余名额", "候补名单", "您在这里的预约",
                   "这个时段已满", "排第 2 位")
    assert "<strong>0</strong> 个（共 1 个）" in page and "2 人候补" in page
    page = chinese(get(client, f"/booking/slots/{bookings.open_slot.id}"), "需要接送", "全日", "包含",
                   "提供，预约时请勾选")
    chinese(get(client, f"/booking/slots/{bookings.nursery_slot.id}"), "请在", "前答复")
    chinese(get(client, f"/booking/slots/{bookings.meal_slot.id}"))


def test_a_slot_page_for_community_staff_partner_staff_and_a_family_with_nobody_to_book(client, world, bookings):
    slot_url = f"/booking/slots/{bookings.full_slot.id}"
    login(client, world.community_staff)
    chinese(get(client, slot_url), "请搜索您要为其预约的居民。")
    chinese(get(client, f"{slot_url}?q=没有这家"), "没有找到可以使用这项服务的人。")
    chinese(get(client, f"{slot_url}?q=李家"), "为谁预约？")
    login(client, world.care_centre.staff)
    chinese(get(client, slot_url), "查看到场名单")
    chinese(get(client, "/booking/slots"), "全日日托")
    login(client, world.other_family.user)
    chinese(get(client, slot_url), "您家中没有可以使用这项服务的成员。")


def test_booking_says_what_happened_in_chinese(client, world, bookings, clock):
    login(client, world.family.user)
    slot = make_slot(bookings.transport, world.care_centre.manager, clock.now(), days_ahead=5)
    response = client.post(f"/booking/slots/{slot.id}/book", data={"recipient_id": bookings.elder.id,
                                                                   "needs_transport": "y"})
    chinese(follow(client, response), "王奶奶，普康养老服务中心的全日日托，2026年12月6日 08:30：已确认，需要接送。")
    response = client.post(f"/booking/slots/{bookings.full_slot.id}/book",
                           data={"recipient_id": bookings.elder.id})
    chinese(follow(client, response), "王奶奶 在这个时段已有预约。")


@pytest.mark.parametrize("case", ["past_cutoff", "not_for_children", "too_young", "ability_level", "no_transport",
                                  "started", "no_choice"])
def test_refused_bookings_give_the_rule_in_chinese(client, world, bookings, clock, case):
    now = clock.now()
    family, manager = world.family, world.care_centre.manager
    member, data, expected = bookings.elder, {}, None
    if case == "past_cutoff":
        early = create_service(partner_id=world.care_centre.partner.id, kind=ServiceKind.daycare, name="半日日托",
                               capacity=5, service_point_id=world.daycare.service_point_id, by=manager, now=now,
                               booking_cutoff_minutes=24 * 60)
        slot, expected = make_slot(early, manager, now), "这个时段的预约已于 2026年12月1日 08:30 截止。"
    elif case == "not_for_children":
        slot, member, expected = make_slot(world.daycare, manager, now, days_ahead=6), bookings.child, "仅面向老人"
    elif case == "too_young":
        member = family.add_elder(now, name="李阿姨", age=50)
        slot, expected = make_slot(world.daycare, manager, now, days_ahead=6), "面向 60 周岁及以上的人"
    elif case == "ability_level":
        member = family.add_elder(now, name="李爷爷", ability_level=4)
        slot, expected = make_slot(world.daycare, manager, now, days_ahead=6), "能力等级为 4"
    elif case == "no_transport":
        slot, data, expected = make_slot(world.daycare, manager, now, days_ahead=6), {"needs_transport": "y"}, \
            "日间照料 不提供接送。"
    elif case == "started":
        slot = make_slot(world.daycare, manager, now, days_ahead=6)
        clock.set(now + timedelta(days=7))
        expected = "这个时段已经开始。"
    else:
        slot, member, expected = make_slot(world.daycare, manager, now, days_ahead=6), None, "请选择为谁预约。"
    login(client, family.user)
    data = {**data, "recipient_id": member.id if member else ""}
    response = client.post(f"/booking/slots/{slot.id}/book", data=data)
    chinese(follow(client, response), expected)


# --- cancelling and declining ---

def test_the_cancel_and_decline_confirmation_pages(client, world, bookings):
    login(client, world.family.user)
    chinese(get(client, f"/booking/bookings/{bookings.confirmed.id}/cancel"), "要取消 王奶奶 的全日日托吗？",
            "是的，取消", "不，保留")
    chinese(get(client, f"/booking/bookings/{bookings.waitlisted.id}/cancel"), "排第 2 位", "将退出候补名单")
    chinese(get(client, f"/booking/bookings/{bookings.offered.id}/cancel"), "保留的名额")
    chinese(get(client, f"/booking/bookings/{bookings.meal_booking.id}/cancel"), "食堂将不再为 王奶奶 准备这顿饭。")
    chinese(get(client, f"/booking/bookings/{bookings.offered.id}/decline"), "要放弃 小明 在托小班的空位吗？",
            "请在", "是的，放弃", "不，返回")


def test_cancelling_declining_and_nothing_left_to_do_say_so_in_chinese(client, world, bookings):
    login(client, world.family.user)
    response = client.get(f"/booking/bookings/{bookings.cancelled.id}/cancel")
    chinese(follow(client, response), "无需取消。")
    response = client.get(f"/booking/bookings/{bookings.confirmed.id}/decline")
    chinese(follow(client, response), "无需放弃。")
    chinese(follow(client, client.post(f"/booking/bookings/{bookings.offered.id}/decline")), "您已放弃这个空位")
    chinese(follow(client, client.post(f"/booking/bookings/{bookings.waitlisted.id}/cancel")), "：已取消。")
    response = client.post(f"/booking/bookings/{bookings.waitlisted.id}/cancel")
    chinese(follow(client, response), "状态为“已取消”的预约不能取消。")


def test_accepting_an_offer_and_an_expired_offer(client, world, bookings, clock):
    login(client, world.family.user)
    chinese(follow(client, client.post(f"/booking/bookings/{bookings.offered.id}/accept")), "名额是您的了，已确认。")
    other = make_family(world.building, clock.now(), "孙家")
    slot = make_slot(world.nursery.services["托小班"], world.nursery.manager, clock.now(), days_ahead=5, capacity=1)
    first = engine.book(slot.id, other.add_child(clock.now(), name="孙小宝").id, by=other.user, now=clock.now())
    waiting = engine.book(slot.id, bookings.child.id, by=world.family.user, now=clock.now()).booking
    engine.cancel(first.booking.id, by=other.user, now=clock.now())
    clock.set(clock.now() + timedelta(days=1))
    response = client.post(f"/booking/bookings/{waiting.id}/accept")
    chinese(follow(client, response), "这个空位邀请已于")


# --- standing enrolments ---

@pytest.fixture
def sessions(world, clock):
    """Weekday lunch, and day care twice a day on Monday, Wednesday and Friday."""
    now = clock.now()
    lunch = world.care_centre.services["午餐"]
    weekly(lunch, world.care_centre, now, WEEKDAYS, start=time(11, 0), end=time(12, 30), capacity=20)
    weekly(world.daycare, world.care_centre, now, [MON, WED, FRI], start=time(8, 30), end=time(11, 30))
    weekly(world.daycare, world.care_centre, now, [MON, WED, FRI], start=time(14, 0), end=time(17, 0))
    return lunch


def test_the_enrolment_pages(client, world, clock, sessions):
    family = world.family
    elder = family.add_elder(clock.now())
    family.add_child(clock.now())
    household = family.household.id
    login(client, family.user)
    new = f"/enrolments/households/{household}/new"
    chinese(get(client, new), "办理固定预约", "为谁办理？", "哪项服务？")
    chinese(get(client, f"{new}?member={elder.id}"), "午餐")
    chinese(get(client, f"{new}?member={elder.id}&service=999999", 400), "办理固定预约")
    chinese(get(client, f"{new}?member={elder.id}&service={world.daycare.id}"), "哪一场", "当天每一场",
            "08:30 开始的那一场", "星期一", "结束日期（可不填）")
    chinese(get(client, f"{new}?member={elder.id}&service={sessions.id}"), "用餐方式", "星期五")
    login(client, world.other_family.user)
    chinese(get(client, f"/enrolments/households/{world.other_family.household.id}/new"), "还没有添加家庭成员。")


def test_enrolling_refused_and_done_in_chinese(client, world, clock, sessions):
    elder = world.family.add_elder(clock.now())
    household = world.family.household.id
    login(client, world.family.user)
    new = f"/enrolments/households/{household}/new"
    base = {"member": elder.id, "service": world.daycare.id}
    page = chinese(text(client.post(new, data={**base, "starts_on": "2026-12-10", "ends_on": "2026-12-05"})))
    assert "请至少勾选一天。" in page and "结束日期不能早于开始日期。" in page
    page = chinese(text(client.post(new, data={**base, "weekdays": [TUE], "starts_on": "2026-12-02"})))
    assert "请从列表中选择。" in page
    page = chinese(text(client.post(new, data={**base, "weekdays": [MON], "starts_on": "2026-11-02"})))
    assert "开始日期不能早于今天。" in page
    chinese(follow(client, client.post(new, data={})), "请先选择家庭成员和服务。")
    response = client.post(new, data={**base, "weekdays": [MON, WED], "start_time": "08:30:00",
                                      "starts_on": "2026-12-01"})
    chinese(follow(client, response), "已为 王奶奶 办理日间照料的固定预约：星期一、星期三。", "已预约接下来的")
    response = client.post(new, data={**base, "weekdays": [MON], "start_time": "08:30:00", "starts_on": "2026-12-01"})
    chinese(text(response), "王奶奶 已在星期一办理了日间照料的固定预约。")
    response = client.post(new, data={"member": elder.id, "service": sessions.id, "weekdays": WEEKDAYS,
                                      "starts_on": "2026-12-01", "meal_mode": "dine_in"})
    chinese(follow(client, response), "每个工作日（星期一至星期五）")


def test_the_household_part_pause_resume_and_end(client, world, clock, sessions):
    now = clock.now()
    elder = world.family.add_elder(now)
    lunch = enrol(elder.id, sessions.id, WEEKDAYS, starts_on=now.date(), ends_on=now.date() + timedelta(days=60),
                  by=world.family.user, now=now, options={"mode": "delivery"}).enrolment
    daycare = enrol(elder.id, world.daycare.id, [MON, WED, FRI], start_time=time(8, 30), starts_on=now.date(),
                    by=world.family.user, now=now).enrolment
    pause(daycare.id, resumes_on=now.date() + timedelta(days=8), by=world.family.user, now=now)
    login(client, world.family.user)
    chinese(get(client, "/family/"), "固定预约", "每个工作日（星期一至星期五）", "暂停，恢复日期", "更改恢复日期", "现在恢复",
            "08:30 那一场")
    login(client, world.community_staff)
    chinese(get(client, f"/family/households/{world.family.household.id}"), "固定预约")
    login(client, world.family.user)
    chinese(get(client, f"/enrolments/{daycare.id}/end"), "要结束 王奶奶 的日间照料固定预约吗？", "是的，结束")
    chinese(get(client, f"/enrolments/{lunch.id}/end"), "每个工作日（星期一至星期五），在普康养老服务中心。")
    response = client.post(f"/enrolments/{lunch.id}/pause", data={"resumes_on": "2026-12-08"})
    chinese(follow(client, response), "已暂停，2026年12月8日 恢复。", "已取消")
    response = client.post(f"/enrolments/{lunch.id}/pause", data={"resumes_on": "2026-11-08"})
    chinese(follow(client, response), "恢复日期必须晚于今天。")
    response = client.post(f"/enrolments/{lunch.id}/pause", data={"resumes_on": "2027-06-08"})
    chinese(follow(client, response), "请直接结束它。")
    chinese(follow(client, client.post(f"/enrolments/{daycare.id}/resume")), "：已恢复。")
    chinese(follow(client, client.post(f"/enrolments/{daycare.id}/end")), "：已结束。")
    chinese(follow(client, client.post(f"/enrolments/{daycare.id}/end")), "这个固定预约已经结束。")


# --- day care: transport ---

def test_the_transport_page_and_the_dashboard_part(client, world, bookings):
    point = world.daycare.service_point_id
    login(client, world.care_centre.staff)
    page = chinese(get(client, f"/daycare/points/{point}/transport?day=2026-12-02"), "接送名单：2026年12月2日 星期三",
                   "需要接送 1 人。", "行动辅助", "前一天", "后一天")
    assert "王奶奶" in page
    chinese(get(client, f"/daycare/points/{point}/transport?day=2026-12-20"), "这一天没有人需要接送。")
    chinese(get(client, f"/daycare/points/{point}/transport?day=tomorrow", 400), "接送服务")
    csv = client.get(f"/daycare/points/{point}/transport.csv?day=2026-12-02").get_data(as_text=True)
    assert csv.splitlines()[0].lstrip("\ufeff").startswith("时间,服务,") and "已确认" in csv
    login(client, world.care_centre.manager)
    chinese(get(client, f"/partners/{world.care_centre.partner.id}"), "日间照料：接送", "今天")


# --- childcare staffing ---

@pytest.fixture
def nursery(app, clock) -> Scene:
    """Tomorrow: one toddler slot whose only member of staff left after a child was booked (understaffed), one
    infant slot with nobody rostered yet, and one toddler slot the day after with enough staff."""
    scene = build_scene(clock.now())
    shift = scene.shift()
    scene.roster(shift, scene.staff[0])
    understaffed = scene.slot()
    scene.book(understaffed, scene.child("小明", 20))
    shifts.unassign(shift.id, shift.assignments[0].id, by=scene.nursery_manager, now=scene.now)
    scene.slot(scene.infants)
    later = TOMORROW + timedelta(days=1)
    scene.roster(scene.shift(day=later), scene.staff[1])
    scene.book(scene.slot(day=later), scene.child("小红", 14))
    return scene


def test_the_staffing_page_and_the_dashboard_part(client, nursery):
    login(client, nursery.nursery_manager)
    chinese(get(client, f"/childcare/{nursery.partner_id}/staffing"), "托育人员配备", "人手不足", "还没有排班人员",
            "每 5 个孩子配一名工作人员", "班级规模 15")
    chinese(get(client, f"/partners/{nursery.partner_id}"), "人手不足：有 1 个托育时段", "各班级每个时段的人员配备")
    login(client, nursery.community_staff)
    chinese(get(client, f"/childcare/{nursery.partner_id}/staffing"), "托育人员配备")


def test_the_dashboard_part_when_every_class_is_staffed(client, app, clock):
    scene = build_scene(clock.now())
    scene.roster(scene.shift(), scene.staff[0])
    scene.book(scene.slot(), scene.child("小明", 20))
    login(client, scene.nursery_manager)
    chinese(get(client, f"/partners/{scene.partner_id}"), "排班人员都足以照看已预约的孩子")
    login(client, scene.care_centre_manager)
    chinese(get(client, f"/childcare/{scene.partner_id}/staffing", 403))
