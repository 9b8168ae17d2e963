"""The whole area's coverage read from the snapshot (careapp.coverage.snapshot) gives the very figures the live
computation gives, field by field, whether read from the whole area's summary (the page and the API: one row) or
summed from the grids' rows (the downloads: every grid); a stale, missing or foreign snapshot is not used."""
from __future__ import annotations

import csv
import dataclasses
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from careapp.booking import engine
from careapp.booking.models import Booking
from careapp.config import from_environment
from careapp.core.db import db, write_transaction
from careapp.coverage import snapshot
from careapp.coverage.dashboard import CHART_GRIDS, RANKED_GRIDS, SomeGrids, coverage, parse_week
from careapp.coverage.models import AreaWeek, GridWeek
from careapp.coverage.snapshot import fresh_within, refresh_coming_weeks, refresh_snapshot
from careapp.coverage.tables import grid_rows
from careapp.district.models import Building, Community, Grid
from careapp.partners.models import ServiceKind
from careapp.scheduler.jobs import DEFAULT_INTERVALS, JOBS
from careapp.scheduler.runner import schedule
from tests.api_helpers import bearer, call  # noqa: F401  (bearer is a fixture)
from tests.conftest import SHANGHAI, START
from tests.coverage_factories import MONDAY, P, WEEK, _slot, build_district, east_of
from tests.factories import make_family
from tests.page_helpers import login
from tests.statements import count_statements

KINDS = [None, *ServiceKind]  # every kind together, and each alone: the choices the page offers
FRESH = timedelta(minutes=20)  # two refreshes of the default ten minutes


@pytest.fixture
def district(app):
    district = build_district(START)
    with write_transaction():  # a grid with no buildings yet: its figures are all nought
        db.session.add(Grid(community=district.communities["汀棠社区"], name="新建网格"))
    return district


def run(app, *, snapshot: bool, kind=None, week=MONDAY, today=None, every_grid=False):
    """The whole area's coverage as the page and the API read it (``every_grid``: as the downloads do)."""
    db.session.rollback()  # a fresh read, as a request makes
    return coverage(kind=kind, week=week, today=today or START.date(), zone=SHANGHAI,
                    radius_m=app.config["COVERAGE_RADIUS_M"], sub_district="赭麓街道",
                    snapshot_within=FRESH if snapshot else None, every_grid=every_grid)


def figures(cov) -> dict:
    """Everything the page and the API show of a coverage."""
    return {
        "scope": cov.scope, "week": cov.week, "kinds": cov.kinds, "radius_m": cov.radius_m,
        "areas": [dataclasses.asdict(area) for area in cov.areas],
        "ranked": [dataclasses.asdict(grid) for grid in cov.ranked_grids(RANKED_GRIDS)],
        "busiest": [dataclasses.asdict(grid) for grid in cov.busiest_grids(CHART_GRIDS)],
        "grid_count": cov.grid_count,
        "weekly": [dataclasses.asdict(kind) for kind in cov.weekly],
        "trend": cov.trend,
        "uncovered": cov.uncovered, "uncovered_total": cov.uncovered_total,
        "communities": cov.district.community_names,
    }


def every_grid(cov) -> dict:
    """What the exports show besides: every grid."""
    return {**figures(cov), "grids": [dataclasses.asdict(grid) for grid in cov.grids]}


def assert_snapshot_is_live(app, week=MONDAY, *, summary=True):
    """Read from the snapshot, the page's figures (from the summary, or summed from the grids' rows when it
    may not be used: ``summary=False``) and the downloads' (every grid, summed from the grids' rows) are the
    live ones, for every choice of kinds."""
    for kind in KINDS:
        live = run(app, snapshot=False, kind=kind, week=week, every_grid=True)
        page = run(app, snapshot=True, kind=kind, week=week)
        exports = run(app, snapshot=True, kind=kind, week=week, every_grid=True)
        assert live.as_of is None and page.as_of is not None and exports.as_of is not None, kind
        assert (page.some_grids is not None) is summary and exports.some_grids is None, kind
        assert figures(page) == figures(live), kind
        assert every_grid(exports) == every_grid(live), kind


