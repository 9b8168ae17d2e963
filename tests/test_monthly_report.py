"""The monthly service statistics report: every number of the page and of the xlsx, on a known month.

November 2026 in Asia/Shanghai, seen on the tests' clock (Tuesday 1 December 2026, 09:00). Two communities:
A (旭日天都社区: 李家 and 张家) and B (汀棠社区: 陈家). Ages on 30 November, the month's last day:

    A  e65 (65), e70 (70 on 30 Nov itself), c2 (2 years)      李家
    A  e85 (85), edec (69; 70 on 1 Dec)                        张家
    B  e72 (72), c4 (4 years), c1 (22 months)                  陈家

Served (local start of the slot decides the month):
    day care  2 Nov  e65 in and out, e70 in, e85 a no-show, e72 cancelled
              16 Nov e65 in, e72 in
              23 Nov e85 booked, never came (not marked: still not served, day care checks people in)
    lunch     10 Nov e65 booked, not checked in (a meal served all the same), e85 in, edec cancelled
    nursery   5 Nov  c2 in
    reading   31 Oct 23:30 e65 in (October)       1 Nov 00:30 c4 and edec in (November)
              30 Nov 23:30 c4 in (November)       1 Dec 00:30 c4 in (December)
New enrolments: e85 day care 31 Oct 23:50 (October), e65 day care 3 Nov, e70 day care 4 Nov (ended 20 Nov),
    e72 lunch 30 Nov 23:50, c2 nursery 1 Dec 00:10 (December).
Waiting lists, slots after the month:
    day care 2 Dec, 1 place: e85 has it (20 Nov); e65 waits (21 Nov), e72 waits (22 Nov), e70 waits (23 Nov)
              and leaves (29 Nov); e85 cancels 1 Dec 00:30 and e65 is promoted; edec joins 1 Dec 00:40
    lunch 2 Dec, 1 place: edec has it, e72 waits
    nursery 3 Dec, 1 place (offer policy): c1 has it, c2 waits, c1 cancels 25 Nov: c2 offered (not waiting)
    reading 30 Nov 20:00, 1 place: c4 has it, edec waits (the slot started before the month's end: not counted)
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from careapp.booking import engine
from careapp.core.db import db, write_transaction
from careapp.coverage.monthly import monthly_statistics, monthly_workbook, tables
from careapp.district.models import Building, Community, Grid
from careapp.enrolments.services import end, enrol
from careapp.households.models import CareRecipient, RecipientKind
from careapp.households.services import add_recipient
from careapp.core.months import Month
from careapp.pages import LABELS
from careapp.partners.models import ServiceKind, Slot
from careapp.partners.services import create_slot
from tests.conftest import SHANGHAI, START
from tests.factories import PartnerSetup, World, make_family
from tests.page_helpers import login, text

A, B = "旭日天都社区", "汀棠社区"
DAYCARE, MEAL, CHILDCARE, ACTIVITY = "Day care", "Meal help", "Childcare", "Activity or reading room"
ELDER_BANDS = ("Elder: under 70", "Elder: 70–79", "Elder: 80 and over")
CHILD_BANDS = ("Child: under 3", "Child: 3–5", "Child: 6 and over")
SUNDAY = 6  # enrolments on Sundays, when none of these services has a slot: they book nothing here


def local(moment: str) -> datetime:
    return datetime.fromisoformat(moment).replace(tzinfo=SHANGHAI)


@dataclass
class Scene:
    world: World
    people: dict[str, CareRecipient]


class Timeline:
    """Acts of the month in order, each at its local time on the frozen clock."""

    def __init__(self, clock):
        self.clock = clock

    def at(self, moment: str) -> datetime:
        self.clock.set(local(moment))
        return self.clock.now()

    def slot(self, setup: PartnerSetup, service: str, starts: str, *, minutes: int = 180, capacity: int = 5) -> Slot:
        starts_at = local(starts)
        return create_slot(service_id=setup.services[service].id, starts_at=starts_at,
                           ends_at=starts_at + timedelta(minutes=minutes), capacity=capacity, by=setup.manager,
                           now=self.clock.now())


def build_november(clock) -> Scene:
    line = Timeline(clock)
    now = line.at("2026-10-25 09:00")
    world = World.build(now)
    with write_transaction():
        db.session.add(Building(grid=Grid(community=Community(name=B), name="汀苑网格"), name="汀苑3栋",
                                address="汀苑3栋", latitude=31.30, longitude=118.38))
    building_b = db.session.scalar(sa.select(Building).where(Building.name == "汀苑3栋"))
    chen = make_family(building_b, now, "陈家")
    families = {"李家": world.family, "张家": world.other_family, "陈家": chen}
    people = {}
    for family, name, kind, born in [("李家", "e65", "elder", "1961-05-01"), ("李家", "e70", "elder", "1956-11-30"),
                                     ("李家", "c2", "child", "2024-09-15"), ("张家", "e85", "elder", "1941-03-01"),
                                     ("张家", "edec", "elder", "1956-12-01"), ("陈家", "e72", "elder", "1954-06-01"),
                                     ("陈家", "c4", "child", "2022-05-01"), ("陈家", "c1", "child", "2025-01-15")]:
        people[name] = add_recipient(household_id=families[family].household.id, by=families[family].user, now=now,
                                     kind=RecipientKind(kind), name=name, birth_date=date.fromisoformat(born),
                                     ability_level=1 if kind == "elder" else None)
    user_of = {member: families[family].user for family, members in
               {"李家": ("e65", "e70", "c2"), "张家": ("e85", "edec"), "陈家": ("e72", "c4", "c1")}.items()
               for member in members}
    centre, nursery, academy = world.care_centre, world.nursery, world.academy

    def book(slot: Slot, *names: str) -> list[int]:
        return [engine.book(slot.id, people[name].id, by=user_of[name], now=clock.now()).booking.id for name in names]

    def cancel(booking_id: int, name: str) -> None:
        engine.cancel(booking_id, by=user_of[name], now=clock.now())

    def check_in(setup: PartnerSetup, *booking_ids: int) -> None:
        for booking_id in booking_ids:
            engine.check_in(booking_id, by=setup.staff, now=clock.now())

    def enrol_on_sundays(name: str, setup: PartnerSetup, service: str, **options) -> int:
        return enrol(people[name].id, setup.services[service].id, [SUNDAY], starts_on=clock.now().astimezone(
            SHANGHAI).date(), by=user_of[name], now=clock.now(), options=options or None).enrolment.id

    day_2, day_16, day_23 = (line.slot(centre, "日间照料", f"2026-11-{day} 08:30") for day in ("02", "16", "23"))
    lunch_10 = line.slot(centre, "午餐", "2026-11-10 11:30", minutes=90)
    nursery_5 = line.slot(nursery, "托小班", "2026-11-05 08:30")
    reading = [line.slot(academy, "图书阅览", starts, minutes=90) for starts in
               ("2026-10-31 23:30", "2026-11-01 00:30", "2026-11-30 23:30", "2026-12-01 00:30")]
    day_dec_2 = line.slot(centre, "日间照料", "2026-12-02 08:30", capacity=1)
    lunch_dec_2 = line.slot(centre, "午餐", "2026-12-02 11:30", minutes=90, capacity=1)
    nursery_dec_3 = line.slot(nursery, "托小班", "2026-12-03 08:30", capacity=1)
    reading_nov_30 = line.slot(academy, "图书阅览", "2026-11-30 20:00", minutes=90, capacity=1)

    d2 = dict(zip(("e65", "e70", "e85", "e72"), book(day_2, "e65", "e70", "e85", "e72")))
    d16 = book(day_16, "e65", "e72")
    book(day_23, "e85")
    l10 = dict(zip(("e65", "e85", "edec"), book(lunch_10, "e65", "e85", "edec")))
    n5 = book(nursery_5, "c2")
    r_oct_31, r_nov_1, r_nov_30, r_dec_1 = (book(reading[0], "e65"), book(reading[1], "c4", "edec"),
                                           book(reading[2], "c4"), book(reading[3], "c4"))
    cancel(d2["e72"], "e72")
    cancel(l10["edec"], "edec")

    line.at("2026-10-31 23:35")
    check_in(academy, *r_oct_31)
    line.at("2026-10-31 23:50")
    enrol_on_sundays("e85", centre, "日间照料")
    line.at("2026-11-01 00:35")
    check_in(academy, *r_nov_1)
    line.at("2026-11-02 08:35")
    check_in(centre, d2["e65"], d2["e70"])
    line.at("2026-11-02 11:00")
    engine.check_out(d2["e65"], by=centre.staff, now=clock.now())
    engine.mark_no_show(d2["e85"], by=centre.staff, now=clock.now())
    line.at("2026-11-03 10:00")
    enrol_on_sundays("e65", centre, "日间照料")
    line.at("2026-11-04 10:00")
    e70_enrolment = enrol_on_sundays("e70", centre, "日间照料")
    line.at("2026-11-05 08:35")
    check_in(nursery, *n5)
    line.at("2026-11-10 11:35")
    check_in(centre, l10["e85"])
    line.at("2026-11-16 08:35")
    check_in(centre, *d16)
    line.at("2026-11-20 10:00")
    end(e70_enrolment, by=user_of["e70"], now=clock.now())
    (e85_place,) = book(day_dec_2, "e85")
    (c1_place,) = book(nursery_dec_3, "c1")
    book(lunch_dec_2, "edec")
    line.at("2026-11-21 10:00")
    book(day_dec_2, "e65")
    book(nursery_dec_3, "c2")
    line.at("2026-11-22 10:00")
    book(day_dec_2, "e72")
    book(lunch_dec_2, "e72")
    line.at("2026-11-23 10:00")
    (e70_waiting,) = book(day_dec_2, "e70")
    line.at("2026-11-25 10:00")
    cancel(c1_place, "c1")
    book(reading_nov_30, "c4")
    line.at("2026-11-26 10:00")
    book(reading_nov_30, "edec")
    line.at("2026-11-29 10:00")
    cancel(e70_waiting, "e70")
    line.at("2026-11-30 23:35")
    check_in(academy, *r_nov_30)
    line.at("2026-11-30 23:50")
    enrol_on_sundays("e72", centre, "午餐", mode="dine_in")
    line.at("2026-12-01 00:10")
    enrol_on_sundays("c2", nursery, "托小班")
    line.at("2026-12-01 00:30")
    cancel(e85_place, "e85")
    line.at("2026-12-01 00:35")
    check_in(academy, *r_dec_1)
    line.at("2026-12-01 00:40")
    book(day_dec_2, "edec")
    clock.set(START)
    return Scene(world, people)


@pytest.fixture
def november(app, clock) -> Scene:
    return build_november(clock)


def band_rows(numbers: dict[tuple[str, str, str], tuple[int, int, int]]) -> list[tuple]:
    """Every kind x community x band the kind serves, in the report's order; ``numbers`` gives the non-zero."""
    shown = {DAYCARE: ELDER_BANDS, MEAL: ELDER_BANDS, CHILDCARE: CHILD_BANDS, ACTIVITY: ELDER_BANDS + CHILD_BANDS}
    return [(kind, community, band, *numbers.get((kind, community, band), (0, 0, 0)))
            for kind, bands in shown.items() for community in (A, B) for band in bands]


