"""The partner pages and partner administration read in Chinese: the dashboard (manager and staff), a slot's
roster with bookings in every state, the forms for services, service points, slots, weekly slots and accounts,
the confirmation pages, registration, review, the profile, staff accounts and rooms, with their messages and
refusals. No English word may be left on any of them (tests/i18n_scan.py says what counts as one)."""
from __future__ import annotations

import html
from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from careapp.accounts.models import Role
from careapp.booking import engine
from careapp.booking.models import Booking
from careapp.core.db import db, write_transaction
from careapp.core.timefmt import local_date
from careapp.households.models import RecipientKind
from careapp.households.services import add_recipient
from careapp.partners.admin_services import add_room, decline_partner, register_partner, set_account_active
from careapp.partners.models import FillPolicy, MealTime, PartnerKind, Room, Service, ServiceKind
from careapp.partners.services import add_service_point, create_service
from tests.factories import PASSWORD, make_family, make_slot, make_user, years_ago
from tests.i18n_scan import english_in_page
from tests.page_helpers import login
from tests.rosters_factories import TOMORROW, build_scene


@pytest.fixture
def app_config():
    return {"FIXED_LANGUAGE": "zh_CN"}


def chinese(response, status: int = 200) -> str:
    """The page, checked to be all Chinese, as text (entities decoded)."""
    assert response.status_code == status, response.status_code
    page = response.get_data(as_text=True)
    assert english_in_page(page) == []
    return html.unescape(page)


def get(client, url: str) -> str:
    return chinese(client.get(url))


def after(client, response) -> str:
    """Follow one redirect to the page where the flash message shows; that page must be all Chinese too."""
    assert response.status_code in (302, 303), response.status_code
    return get(client, response.headers["Location"])


def registered(now, name="新希望助餐点", login="13955550001"):
    return register_partner(name=name, kind=PartnerKind.canteen, manager_name="周主任", login=login,
                            password=PASSWORD, phone="0553-1234567", description="午餐 晚餐", now=now)


# --- the dashboard ---

def test_the_dashboard_for_the_manager_and_for_staff(client, world, clock):
    now = clock.now()
    centre = world.care_centre
    point = centre.partner.service_points[0]
    add_room(point.id, name="餐厅", purpose="用餐", seats=40, by=world.admin, now=now)
    add_room(point.id, name="休息室", by=world.admin, now=now)
    slot = make_slot(world.daycare, centre.manager, now, capacity=2)
    engine.book(slot.id, world.family.add_elder(now).id, by=world.family.user, now=now)
    with write_transaction():
        db.session.execute(sa.update(Service).where(Service.name == "午餐").values(active=False))

    login(client, centre.manager)
    page = get(client, f"/partners/{centre.partner.id}")
    assert "日间照料" in page and "2 个名额" in page and "暂停预约" in page
    assert "创建服务" in page and "添加单个时段" in page and "添加每周时段" in page
    assert "服务点和房间" in page and "餐厅 · 用餐 · 40 个座位" in page and "修改机构资料" in page
    assert "即将到来的时段" in page

    login(client, centre.staff)
    page = get(client, f"/partners/{centre.partner.id}")
    assert "日间照料" in page and "创建服务" not in page and "修改机构资料" not in page

    login(client, world.community_staff)
    page = get(client, f"/partners/{centre.partner.id}")
    assert "添加服务点" in page and "创建工作人员或机构管理员账号" in page


def test_a_new_partners_dashboard_says_it_waits_for_approval(client, world, clock):
    manager = registered(clock.now())
    login(client, manager)
    page = get(client, f"/partners/{manager.partner_id}")
    assert "尚未审核通过" in page and "正在等待社区工作人员审核" in page
    assert "还没有服务。" in page and "还没有服务点。" in page


# --- a slot's roster ---

