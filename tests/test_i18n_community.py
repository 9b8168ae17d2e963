"""The community staff's and the administrator's pages read in Chinese: the partners overview, booking for a
resident, the grid ledger import (with a refused file's row errors), the coverage dashboard and map, the monthly
report and the scheduler's page; and their downloads have their column names in Chinese."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import openpyxl
import pytest

from careapp.booking import engine
from careapp.core.db import db, write_transaction
from careapp.coverage import map as coverage_map
from careapp.coverage import views as coverage_views
from careapp.district.importer import MAX_SHOWN_ERRORS
from careapp.district.models import Community, Grid
from careapp.notifications.models import (Channel, Delivery, DeliveryStatus, Notification, NotificationStatus,
                                          Topic)
from careapp.partners.models import PartnerOrganisation
from careapp.scheduler.jobs import JOBS
from careapp.scheduler.models import JobStatus, SchedulerLease
from careapp.scheduler.queries import describe
from careapp.scheduler.views import JOB_DESCRIPTIONS
from tests.api_helpers import bearer, call, error_of  # noqa: F401  (bearer: a fixture)
from tests.conftest import START
from tests.coverage_factories import WEEK, build_district
from tests.factories import make_slot
from tests.i18n_scan import english_in_page, english_words
from tests.page_helpers import follow, login, text
from tests.test_monthly_report import build_november

CHINESE_HEADER = ("社区", "网格", "楼栋", "地址", "纬度", "经度")
IMPORT = "/community/district/import"


@pytest.fixture
def app_config():
    return {"FIXED_LANGUAGE": "zh_CN"}


def chinese_page(client, url: str, status: int = 200, *words: str) -> str:
    """GET a page: its status, no English left on it, and ``words`` on it."""
    return no_english(client.get(url), status, *words)


def no_english(response, status: int, *words: str) -> str:
    page = text(response)
    assert response.status_code == status, page[:1000]
    assert english_in_page(response.get_data(as_text=True)) == []
    for word in words:
        assert word in page
    return page


# --- partners and booking for residents ---

@pytest.fixture
def staff(client, world):
    now = world.now
    full = make_slot(world.daycare, world.care_centre.manager, now, capacity=1)
    make_slot(world.daycare, world.care_centre.manager, now, days_ahead=2, capacity=3)
    first = world.family.add_elder(now, name="王奶奶")
    second = world.other_family.add_elder(now, name="张爷爷")
    engine.book(full.id, first.id, by=world.family.user, now=now)
    engine.book(full.id, second.id, by=world.other_family.user, now=now)  # the waiting list
    # The nursery offers a freed place to the next in line: a place offered.
    nursery = make_slot(world.nursery.services["托小班"], world.nursery.manager, now, capacity=1)
    taken = engine.book(nursery.id, world.family.add_child(now, name="小明").id, by=world.family.user, now=now)
    engine.book(nursery.id, world.other_family.add_child(now, name="小红").id, by=world.other_family.user, now=now)
    engine.cancel(taken.booking.id, by=world.family.user, now=now)
    with write_transaction():
        db.session.get(PartnerOrganisation, world.academy.partner.id).approved = False
    login(client, world.community_staff)
    return world


def test_the_partners_overview_and_a_partners_slots(client, staff):
    chinese_page(client, "/community/", 200, "合作机构及其服务", "为居民预约", "尚未审核通过", "即将到来的时段",
                 "候补 1 人", "空位邀请 1 个")
    chinese_page(client, f"/community/partners/{staff.care_centre.partner.id}", 200, "普康养老服务中心的时段",
                 "普康养老服务中心的服务和账号")


def test_adding_a_partner_refused_then_added(client, staff):
    chinese_page(client, "/community/partners/new", 200, "添加合作机构", "机构名称", "机构类型")
    refused = client.post("/community/partners/new", data={"name": "", "kind": "social_organisation"})
    no_english(refused, 400, "请填写名称。")
    added = client.post("/community/partners/new", data={"name": "新希望社会组织", "kind": "social_organisation"})
    assert added.status_code == 302
    assert "已添加新希望社会组织。下一步：添加服务点和机构管理员账号。" in follow(client, added)
    chinese_page(client, "/community/", 200, "新希望社会组织", "还没有服务。")


def test_finding_a_residents_household_with_and_without_results(client, staff):
    found = chinese_page(client, "/community/residents?q=栋", 200, "找到的家庭（2）", "为王奶奶预约", "为张爷爷预约")
    assert "李家" in found and "张家" in found
    chinese_page(client, "/community/residents?q=没有这家", 200, "找到的家庭（0）", "没有找到家庭")


def test_a_household_with_nobody_in_it(client, world):
    login(client, world.community_staff)
    chinese_page(client, "/community/residents?q=李家", 200, "还没有添加家庭成员", "添加家庭成员")


def test_booking_for_a_member(client, staff):
    member = staff.family.household.members[0]
    page = chinese_page(client, f"/community/residents/members/{member.id}", 200, "为王奶奶预约",
                        "为王奶奶排队候补", "候补名单 1 人")
    assert "剩余名额 <strong>3</strong> / 3" in page


def test_booking_for_a_member_with_no_slot_to_book(client, world):
    child = world.family.add_child(world.now, name="小明")
    login(client, world.community_staff)
    chinese_page(client, f"/community/residents/members/{child.id}", 200, "目前没有适合小明的可预约时段。")


# --- the grid ledger import ---

def ledger_csv(rows) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def upload(client, content: bytes, filename: str = "台账.csv"):
    return client.post(IMPORT, data={"file": (io.BytesIO(content), filename)}, content_type="multipart/form-data")


def test_the_import_page_and_a_refused_ledger(client, world):
    login(client, world.community_staff)
    chinese_page(client, IMPORT, 200, "导入网格台账", "各列说明", "社区（<code>community</code>）", "模板（.xlsx）",
                 "最大 10 M。")
    rows = [CHINESE_HEADER,
            ("旭日天都社区", "", "一组团2栋", "", 31.3, 118.3),
            ("旭日天都社区", "一组团网格", "一组团4栋", "", "31,34", -181),
            ("旭日天都社区", "一组团网格", "一组团4栋", "", 31.3, 118.3),
            ("旭日天都社区", "一组团网格", "一组团4栋", "", 31.3, 118.3),
            ("车站社区", "一组团网格", "一组团5栋", "", 31.3, 118.3),
            ("车站社区", "华联片区网格", "华联片区9栋", "", 31.3, "=B2*2")]
    page = no_english(upload(client, ledger_csv(rows)), 422, "需要改正的行", "未导入任何内容：有 5 行存在问题。")
    for error in ("第 2 行：“网格”为空。",
                  "第 3 行：“纬度”的值“31,34”不是数字。 “经度”的值“-181”不在 -180 到 180 之间。",
                  "第 5 行：一组团4栋（旭日天都社区，一组团网格）在第 4 行也出现过。",
                  "第 6 行：网格“一组团网格”在第 4 行属于旭日天都社区；一个网格只能属于一个社区。",
                  "第 7 行：“经度”是公式，请直接填写数值。"):
        assert error in page


def test_a_long_list_of_bad_rows_is_cut_short_in_chinese(client, world):
    login(client, world.community_staff)
    rows = [CHINESE_HEADER] + [("旭日天都社区", "一组团网格", f"{n}栋", "", 100, 118) for n in range(MAX_SHOWN_ERRORS + 3)]
    no_english(upload(client, ledger_csv(rows)), 422, "……另外还有 3 行。", f"第 {MAX_SHOWN_ERRORS + 1} 行")


@pytest.mark.parametrize("content, filename, message", [
    (b"", "ledger.csv", "文件是空的。"),
    (ledger_csv([("社区", "楼栋", "纬度", "经度"), ("旭日天都社区", "1栋", 31.3, 118.3)]), "a.csv",
     "表头（第 1 行）缺少这些列：网格。"),
    (ledger_csv([("社区", "网格", "楼栋", "网格", "纬度", "经度")]), "a.csv", "第 1 行有两个“网格”列（B 列和 D 列）"),
    (b"\x00" * 10, "ledger.xls", "请选择 .xlsx 或 .csv 文件"),
])
def test_files_that_cannot_be_imported(client, world, content, filename, message):
    login(client, world.community_staff)
    no_english(upload(client, content, filename), 400, message)


def test_an_imported_ledger_and_the_templates_in_chinese(client, world):
    login(client, world.community_staff)
    template = client.get("/community/district/template.csv")
    rows = list(csv.reader(io.StringIO(template.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == list(CHINESE_HEADER)
    done = upload(client, template.data, "模板.csv")
    assert "导入完成：新增社区 1 个，新增网格 2 个，新增楼栋 2 栋，更新楼栋 0 栋，未变 0 栋。" in follow(client, done)
    book = openpyxl.load_workbook(io.BytesIO(client.get("/community/district/template.xlsx").data))
    assert book.active.title == "楼栋"
    assert [cell.value for cell in book.active[1]] == list(CHINESE_HEADER)


# --- coverage ---

@pytest.fixture
def district(client, app):
    district = build_district(START)
    login(client, district.staff)
    return district


def test_the_coverage_dashboard_at_each_level(client, district):
    page = chinese_page(client, f"/community/coverage/?week={WEEK}", 200, "服务覆盖：赭麓街道", "居住人口",
                        "各类服务的服务圈覆盖", "老人和儿童", "服务圈外老人最多的网格", "服务圈外的楼栋", "在地图上查看")
    data = json.loads(re.search(r'id="coverage-chart-data">(.*?)</script>', page, re.S).group(1))
    assert data["words"] == {"percent_booked": "已预约名额占比（%）", "offered": "提供名额", "booked": "居民预约数",
                             "waitlisted": "候补居民数"}
    assert data["utilisation"]["series"][0]["label"] == "日间照料"
    community = district.communities["赭山社区"].id
    grid = district.grids["旭日天都网格"].id
    chinese_page(client, f"/community/coverage/?community_id={community}&week={WEEK}", 200, "服务覆盖：赭山社区")
    chinese_page(client, f"/community/coverage/?community_id={community}&grid_id={grid}&kind=daycare", 200,
                 "服务覆盖：旭日天都网格", "楼栋")


def test_the_coverage_of_an_area_that_every_kind_reaches(client, district, monkeypatch):
    monkeypatch.setattr(coverage_views, "CHART_GRIDS", 1)
    community = district.communities["汀棠社区"].id
    chinese_page(client, f"/community/coverage/?community_id={community}&kind=childcare", 200,
                 "这里的每位老人和儿童都住在各类服务的服务圈内。", "这里的每栋楼都在各类服务的服务圈内。")
    chinese_page(client, f"/community/coverage/?kind=daycare&week={WEEK}", 200, "需求最多的 1 个网格")
    chinese_page(client, f"/community/coverage/map?community_id={community}&kind=childcare", 200,
                 "这里的每栋楼都在所列各类服务的服务圈内。")


@pytest.mark.parametrize("query, message", [
    ("week=abc", "请按 2026-W49 的格式填写周。"),
    ("week=2026-W99", "请按“年份-周数”填写周，例如 2026-W49。"),
    ("kind=cinema", "选择"),
])
def test_a_bad_coverage_choice_is_explained_in_chinese(client, district, query, message):
    for url in ("/community/coverage/", "/community/coverage/map"):
        no_english(client.get(f"{url}?{query}"), 400, message)


def test_the_coverage_map_at_each_level(client, district, monkeypatch):
    page = chinese_page(client, "/community/coverage/map", 200, "服务覆盖地图：赭麓街道", "图例", "放大到社区",
                        "服务点用方形标记", "上方为北")
    assert ">北</text>" in page
    community = district.communities["赭山社区"].id
    grid = district.grids["旭日天都网格"].id
    chinese_page(client, f"/community/coverage/map?community_id={community}", 200, "放大到网格",
                 "在所列各类服务圈内的楼栋")
    chinese_page(client, f"/community/coverage/map?community_id={community}&grid_id={grid}", 200,
                 "旭日天都网格的数据")
    monkeypatch.setattr(coverage_map, "BUILDINGS_DRAWN", 1)
    chinese_page(client, "/community/coverage/map", 200, "太多，无法逐一画出", "有楼栋在某类服务圈外的网格")


def test_the_map_of_an_area_without_buildings(client, district):
    with write_transaction():
        empty = Community(name="新建社区")
        db.session.add_all([empty, Grid(community=empty, name="新网格")])
    chinese_page(client, f"/community/coverage/map?community_id={empty.id}", 200, "新建社区还没有楼栋。")


def test_the_coverage_downloads_have_chinese_columns(client, district):
    answer = client.get(f"/community/coverage/grids.csv?week={WEEK}")
    header = next(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert header[:4] == ["社区", "网格", "老人", "儿童"] and "日间照料：1000 米内人数" in header
    assert [word for column in header for word in english_words(column)] == []
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(f"/community/coverage/grids.xlsx?week={WEEK}").data)).active
    assert sheet.title == "各网格服务覆盖"
    assert sheet["A1"].value.endswith("各网格服务覆盖") and sheet["A2"].value.startswith(f"周次 {WEEK}")
    assert [cell.value for cell in sheet[4]] == header


# --- the monthly report ---

def test_the_monthly_report_and_its_spreadsheet(client, clock):
    scene = build_november(clock)
    login(client, scene.world.community_staff)
    chinese_page(client, "/community/reports/monthly?month=2026-11", 200, "月度服务统计：", "2026年11月",
                 "候补名单为月末时的情况", "按服务类型", "月末候补人数", "各项数字的含义")
    chinese_page(client, "/community/reports/monthly?month=2026-12", 200, "本月尚未结束", "当前候补人数")
    book = openpyxl.load_workbook(io.BytesIO(client.get("/community/reports/monthly.xlsx?month=2026-11").data))
    assert book.sheetnames == ["汇总", "按社区", "按年龄段", "候补名单"]
    for sheet in book.worksheets:
        assert sheet["A1"].value.startswith("月度服务统计：") and "2026年11月" in sheet["A1"].value
        assert sheet["A3"].value.startswith("统计月份 2026-11")
        assert [word for cell in sheet[5] for word in english_words(str(cell.value))] == []
    refused = client.get("/community/reports/monthly?month=2027-01")
    assert refused.status_code == 400 and "还没有开始" in text(refused)


# --- the scheduler's page ---

def add_outbox(world, now):
    slot = make_slot(world.daycare, world.care_centre.manager, now)
    with write_transaction():
        db.session.add_all([
            JobStatus(job_id="open_slots", runs=12, failures=0, last_started_at=now - timedelta(minutes=30),
                      last_finished_at=now - timedelta(minutes=30), last_count=7,
                      next_run_at=now - timedelta(minutes=1), ran_on="10.0.0.5:4242"),
            JobStatus(job_id="send_notifications", runs=40, failures=2, last_started_at=now - timedelta(seconds=20),
                      last_finished_at=now - timedelta(seconds=30), last_count=None, last_error="SMTP 421",
                      last_error_at=now - timedelta(seconds=19), next_run_at=now + timedelta(seconds=10),
                      ran_on="10.0.0.5:4242"),
            JobStatus(job_id="reminders", runs=3, failures=0, last_started_at=now - timedelta(seconds=50),
                      last_finished_at=now - timedelta(seconds=50), ran_on="10.0.0.5:4242"),
        ])
        for topic, status, reason in ((Topic.place_offered, NotificationStatus.active, None),
                                      (Topic.reminder, NotificationStatus.skipped, "the slot had already started"),
                                      (Topic.kitchen_sheet, NotificationStatus.skipped, None)):
            notification = Notification(topic=topic, kind=topic.value, slot_id=slot.id, service_id=slot.service_id,
                                        household_id=world.family.household.id, params={}, status=status,
                                        skip_reason=reason, created_at=now)
            db.session.add(notification)
            db.session.flush()
            if status == NotificationStatus.active:
                for channel, delivery_status, address in ((Channel.email, DeliveryStatus.failed, "li@例子.中国"),
                                                          (Channel.sms, DeliveryStatus.pending, "13812345678")):
                    db.session.add(Delivery(notification_id=notification.id, channel=channel,
                                            user_id=world.family.user.id, address=address, language="zh_CN",
                                            status=delivery_status, attempts=2, next_attempt_at=now,
                                            last_error="SMTP 550", created_at=now, updated_at=now))


def test_the_scheduler_page_with_a_running_scheduler_and_problems(client, world, clock):
    now = clock.now()
    add_outbox(world, now)
    with write_transaction():
        db.session.add(SchedulerLease(name="scheduler", holder="10.0.0.5:4242", epoch=3,
                                      acquired_at=now - timedelta(hours=2), renewed_at=now - timedelta(seconds=5),
                                      expires_at=now + timedelta(seconds=20)))
    login(client, world.admin)
    chinese_page(client, "/admin/scheduler", 200, "调度器和发件箱", "调度器正在 <strong>10.0.0.5:4242</strong> 上运行",
                 "每小时", "每 30 秒", "每 15 分钟", "从未运行", "（已逾期）", "失败", "完成：变更 7 项", "将再次尝试",
                 "时段已经开始", "未说明原因", "已跳过 2 条消息", "备餐单", "空位邀请", "电子邮件", "短信")


def test_the_scheduler_page_when_no_scheduler_runs(client, world, clock):
    now = clock.now()
    login(client, world.admin)
    chinese_page(client, "/admin/scheduler", 200, "没有正在运行的调度器。", "没有发送失败的消息", "没有跳过的消息。")
    with write_transaction():
        db.session.add(SchedulerLease(name="scheduler", holder="10.0.0.5:4242", epoch=1,
                                      acquired_at=now - timedelta(hours=2), renewed_at=now - timedelta(minutes=5),
                                      expires_at=now - timedelta(minutes=4)))
    chinese_page(client, "/admin/scheduler", 200, "上一台调度器 10.0.0.5:4242 已停止续期")


def test_the_pages_refuse_others_in_chinese(client, world):
    login(client, world.family.user)
    for url in ("/community/", "/community/coverage/", "/community/reports/monthly", "/admin/scheduler"):
        assert client.get(url).status_code == 403


def test_the_apis_refusals_are_in_chinese(client, world, bearer):
    for path, user in (("/coverage", world.family.user), ("/admin/scheduler", world.community_staff)):
        error = error_of(call(client, "GET", path, bearer(user)), 403)
        assert english_words(error["message"]) == [] and ("仅" in error["message"] or "只有" in error["message"])


def test_each_jobs_translated_description_is_its_docstring(app):
    """The page translates what the API gives as the job's docstring: the two must say the same in English."""
    app.config["FIXED_LANGUAGE"] = "en"
    with app.test_request_context():
        assert {job_id: str(JOB_DESCRIPTIONS[job_id]) for job_id in JOBS} == \
               {job_id: describe(job) for job_id, job in JOBS.items()}
