"""The whole area's coverage read from a snapshot of its grids' figures, which the scheduler refreshes.

The whole area's dashboard would otherwise read the whole city on every fetch: its residents (90,000), the
week's bookings (100,000) and slots. Every figure it shows is a sum over grids, so the ``coverage_snapshot``
job works out each grid's figures for this week and the next (``refresh_snapshot``, with the dashboard's own
code: ``careapp.coverage.dashboard.measure``) and the page adds up the grids' rows (``from_snapshot``).

Why a sum over grids is the same as the whole area's figure:
- residents by age band, the people within reach of a kind and those out of reach: each lives in one
  building, and a building is in one grid;
- places offered, booked, attended and no-shows: each belongs to one service point, counted in its home
  building's grid (for every week of the trend, so the utilisation trend is summed too);
- places booked and people waiting, by the residents: a person lives in one building, so people counted
  once per building (waiting: distinct people) are counted once in the area;
- ratios (share within reach, utilisation, no-show rate) are worked out from the sums when read.
Two things depend on the kinds chosen, not on the grid alone: the people out of reach of *some* kind (kept
for every kind together and for each kind alone: the page shows one kind or all), and the list of buildings
out of reach, the most affected first (each grid keeps its buildings that some kind misses, with what misses
them; the list is ranked when read).

Summing a few hundred grids' rows on every fetch still grows with the area, so the refresh also keeps the
whole area's figures as the page shows them (``summary``, in ``coverage_area_week``, the same transaction):
one row per week and choice of kinds (every kind together, each kind alone), summed from the grids' figures
by the code that sums the grids' rows when read (``_summed``), so the two cannot disagree. It holds the
whole area's totals, every community's, the places per kind and week (the week and the trend), only the
grids the page shows (the most out of reach and the busiest: ``SomeGrids``, with how many there are) and the
first UNCOVERED_SHOWN buildings out of reach, already ranked, with how many there are. The page and the API
read that one row (``from_summary``); the downloads, which list every grid, sum the grids' rows
(``from_snapshot``). A summary of other communities or grids than there are now (one added or removed since:
their number and newest id are kept and counted again when read) is not used: the grids' rows are summed.

The page reads the snapshot only when it is fresh: of the week asked for, worked out today (ages are counted
on the day) with the radii in force, and at most two refresh intervals old. Otherwise it works the figures
out live, as a fresh install without a scheduler, or the tests, do.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from careapp.core.clock import now as clock_now
from careapp.core.db import db, write_transaction
from careapp.core.timefmt import local_date, zone
from careapp.coverage.dashboard import (
    CHART_GRIDS, RANKED_GRIDS, UNCOVERED_SHOWN, AreaFigures, Coverage, Level, Measured, Scope, SomeGrids,
    UncoveredBuilding, _child_areas, _fill, _grid_areas, _trend, _weekly, affected, measure, out_of_reach,
    uncovered_order, week_start, window_mondays)
from careapp.coverage.models import AreaWeek, GridWeek
from careapp.coverage.queries import District, PlacesRow, load_district
from careapp.district.models import Community, Grid
from careapp.partners.models import ServiceKind

JOB_ID = "coverage_snapshot"


def refresh_interval() -> timedelta:
    """How often the scheduler refreshes the snapshot (CAREAPP_COVERAGE_SNAPSHOT_MINUTES)."""
    return timedelta(seconds=current_app.config["JOB_INTERVALS"][JOB_ID])


def fresh_within() -> timedelta:
    """The oldest snapshot a page shows: two refresh intervals (one run may be late or fail)."""
    return 2 * refresh_interval()


# --- writing it ---

def grid_figures(m: Measured) -> dict[int, dict[str, Any]]:
    """Each grid's figures, from the whole area's measured columns (every kind)."""
    district = m.district
    columns = dict(m.columns)
    for each in m.kinds:  # out of reach of this kind alone: the page showing one kind sums these
        columns[f"uncovered_elders:{each.value}"], columns[f"uncovered_children:{each.value}"] = out_of_reach(
            [each], m.reached, m.elders, m.children)
    by_grid = {name: m.counter.by_grid(column) for name, column in columns.items()}
    figures = {grid_id: {"totals": {name: int(per_grid.get(grid_id, 0)) for name, per_grid in by_grid.items()},
                         "places": [], "uncovered": []} for grid_id in district.grid_names}
    for row in m.places:
        index = m.point_building.get(row.point_id, -1)
        if index >= 0:
            figures[int(district.building_grid[index])]["places"].append(
                [row.point_id, row.kind.value, row.week, int(row.offered), int(row.booked), int(row.attended),
                 int(row.no_shows)])
    missing = np.column_stack([~m.reached[each] for each in m.kinds])
    for i in np.flatnonzero(missing.any(axis=1)):
        figures[int(district.building_grid[i])]["uncovered"].append(
            [int(district.building_ids[i]), district.building_names[i], int(m.elders[i]), int(m.children[i]),
             [each.value for j, each in enumerate(m.kinds) if missing[i, j]]])
    return figures


def choices() -> list[list[ServiceKind]]:
    """The kinds the page can be asked for: every kind together, and each alone."""
    return [list(ServiceKind), *([each] for each in ServiceKind)]


def choice_key(kinds: list[ServiceKind]) -> str | None:
    """The summary row of a choice of kinds: "all", or the one kind's value; None for other choices."""
    if kinds == list(ServiceKind):
        return "all"
    return kinds[0].value if len(kinds) == 1 else None


