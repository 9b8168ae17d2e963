"""The roster pages read in Chinese: the day roster (and its print view and CSV), a service point's shifts, the
shift form and its deletion page, the volunteers page, the roster part of the partner dashboard, and the rules'
refusals of shift input, with no English left over."""
from __future__ import annotations

import csv
import io
import re
from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from careapp.booking import engine
from careapp.core.db import db, write_transaction
from careapp.households.models import RecipientKind
from careapp.households.services import add_recipient
from careapp.partners import shifts
from careapp.partners.models import Shift, ShiftAssignment, ShiftRole, Volunteer
from tests.i18n_scan import english_in_page
from tests.page_helpers import count, follow, login, text
from tests.rosters_factories import TOMORROW, scene  # noqa: F401  (a fixture)


@pytest.fixture
def app_config():
    return {"FIXED_LANGUAGE": "zh_CN"}


def chinese(page: str) -> str:
    """The page, after checking that a Chinese reader finds no English in it."""
    assert english_in_page(page) == []
    return page


def busy_day(scene):
    """Tomorrow at the nursery: a toddler slot of one place with 小明 booked (needs, an adult who may collect him)
    and two children waiting (one with nobody to collect him), a staff shift with one teacher on it, and a
    volunteer shift short of people."""
    morning = scene.shift(title="早班保育", min_people=1, max_people=2, start=time(7), end=time(12))
    scene.roster(morning, scene.staff[0])
    lunch = scene.shift(title="午餐协助", min_people=2, max_people=3, role=ShiftRole.volunteer, service=None,
                        start=time(11), end=time(13))
    scene.roster(lunch, scene.volunteer)
    slot = scene.slot(capacity=1)
    child = add_recipient(household_id=scene.family.household.id, by=scene.family.user, now=scene.now,
                          kind=RecipientKind.child, name="小明", birth_date=TOMORROW.replace(year=2025),
                          needs={"allergies": "花生", "emergency_contact_phone": "13900001111"})
    scene.adult(child, "李奶奶", "奶奶")
    booking = engine.book(slot.id, child.id, by=scene.family.user, now=scene.now).booking
    waiting = scene.child("小红", 14)
    scene.adult(waiting, "王爷爷", "爷爷")
    scene.book(slot, waiting)
    scene.book(slot, scene.child("小刚", 15))
    return slot, booking, morning, lunch


def day_url(scene, day=TOMORROW, suffix="") -> str:
    return f"/partners/points/{scene.point.id}/day{suffix}?day={day.isoformat()}"


# --- the day roster and its print view ---

def test_the_day_roster_for_the_partners_own_staff_reads_in_chinese(client, scene):
    busy_day(scene)
    login(client, scene.staff[1])
    page = chinese(text(client.get(day_url(scene))))
    assert f"{scene.point.name}：2026年12月2日（星期三）到场名单" in page
    assert "谁会来" in page and "谁在值班" in page and "打印这份名单" in page and "下载 CSV 文件" in page
    assert "已预约 1 人，候补 2 人" in page and "授权接送人" in page
    assert "李奶奶 (奶奶, 13900003333)" in page and "花生" in page
    assert "没有授权接送人，请联系家庭" in page  # 小刚: nobody may collect him
    assert "人手不足：还需 1 人" in page and "有 1 个班次人数低于最少需要人数。" in page
    assert "/static/pages/rosters-print.css" in page  # the print view: the same page on A4


def test_community_staff_read_the_day_roster_without_needs_in_chinese(client, scene):
    busy_day(scene)
    login(client, scene.community_staff)
    page = chinese(text(client.get(day_url(scene))))
    assert "只向艺涵托育园自己的工作人员显示" in page
    assert "花生" not in page and "授权接送人" not in page


