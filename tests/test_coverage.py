"""Coverage for community staff: every number of the dashboard, the API and the exports, on a district whose
distances and residents are known (tests/coverage_factories.py)."""
from __future__ import annotations

import csv
import io
from html.parser import HTMLParser
from math import cos, radians

import numpy as np
import pytest
from openpyxl import load_workbook

from careapp.config import from_environment
from careapp.core.db import db, write_transaction
from careapp.core.geo import EARTH_RADIUS_M, distance_m
from careapp.coverage.dashboard import Level, coverage, parse_week
from careapp.coverage.reach import Places
from careapp.core.errors import BadInput
from careapp.district.models import Building, Grid
from careapp.partners.models import PartnerOrganisation, Service, ServiceKind
from tests.factories import make_family
from tests.api_helpers import bearer, call, error_of  # noqa: F401  (bearer is a fixture)
from tests.conftest import START, SHANGHAI
from tests.coverage_factories import LAYOUT, MONDAY, P, WEEK, build_district, east_of, north_of
from tests.page_helpers import login
from tests.statements import count_statements

DAY, MEAL, CHILD, ACTIVITY = ServiceKind.daycare, ServiceKind.meal, ServiceKind.childcare, ServiceKind.activity


@pytest.fixture
def district(app):
    return build_district(START)


def run(app, **choice):
    return coverage(week=choice.pop("week", MONDAY), today=START.date(), zone=SHANGHAI,
                    radius_m=app.config["COVERAGE_RADIUS_M"], sub_district="赭麓街道", **choice)


def by_name(areas):
    return {area.name: area for area in areas}


# --- distances ---

def test_the_test_district_lies_where_its_description_says_on_the_great_circle():
    buildings = {name: place for grids in LAYOUT.values() for buildings in grids.values()
                 for name, place in buildings.items()}
    expected = {"一组团1栋": 900, "一组团3栋": 1100, "华联2栋": 990, "华联5栋": 1010}
    for name, metres in expected.items():
        assert distance_m(*P, *buildings[name]) == pytest.approx(metres, abs=0.01)
    # A flat map in degrees (forgetting that a degree of longitude shrinks with the cosine of the latitude)
    # would put 华联2栋 1,160 m away, out of reach: only the great circle puts it within 1,000 m.
    naive = abs(buildings["华联2栋"][1] - P[1]) * radians(1) * EARTH_RADIUS_M
    assert naive == pytest.approx(990 / cos(radians(P[0])), rel=1e-3) and naive > 1000


def test_the_spatial_index_gives_the_haversine_distance_on_real_coordinates():
    rng = np.random.default_rng(7)
    points = (31.2 + rng.random(50) * 0.3, 118.2 + rng.random(50) * 0.3)
    homes = (31.2 + rng.random(400) * 0.3, 118.2 + rng.random(400) * 0.3)
    index, metres = Places(*points).nearest(*homes)
    for i in range(400):
        truth = [distance_m(homes[0][i], homes[1][i], points[0][j], points[1][j]) for j in range(50)]
        assert index[i] == int(np.argmin(truth))
        assert metres[i] == pytest.approx(min(truth), abs=0.01)
    reach = Places(*points).reach(*homes, 1500)
    assert list(reach) == [m <= 1500 for m in metres]


def test_a_place_900_m_away_is_within_reach_and_one_1100_m_away_is_not():
    places = Places([P[0]], [P[1]])
    north = [north_of(P, 900), north_of(P, 1100), east_of(P, 999.9), east_of(P, 1000.1)]
    assert list(places.reach([lat for lat, _ in north], [lon for _, lon in north], 1000)) == [True, False, True, False]
    assert list(Places([], []).reach([P[0]], [P[1]], 1000)) == [False]


# --- the numbers ---