def refresh_snapshot(week: date, *, now: datetime) -> int:
    """Work out every grid's figures for the week starting on Monday ``week`` (ages as on ``now``'s day), and
    the whole area's summed from them for each choice of kinds, and replace the week's rows in one
    transaction. Returns how many grids were written."""
    config = current_app.config
    measured = measure(community_id=None, grid_id=None, kinds=list(ServiceKind), week=week, today=local_date(now),
                       zone=zone(), radius_m=config["COVERAGE_RADIUS_M"], sub_district=config["SUB_DISTRICT"])
    # No buildings: the service points stand in no grid, so the live page (which still counts their places
    # for the whole area) is the only right answer: no rows, and the page works it out.
    figures = grid_figures(measured) if measured.district.size else {}
    radius_m = {each.value: radius for each, radius in measured.radii.items()}
    rows = [{"week_start": week, "grid_id": grid_id, "computed_at": now, "figures": {"radius_m": radius_m, **grid}}
            for grid_id, grid in figures.items()]
    summaries = [{"week_start": week, "kinds": choice_key(kinds), "computed_at": now,
                  "figures": {"radius_m": radius_m, **summary(measured.district, figures, kinds, week, radius_m)}}
                 for kinds in choices()] if figures else []
    try:
        with write_transaction() as session:
            session.execute(sa.delete(GridWeek).where(GridWeek.week_start == week))
            session.execute(sa.delete(AreaWeek).where(AreaWeek.week_start == week))
            if rows:
                session.execute(sa.insert(GridWeek), rows)
                session.execute(sa.insert(AreaWeek), summaries)
    except IntegrityError:
        # Another run wrote the same week at the same moment (two schedulers by mistake): its rows stand.
        return 0
    return len(rows)


def refresh_coming_weeks(now: datetime) -> int:
    """The scheduler's job: this week's and next week's snapshot (the weeks the dashboard is opened on)."""
    this_week = week_start(local_date(now))
    return sum(refresh_snapshot(week, now=now) for week in (this_week, this_week + timedelta(weeks=1)))


# --- the whole area's summary, written with the grids' rows ---

def summary(district: District, by_grid: dict[int, dict], kinds: list[ServiceKind], week: date,
            radius_m: dict[str, int]) -> dict[str, Any]:
    """The whole area's figures for ``kinds`` as the page shows them, summed from the grids' figures by the
    very code that sums the grids' rows when read (``_summed``): so the two agree, and with the live page.
    (The sub-district's name is not kept: it is a setting, the reader's.)"""
    cov, places = _summed(district, by_grid, kinds, week, radius_m, "", as_of=None)
    ranked, busiest = cov.ranked_grids(RANKED_GRIDS), cov.busiest_grids(CHART_GRIDS)
    shown = {grid.id for grid in ranked} | {grid.id for grid in busiest}
    return {
        "structure": _structure_of(district),
        "scope": _area_out(cov.scope_area),
        "communities": [_area_out(area) for area in cov.children_areas],
        "grids": [_area_out(grid) for grid in cov.grids if grid.id in shown],  # in the order of cov.grids
        "grids_total": len(cov.grids), "ranked": RANKED_GRIDS, "busiest": CHART_GRIDS,
        "places": [[row.kind.value, row.week, row.offered, row.booked, row.attended, row.no_shows]
                   for row in places if row.kind in kinds],
        "uncovered": [[building.id, building.name, building.grid_id, building.grid, building.community,
                       building.elders, building.children, [each.value for each in building.kinds], building.affected]
                      for building in cov.uncovered],
        "uncovered_total": cov.uncovered_total,
    }


def _structure_of(district: District) -> list[int]:
    """What tells a summary from one of other communities and grids: their number and newest id (communities
    and grids are added, never renamed; one added since the refresh is not in the summary)."""
    return [len(district.community_names), max(district.community_names, default=0),
            len(district.grid_names), max(district.grid_names, default=0)]


_AREA_COUNTS = ("covered", "offered", "booked", "waitlisted")
# A kind from its stored value: a dict lookup (``ServiceKind(value)`` costs ten times as much, and the whole
# area's summary holds a few thousand of them).
_KIND = {each.value: each for each in ServiceKind}