def elder_with_needs(world, now, name):
    family = make_family(world.building, now, f"{name}家")
    elder = add_recipient(household_id=family.household.id, by=family.user, now=now, kind=RecipientKind.elder,
                          name=name, birth_date=years_ago(local_date(now), 78), ability_level=1,
                          needs={"diet": "少盐", "allergies": "花生", "emergency_contact_phone": "13900001111"},
                          diet_tags=["low_salt"])
    return family, elder


def test_a_day_care_roster_with_bookings_in_every_state(client, world, clock):
    """Checked in, checked out, did not come, confirmed, offered and waiting, as staff, manager and community
    staff see it once the slot has started."""
    now = clock.now()
    centre = world.care_centre
    service = create_service(partner_id=centre.partner.id, kind=ServiceKind.daycare, name="半日日托", capacity=4,
                             service_point_id=centre.partner.service_points[0].id, by=centre.manager, now=now,
                             fill_policy=FillPolicy.offer, offer_hours=12)
    slot = make_slot(service, centre.manager, now, capacity=4)
    bookings = {}
    for name in ("赵奶奶", "钱爷爷", "孙奶奶", "李爷爷", "周奶奶", "吴爷爷"):
        family, elder = elder_with_needs(world, now, name)
        bookings[name] = (family, engine.book(slot.id, elder.id, by=family.user, now=now).booking)
    family, leaving = bookings["李爷爷"]
    engine.cancel(leaving.id, by=family.user, now=now)  # 周奶奶 is offered the place; 吴爷爷 waits
    clock.set(slot.starts_at - timedelta(minutes=5))
    engine.check_in(bookings["赵奶奶"][1].id, by=centre.staff, now=clock.now())
    engine.check_in(bookings["钱爷爷"][1].id, by=centre.staff, now=clock.now(), temperature="36.6",
                    health_notes="精神好")
    clock.set(slot.starts_at + timedelta(minutes=30))
    engine.check_out(bookings["钱爷爷"][1].id, by=centre.staff, now=clock.now())
    engine.mark_no_show(bookings["孙奶奶"][1].id, by=centre.staff, now=clock.now())

    login(client, centre.staff)
    page = get(client, f"/partners/slots/{slot.id}")
    assert "半日日托：预约名单" in page and "候补名单（1）" in page and "1 人候补" in page
    assert "为 赵奶奶 签离" in page and "晨检：" in page and "36.6 °C" in page
    assert "签到" in page and "签离" in page and "请在" in page
    assert "能力等级" in page

    login(client, centre.manager)
    page = get(client, f"/partners/slots/{slot.id}")
    assert "修改这个时段" in page and "取消这个时段" in page and "修改名额" in page

    login(client, world.community_staff)
    page = get(client, f"/partners/slots/{slot.id}")
    assert "只向 普康养老服务中心 自己的工作人员显示" in page


def test_a_slot_with_someone_to_mark_as_not_coming_and_the_check_in_flash(client, world, clock):
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=2)
    coming = engine.book(slot.id, world.family.add_elder(now).id, by=world.family.user, now=now).booking
    absent = engine.book(slot.id, world.family.add_elder(now, name="王爷爷").id, by=world.family.user,
                         now=now).booking
    login(client, world.care_centre.staff)
    page = get(client, f"/partners/slots/{slot.id}")
    assert "为 王奶奶 签到" in page and "还没有人候补。" not in page and "没有人候补。" in page
    refused = after(client, client.post(f"/partners/bookings/{coming.id}/check-in"))
    assert "签到" in refused  # too early: the rule's refusal shows at the top of the roster

    clock.set(slot.starts_at + timedelta(minutes=10))
    page = get(client, f"/partners/slots/{slot.id}")
    assert "王爷爷 未到" in page
    page = after(client, client.post(f"/partners/bookings/{coming.id}/check-in"))
    assert "王奶奶 已签到。" in page
    page = get(client, f"/partners/bookings/{absent.id}/no-show")
    assert "记录 王爷爷 未到？" in page and "是的，王爷爷 未到" in page and "不，保留预约" in page
    page = after(client, client.post(f"/partners/bookings/{absent.id}/no-show"))
    assert "已记录 王爷爷 未到。" in page
    page = after(client, client.post(f"/partners/bookings/{coming.id}/check-out"))
    assert "王奶奶 已签离。" in page


