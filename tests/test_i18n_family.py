"""A family's pages, logging in and registering, the inbox, a partner's message texts and the error page, in
Chinese: every page of these areas (with tables, statuses, flashes and empty states showing) and their refused
forms read without English left over; and the same words still read in English where the suite pins English."""
from __future__ import annotations

from datetime import time, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask import render_template_string

from careapp.booking import engine
from careapp.core.db import db, write_transaction
from careapp.family import calendar
from careapp.households.services import add_authorised_adult
from careapp.notifications import outbox
from careapp.notifications.models import Notification, NotificationStatus, Topic
from careapp.notifications.template_views import PLACEHOLDER_DESCRIPTIONS
from careapp.notifications.texts import PLACEHOLDERS
from careapp.pages import LABELS, WEEKDAYS
from tests.factories import make_slot
from tests.i18n_scan import english_in_page
from tests.page_helpers import login, text
from tests.test_notifications_pages import kitchen_sheet, promoted_from_waitlist


def english_left(page: str) -> list[str]:
    """English left in a Chinese page (the shared scanner skips translate="no": people's own words)."""
    return english_in_page(page)


def read_in_chinese(response, *words: str, status: int = 200) -> str:
    """The page, which must answer ``status``, read without English and with each of ``words``."""
    page = response.get_data(as_text=True)
    assert response.status_code == status, page[:500]
    assert english_left(page) == []
    shown = text(response)
    for word in words:
        assert word in shown
    return shown


@pytest.fixture
def app_config():
    return {"FIXED_LANGUAGE": "zh_CN"}


@pytest.fixture
def family_scene(world, clock):
    """李家 with an elder (needs, an ability level), a child under three with an adult who may collect her and
    one without, bookings confirmed, waiting and offered, and a live calendar link; 张家 waits behind them."""
    now = clock.now()
    family = world.family
    elder = family.add_elder(now, name="王奶奶", ability_level=1)
    with write_transaction():
        db.session.merge(elder).allergies = "花生"
    child = family.add_child(now, name="小明", months=26)
    baby = family.add_child(now, name="小宝", months=14)
    add_authorised_adult(child_id=child.id, by=family.user, now=now, name="张阿姨", relation="姑姑",
                         phone="13900002222")
    daycare = make_slot(world.daycare, world.care_centre.manager, now, capacity=1)
    engine.book(daycare.id, elder.id, by=family.user, now=now)
    afternoon = make_slot(world.daycare, world.care_centre.manager, now, capacity=1, start=time(13))
    other_elder = world.other_family.add_elder(now, name="张爷爷")
    engine.book(afternoon.id, other_elder.id, by=world.other_family.user, now=now)
    engine.book(afternoon.id, elder.id, by=family.user, now=now)  # waiting, number 1 in line
    nursery = make_slot(world.nursery.services["托小班"], world.nursery.manager, now, capacity=1)
    other_child = world.other_family.add_child(now, name="小红")
    first = engine.book(nursery.id, other_child.id, by=world.other_family.user, now=now).booking
    engine.book(nursery.id, child.id, by=family.user, now=now)
    engine.cancel(first.id, by=world.other_family.user, now=now)  # the place is offered to 小明
    calendar.make_feed_link(family.household.id, by=family.user, now=now)
    return SimpleNamespace(elder=elder, child=child, baby=baby, household=family.household)


# --- before logging in ---

def test_logging_in_and_registering_read_in_chinese(client, world):
    read_in_chinese(client.get("/login"), "登录", "手机号或电子邮箱", "注册您的家庭", "注册您的机构", "网格员")
    read_in_chinese(client.get("/register"), "注册您的家庭", "所住楼栋", "请选择楼栋", "至少 8 个字符", "已经注册？")