def test_an_empty_day_and_a_checked_in_child_read_in_chinese(client, scene, clock):
    slot, booking, morning, lunch = busy_day(scene)
    clock.set(slot.starts_at)
    engine.check_in(booking.id, by=scene.staff[0], now=clock.now(), temperature="36.8", health_notes="精神好")
    login(client, scene.staff[0])
    page = chinese(text(client.get(day_url(scene))))
    assert "晨检：" in page and "36.8 °C" in page and "精神好" in page
    empty = chinese(text(client.get(day_url(scene, day=TOMORROW + timedelta(days=2)))))
    assert f"{scene.point.name}这一天没有时段。" in empty and f"{scene.point.name}这一天没有安排班次。" in empty


def test_an_understaffed_class_is_flagged_in_chinese(client, scene):
    slot, booking, morning, lunch = busy_day(scene)
    login(client, scene.nursery_manager)
    page = follow(client, client.post(f"/partners/shifts/{morning.id}/people/{morning.assignments[0].id}/remove"))
    assert f"{scene.staff[0].name}已从班次“早班保育”中移除。" in chinese(page)
    page = chinese(text(client.get(day_url(scene))))
    assert "人手不足：已有 1 名儿童占用名额" in page and "按排班人手最多可收 0 人" in page


def test_the_day_roster_csv_has_chinese_columns(client, scene):
    busy_day(scene)
    login(client, scene.staff[0])
    body = client.get(day_url(scene, suffix=".csv")).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows[0][:8] == ["类别", "时间", "服务或班次", "姓名", "年龄", "状态", "签到", "签离"]
    assert rows[0][-1] == "授权接送人"
    coming = [row for row in rows if row[0] == "到场"]
    assert coming[0][3:5] == ["小明", "12 个月"] and coming[0][-1] == "李奶奶（奶奶）"
    working = [row for row in rows if row[0] == "值班"]
    assert working[-1][2] == "午餐协助" and working[-1][6] == "人手不足：至少需要 2 人"


def test_a_bad_day_is_answered_in_chinese(client, scene):
    login(client, scene.staff[0])
    response = client.get(f"/partners/points/{scene.point.id}/day?day=2026-02-30")
    assert response.status_code == 400
    chinese(text(response))


# --- shifts ---

def test_the_shifts_page_reads_in_chinese_for_the_manager(client, scene, clock):
    busy_day(scene)
    today = scene.shift(day=TOMORROW - timedelta(days=1), title="晨间值守", start=time(9), end=time(10),
                        service=None, max_people=1)
    scene.roster(today, scene.staff[2])  # full, and over once the clock passes 10:00
    clock.set(clock.now() + timedelta(hours=2))
    login(client, scene.nursery_manager)
    page = chinese(text(client.get(f"/partners/points/{scene.point.id}/shifts?week=2026-12-02")))
    assert f"{scene.point.name}：排班，2026年11月30日 至 2026年12月6日" in page
    assert "星期三 2026年12月2日" in page and "2026年12月2日的到场名单（谁会来、谁在值班）" in page
    assert "已有 1 人，需要 2 至 3 人" in page and "人手不足：还需 1 人。" in page
    assert "负责托小班" in page and "已结束" in page and "添加志愿者" in page and "添加工作人员" in page
    assert f"移除{scene.staff[0].name}" in page and "安排班次" in page and "保存班次" in page
    assert "只有工作人员计入托育班级的师幼比。" in page and "整个服务点（不限班级）" in page


def test_the_shifts_page_reads_in_chinese_for_staff(client, scene):
    busy_day(scene)
    login(client, scene.staff[0])
    page = chinese(text(client.get(f"/partners/points/{scene.point.id}/shifts?week=2026-12-02")))
    assert "早班保育" in page and "安排班次" not in page and "没有班次。" in page