def test_a_childcare_roster_with_a_health_check_collectors_and_understaffing(client, app, clock):
    scene = build_scene(clock.now())
    shift = scene.shift(start=time(7), end=time(12))
    scene.roster(shift, scene.staff[0])
    slot = scene.slot()
    ming = scene.child("小明", 20, family=scene.family)
    scene.adult(ming, "李奶奶", "奶奶")
    hong = scene.child("小红", 22)  # nobody listed to collect her
    gang = scene.child("小刚", 18)
    for child in (ming, hong, gang):
        scene.book(slot, child)
    clock.set(slot.starts_at - timedelta(minutes=5))
    booked = {booking.recipient.name: booking
              for booking in db.session.scalars(sa.select(Booking).where(Booking.slot_id == slot.id))}
    engine.check_in(booked["小明"].id, by=scene.staff[0], now=clock.now(), temperature="37.2", health_notes="咳嗽")
    engine.check_in(booked["小红"].id, by=scene.staff[0], now=clock.now())

    login(client, scene.staff[0])
    page = get(client, f"/partners/slots/{slot.id}")
    assert "谁来接 小明？" in page and "请选择接送人" in page and "授权接送人：" in page
    assert "没有登记可以接 小红 的人" in page and "体温 °C（选填）" in page and "晨检记录（选填）" in page
    assert "按排班人数最多" in page and "当周班次" in page and "小刚" in page

    # A class nobody is rostered for: new bookings wait.
    empty = scene.slot(scene.infants, day=TOMORROW + timedelta(days=1))
    page = get(client, f"/partners/slots/{empty.id}")
    assert "这个班级还没有排班人员" in page and "还没有人预约。" in page

    # The only rostered teacher is switched off: the booked children keep their places, the class is short.
    set_account_active(scene.staff[0].id, False, by=scene.nursery_manager, now=clock.now())
    login(client, scene.nursery_manager)
    page = get(client, f"/partners/slots/{slot.id}")
    assert "人手不足" in page


# --- the forms a manager fills in ---

def service_form(world, **changes) -> dict:
    point = world.care_centre.partner.service_points[0]
    data = {"kind": "meal", "name": "晚餐", "capacity": "12", "service_point_id": str(point.id),
            "fill_policy": "offer", "offer_hours": "6", "meal": "dinner"}
    data.update(changes)
    return data


def test_the_service_point_slot_weekly_and_account_forms(client, world, clock):
    partner_id, service_id = world.care_centre.partner.id, world.daycare.id
    add_room(world.care_centre.partner.service_points[0].id, name="餐厅", by=world.admin, now=clock.now())
    login(client, world.care_centre.manager)
    page = get(client, f"/partners/{partner_id}/services/new")
    assert "为 普康养老服务中心 创建服务" in page and "预约规则" in page and "有名额空出时" in page
    assert "房间（选填）" in page
    page = get(client, f"/partners/{partner_id}/points/new")
    assert "添加服务点" in page and "纬度" in page
    page = get(client, f"/partners/services/{service_id}/slots/new")
    assert "为 日间照料 添加单个时段" in page and "时间均为本地时间。" in page
    page = get(client, f"/partners/services/{service_id}/weekly/new")
    assert "为 日间照料 添加每周时段" in page and "每周这几天" in page
    page = get(client, f"/partners/{partner_id}/accounts/new")
    assert "为 普康养老服务中心 新建工作人员账号" in page and "初始密码" in page