def test_a_refused_login_and_a_refused_registration_read_in_chinese(client, world):
    read_in_chinese(client.post("/login", data={"login": world.family.user.login, "password": "wrong password"}),
                    "账号或密码不正确。", status=401)
    read_in_chinese(client.post("/login", data={}), "请填写您的手机号或电子邮箱。", "请填写密码。", status=400)
    read_in_chinese(client.post("/register", data={"name": "", "login": "12", "password": "short", "confirm": "other",
                                                   "building_id": "", "email": "not an address", "phone": "abc"}),
                    "两次输入的密码不一致。", "请选择您所住的楼栋。", "请检查电子邮箱地址。",
                    "请只填写数字", status=400)
    read_in_chinese(client.post("/register", data={"name": "陈家", "login": "12", "password": "long enough pass",
                                                   "confirm": "long enough pass", "building_id": world.building.id}),
                    "请用手机号", status=400)


def test_registering_welcomes_the_family_in_chinese(client, world):
    response = client.post("/register", data={"name": "陈家", "login": "13911112222", "password": "long enough pass",
                                               "confirm": "long enough pass", "building_id": world.building.id})
    assert response.status_code == 302
    read_in_chinese(client.get("/family/"), "欢迎！您的家庭已注册成功。", "还没有添加任何人。", "还没有预约。",
                    "生成日历链接")


def test_asking_for_a_page_logged_out_and_logging_out_say_so_in_chinese(client, world):
    response = client.get("/family/", follow_redirects=True)
    read_in_chinese(response, "请先登录，再查看该页面。")
    login(client, world.family.user)
    read_in_chinese(client.post("/logout", follow_redirects=True), "您已退出登录。")


# --- the family's pages ---

def test_the_household_page_with_members_bookings_and_a_calendar_link(client, world, family_scene):
    login(client, world.family.user)
    page = read_in_chinese(client.get("/family/"), "即将到来的预约", "已确认", "第 1 位", "请在 2026年12月1日 21:00 前答复", "接受空位", "放弃", "取消这个预约", "家庭成员",
                           "老人，75 岁 · 能力等级 1 - 轻度失能", "孩子，26 个月", "孩子，14 个月",
                           "<dt>过敏</dt><dd>花生</dd>", "没有记录特别需求。", "可以接送小明的人：",
                           "张阿姨 (姑姑)", "将张阿姨移出名单", "<strong>可以接送小宝的人：</strong>还没有添加",
                           "您在 2026年12月1日 生成了链接。", "重新生成链接", "关闭链接")
    assert "Confirmed" not in page
    staff_view = client.get(f"/family/households/{family_scene.household.id}")
    assert staff_view.status_code == 200  # the family's own household by its number too
    read_in_chinese(staff_view, "李家")


def test_district_staff_see_a_household_in_chinese(client, world, family_scene):
    login(client, world.community_staff)
    read_in_chinese(client.get(f"/family/households/{family_scene.household.id}"), "李家", "家庭成员", "王奶奶")


def test_adding_a_person_reads_in_chinese_refused_and_done(client, world):
    login(client, world.family.user)
    url = f"/family/households/{world.family.household.id}/members/new"
    read_in_chinese(client.get(url), "为李家添加家庭成员", "这位是？", "出生日期", "能力等级（仅限老人）", "未评估",
                    "饮食需求（选填）", "低盐", "助餐额外补贴对象（老人，选填）", "低保", "添加此人")
    read_in_chinese(client.post(url, data={"kind": "", "name": "", "birth_date": "", "phone": "123"}),
                    "请选择老人或孩子。", "请填写名称。", "请填写出生日期。", status=400)
    read_in_chinese(client.post(url, data={"kind": "child", "name": "小宝", "birth_date": "2030-01-01"}),
                    "出生日期不能晚于今天。", status=400)
    read_in_chinese(client.post(url, data={"kind": "child", "name": "小宝", "birth_date": "2025-01-01",
                                           "ability_level": "2"}),
                    "能力等级只适用于老人。", status=400)
    read_in_chinese(client.post(url, data={"kind": "elder", "name": "王奶奶", "birth_date": "1948-05-20"},
                                follow_redirects=True), "已将 王奶奶 添加到您的家庭。")