def test_the_sub_district_counts_people_by_band_and_who_lives_within_reach(app, district):
    cov = run(app)
    area = cov.scope_area
    assert (area.level, area.name, area.elders, area.children) == (Level.subdistrict, "赭麓街道", 8, 4)
    assert area.bands == {"elder_60": 3, "elder_70": 3, "elder_80": 2, "child_0": 1, "child_3": 2, "child_6": 1}
    # Day care and meals reach 一组团1栋 (900 m) and 华联2栋 (990 m): elders 65, 82 and 68.
    # The nursery class reaches only 汀苑3栋 (500 m from Q): its two children. The reading room serves elders
    # and children alike: 汀苑3栋's elder and two children.
    assert area.covered == {DAY: 3, MEAL: 3, CHILD: 2, ACTIVITY: 3}
    assert area.people(DAY) == 8 and area.people(CHILD) == 4 and area.people(ACTIVITY) == 12
    assert area.share(DAY) == pytest.approx(3 / 8) and area.share(ACTIVITY) == pytest.approx(3 / 12)
    assert area.uncovered_elders == 8 and area.uncovered_children == 2
    assert cov.radius_m == {DAY: 1000, MEAL: 1000, CHILD: 1000, ACTIVITY: 1000}


def test_the_week_counts_places_offered_booked_waiting_and_no_shows(app, district):
    cov = run(app)
    weekly = {figures.kind: figures for figures in cov.weekly}
    day = weekly[DAY]
    # Monday: 2 places, one checked in, one no-show. Wednesday: 2 places, both confirmed, one waiting.
    assert (day.offered, day.booked, day.attended, day.no_shows, day.residents_booked, day.waitlisted) == (4, 4, 1, 1, 4, 1)
    assert day.utilisation == 1.0 and day.no_show_rate == 0.5
    nursery = weekly[CHILD]
    assert (nursery.offered, nursery.booked, nursery.waitlisted) == (5, 1, 0)
    assert nursery.utilisation == pytest.approx(0.2) and nursery.no_show_rate is None
    assert weekly[MEAL].offered == 0 and weekly[MEAL].utilisation is None
    # The trend: W48 had 1 of 4 day-care places booked; weeks with no places have no utilisation.
    trend = dict(cov.trend)
    assert len(cov.trend) == 8 and cov.trend[-1][0] == MONDAY
    assert trend[MONDAY][DAY] == 1.0 and trend[MONDAY][CHILD] == pytest.approx(0.2)
    assert trend[parse_week("2026-W48", MONDAY)][DAY] == pytest.approx(0.25)
    assert trend[parse_week("2026-W47", MONDAY)][DAY] is None


def test_another_week_has_its_own_places(app, district):
    cov = run(app, week=parse_week("2026-W48", MONDAY))
    day = next(figures for figures in cov.weekly if figures.kind == DAY)
    assert (day.offered, day.booked, day.waitlisted, day.utilisation) == (4, 1, 0, 0.25)
    assert cov.scope_area.booked[DAY] == 1


def test_communities_count_places_where_the_point_stands_and_demand_where_people_live(app, district):
    communities = by_name(run(app).children_areas)
    assert list(communities) == ["汀棠社区", "赭山社区"]
    zheshan, tingtang = communities["赭山社区"], communities["汀棠社区"]
    assert (zheshan.elders, zheshan.children, tingtang.elders, tingtang.children) == (7, 2, 1, 2)
    assert zheshan.covered == {DAY: 3, MEAL: 3, CHILD: 0, ACTIVITY: 0}
    assert tingtang.covered == {DAY: 0, MEAL: 0, CHILD: 2, ACTIVITY: 3}
    assert zheshan.offered[DAY] == 4 and tingtang.offered[CHILD] == 5 and tingtang.offered[DAY] == 0
    assert (zheshan.booked[DAY], zheshan.waitlisted[DAY], tingtang.booked[CHILD]) == (4, 1, 1)
    assert zheshan.bands == {"elder_60": 2, "elder_70": 3, "elder_80": 2, "child_0": 1, "child_3": 1, "child_6": 0}