@pytest.mark.parametrize("changes, message", [
    ({"name": ""}, "请填写服务名称。"),
    ({"capacity": "-1"}, "名额数应在 0 到 10000 之间。"),
    ({"service_point_id": ""}, "请选择提供服务的地点。"),
    ({"offer_hours": "0"}, "请填写 1 到 336 小时。"),
    ({"min_age_years": "80", "max_age_years": "60"}, "最大年龄不能小于最小年龄。"),
    ({"price": "12.345"}, "请以元为单位填写价格"),
    ({"delivery_radius_m": "99999"}, "请填写 0 到 10000 之间的整数。"),
])
def test_a_refused_service_is_explained_in_chinese(client, world, changes, message):
    login(client, world.care_centre.manager)
    page = chinese(client.post(f"/partners/{world.care_centre.partner.id}/services/new",
                               data=service_form(world, **changes)), 400)
    assert message in page


def test_refused_points_slots_weekly_slots_and_accounts_are_explained_in_chinese(client, world):
    partner_id, service_id = world.care_centre.partner.id, world.daycare.id
    login(client, world.care_centre.manager)
    page = chinese(client.post(f"/partners/{partner_id}/points/new", data={"name": "", "address": ""}), 400)
    assert "请填写服务点名称。" in page and "请填写地址。" in page and "请填写纬度。" in page
    page = chinese(client.post(f"/partners/services/{service_id}/slots/new",
                               data={"day": "", "start_time": "", "end_time": "", "capacity": "-3"}), 400)
    assert "请填写日期。" in page and "请填写开始时间。" in page and "名额数应在 0 到 10000 之间。" in page
    page = chinese(client.post(f"/partners/services/{service_id}/weekly/new",
                               data={"start_time": "14:00", "end_time": "16:30", "valid_from": ""}), 400)
    assert "请至少勾选一天。" in page and "请填写开始日期。" in page
    page = chinese(client.post(f"/partners/{partner_id}/accounts/new",
                               data={"role": "partner_staff", "name": "", "login": "", "password": ""}), 400)
    assert "请填写此人的姓名。" in page and "请设置初始密码。" in page


def test_what_a_manager_is_told_after_creating_and_changing(client, world):
    partner_id, service_id = world.care_centre.partner.id, world.daycare.id
    login(client, world.care_centre.manager)
    page = after(client, client.post(f"/partners/{partner_id}/services/new", data=service_form(world)))
    assert "服务“晚餐”已创建。" in page
    page = after(client, client.post(f"/partners/{partner_id}/points/new",
                                     data={"name": "二号助餐点", "address": "赭麓街道2号", "latitude": "31.34",
                                           "longitude": "118.38"}))
    assert "服务点“二号助餐点”已添加。" in page
    page = after(client, client.post(f"/partners/services/{service_id}/slots/new",
                                     data={"day": "2026-12-05", "start_time": "08:30", "end_time": "11:30"}))
    assert "已添加 日间照料 在 2026年12月5日 08:30 的时段。" in page
    page = after(client, client.post(f"/partners/services/{service_id}/weekly/new",
                                     data={"weekdays": ["0", "2"], "start_time": "14:00", "end_time": "16:30",
                                           "valid_from": "2026-12-01"}))
    assert "日间照料 现在每周固定 2 天" in page
    page = after(client, client.post(f"/partners/{partner_id}/accounts/new",
                                     data={"role": "partner_staff", "name": "新护理员", "login": "13966667777",
                                           "password": "first-pass-1"}))
    assert "新护理员 现在可以用 13966667777 登录了。" in page


def test_changing_places_and_cancelling_a_slot(client, world, clock):
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=2)
    for name in ("甲", "乙"):
        family = make_family(world.building, now, name)
        engine.book(slot.id, family.add_elder(now, name=f"{name}老人").id, by=family.user, now=now)
    login(client, world.care_centre.manager)
    page = after(client, client.post(f"/partners/slots/{slot.id}/capacity", data={"capacity": "5"}))
    assert "该时段现在有 5 个名额。" in page
    page = after(client, client.post(f"/partners/slots/{slot.id}/capacity", data={"capacity": ""}))
    assert "请填写名额数。" in page
    page = get(client, f"/partners/slots/{slot.id}/cancel")
    assert "取消这个时段？" in page and "是的，取消这个时段" in page and "不，保留" in page
    page = after(client, client.post(f"/partners/slots/{slot.id}/cancel"))
    assert "的时段已取消，其中所有预约也一并取消。" in page and "2026年12月2日 08:30" in page