def snapshot_rows(week=MONDAY, table=GridWeek) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(table).where(table.week_start == week))


def test_the_snapshot_sums_to_the_live_figures_field_by_field(app, district):
    assert refresh_snapshot(MONDAY, now=START) == 4  # every grid, the empty one too
    cov = run(app, snapshot=True)
    assert cov.as_of == START
    # The figures are not nought: bookings, a waitlist, a no-show, places at two points, people out of reach.
    top = cov.scope_area
    day_care = ServiceKind.daycare
    assert (top.elders, top.children, top.booked[day_care], top.waitlisted[day_care]) == (8, 4, 4, 1)
    day = next(figures for figures in cov.weekly if figures.kind == ServiceKind.daycare)
    assert (day.offered, day.booked, day.attended, day.no_shows) == (4, 4, 1, 1)
    assert cov.uncovered_total == 5 and len(cov.children_areas) == 2 and cov.grid_count == 4
    assert cov.some_grids == SomeGrids(4, RANKED_GRIDS, CHART_GRIDS)
    assert_snapshot_is_live(app)


def test_the_summary_holds_the_ranked_and_the_busiest_grids_of_the_live_page(app, district, monkeypatch):
    # Fewer grids kept than the area has: exactly the first of the live ranking and of the busiest.
    monkeypatch.setattr(snapshot, "RANKED_GRIDS", 1)
    monkeypatch.setattr(snapshot, "CHART_GRIDS", 2)
    refresh_snapshot(MONDAY, now=START)
    for kind in KINDS:
        live, page = run(app, snapshot=False, kind=kind), run(app, snapshot=True, kind=kind)
        assert page.some_grids == SomeGrids(4, 1, 2) and page.grid_count == live.grid_count == 4
        assert len(page.grids) <= 3
        assert page.ranked_grids(1) == live.ranked_grids(1) and page.busiest_grids(2) == live.busiest_grids(2)
        with pytest.raises(ValueError):
            page.busiest_grids(3)
        with pytest.raises(ValueError):
            page.ranked_grids(2)
        with pytest.raises(ValueError):
            grid_rows(page)


@pytest.mark.parametrize("added", ["community", "grid"])
def test_after_a_community_or_grid_is_added_the_grids_rows_are_summed_instead(app, district, added):
    # The summary knows the communities and grids of its refresh; the grids' rows are summed with those of now.
    refresh_snapshot(MONDAY, now=START)
    with write_transaction():
        community = Community(name="新社区") if added == "community" else district.communities["赭山社区"]
        db.session.add(Grid(community=community, name="又一网格"))
    assert_snapshot_is_live(app, summary=False)
    assert run(app, snapshot=True).grid_count == 5
    refresh_snapshot(MONDAY, now=START)
    assert_snapshot_is_live(app)


def test_after_changes_the_snapshot_keeps_its_figures_until_refreshed_then_agrees_again(app, district, clock):
    refresh_snapshot(MONDAY, now=START)
    before = figures(run(app, snapshot=True))
    later = START + timedelta(minutes=5)
    clock.set(later)
    # A new elder in 华联2栋 books Friday's day care; a second, in 汀苑3栋, waits for it; a booking is cancelled;
    # and a building moves next to P (its people come within reach, P's places move to its grid).
    family = make_family(district.buildings["华联2栋"], later, "新来家")
    newcomer = family.add_elder(later, name="elder66", age=66)
    friday = _slot(district, "daycare", MONDAY + timedelta(days=4), 1, later)
    engine.book(friday.id, newcomer.id, by=family.user, now=later)
    waiting_family = make_family(district.buildings["汀苑3栋"], later, "等位家")
    waiting = waiting_family.add_elder(later, name="elder63", age=63)
    assert engine.book(friday.id, waiting.id, by=waiting_family.user, now=later).booking.status.value == "waitlisted"
    child = district.people["child48"]
    nursery_booking = db.session.scalar(sa.select(Booking.id).where(Booking.recipient_id == child.id))
    engine.cancel(nursery_booking, by=district.families["汀苑3栋"].user, now=later)
    with write_transaction():
        moved = db.session.get(Building, district.buildings["华联5栋"].id)
        moved.latitude, moved.longitude = east_of(P, 100)
    live = figures(run(app, snapshot=False))
    assert live != before and figures(run(app, snapshot=True)) == before  # the snapshot is a snapshot
    refresh_snapshot(MONDAY, now=later)
    assert run(app, snapshot=True).as_of == later
    assert_snapshot_is_live(app)