def test_a_community_drills_down_to_its_grids_and_a_grid_to_its_buildings(app, district):
    cov = run(app, community_id=district.communities["赭山社区"].id)
    assert cov.scope.level is Level.community and cov.scope_area.elders == 7
    grids = by_name(cov.children_areas)
    assert list(grids) == ["华联网格", "旭日天都网格"]
    xuri, hualian = grids["旭日天都网格"], grids["华联网格"]
    # P's nearest building is 一组团1栋 (900 m), so its places count in 旭日天都网格.
    assert (xuri.offered[DAY], xuri.booked[DAY], xuri.waitlisted[DAY]) == (4, 3, 0)
    assert (hualian.offered[DAY], hualian.booked[DAY], hualian.waitlisted[DAY]) == (0, 1, 1)
    assert (xuri.covered[DAY], hualian.covered[DAY]) == (2, 1)
    assert (xuri.uncovered_elders, hualian.uncovered_elders, hualian.uncovered_children) == (5, 2, 1)

    grid = run(app, grid_id=district.grids["旭日天都网格"].id)
    assert grid.scope.level is Level.grid and grid.scope.community_id == district.communities["赭山社区"].id
    buildings = by_name(grid.children_areas)
    assert list(buildings) == ["一组团1栋", "一组团3栋"]
    assert buildings["一组团1栋"].covered == {DAY: 2, MEAL: 2, CHILD: 0, ACTIVITY: 0}
    assert buildings["一组团3栋"].covered == {DAY: 0, MEAL: 0, CHILD: 0, ACTIVITY: 0}
    assert buildings["一组团1栋"].offered[DAY] == 4 and buildings["一组团3栋"].booked[DAY] == 2
    assert all(area.level is Level.building for area in grid.children_areas)


def test_uncovered_buildings_come_most_affected_first_with_the_kinds_missing(app, district):
    cov = run(app)
    listed = [(b.name, b.elders, b.children, b.kinds, b.affected) for b in cov.uncovered]
    assert listed == [
        ("一组团1栋", 2, 1, [CHILD, ACTIVITY], 3),
        ("一组团3栋", 3, 0, [DAY, MEAL, CHILD, ACTIVITY], 3),
        ("华联5栋", 1, 1, [DAY, MEAL, CHILD, ACTIVITY], 2),
        ("华联2栋", 1, 0, [CHILD, ACTIVITY], 1),
        ("汀苑3栋", 1, 2, [DAY, MEAL], 1),
    ]
    assert cov.uncovered_total == 5
    assert [(grid.name, grid.uncovered_elders) for grid in cov.ranked_grids()] == [
        ("旭日天都网格", 5), ("华联网格", 2), ("汀苑网格", 1)]


def test_one_kind_narrows_every_figure_to_it(app, district):
    cov = run(app, kind=DAY)
    assert cov.kinds == [DAY] and cov.scope_area.covered == {DAY: 3}
    assert [(b.name, b.kinds) for b in cov.uncovered] == [
        ("一组团3栋", [DAY]), ("华联5栋", [DAY]), ("汀苑3栋", [DAY])]
    assert cov.scope_area.uncovered_elders == 5 and cov.scope_area.uncovered_children == 0


def test_the_radius_is_a_setting_per_kind(app, district):
    app.config["COVERAGE_RADIUS_M"] = {**app.config["COVERAGE_RADIUS_M"], "daycare": 1200}
    cov = run(app)
    assert cov.radius_m[DAY] == 1200 and cov.scope_area.covered[DAY] == 7  # all of 赭山社区's elders
    assert cov.scope_area.covered[MEAL] == 3
    env = from_environment("/tmp", {"CAREAPP_COVERAGE_RADIUS_MEAL_M": "500", "CAREAPP_SECRET_KEY": "x"})
    assert env["COVERAGE_RADIUS_M"] == {"daycare": 1000, "meal": 500, "childcare": 1000, "activity": 1000}
    with pytest.raises(SystemExit, match="CAREAPP_COVERAGE_RADIUS_MEAL_M"):
        from_environment("/tmp", {"CAREAPP_COVERAGE_RADIUS_MEAL_M": "near", "CAREAPP_SECRET_KEY": "x"})