def test_the_shift_form_and_the_deletion_page_read_in_chinese(client, scene):
    shift = scene.shift()
    scene.roster(shift, scene.staff[0], scene.staff[1])
    empty = scene.shift(title="午班", start=time(13), end=time(17))
    login(client, scene.nursery_manager)
    edit = chinese(text(client.get(f"/partners/shifts/{shift.id}/edit")))
    assert "修改班次“早班保育”" in edit and "删除班次“早班保育”" in edit and "返回那一周的排班" in edit
    confirm = chinese(text(client.get(f"/partners/shifts/{shift.id}/delete")))
    assert "删除班次“早班保育”？" in confirm and "此操作无法撤销。" in confirm
    assert "2026年12月2日 08:00–12:00" in confirm and "是的，删除" in confirm and "不，保留" in confirm
    assert "暂无人员" in chinese(text(client.get(f"/partners/shifts/{empty.id}/delete")))
    page = follow(client, client.post(f"/partners/shifts/{shift.id}/delete"))
    assert "班次“早班保育”已删除。" in chinese(page)


def test_planning_a_shift_and_putting_people_on_it_reads_in_chinese(client, scene):
    login(client, scene.nursery_manager)
    url = f"/partners/points/{scene.point.id}/shifts?week=2026-12-02"
    data = {"day": "2026-12-02", "start_time": "08:00", "end_time": "12:00", "role": "staff", "title": "早班",
            "min_people": "1", "max_people": "1", "service_id": str(scene.toddlers.id)}
    page = chinese(follow(client, client.post(url, data=data)))
    assert "2026年12月2日的班次“早班”已安排好。" in page
    shift = db.session.scalars(sa.select(Shift)).one()
    page = chinese(follow(client, client.post(f"/partners/shifts/{shift.id}/assign",
                                              data={"person": f"user:{scene.staff[0].id}"})))
    assert f"{scene.staff[0].name}已加入班次“早班”。" in page and "这个班次人数已满。" in page
    page = chinese(follow(client, client.post(f"/partners/shifts/{shift.id}/edit", data={**data, "title": "早班2"})))
    assert "班次“早班2”已修改。" in page


# --- refused shift submissions ---

SHIFT = {"day": "2026-12-02", "start_time": "08:00", "end_time": "12:00", "role": "staff", "title": "早班",
         "min_people": "1", "max_people": "1"}


@pytest.mark.parametrize("changes, status, message", [
    ({"day": "2026-11-30"}, 422, "这个班次的时间已经过去了，只能安排今天或以后的班次。"),
    ({"max_people": "0"}, 400, "请填写 1 到 100 之间的数字。"),
    ({"min_people": "3", "max_people": "2"}, 400, "最多人数不能少于最少需要人数。"),
    ({"title": "", "day": ""}, 400, "请填写班次名称。"),
    ({"end_time": "07:00"}, 400, "班次的结束时间必须晚于开始时间（同一天内）。"),
    ({"day": "2028-12-02"}, 400, "排班最多只能提前一年安排。"),
])
def test_refused_shift_input_is_explained_in_chinese(client, scene, changes, status, message):
    login(client, scene.nursery_manager)
    response = client.post(f"/partners/points/{scene.point.id}/shifts", data={**SHIFT, **changes})
    assert response.status_code == status
    assert message in chinese(text(response))
    assert count(Shift) == 0


def test_refused_assignments_are_explained_in_chinese(client, scene):
    other = scene.shift(title="早班A", point=scene.second_point, service=None)
    scene.roster(other, scene.staff[0])
    shift = scene.shift(title="早班B", max_people=1)
    scene.roster(shift, scene.staff[1])
    clash = scene.shift(title="早班C", service=None)
    login(client, scene.nursery_manager)
    page = chinese(follow(client, client.post(f"/partners/shifts/{clash.id}/assign",
                                              data={"person": f"user:{scene.staff[0].id}"})))
    assert (f"{scene.staff[0].name}已在2026年12月2日 08:00-12:00 在艺涵托育园二部的班次“早班A”上，"
            "与这个班次时间重叠。") in page
    page = chinese(follow(client, client.post(f"/partners/shifts/{shift.id}/assign",
                                              data={"person": f"user:{scene.staff[2].id}"})))
    assert "这个班次的人数已满（最多 1 人）。" in page
    page = chinese(follow(client, client.post(f"/partners/shifts/{clash.id}/assign", data={"person": ""})))
    assert "请选择由谁来值这个班次。" in page
    page = chinese(follow(client, client.post(f"/partners/shifts/{shift.id}/assign",
                                              data={"person": f"user:{scene.staff[1].id}"})))
    assert f"{scene.staff[1].name}已在这个班次上。" in page
    assert count(ShiftAssignment) == 2