# --- partner administration ---

REGISTRATION = {"name": "新希望助餐点", "kind": "canteen", "phone": "0553-1234567", "description": "午餐",
                "manager_name": "周主任", "login": "13955550001", "password": PASSWORD, "confirm": PASSWORD}


def test_registering_a_partner(client, world):
    page = get(client, "/partners/register")
    assert "将您的机构注册为合作机构" in page and "机构名称" in page and "已经注册？" in page
    page = chinese(client.post("/partners/register", data={**REGISTRATION, "name": "麓枫书院"}), 409)
    assert "名为“麓枫书院”的合作机构已经注册。" in page
    page = chinese(client.post("/partners/register", data={**REGISTRATION, "phone": "", "manager_name": ""}), 400)
    assert "请填写家庭和工作人员能拨打的联系电话。" in page and 'id="manager_name-error">' in page
    page = after(client, client.post("/partners/register", data=REGISTRATION))
    assert "新希望助餐点 已注册。" in page and "正在等待社区工作人员审核" in page


def test_reviewing_approving_and_declining_registrations(client, world, clock):
    login(client, world.community_staff)
    page = get(client, "/partners/pending")
    assert "没有等待审核的合作机构。" in page and "返回概况" in page

    now = clock.now()
    waiting = registered(now)
    create_point = add_service_point(partner_id=waiting.partner_id, name="新希望一号点", address="赭麓街道9号",
                                     latitude=31.33, longitude=118.37, by=waiting, now=now)
    add_room(create_point.id, name="餐厅", seats=30, by=waiting, now=now)
    create_service(partner_id=waiting.partner_id, kind=ServiceKind.meal, name="午餐", capacity=30,
                   service_point_id=create_point.id, by=waiting, now=now, meal=MealTime.lunch)
    make_user(Role.partner_staff, now, partner_id=waiting.partner_id, name="小周")
    other = registered(now, name="康乐托育园", login="13955550002")
    page = get(client, "/partners/pending")
    assert "等待审核的合作机构" in page and "新希望助餐点" in page and "注册于" in page
    page = get(client, f"/partners/{waiting.partner_id}/review")
    assert "审核 新希望助餐点" in page and "您的审核决定" in page and "审核通过 新希望助餐点" in page
    assert "餐厅 （30 个座位）" in page and "午餐（" in page and "30 个名额" in page and "不通过的原因" in page
    assert "所有等待审核的合作机构" in page and "小周" in page

    page = chinese(client.post(f"/partners/{other.partner_id}/decline", data={"reason": ""}), 400)
    assert "请说明原因，以便机构知道需要改正什么。" in page
    page = after(client, client.post(f"/partners/{other.partner_id}/decline", data={"reason": "请补充营业执照"}))
    assert "康乐托育园 未通过审核" in page
    page = get(client, f"/partners/{other.partner_id}/review")
    assert "于 2026年12月1日 未通过审核：请补充营业执照" in page

    page = after(client, client.post(f"/partners/{waiting.partner_id}/approve"))
    assert "新希望助餐点 已审核通过，现在可以发布时段了。" in page
    page = get(client, f"/partners/{waiting.partner_id}/review")
    assert "已于 2026年12月1日 审核通过。" in page
    page = after(client, client.post(f"/partners/{waiting.partner_id}/approve"))
    assert "新希望助餐点 已经审核通过。" in page


def test_the_community_overview_names_registrations_in_chinese(client, world, clock):
    now = clock.now()
    registered(now)
    declined = registered(now, name="康乐托育园", login="13955550002")
    decline_partner(declined.partner_id, reason="资料不全", by=world.community_staff, now=now)
    login(client, world.community_staff)
    page = html.unescape(client.get("/community/").get_data(as_text=True))
    assert "自 2026年12月1日 起<strong>等待审核</strong>。" in page and "审核 新希望助餐点" in page
    assert "于 2026年12月1日 未通过审核。" in page
    assert "Waiting for approval" not in page and "Declined on" not in page