AT_END = "People waiting at month end"
NOVEMBER = {
    "summary": [("Service", "People served", "Services delivered", "New enrolments", AT_END),
                (DAYCARE, 3, 4, 2, 2),
                (MEAL, 2, 2, 1, 1),
                (CHILDCARE, 1, 1, 0, 0),
                (ACTIVITY, 2, 3, 0, 0),
                ("All services", 7, 10, 3, 2)],  # e72 waits for day care and lunch: one person
    "communities": [("Community", "People served", "Services delivered", "New enrolments", AT_END),
                    (A, 5, 7, 2, 1),
                    (B, 2, 3, 1, 1),
                    ("All communities", 7, 10, 3, 2)],
    "bands": [("Service", "Community", "Age band", "People served", "Services delivered", "New enrolments"),
              *band_rows({(DAYCARE, A, ELDER_BANDS[0]): (1, 2, 1),   # e65 twice, enrolled 3 Nov
                          (DAYCARE, A, ELDER_BANDS[1]): (1, 1, 1),   # e70: 69 on 2 Nov, 70 on the last day
                          (DAYCARE, B, ELDER_BANDS[1]): (1, 1, 0),   # e72
                          (MEAL, A, ELDER_BANDS[0]): (1, 1, 0),      # e65, booked and not checked in
                          (MEAL, A, ELDER_BANDS[2]): (1, 1, 0),      # e85
                          (MEAL, B, ELDER_BANDS[1]): (0, 0, 1),      # e72 enrolled 30 Nov 23:50
                          (CHILDCARE, A, CHILD_BANDS[0]): (1, 1, 0),  # c2
                          (ACTIVITY, A, ELDER_BANDS[0]): (1, 1, 0),  # edec, 69 until 1 Dec, on 1 Nov 00:30
                          (ACTIVITY, B, CHILD_BANDS[1]): (1, 2, 0)}),  # c4 on 1 Nov 00:30 and 30 Nov 23:30
              ("All services", "All communities", "All ages", 7, 10, 3)],
    "waiting": [("Service", "Community", AT_END),
                (DAYCARE, A, 1),  # e65, promoted only after the month's end
                (DAYCARE, B, 1),  # e72
                (MEAL, A, 0), (MEAL, B, 1),  # e72
                (CHILDCARE, A, 0), (CHILDCARE, B, 0),  # c2 was offered the place on 25 Nov
                (ACTIVITY, A, 0), (ACTIVITY, B, 0),  # edec waits for a slot that started on 30 Nov
                ("All services", "All communities", 2)],
}
SHEETS = {"summary": "Summary", "communities": "By community", "bands": "By age band", "waiting": "Waiting list"}