def test_only_active_services_of_approved_partners_cover(app, district):
    with write_transaction():
        db.session.get(Service, district.services["daycare"].id).active = False
        db.session.get(PartnerOrganisation, district.services["reading"].partner_id).approved = False
    covered = run(app).scope_area.covered
    assert covered == {DAY: 0, MEAL: 3, CHILD: 0, ACTIVITY: 0}


def test_bad_choices_are_refused_clearly(app, district):
    with pytest.raises(BadInput):
        run(app, community_id=district.communities["汀棠社区"].id, grid_id=district.grids["旭日天都网格"].id)
    for text in ("2026-W60", "week 49", "1850-W01", "9999-W52"):
        with pytest.raises(BadInput):
            parse_week(text, MONDAY)
    assert parse_week("", MONDAY) == MONDAY and parse_week("2026-w49", START.date()) == MONDAY


def test_an_empty_district_has_no_one_and_nothing_uncovered(app):
    cov = run(app)
    assert (cov.scope_area.elders, cov.scope_area.children, cov.uncovered, cov.children_areas) == (0, 0, [], [])


def test_the_dashboard_reads_a_constant_number_of_statements(app, client, district):
    login(client, district.staff)

    def statements() -> int:
        with count_statements() as seen:
            assert client.get("/community/coverage/").status_code == 200
        return len(seen)

    before = statements()
    with write_transaction():
        grid = Grid(community_id=district.communities["汀棠社区"].id, name="新网格")
        buildings = [Building(grid=grid, name=f"新楼{i}", address="x", latitude=31.3 + i / 1000, longitude=118.38)
                     for i in range(20)]
        db.session.add_all([grid, *buildings])
    for building in buildings[:5]:
        family = make_family(building, START, f"{building.name}家")
        family.add_elder(START, name=f"{building.name}老人")
        family.add_child(START, name=f"{building.name}孩子", months=30)
    assert statements() == before


# --- the pages, API and exports show the same numbers ---

class Tables(HTMLParser):
    """Every table of a page as rows of cell texts."""

    def __init__(self):
        super().__init__()
        self.tables, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables_of(response) -> list[list[list[str]]]:
    parser = Tables()
    parser.feed(response.get_data(as_text=True))
    return parser.tables