def test_the_profile_page_and_its_refusal(client, world):
    partner_id = world.care_centre.partner.id
    login(client, world.care_centre.manager)
    page = get(client, f"/partners/{partner_id}/profile")
    assert "普康养老服务中心 的机构资料" in page and "家庭可以看到名称、电话和服务内容。" in page
    page = chinese(client.post(f"/partners/{partner_id}/profile", data={"name": "艺涵托育园"}), 409)
    assert "名为“艺涵托育园”的合作机构已经注册。" in page
    page = after(client, client.post(f"/partners/{partner_id}/profile",
                                     data={"name": "普康养老服务中心", "phone": "0553-7777777",
                                           "description": "日托 助餐"}))
    assert "机构资料已保存。" in page and "服务内容" in page


def test_rooms_pages_messages_and_refusals(client, world, clock):
    point = world.care_centre.partner.service_points[0]
    login(client, world.care_centre.manager)
    page = get(client, f"/partners/points/{point.id}/rooms/new")
    assert "普康养老服务中心服务点 的新房间" in page and "房间名称" in page
    page = chinese(client.post(f"/partners/points/{point.id}/rooms/new", data={"name": "", "seats": "-3"}), 400)
    assert "请填写房间名称。" in page and "请填写 0 到 10000 之间的整数。" in page
    page = after(client, client.post(f"/partners/points/{point.id}/rooms/new",
                                     data={"name": "日托室", "purpose": "休息", "seats": "12"}))
    assert "房间“日托室”已添加到 普康养老服务中心服务点。" in page and "12 个座位" in page
    page = chinese(client.post(f"/partners/points/{point.id}/rooms/new", data={"name": "日托室"}), 409)
    assert "这个服务点已经有名为“日托室”的房间。" in page

    room = db.session.scalar(sa.select(Room).where(Room.name == "日托室"))
    page = get(client, f"/partners/rooms/{room.id}")
    assert "普康养老服务中心服务点 的房间“日托室”" in page and "保存房间" in page and "返回" in page
    page = after(client, client.post(f"/partners/rooms/{room.id}", data={"name": "日托室", "seats": "10"}))
    assert "房间已保存。" in page
    create_service(partner_id=world.care_centre.partner.id, kind=ServiceKind.daycare, name="全日日托", capacity=8,
                   service_point_id=point.id, by=world.care_centre.manager, now=clock.now(), room_id=room.id)
    page = after(client, client.post(f"/partners/rooms/{room.id}/remove"))
    assert "日托室 正在被 全日日托 使用。" in page
    other = add_room(point.id, name="储物间", by=world.admin, now=clock.now())
    page = after(client, client.post(f"/partners/rooms/{other.id}/remove"))
    assert "房间“储物间”已删除。" in page


def test_staff_accounts_switched_off_and_on(client, world):
    centre = world.care_centre
    login(client, centre.manager)
    page = get(client, f"/partners/{centre.partner.id}/staff")
    assert "普康养老服务中心 的工作人员账号" in page and "能否登录" in page and "停用" in page
    page = after(client, client.post(f"/partners/accounts/{centre.staff.id}/deactivate"))
    assert f"{centre.staff.name} 已不能再登录。" in page and "否，已停用" in page and "重新启用" in page
    assert "已停用的账号不能登录" in page
    page = after(client, client.post(f"/partners/accounts/{centre.staff.id}/reactivate"))
    assert f"{centre.staff.name} 可以重新登录了。" in page
    page = after(client, client.post(f"/partners/accounts/{centre.manager.id}/deactivate"))
    assert "您不能停用自己的账号。" in page

    login(client, world.community_staff)
    page = after(client, client.post(f"/partners/accounts/{centre.staff.id}/reactivate"))
    assert f"{centre.staff.name} 的账号已经是启用状态。" in page