class PageTables(HTMLParser):
    """The report's tables on the page, as rows of cell text, by their data-table name."""

    def __init__(self, page: str):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.rows = self.cell = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        name = dict(attrs).get("data-table")
        if tag == "table" and name:
            self.rows = self.tables[name] = []
        elif tag == "tr" and self.rows is not None:
            self.rows.append([])
        elif tag in ("td", "th") and self.rows is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "table":
            self.rows = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def cells(rows: list[tuple]) -> list[list[str]]:
    return [[str(value) for value in row] for row in rows]


def as_text(expected: dict[str, list[tuple]]) -> dict[str, list[list[str]]]:
    return {name: cells(rows) for name, rows in expected.items()}


def sheet_rows(content: bytes) -> dict[str, list[tuple]]:
    """Each table's sheet from its header row (row 5) down."""
    book = load_workbook(BytesIO(content))
    return {name: list(book[sheet].iter_rows(min_row=5, values_only=True)) for name, sheet in SHEETS.items()}


def staff_client(client, scene: Scene):
    login(client, scene.world.community_staff)
    return client


# --- the numbers ---

def test_the_rule_gives_every_number_of_november(november):
    stats = monthly_statistics(Month(2026, 11), zone=SHANGHAI, now=START)
    assert stats.complete
    report = {table.key: [table.headers, *table.rows, table.total] for table in tables(stats, LABELS)}
    assert report == NOVEMBER


