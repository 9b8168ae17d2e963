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
    UNCOVERED_SHOWN, AreaFigures, Coverage, Level, Measured, Scope, UncoveredBuilding, _child_areas, _fill,
    _grid_areas, _trend, _weekly, affected, measure, out_of_reach, uncovered_order, week_start, window_mondays)
from careapp.coverage.models import GridWeek
from careapp.coverage.queries import PlacesRow, load_district
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


def refresh_snapshot(week: date, *, now: datetime) -> int:
    """Work out every grid's figures for the week starting on Monday ``week`` (ages as on ``now``'s day) and
    replace the week's rows in one transaction. Returns how many grids were written."""
    config = current_app.config
    measured = measure(community_id=None, grid_id=None, kinds=list(ServiceKind), week=week, today=local_date(now),
                       zone=zone(), radius_m=config["COVERAGE_RADIUS_M"], sub_district=config["SUB_DISTRICT"])
    # No buildings: the service points stand in no grid, so the live page (which still counts their places
    # for the whole area) is the only right answer: no rows, and the page works it out.
    figures = grid_figures(measured) if measured.district.size else {}
    radius_m = {each.value: radius for each, radius in measured.radii.items()}
    rows = [{"week_start": week, "grid_id": grid_id, "computed_at": now, "figures": {"radius_m": radius_m, **grid}}
            for grid_id, grid in figures.items()]
    try:
        with write_transaction() as session:
            session.execute(sa.delete(GridWeek).where(GridWeek.week_start == week))
            if rows:
                session.execute(sa.insert(GridWeek), rows)
    except IntegrityError:
        # Another run wrote the same week at the same moment (two schedulers by mistake): its rows stand.
        return 0
    return len(rows)


def refresh_coming_weeks(now: datetime) -> int:
    """The scheduler's job: this week's and next week's snapshot (the weeks the dashboard is opened on)."""
    this_week = week_start(local_date(now))
    return sum(refresh_snapshot(week, now=now) for week in (this_week, this_week + timedelta(weeks=1)))


# --- reading it ---

def from_snapshot(*, kinds: list[ServiceKind], week: date, today: date, radius_m: dict[str, int],
                  sub_district: str, within: timedelta) -> Coverage | None:
    """The whole area's coverage summed from the week's snapshot, or None when there is no fresh one."""
    rows = db.session.execute(sa.select(GridWeek.grid_id, GridWeek.computed_at, GridWeek.figures)
                              .where(GridWeek.week_start == week)).all()
    if not rows:
        return None
    as_of = min(row.computed_at for row in rows)
    wanted_radii = {kind: int(radius) for kind, radius in radius_m.items()}
    if (as_of < clock_now() - within or local_date(as_of) != today
            or any(row.figures["radius_m"] != wanted_radii for row in rows)):
        return None
    by_grid = {row.grid_id: row.figures for row in rows}
    district = load_district(buildings=False)
    scope = Scope(Level.subdistrict, None, sub_district)
    in_scope = np.ones(0, dtype=bool)

    grids = _grid_areas(district, scope)
    zero = _totals(dict.fromkeys(rows[0].figures["totals"], 0), kinds)
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
    return Coverage(scope, week, kinds, {each: int(radius_m[each.value]) for each in kinds},
                    [scope_area, *communities], _weekly(kinds, places, scope_area),
                    _trend(kinds, places, window_mondays(week)), grids, uncovered[:UNCOVERED_SHOWN], len(uncovered),
                    district, in_scope, {each: np.zeros(0, dtype=bool) for each in kinds}, [], as_of=as_of)


def _places(grids) -> list[PlacesRow]:
    """The window's places of every service point, summed by kind and week (all the week and trend need)."""
    sums: dict[tuple[str, int], list[int]] = {}
    for figures in grids:
        for _point, kind, week, *figures_of_point in figures["places"]:
            total = sums.setdefault((kind, week), [0, 0, 0, 0])
            for i, value in enumerate(figures_of_point):
                total[i] += value
    return [PlacesRow(0, ServiceKind(kind), week, *total) for (kind, week), total in sums.items()]


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
                kinds_missing = [ServiceKind(each) for each in missing if each in chosen]
                seen[key] = kinds_missing, affected(kinds_missing, 1, 0), affected(kinds_missing, 0, 1)
            kinds_missing, per_elder, per_child = seen[key]
            if kinds_missing:
                buildings.append(UncoveredBuilding(building_id, name, grid_id, grid, community, elders, children,
                                                   list(kinds_missing), per_elder * elders + per_child * children))
    return sorted(buildings, key=uncovered_order)