def test_a_stale_snapshot_is_not_shown(app, district, clock):
    refresh_snapshot(MONDAY, now=START)
    clock.set(START + FRESH)
    assert run(app, snapshot=True).as_of == START  # two intervals old: still shown
    clock.set(START + FRESH + timedelta(seconds=1))
    cov = run(app, snapshot=True)
    assert cov.as_of is None and figures(cov) == figures(run(app, snapshot=False))


def test_a_snapshot_of_yesterday_is_not_shown_today(app, district, clock):
    # Ages are counted on the day: a snapshot from before midnight may have someone in the wrong band.
    late = START.replace(hour=23, minute=55) - timedelta(days=1)
    refresh_snapshot(MONDAY, now=late)
    clock.set(late + timedelta(minutes=10))
    assert run(app, snapshot=True, today=(late + timedelta(minutes=10)).date()).as_of is None


def test_without_a_snapshot_of_the_week_the_figures_are_worked_out(app, district):
    assert run(app, snapshot=True).as_of is None
    refresh_snapshot(MONDAY, now=START)
    other_week = parse_week("2026-W48", MONDAY)
    assert run(app, snapshot=True, week=other_week).as_of is None
    # An area below the whole is always worked out: it reads only its own buildings anyway.
    db.session.rollback()
    grid = coverage(grid_id=district.grids["华联网格"].id, week=MONDAY, today=START.date(), zone=SHANGHAI,
                    radius_m=app.config["COVERAGE_RADIUS_M"], sub_district="赭麓街道", snapshot_within=FRESH)
    assert grid.as_of is None


def test_a_snapshot_taken_with_other_radii_is_not_shown(app, district):
    refresh_snapshot(MONDAY, now=START)
    db.session.rollback()
    radii = {**app.config["COVERAGE_RADIUS_M"], "meal": 500}
    cov = coverage(week=MONDAY, today=START.date(), zone=SHANGHAI, radius_m=radii, sub_district="赭麓街道",
                   snapshot_within=FRESH)
    assert cov.as_of is None and cov.radius_m[ServiceKind.meal] == 500


def test_a_district_without_buildings_has_no_snapshot(app):
    assert refresh_snapshot(MONDAY, now=START) == 0 and snapshot_rows() == snapshot_rows(table=AreaWeek) == 0
    assert run(app, snapshot=True).as_of is None


def test_the_job_refreshes_this_week_and_the_next(app, district, clock):
    assert JOBS["coverage_snapshot"](START) == 8  # four grids, two weeks
    next_monday = MONDAY + timedelta(weeks=1)
    assert snapshot_rows(MONDAY) == snapshot_rows(next_monday) == 4
    assert snapshot_rows(MONDAY, AreaWeek) == snapshot_rows(next_monday, AreaWeek) == 1 + len(ServiceKind)
    later = clock.advance(minutes=10)
    assert refresh_coming_weeks(later) == 8
    assert snapshot_rows(MONDAY) == 4 and snapshot_rows(MONDAY, AreaWeek) == 5  # replaced, not added to
    assert run(app, snapshot=True).as_of == later
    assert_snapshot_is_live(app, week=next_monday)


def test_the_refresh_interval_is_a_setting_in_minutes_and_the_freshness_two_of_them(app, tmp_path):
    assert DEFAULT_INTERVALS["coverage_snapshot"] == 600
    assert {job.id: job.every for job in schedule(app)}["coverage_snapshot"] == timedelta(minutes=10)
    assert fresh_within() == timedelta(minutes=20)
    config = from_environment(str(tmp_path), {"CAREAPP_COVERAGE_SNAPSHOT_MINUTES": "3"})
    assert config["JOB_INTERVALS"]["coverage_snapshot"] == 180
    with pytest.raises(SystemExit, match="CAREAPP_COVERAGE_SNAPSHOT_MINUTES"):
        from_environment(str(tmp_path), {"CAREAPP_COVERAGE_SNAPSHOT_MINUTES": "0"})