def test_the_page_shows_every_number_and_defaults_to_last_month(client, november):
    page = text(staff_client(client, november).get("/community/reports/monthly"))
    assert "Monthly service statistics: 赭麓街道, November 2026" in page
    assert PageTables(page).tables == as_text(NOVEMBER)
    assert 'href="/community/reports/monthly.xlsx?month=2026-11"' in page
    assert 'href="/community/reports/monthly?month=2026-12"' in page  # the month under way may be looked at


def test_the_xlsx_has_the_pages_numbers_as_numbers(client, november):
    response = staff_client(client, november).get("/community/reports/monthly.xlsx?month=2026-11")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "monthly-service-statistics-2026-11.xlsx" in response.headers["Content-Disposition"]
    assert sheet_rows(response.data) == NOVEMBER
    book = load_workbook(BytesIO(response.data))
    for sheet in book.worksheets:
        assert sheet["A1"].value == "Monthly service statistics: 赭麓街道, November 2026"
        assert sheet.freeze_panes == "A6"  # the header row stays in view
        assert sheet.cell(row=5, column=1).font.bold and sheet.cell(row=sheet.max_row, column=1).font.bold
        assert all(sheet.column_dimensions[letter].width >= 10 for letter in "ABC")
    assert isinstance(book["Summary"]["B6"].value, int)