def _area_out(area: AreaFigures) -> dict[str, Any]:
    return {"id": area.id, "name": area.name, "elders": area.elders, "children": area.children, "bands": area.bands,
            **{name: {each.value: value for each, value in getattr(area, name).items()} for name in _AREA_COUNTS},
            "uncovered_elders": area.uncovered_elders, "uncovered_children": area.uncovered_children,
            "community_id": area.community_id}


def _area_in(stored: dict[str, Any], level: Level) -> AreaFigures:
    return AreaFigures(
        stored["id"], stored["name"], level, stored["elders"], stored["children"], stored["bands"],
        *({_KIND[each]: value for each, value in stored[name].items()} for name in _AREA_COUNTS),
        stored["uncovered_elders"], stored["uncovered_children"], stored["community_id"])


# --- reading it ---

def _fresh(as_of: datetime, radii: list[dict[str, int]], radius_m: dict[str, int], today: date,
           within: timedelta) -> bool:
    """Whether figures worked out at ``as_of`` with ``radii`` may be shown: of today (ages are counted on the
    day), with the radii in force, at most ``within`` old."""
    wanted_radii = {kind: int(radius) for kind, radius in radius_m.items()}
    return (as_of >= clock_now() - within and local_date(as_of) == today
            and all(stored == wanted_radii for stored in radii))


def from_summary(*, kinds: list[ServiceKind], week: date, today: date, radius_m: dict[str, int],
                 sub_district: str, within: timedelta) -> Coverage | None:
    """The whole area's coverage from its summary: one row, whatever the size of the area. It holds only the
    grids the page shows (``SomeGrids``). None when there is no fresh one for these kinds, or communities or
    grids were added or removed since (``_structure_of``)."""
    key = choice_key(kinds)
    if key is None:
        return None

    structure = [sa.select(aggregate).scalar_subquery() for column in (Community.id, Grid.id)
                 for aggregate in (sa.func.count(column), sa.func.coalesce(sa.func.max(column), 0))]
    row = db.session.execute(sa.select(AreaWeek.computed_at, AreaWeek.figures, *structure)
                             .where(AreaWeek.week_start == week, AreaWeek.kinds == key)).one_or_none()
    if row is None or not _fresh(row.computed_at, [row.figures["radius_m"]], radius_m, today, within):
        return None
    stored = row.figures
    if stored["structure"] != [int(value) for value in row[2:]]:
        return None
    scope_area = _area_in(stored["scope"], Level.subdistrict)
    scope_area.name = sub_district
    communities_shown = [_area_in(area, Level.community) for area in stored["communities"]]
    grids_shown = [_area_in(grid, Level.grid) for grid in stored["grids"]]
    places = [PlacesRow(0, _KIND[kind], week_index, *figures)
              for kind, week_index, *figures in stored["places"]]
    uncovered = [UncoveredBuilding(building_id, name, grid_id, grid, community, elders, children,
                                   [_KIND[each] for each in missing], affected_people)
                 for building_id, name, grid_id, grid, community, elders, children, missing, affected_people
                 in stored["uncovered"]]
    district = District(
        community_names={area.id: area.name for area in communities_shown},
        grid_names={grid.id: grid.name for grid in grids_shown},
        grid_community={grid.id: grid.community_id for grid in grids_shown},
        building_ids=np.zeros(0, dtype=np.int64), building_names=[], building_grid=np.zeros(0, dtype=np.int64),
        building_community=np.zeros(0, dtype=np.int64), latitude=np.zeros(0), longitude=np.zeros(0))
    return Coverage(Scope(Level.subdistrict, None, sub_district), week, kinds,
                    {each: int(radius_m[each.value]) for each in kinds}, [scope_area, *communities_shown],
                    _weekly(kinds, places, scope_area), _trend(kinds, places, window_mondays(week)), grids_shown,
                    uncovered, stored["uncovered_total"], district, np.ones(0, dtype=bool),
                    {each: np.zeros(0, dtype=bool) for each in kinds}, [], as_of=row.computed_at,
                    some_grids=SomeGrids(stored["grids_total"], stored["ranked"], stored["busiest"]))


def from_snapshot(*, kinds: list[ServiceKind], week: date, today: date, radius_m: dict[str, int],
                  sub_district: str, within: timedelta) -> Coverage | None:
    """The whole area's coverage summed from the week's grids' rows, every grid (the downloads list them all),
    or None when there is no fresh snapshot."""
    rows = db.session.execute(sa.select(GridWeek.grid_id, GridWeek.computed_at, GridWeek.figures)
                              .where(GridWeek.week_start == week)).all()
    if not rows:
        return None
    as_of = min(row.computed_at for row in rows)
    if not _fresh(as_of, [row.figures["radius_m"] for row in rows], radius_m, today, within):
        return None
    by_grid = {row.grid_id: row.figures for row in rows}
    return _summed(load_district(buildings=False), by_grid, kinds, week, radius_m, sub_district, as_of=as_of)[0]