def test_adding_and_removing_an_adult_who_may_collect_a_child_read_in_chinese(client, world, family_scene):
    login(client, world.family.user)
    url = f"/family/members/{family_scene.baby.id}/adults/new"
    read_in_chinese(client.get(url), "添加可以接送小宝的授权接送人", "托育园只会让小宝跟随这份名单上的授权接送人离园。",
                    "与孩子的关系", "添加此接送人")
    read_in_chinese(client.post(url, data={"name": "", "relation": ""}), "请填写接送人的姓名。", "请说明与孩子的关系。",
                    status=400)
    read_in_chinese(client.post(url, data={"name": "李爷爷", "relation": "爷爷", "phone": "12345"}),
                    "开头的 11 位手机号码", status=400)
    read_in_chinese(client.post(url, data={"name": "李爷爷", "relation": "爷爷"}, follow_redirects=True),
                    "李爷爷 现在可以接送 小宝 了。")
    adult = family_scene.child.authorised_adults[0]
    read_in_chinese(client.post(f"/family/adults/{adult.id}/remove", follow_redirects=True),
                    "张阿姨 不能再接送 小明 了。")
    read_in_chinese(client.post(f"/family/adults/{adult.id}/remove", follow_redirects=True),
                    "张阿姨 已经不在 小明 的授权接送人名单上了。")


def test_the_month_calendar_reads_in_chinese(client, world, family_scene):
    login(client, world.family.user)
    url = f"/family/households/{family_scene.household.id}/calendar"
    page = read_in_chinese(client.get(f"{url}?month=2026-12"), "李家：2026年12月", "‹ 2026年11月", "2027年1月 ›",
                           "(已确认)", "(在候补名单上)", "今天", "星期一", "返回李家")
    assert '<span class="month-name">12月</span>1日<span class="weekday"> 星期二</span>' in page
    read_in_chinese(client.get(f"{url}?month=2027-03"), "2027年3月没有预约。", "找服务", "本月")
    read_in_chinese(client.get(f"{url}?month=March"), "请按“年-月”填写月份", status=400)


def test_the_calendar_link_page_and_turning_it_off_read_in_chinese(client, world, family_scene):
    login(client, world.family.user)
    base = f"/family/households/{family_scene.household.id}/calendar-link"
    read_in_chinese(client.post(base), "您的日历链接", "这个链接只显示这一次。", "李家预约的私人链接", "在手机日历中打开",
                    "苹果手机", "安卓手机", "最近 30 天")
    read_in_chinese(client.post(f"{base}/stop", follow_redirects=True), "日历链接已关闭")
    read_in_chinese(client.post(f"{base}/stop", follow_redirects=True), "没有可以关闭的日历链接。")


# --- the error page ---

def test_the_error_page_reads_in_chinese(client, world, family_scene):
    login(client, world.other_family.user)
    read_in_chinese(client.get(f"/family/households/{family_scene.household.id}"), "抱歉", "您无权查看这个家庭。",
                    "返回首页", status=403)
    read_in_chinese(client.get("/no-such-page"), "抱歉", "找不到这个页面。", status=404)
    read_in_chinese(client.get(f"/family/members/{family_scene.elder.id}/adults/new"), "抱歉", status=403)
    read_in_chinese(client.get(f"/partners/{world.care_centre.partner.id}/messages"), "只有该机构的管理员可以修改其消息文字。",
                    status=403)
    read_in_chinese(client.get("/notifications/?before=abc"), "这个查看更早消息的链接无效。", status=400)


# --- the inbox ---