def test_the_zone_decides_the_month(november):
    in_shanghai = monthly_statistics(Month(2026, 11), zone=SHANGHAI, now=START)
    in_utc = monthly_statistics(Month(2026, 11), zone=ZoneInfo("UTC"), now=START)
    # 1 Nov 00:30 and 1 Dec 00:30 in Shanghai are 31 Oct and 30 Nov in UTC: c4 and edec on 1 Nov drop out,
    # c4 on 1 Dec comes in.
    assert (in_shanghai.people_served(ServiceKind.activity), in_shanghai.services(ServiceKind.activity)) == (2, 3)
    assert (in_utc.people_served(ServiceKind.activity), in_utc.services(ServiceKind.activity)) == (1, 2)
    # In UTC e85's enrolment (31 Oct 23:50 in Shanghai) is still October, c2's (1 Dec 00:10) is November.
    assert (in_shanghai.new_enrolments(), in_utc.new_enrolments()) == (3, 4)


def test_the_month_under_way_counts_so_far_and_the_waiting_list_now(client, november):
    page = text(staff_client(client, november).get("/community/reports/monthly?month=2026-12"))
    found = PageTables(page).tables
    assert found["summary"] == cells([
        ("Service", "People served", "Services delivered", "New enrolments", "People waiting now"),
        (DAYCARE, 0, 0, 0, 2),  # e72 and edec: e65 was promoted at 00:30
        (MEAL, 0, 0, 0, 1),
        (CHILDCARE, 0, 0, 1, 0),  # c2 enrolled at 00:10
        (ACTIVITY, 1, 1, 0, 0),  # c4 at 00:30
        ("All services", 1, 1, 1, 2)])
    assert "This month is not over" in page and "2026-12-01 09:00" in page
    assert 'href="/community/reports/monthly?month=2027-01"' not in page  # no next month yet


def test_six_queries_however_much_data(app, november):
    def count_queries() -> int:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            monthly_statistics(Month(2026, 11), zone=SHANGHAI, now=START)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    assert count_queries() == 6
    db.session.rollback()


# --- words from users, bad months, who may see it ---

def test_names_that_look_like_formulas_stay_words(client, world):
    with write_transaction():
        db.session.add(Community(name="=HYPERLINK(\"http://evil.example\")"))
    stats = monthly_statistics(Month(2026, 11), zone=SHANGHAI, now=START)
    book = load_workbook(BytesIO(monthly_workbook(stats, tables(stats, LABELS), sub_district="赭麓街道")))
    names = [row[0] for row in book["By community"].iter_rows(min_row=6, values_only=True)]
    assert "'=HYPERLINK(\"http://evil.example\")" in names
    assert all(cell.data_type != "f" for sheet in book.worksheets for row in sheet.iter_rows() for cell in row)


@pytest.mark.parametrize("month", ["2026-13", "abc", "2026-1", "1999-12", "2027-01", "2026-12-01", "x" * 5000])
def test_a_bad_or_future_month_is_a_clear_400(client, world, month):
    login(client, world.community_staff)
    for url in ("/community/reports/monthly", "/community/reports/monthly.xlsx"):
        response = client.get(url, query_string={"month": month})
        assert response.status_code == 400
        assert "month" in text(response)


@pytest.mark.parametrize("who, status", [("family", 403), ("partner staff", 403), ("community staff", 200),
                                         ("admin", 200)])
def test_only_community_staff_and_admins_see_the_report(client, world, who, status):
    users = {"family": world.family.user, "partner staff": world.care_centre.staff,
             "community staff": world.community_staff, "admin": world.admin}
    login(client, users[who])
    for url in ("/community/reports/monthly", "/community/reports/monthly.xlsx"):
        assert client.get(url).status_code == status


def test_anonymous_is_sent_to_log_in(client, world):
    response = client.get("/community/reports/monthly.xlsx?month=2026-11")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