def _summed(district: District, by_grid: dict[int, dict], kinds: list[ServiceKind], week: date,
            radius_m: dict[str, int], sub_district: str, *,
            as_of: datetime | None) -> tuple[Coverage, list[PlacesRow]]:
    """The whole area's coverage summed from its grids' figures (``grid_figures``), and the places summed by
    kind and week (what the week and the trend are worked out from)."""
    scope = Scope(Level.subdistrict, None, sub_district)
    in_scope = np.ones(0, dtype=bool)

    grids = _grid_areas(district, scope)
    zero = _totals(dict.fromkeys(next(iter(by_grid.values()))["totals"], 0), kinds)
    grid_totals = {grid.id: _totals(by_grid[grid.id]["totals"], kinds) if grid.id in by_grid else zero
                   for grid in grids}
    for grid in grids:
        _fill(grid, grid_totals[grid.id], kinds)
    communities = _child_areas(district, scope, in_scope)
    grids_of = {community.id: [] for community in communities}
    for grid_id, totals in grid_totals.items():
        grids_of[district.grid_community[grid_id]].append(totals)
    community_totals = [_sum(grids_of[community.id], zero) for community in communities]
    for community, totals in zip(communities, community_totals):
        _fill(community, totals, kinds)
    scope_area = AreaFigures(None, sub_district, Level.subdistrict)
    _fill(scope_area, _sum(community_totals, zero), kinds)  # every grid is in one community

    places = _places(by_grid.values())
    uncovered = _uncovered(district, by_grid, kinds)
    cov = Coverage(scope, week, kinds, {each: int(radius_m[each.value]) for each in kinds},
                   [scope_area, *communities], _weekly(kinds, places, scope_area),
                   _trend(kinds, places, window_mondays(week)), grids, uncovered[:UNCOVERED_SHOWN], len(uncovered),
                   district, in_scope, {each: np.zeros(0, dtype=bool) for each in kinds}, [], as_of=as_of)
    return cov, places


def _places(grids) -> list[PlacesRow]:
    """The window's places of every service point, summed by kind and week (all the week and trend need)."""
    sums: dict[tuple[str, int], list[int]] = {}
    for figures in grids:
        for _point, kind, week, *figures_of_point in figures["places"]:
            total = sums.setdefault((kind, week), [0, 0, 0, 0])
            for i, value in enumerate(figures_of_point):
                total[i] += value
    return [PlacesRow(0, _KIND[kind], week, *total) for (kind, week), total in sums.items()]


def _totals(stored: dict[str, int], kinds: list[ServiceKind]) -> dict[str, int]:
    """A grid's stored sums as ``_fill`` takes them for ``kinds``: out of reach of that kind when one is chosen."""
    totals = dict(stored)
    if len(kinds) == 1:
        for who in ("elders", "children"):
            totals[f"uncovered_{who}"] = stored.get(f"uncovered_{who}:{kinds[0].value}", 0)
    return totals


def _sum(many, zero: dict[str, int]) -> dict[str, int]:
    total = dict.fromkeys(zero, 0)
    for totals in many:
        for name, value in totals.items():
            total[name] = total.get(name, 0) + value
    return total


def _uncovered(district, by_grid: dict[int, dict], kinds: list[ServiceKind]) -> list[UncoveredBuilding]:
    """Every building that some of ``kinds`` does not reach, the most affected first."""
    chosen = {each.value for each in kinds}
    # The few sets of missing kinds there are, each worked out once: which of them are chosen, and whether they
    # would serve the building's elders, its children (``affected`` is a sum of the two).
    seen: dict[tuple[str, ...], tuple[list[ServiceKind], int, int]] = {}
    buildings = []
    for grid_id, figures in by_grid.items():
        if grid_id not in district.grid_names:
            continue  # the grid has gone since (its rows go with it: this is a read racing the delete)
        grid, community = district.grid_names[grid_id], district.community_names[district.grid_community[grid_id]]
        for building_id, name, elders, children, missing in figures["uncovered"]:
            key = tuple(missing)
            if key not in seen:
                kinds_missing = [_KIND[each] for each in missing if each in chosen]
                seen[key] = kinds_missing, affected(kinds_missing, 1, 0), affected(kinds_missing, 0, 1)
            kinds_missing, per_elder, per_child = seen[key]
            if kinds_missing:
                buildings.append(UncoveredBuilding(building_id, name, grid_id, grid, community, elders, children,
                                                   list(kinds_missing), per_elder * elders + per_child * children))
    return sorted(buildings, key=uncovered_order)