def test_the_familys_inbox_reads_in_chinese_with_read_unread_and_skipped_messages(client, world, clock):
    now = clock.now()
    promotion = promoted_from_waitlist(world, now)
    with write_transaction():
        skipped = outbox.add_once(outbox.booking_notification(db.session.merge(promotion.promoted), Topic.reminder,
                                                              "reminder:eve@18:00", now=now,
                                                              skip_reason="a later reminder replaces it"))
        late = outbox.add_once(outbox.booking_notification(db.session.merge(promotion.promoted), Topic.reminder,
                                                           "reminder:60m", now=now,
                                                           skip_reason="the booking is cancelled"))
    assert skipped.status == late.status == NotificationStatus.skipped
    login(client, world.other_family.user)
    read_in_chinese(client.get("/notifications/"), "3 条未读", "全部标为已读", "未读", "收到于", "2026年12月1日 09:00",
                    "已不再适用：已由更晚的提醒代替。", "已不再适用：该预约已取消。", "查看相关时段", "标为已读",
                    "消息语言", "保存")
    read_in_chinese(client.post(f"/notifications/{promotion.notification.id}/read", follow_redirects=True),
                    "该消息已标记为已读。", "已读")
    read_in_chinese(client.post("/notifications/read-all", follow_redirects=True), "2 条消息已标记为已读。",
                    "您的消息都已读。")
    read_in_chinese(client.post("/notifications/read-all", follow_redirects=True), "没有未读消息。")
    oldest = min(db.session.scalars(sa.select(Notification.id)))
    read_in_chinese(client.get(f"/notifications/?before={oldest}"), "没有更早的消息了。", "返回最新消息")


def test_an_empty_inbox_and_the_inboxes_of_staff_read_in_chinese(client, other_client, world, clock):
    login(client, world.family.user)
    read_in_chinese(client.get("/notifications/"), "还没有消息。即将到来的预约提醒会显示在这里")
    client.post("/logout")
    login(client, world.care_centre.staff)
    read_in_chinese(client.get("/notifications/"), "还没有消息。您的餐次订餐截止时，备餐单会显示在这里。")
    kitchen_sheet(world, clock.now())
    read_in_chinese(client.get("/notifications/"), "1 条未读")
    login(other_client, world.community_staff)
    read_in_chinese(other_client.get("/notifications/"), "社区工作人员和管理员没有自己的消息。")


# --- a partner's message texts ---

def test_the_message_texts_read_in_chinese_listed_edited_refused_saved_and_reset(client, world):
    partner = world.care_centre.partner.id
    login(client, world.care_centre.manager)
    read_in_chinese(client.get(f"/partners/{partner}/messages"), "普康养老服务中心的消息文字", "日间照料", "助餐",
                    "预约时段前的提醒", "订餐截止时发给工作人员的备餐单", "简体中文", "English",
                    "careapp 的默认文字", "编辑", "返回普康养老服务中心")
    edit = f"/partners/{partner}/messages/edit?kind=daycare&topic=slot_cancelled&language=zh_CN"
    read_in_chinese(client.get(edit), "您取消了时段", "当前使用：careapp 的默认文字。", "预览", "您的文字", "标题",
                    "只写一行，最多 200 个字符", "最多 2000 个字符。", "占位符", "预约服务的家庭成员", "返回消息文字列表")
    read_in_chinese(client.post(edit, data={"subject": "", "body": "{nobody}"}), "请填写标题。", status=400)
    read_in_chinese(client.post(edit, data={"subject": "取消", "body": "{nobody}"}), "careapp 无法填写 {nobody}。",
                    status=400)
    read_in_chinese(client.post(edit, data={"subject": "取消通知：{service}", "body": "{member} 您好：时段取消了。"},
                                follow_redirects=True),
                    "您为“您取消了时段”（简体中文）撰写的文字已保存。", "当前使用：<strong>您自己的文字</strong>。",
                    "恢复 careapp 的默认文字")
    read_in_chinese(client.post(edit.replace("/edit?", "/reset?"), follow_redirects=True),
                    "“您取消了时段”（简体中文）已恢复为 careapp 的默认文字。")