def test_a_change_that_would_leave_people_over_is_refused_in_chinese(client, scene):
    shift = scene.shift(max_people=3)
    scene.roster(shift, scene.staff[0], scene.staff[1])
    login(client, scene.nursery_manager)
    response = client.post(f"/partners/shifts/{shift.id}/edit",
                           data={**SHIFT, "title": "早班保育", "max_people": "1", "role": "staff"})
    assert response.status_code == 422 and "这个班次已有 2 人，最多人数不能比这更少。" in chinese(text(response))
    response = client.post(f"/partners/shifts/{shift.id}/edit", data={**SHIFT, "role": "volunteer"})
    assert "要更改由谁值班，请先把这个班次上的人员移除。" in chinese(text(response))


# --- volunteers ---

def test_the_volunteers_page_reads_in_chinese(client, scene):
    with write_transaction():
        gone = shifts.add_volunteer(partner_id=scene.partner_id, name="志愿者老周", by=scene.nursery_manager,
                                    now=scene.now)
        db.session.get(Volunteer, gone.id).active = False
    login(client, scene.nursery_manager)
    url = f"/partners/{scene.partner_id}/volunteers"
    page = chinese(text(client.get(url)))
    assert "艺涵托育园：志愿者" in page and "志愿者小赵" in page and "13911112222" in page
    assert "未留电话" in page and "已停止服务" in page and "添加志愿者" in page
    page = chinese(follow(client, client.post(url, data={"name": "小孙", "phone": "13922223333"})))
    assert "已添加小孙。" in page
    response = client.post(url, data={"name": "", "phone": ""})
    assert response.status_code == 400 and "请填写志愿者的姓名。" in chinese(text(response))


def test_a_partner_without_volunteers_reads_in_chinese(client, scene):
    login(client, scene.care_centre_manager)
    page = chinese(text(client.get(f"/partners/{scene.care_centre_manager.partner_id}/volunteers")))
    assert "还没有志愿者。" in page


# --- the partner dashboard's roster part ---

def roster_part(dashboard: str) -> str:
    """The dashboard's roster part: from its heading to the heading of the next part (or the end)."""
    start = dashboard.index('<h2 id="rosters">')
    following = re.search(r"<h2[\s>]", dashboard[start + 4:])
    return dashboard[start:start + 4 + following.start()] if following else dashboard[start:]


@pytest.mark.parametrize("who", ["nursery_manager", "staff"])
def test_the_dashboards_roster_part_reads_in_chinese(client, scene, who):
    busy_day(scene)
    login(client, scene.nursery_manager if who == "nursery_manager" else scene.staff[0])
    dashboard = text(client.get(f"/partners/{scene.partner_id}"))
    part = chinese(roster_part(dashboard))
    assert "到场名单与排班" in part and "今天的到场名单" in part and "打印明天的到场名单" in part
    assert "未来一周有 1 个班次人手不足：" in part and "人手不足，还需 1 人" in part
    assert f"午餐协助</a>，2026年12月2日 11:00–13:00，{scene.point.name}：" in part
    if who == "nursery_manager":
        assert "安排本周排班" in part and ">志愿者</a>" in part
    else:
        assert "本周排班" in part and "安排本周排班" not in part