def test_the_dashboard_page_shows_every_number(app, client, district):
    login(client, district.staff)
    response = client.get(f"/community/coverage/?week={WEEK}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    bands, reach, week, areas, trend, demand, uncovered = tables_of(response)
    assert bands == [["Elder, under 70", "Elder, 70–79", "Elder, 80 and over", "Child, under 3", "Child, 3–5",
                      "Child, 6 and over"], ["3", "3", "2", "1", "2", "1"]]
    assert reach[1:] == [["Day care", "Elders", "8", "3", "38%"], ["Meal help", "Elders", "8", "3", "38%"],
                         ["Childcare", "Children", "4", "2", "50%"],
                         ["Activity or reading room", "Elders and children", "12", "3", "25%"]]
    assert week[1] == ["Day care", "4", "4", "100%", "4", "1", "50%"]
    assert week[3] == ["Childcare", "5", "1", "20%", "1", "0", "—"]
    assert areas[2] == ["赭山社区", "7", "2", "3 (43%)", "3 (43%)", "0 (0%)", "0 (0%)", "4 / 4 / 1", "0 / 0 / 0",
                        "0 / 0 / 0", "0 / 0 / 0", "7", "2"]
    assert trend[-2][:2] == ["2026-11-23", "25%"] and trend[-1][:2] == ["2026-11-30", "100%"]
    # The grids with the most demand first.
    assert demand[1:] == [["旭日天都网格", "4", "3", "0"], ["华联网格", "0", "1", "1"], ["汀苑网格", "5", "1", "0"]]
    assert [row[0] for row in uncovered[1:]] == ["一组团1栋", "一组团3栋", "华联5栋", "华联2栋", "汀苑3栋"]
    assert uncovered[2][4] == "Day care, Meal help, Childcare, Activity or reading room"
    assert "旭日天都网格</a>\n      (赭山社区):\n      <strong>5</strong> elders" in page
    assert 'id="coverage-chart-data"' in page and "chart.umd.min.js" in page and "<script>" not in page


def test_the_dashboard_drills_down_and_keeps_the_week_and_kind(app, client, district):
    login(client, district.staff)
    community = district.communities["赭山社区"].id
    grid = district.grids["旭日天都网格"].id
    page = client.get("/community/coverage/?kind=daycare&week=2026-W48").get_data(as_text=True)
    assert f"/community/coverage/?week=2026-W48&amp;kind=daycare&amp;community_id={community}" in page
    response = client.get(f"/community/coverage/?community_id={community}&grid_id={grid}&kind=daycare")
    assert response.status_code == 200
    buildings = tables_of(response)[3]
    assert buildings[1:] == [["一组团1栋", "2", "1", "2 (100%)", "4 / 1 / 0", "0", "0"],
                             ["一组团3栋", "3", "0", "0 (0%)", "0 / 2 / 0", "3", "0"]]


@pytest.mark.parametrize("query, status", [
    ("week=2026-W60", 400), ("week=<script>", 400), ("kind=spa", 400), ("grid_id=abc", 400),
    ("grid_id=99999", 400), ("community_id=99999", 400), ("week=9999-W52", 400)])
def test_bad_choices_get_a_page_with_the_reason(app, client, district, query, status):
    login(client, district.staff)
    response = client.get(f"/community/coverage/?{query}")
    assert response.status_code == status
    assert "field-error" in response.get_data(as_text=True)


def test_families_and_partners_may_not_see_coverage(app, client, district):
    login(client, district.families["一组团1栋"].user)
    assert client.get("/community/coverage/").status_code == 403
    assert client.get("/community/coverage/grids.xlsx").status_code == 403


def test_the_api_gives_the_same_numbers(app, client, district, bearer):
    answer = call(client, "GET", f"/coverage?week={WEEK}", bearer(district.staff))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["week"] == WEEK
    assert body["radius_m"] == {"daycare": 1000, "meal": 1000, "childcare": 1000, "activity": 1000}
    top, tingtang, zheshan = body["areas"]
    assert top == {"id": None, "name": "赭麓街道", "level": "subdistrict", "elders": 8, "children": 4,
                   "age_bands": {"elder_60": 3, "elder_70": 3, "elder_80": 2, "child_0": 1, "child_3": 2, "child_6": 1},
                   "covered": {"daycare": 3, "meal": 3, "childcare": 2, "activity": 3},
                   "offered": {"daycare": 4, "meal": 0, "childcare": 5, "activity": 0},
                   "booked": {"daycare": 4, "meal": 0, "childcare": 1, "activity": 0},
                   "waitlisted": {"daycare": 1, "meal": 0, "childcare": 0, "activity": 0},
                   "uncovered_elders": 8, "uncovered_children": 2}
    assert (tingtang["name"], tingtang["level"], zheshan["name"]) == ("汀棠社区", "community", "赭山社区")
    assert zheshan["covered"]["daycare"] == 3 and zheshan["waitlisted"]["daycare"] == 1
    assert body["uncovered_buildings"][0] == {"id": district.buildings["一组团1栋"].id, "name": "一组团1栋",
                                              "grid_id": district.grids["旭日天都网格"].id, "elders": 2, "children": 1,
                                              "kinds": ["childcare", "activity"]}
    assert body["uncovered_buildings_total"] == 5


def test_the_api_narrows_to_a_grid_and_a_kind(app, client, district, bearer):
    grid = district.grids["华联网格"]
    body = call(client, "GET", f"/coverage?grid_id={grid.id}&kind=daycare", bearer(district.staff)).get_json()
    assert [(area["name"], area["level"]) for area in body["areas"]] == [
        ("华联网格", "grid"), ("华联2栋", "building"), ("华联5栋", "building")]
    assert body["areas"][0]["covered"] == {"daycare": 1} and body["radius_m"] == {"daycare": 1000}
    assert [(b["name"], b["kinds"]) for b in body["uncovered_buildings"]] == [("华联5栋", ["daycare"])]


def test_the_api_refuses_clearly(app, client, district, bearer):
    staff = bearer(district.staff)
    error_of(call(client, "GET", "/coverage", bearer(district.families["华联2栋"].user)), 403, "forbidden")
    error_of(call(client, "GET", "/coverage?grid_id=999", staff), 404)
    error_of(call(client, "GET", "/coverage?week=2026-W60", staff), 400, "bad_week")
    error_of(call(client, "GET", "/coverage?week=49", staff), 400, "bad_input")
    error_of(call(client, "GET", "/coverage?kind=spa", staff), 400, "bad_input")
    mismatch = f"/coverage?community_id={district.communities['汀棠社区'].id}&grid_id={district.grids['华联网格'].id}"
    error_of(call(client, "GET", mismatch, staff), 400, "grid_not_in_community")


def test_the_grid_exports_hold_the_page_numbers(app, client, district):
    login(client, district.staff)
    page_rows = tables_of(client.get(f"/community/coverage/?week={WEEK}"))[3]
    csv_answer = client.get(f"/community/coverage/grids.csv?week={WEEK}")
    assert csv_answer.headers["Content-Disposition"] == f'attachment; filename="coverage-subdistrict-{WEEK}.csv"'
    rows = list(csv.reader(io.StringIO(csv_answer.get_data(as_text=True).lstrip("\ufeff"))))
    xlsx_answer = client.get(f"/community/coverage/grids.xlsx?week={WEEK}")
    assert xlsx_answer.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(xlsx_answer.data)).active
    sheet_rows = [list(row) for row in sheet.iter_rows(min_row=4, values_only=True)]
    assert sheet_rows[0] == rows[0]
    header = rows[0]
    assert header[:4] == ["Community", "Grid", "Elders", "Children"]
    assert "Day care: people within 1000 m" in header
    by_grid = {row[1]: dict(zip(header, row)) for row in rows[1:]}
    cells = {row[1]: dict(zip(header, row)) for row in sheet_rows[1:]}
    xuri = by_grid["旭日天都网格"]
    assert (xuri["Community"], xuri["Elders"], xuri["Children"]) == ("赭山社区", "5", "1")
    assert (xuri["Day care: people within 1000 m"], xuri["Day care: share within reach (%)"]) == ("2", "40.0")
    assert (xuri["Day care: places offered"], xuri["Day care: booked by residents"],
            xuri["Day care: residents waiting"]) == ("4", "3", "0")
    assert xuri["Elders out of reach of some service"] == "5"
    for grid, values in by_grid.items():
        for key, text in values.items():
            cell = cells[grid][key]
            assert (float(text) == cell) if isinstance(cell, (int, float)) else ((cell or "") == text), (grid, key)
    # Numbers are numbers in the spreadsheet, and the page's demand table agrees.
    assert cells["旭日天都网格"]["Day care: places offered"] == 4
    assert cells["旭日天都网格"]["Day care: share within reach (%)"] == 40.0
    assert ["旭日天都网格", "4", "3", "0"] in tables_of(client.get(f"/community/coverage/?week={WEEK}"))[5]
    assert page_rows  # the communities table is there too


def test_exports_neutralise_names_that_look_like_formulas(app, client, district):
    with write_transaction():
        db.session.get(type(district.grids["华联网格"]), district.grids["华联网格"].id).name = "=HYPERLINK(\"x\")"
    login(client, district.staff)
    rows = list(csv.reader(io.StringIO(client.get("/community/coverage/grids.csv").get_data(as_text=True))))
    assert "'=HYPERLINK(\"x\")" in [row[1] for row in rows]
    sheet = load_workbook(io.BytesIO(client.get("/community/coverage/grids.xlsx").data)).active
    assert "'=HYPERLINK(\"x\")" in [row[1] for row in sheet.iter_rows(min_row=5, values_only=True)]