def test_a_partner_without_services_has_no_message_texts_in_chinese(client, world):
    from careapp.partners.models import PartnerKind
    from careapp.partners.services import create_partner

    partner = create_partner(name="新机构", kind=PartnerKind.canteen, by=world.admin, now=world.now)
    login(client, world.admin)
    read_in_chinese(client.get(f"/partners/{partner.id}/messages"), "新机构还没有提供任何服务，因此不发送消息。")


# --- the shared page parts ---

def test_the_slot_list_reads_in_chinese(app, world):
    row = SimpleNamespace(slot=SimpleNamespace(id=1, places=10, status=SimpleNamespace(value="closed"),
                                               starts_at=world.now, ends_at=world.now + timedelta(hours=2)),
                          service=SimpleNamespace(name="日间照料", kind=world.daycare.kind, session_length=None,
                                                  meal=None, lunch_included=True, transport=True),
                          partner=SimpleNamespace(name="普康"), service_point=SimpleNamespace(name="服务点"),
                          understaffed=True, available=3, confirmed=6, offered=1, waitlisted=2)
    row.slot.status = list(LABELS["slot_status"])[1]
    source = '{% import "_macros.html" as m %}{{ m.slot_list(rows, labels) }}{{ m.slot_list([], labels) }}'
    with app.test_request_context():
        page = render_template_string(source, rows=[row], labels=LABELS)
    assert english_left(page) == []
    for words in ("含午餐", "提供接送", "已截止", "人手不足", "剩余名额 <strong>3</strong> / 10", "已预约 6 人",
                  "没有找到时段。"):
        assert words in page


def test_labels_read_as_plain_text_in_a_request_and_stay_lazy_outside(app):
    with app.test_request_context():
        assert LABELS["booking_status"][list(LABELS["booking_status"])[0]] == "已确认"
        assert ", ".join(LABELS["diet_tag"].values()) == "低盐, 低糖, 软烂或切碎, 素食, 清真"
        assert list(WEEKDAYS)[:2] == ["星期一", "星期二"] and WEEKDAYS[6] == "星期日"
    outside = dict.__getitem__(LABELS["recipient_kind"], list(LABELS["recipient_kind"])[0])
    assert not isinstance(outside, str)  # a form built at import time shows it in each reader's language


def test_the_placeholders_are_described_to_managers_as_careapp_names_them():
    assert {name: str(words) for name, words in PLACEHOLDER_DESCRIPTIONS.items()} == PLACEHOLDERS


def test_the_calendar_feed_follows_the_language_of_the_request(client, world, family_scene):
    token = calendar.make_feed_link(family_scene.household.id, by=world.family.user, now=world.now)
    feed = client.get(f"/calendar/{token}.ics").get_data(as_text=True)
    assert "已确认：王奶奶 在 普康养老服务中心服务点 的日间照料。" in feed.replace("\r\n ", "")


class TestTheSameWordsInEnglish:
    """With English pinned (as the rest of the suite is), the words are as they were written."""

    @pytest.fixture
    def app_config(self):
        return {"FIXED_LANGUAGE": "en"}

    def test_the_household_page_in_english(self, client, world, family_scene):
        login(client, world.family.user)
        page = text(client.get("/family/"))
        for words in ("<strong>On the waiting list</strong>, number 1 in line", "<strong>Place offered</strong>. "
                      "Please answer by 2026-12-01", "Elder, 75 years · ability level 1 - mildly impaired",
                      "Child, 26 months", "<strong>May collect 小宝:</strong> nobody added yet",
                      "You made a link on 2026-12-01."):
            assert words in page
        assert "<h1>李家: December 2026</h1>" in text(client.get(
            f"/family/households/{family_scene.household.id}/calendar?month=2026-12"))

    def test_a_one_month_old_in_english(self, client, world, clock):
        now = clock.now()
        world.family.add_child(now, name="小小", months=1)
        login(client, world.family.user)
        assert "Child, 1 month" in text(client.get("/family/"))