def test_the_page_says_when_its_figures_are_from(app, client, district, clock):
    login(client, district.staff)
    page = client.get(f"/community/coverage/?week={WEEK}").get_data(as_text=True)
    assert "Figures as of" not in page
    refresh_snapshot(MONDAY, now=START)
    clock.advance(minutes=3)
    answer = client.get(f"/community/coverage/?week={WEEK}")
    assert answer.status_code == 200
    assert "Figures as of 09:00." in answer.get_data(as_text=True)
    # A community's page is worked out on the spot.
    community = district.communities["赭山社区"].id
    assert "Figures as of" not in client.get(
        f"/community/coverage/?week={WEEK}&community_id={community}").get_data(as_text=True)


def test_the_page_in_chinese_says_it_too(app, client, district, monkeypatch):
    monkeypatch.setitem(app.config, "FIXED_LANGUAGE", "zh_CN")
    refresh_snapshot(MONDAY, now=START)
    login(client, district.staff)
    assert "数据截至 09:00。" in client.get(f"/community/coverage/?week={WEEK}").get_data(as_text=True)


def test_the_api_gives_as_of_and_the_same_numbers(app, client, district, bearer):
    token = bearer(district.staff)
    live = call(client, "GET", f"/coverage?week={WEEK}", token).get_json()
    assert live["as_of"] is None
    refresh_snapshot(MONDAY, now=START)
    snap = call(client, "GET", f"/coverage?week={WEEK}", token).get_json()
    assert snap["as_of"] == "2026-12-01T01:00:00+00:00"
    assert {**snap, "as_of": None} == live


def test_the_exports_from_the_snapshot_hold_the_live_rows(app, client, district):
    login(client, district.staff)
    live = client.get(f"/community/coverage/grids.csv?week={WEEK}").get_data(as_text=True)
    refresh_snapshot(MONDAY, now=START)
    snap = client.get(f"/community/coverage/grids.csv?week={WEEK}").get_data(as_text=True)
    assert snap == live
    # They were summed from the snapshot: a figure changed in it (as a later refresh would) shows.
    grid = db.session.scalar(sa.select(Grid.id).where(Grid.name == "新建网格"))
    with write_transaction():
        row = db.session.get(GridWeek, (MONDAY, grid))
        row.figures = {**row.figures, "totals": {**row.figures["totals"], "elders": 99}}
    rows = list(csv.reader(io.StringIO(client.get(f"/community/coverage/grids.csv?week={WEEK}")
                                       .get_data(as_text=True).lstrip("\ufeff"))))
    assert [row[1:3] for row in rows if row[1] == "新建网格"] == [["新建网格", "99"]]


def test_deleting_a_grid_deletes_its_snapshot_rows(app, district):
    refresh_snapshot(MONDAY, now=START)
    with write_transaction():
        db.session.execute(sa.delete(Grid).where(Grid.name == "新建网格"))
    assert snapshot_rows() == 3
    assert_snapshot_is_live(app, summary=False)  # the summary still has it: the grids' rows are summed


def test_the_page_from_the_snapshot_reads_no_resident_booking_or_slot(app, client, district):
    login(client, district.staff)

    def statements() -> list[str]:
        with count_statements() as seen:
            assert client.get(f"/community/coverage/?week={WEEK}").status_code == 200
        return seen

    live = statements()
    assert "join booking " in " ".join(live).lower()  # the live page reads the week's bookings
    refresh_snapshot(MONDAY, now=START)
    snap = statements()
    assert len(snap) < len(live)
    touched = " ".join(snap).lower()
    for table in ("care_recipient", "booking", "slot", "building", "coverage_grid_week"):
        assert f"from {table} " not in touched and f"join {table} " not in touched, table
    # One row of the whole area's summary, whatever the number of grids (with the number of communities and
    # grids, counted in the same statement).
    assert [statement for statement in snap if "coverage_area_week" in statement.lower()] == [
        statement for statement in snap if "from grid" in statement.lower()]
    assert touched.count("from coverage_area_week") == 1
