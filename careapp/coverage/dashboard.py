"""The coverage of an area — the whole sub-district, one community or one grid — and of the areas inside it.

The rules, in one place (docs/coverage.md explains them for community staff):
- A building is **covered** for a kind of care when a service point offering that kind (an active service
  of an approved partner) lies within the kind's radius (CAREAPP_COVERAGE_RADIUS_<KIND>_M, default
  1,000 m), measured along the ground (great circle).
- The people a kind **serves** are the ones its booking policy takes: elders for day care and meals,
  children for childcare, both for activities such as the reading room. ``covered`` counts those of them
  who live in covered buildings.
- **Places offered** belong to the area where the service point stands: the area of its nearest building.
  **Booked** and **waitlisted** belong to the area where the person lives: that is demand, met and unmet.
- **Utilisation** is places booked at the area's service points over places offered there; the **no-show
  rate** is no-shows over bookings whose day has been recorded (attended or no-show).

Everything is counted on whole numpy columns: one pass over the buildings, no loop over pairs.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from careapp.booking.policies import policy_for
from careapp.core.errors import BadInput, NotFound
from careapp.core.i18n import gettext as _
from careapp.coverage.bands import BANDS, SHOWN
from careapp.coverage.homes import point_homes
from careapp.coverage.queries import (
    District, PlacesRow, PointOffer, demand_by_building, load_district, places_by_point, point_offers, residents)
from careapp.coverage.reach import Places, on_unit_sphere
from careapp.households.models import RecipientKind
from careapp.partners.models import ServiceKind

TREND_WEEKS = 8
UNCOVERED_SHOWN = 100
RANKED_GRIDS = 10
CHART_GRIDS = 30  # the demand chart shows the grids with the most demand, at most this many (the downloads: all)


class Level(str, enum.Enum):
    subdistrict = "subdistrict"
    community = "community"
    grid = "grid"
    building = "building"


# The level of the areas one level down.
CHILD_LEVEL = {Level.subdistrict: Level.community, Level.community: Level.grid, Level.grid: Level.building}


@dataclass(frozen=True)
class Scope:
    level: Level
    id: int | None
    name: str
    community_id: int | None = None  # the community a grid belongs to, for the way back up


def week_start(day: date) -> date:
    """The Monday of the week holding ``day``."""
    return day - timedelta(days=day.weekday())


def parse_week(text: str | None, today: date) -> date:
    """``2026-W49`` (ISO week) -> its Monday; empty -> this week's Monday."""
    if not text:
        return week_start(today)
    try:
        year, _dash, number = text.strip().upper().partition("-W")
        if not 2000 <= int(year) <= 2100:  # far-off years would overflow the date arithmetic of the window
            raise ValueError(year)
        return date.fromisocalendar(int(year), int(number), 1)
    except ValueError:
        raise BadInput(_("Give the week as year and week number, like 2026-W49."), code="bad_week",
                       fields={"week": "like 2026-W49"}) from None


def iso_week(monday: date) -> str:
    year, number, _weekday = monday.isocalendar()
    return f"{year}-W{number:02d}"


def link_args(cov: Coverage, **changes) -> dict:
    """Query arguments that keep the chosen kind and week while moving to another area (pages and map)."""
    args = {"week": iso_week(cov.week)}
    if len(cov.kinds) == 1:
        args["kind"] = cov.kinds[0].value
    return {**args, **changes}


def serves(kind: ServiceKind, recipient: RecipientKind) -> bool:
    return policy_for(kind).serves(recipient)


@dataclass
class AreaFigures:
    id: int | None
    name: str
    level: Level
    elders: int = 0
    children: int = 0
    bands: dict[str, int] = field(default_factory=dict)
    covered: dict[ServiceKind, int] = field(default_factory=dict)
    offered: dict[ServiceKind, int] = field(default_factory=dict)
    booked: dict[ServiceKind, int] = field(default_factory=dict)
    waitlisted: dict[ServiceKind, int] = field(default_factory=dict)
    # People living where some kind that serves them does not reach (the buildings on the uncovered list).
    uncovered_elders: int = 0
    uncovered_children: int = 0
    community_id: int | None = None  # for a grid: its community (the ranking links to it)

    def people(self, kind: ServiceKind) -> int:
        """The people living here whom ``kind`` serves."""
        return ((self.elders if serves(kind, RecipientKind.elder) else 0)
                + (self.children if serves(kind, RecipientKind.child) else 0))

    def share(self, kind: ServiceKind) -> float | None:
        """The share of the people ``kind`` serves who live within its reach."""
        people = self.people(kind)
        return self.covered[kind] / people if people else None

    def demand(self, kinds) -> int:
        return sum(self.booked[kind] + self.waitlisted[kind] for kind in kinds)


@dataclass
class KindWeek:
    """One kind of care in the chosen area and week."""

    kind: ServiceKind
    offered: int = 0
    booked: int = 0        # at the area's service points
    attended: int = 0
    no_shows: int = 0
    residents_booked: int = 0
    waitlisted: int = 0    # people living in the area, waiting

    @property
    def utilisation(self) -> float | None:
        return self.booked / self.offered if self.offered else None

    @property
    def no_show_rate(self) -> float | None:
        recorded = self.attended + self.no_shows
        return self.no_shows / recorded if recorded else None


@dataclass(frozen=True)
class UncoveredBuilding:
    id: int
    name: str
    grid_id: int
    grid: str
    community: str
    elders: int
    children: int
    kinds: list[ServiceKind]
    affected: int  # the elders and children whom some missing kind would serve


@dataclass(frozen=True)
class SomeGrids:
    """``Coverage.grids`` holds only the grids the dashboard shows (read from the whole area's summary,
    careapp.coverage.snapshot): the first ``ranked`` of ``ranked_grids`` and the first ``busiest`` of
    ``busiest_grids``, of ``total`` grids in the area."""

    total: int
    ranked: int
    busiest: int


@dataclass
class Coverage:
    scope: Scope
    week: date
    kinds: list[ServiceKind]
    radius_m: dict[ServiceKind, int]
    areas: list[AreaFigures]            # the scope first, then the areas one level down
    weekly: list[KindWeek]              # the scope, the chosen week
    trend: list[tuple[date, dict[ServiceKind, float | None]]]  # utilisation, the last TREND_WEEKS weeks
    grids: list[AreaFigures]            # every grid in the scope (the demand chart and the ranking), see some_grids
    uncovered: list[UncoveredBuilding]  # the most affected first, at most UNCOVERED_SHOWN
    uncovered_total: int
    # For the map: the district's columns, which buildings are in scope and which kinds reach each (buildings
    # out of scope are not asked: False).
    district: District = field(repr=False)
    in_scope: np.ndarray = field(repr=False)
    reached: dict[ServiceKind, np.ndarray] = field(repr=False)
    offers: list[PointOffer] = field(repr=False)
    # When the figures were worked out, if read from the snapshot (careapp.coverage.snapshot); None: just now.
    as_of: datetime | None = None
    # Read from the whole area's summary: ``grids`` holds only the ranked and the busiest, and ``district`` only
    # their grids (every community); None: every grid of the scope.
    some_grids: SomeGrids | None = None

    @property
    def week_end(self) -> date:
        """The Sunday of the chosen week."""
        return self.week + timedelta(days=6)

    @property
    def scope_area(self) -> AreaFigures:
        return self.areas[0]

    @property
    def children_areas(self) -> list[AreaFigures]:
        return self.areas[1:]

    @property
    def grid_count(self) -> int:
        """How many grids the scope has."""
        return len(self.grids) if self.some_grids is None else self.some_grids.total

    def busiest_grids(self, limit: int = CHART_GRIDS) -> list[AreaFigures]:
        """The grids with the most demand (booked and waiting) this week."""
        if self.some_grids is not None and limit > self.some_grids.busiest:
            raise ValueError(f"the summary holds the {self.some_grids.busiest} busiest grids, not {limit}")
        return sorted(self.grids, key=lambda grid: (-grid.demand(self.kinds), grid.name))[:limit]

    def ranked_grids(self, limit: int = RANKED_GRIDS) -> list[AreaFigures]:
        """The grids with the most elders out of reach of some service, then the most children."""
        if self.some_grids is not None and limit > self.some_grids.ranked:
            raise ValueError(f"the summary holds the {self.some_grids.ranked} first grids ranked, not {limit}")
        ranked = sorted((grid for grid in self.grids if grid.uncovered_elders or grid.uncovered_children),
                        key=lambda grid: (-grid.uncovered_elders, -grid.uncovered_children, grid.name))
        return ranked[:limit]


def find_scope(district: District, community_id: int | None, grid_id: int | None,
               sub_district: str) -> Scope:
    if grid_id is not None:
        if grid_id not in district.grid_names:
            raise NotFound(_("No such grid."))
        owner = district.grid_community[grid_id]
        if community_id is not None and community_id != owner:
            raise BadInput(_("That grid is not in that community."), code="grid_not_in_community",
                           fields={"grid_id": "not in the community"})
        return Scope(Level.grid, grid_id, district.grid_names[grid_id], owner)
    if community_id is not None:
        if community_id not in district.community_names:
            raise NotFound(_("No such community."))
        return Scope(Level.community, community_id, district.community_names[community_id])
    return Scope(Level.subdistrict, None, sub_district)


class _Groups:
    """A grouping of buildings by a key (community, grid or building id), worked out once and then used to
    sum many columns with one ``bincount`` each."""

    def __init__(self, keys: np.ndarray):
        self.unique, self.inverse = np.unique(keys, return_inverse=True)

    def sums(self, values: np.ndarray) -> dict[int, int]:
        totals = np.bincount(self.inverse, weights=values, minlength=len(self.unique))
        return dict(zip(self.unique.tolist(), totals.astype(np.int64).tolist()))


class _Counter:
    """Grouped sums of per-building columns, by the scope and by the areas one level down."""

    def __init__(self, district: District, scope: Scope, in_scope: np.ndarray):
        self.in_scope = in_scope
        child_key = {Level.subdistrict: district.building_community, Level.community: district.building_grid,
                     Level.grid: district.building_ids}[scope.level]
        self.children = _Groups(child_key[in_scope])
        self.grids = _Groups(district.building_grid[in_scope])

    def scope_total(self, column: np.ndarray) -> int:
        return int(column[self.in_scope].sum())

    def by_child(self, column: np.ndarray) -> dict[int, int]:
        return self.children.sums(column[self.in_scope])

    def by_grid(self, column: np.ndarray) -> dict[int, int]:
        return self.grids.sums(column[self.in_scope])


def _child_areas(district: District, scope: Scope, in_scope: np.ndarray) -> list[AreaFigures]:
    level = CHILD_LEVEL[scope.level]
    if level is Level.community:
        pairs = sorted(district.community_names.items(), key=lambda item: (item[1], item[0]))
        return [AreaFigures(id, name, level) for id, name in pairs]
    if level is Level.grid:
        pairs = sorted(((id, name) for id, name in district.grid_names.items()
                        if district.grid_community[id] == scope.id), key=lambda item: (item[1], item[0]))
        return [AreaFigures(id, name, level, community_id=scope.id) for id, name in pairs]
    indexes = sorted(np.flatnonzero(in_scope), key=lambda i: (district.building_names[i], district.building_ids[i]))
    return [AreaFigures(int(district.building_ids[i]), district.building_names[i], level) for i in indexes]


def _grid_areas(district: District, scope: Scope) -> list[AreaFigures]:
    grids = [(id, name) for id, name in district.grid_names.items()
             if scope.level is Level.subdistrict
             or (scope.level is Level.community and district.grid_community[id] == scope.id)
             or (scope.level is Level.grid and id == scope.id)]
    return [AreaFigures(id, name, Level.grid, community_id=district.grid_community[id])
            for id, name in sorted(grids, key=lambda item: (item[1], item[0]))]


def coverage(*, community_id: int | None = None, grid_id: int | None = None, kind: ServiceKind | None = None,
             week: date, today: date, zone: ZoneInfo, radius_m: dict[str, int], sub_district: str,
             snapshot_within: timedelta | None = None, every_grid: bool = True) -> Coverage:
    """The coverage of the chosen area in the week starting on Monday ``week``; ages as on ``today``.

    With ``snapshot_within``, the whole area is read from the snapshot (careapp.coverage.snapshot) when one of
    the week is at most that old, instead of from the whole city: from the whole area's summary, one row, when
    ``every_grid`` is False (the page and the API: only the grids the page shows, see ``SomeGrids``), else
    summed from its grids' rows (the downloads list every grid)."""
    kinds = [kind] if kind else list(ServiceKind)
    if snapshot_within is not None and community_id is None and grid_id is None:
        from careapp.coverage.snapshot import from_snapshot, from_summary  # here: the snapshot is built on this

        asked = dict(kinds=kinds, week=week, today=today, radius_m=radius_m, sub_district=sub_district,
                     within=snapshot_within)
        cov = (None if every_grid else from_summary(**asked)) or from_snapshot(**asked)
        if cov is not None:
            return cov
    measured = measure(community_id=community_id, grid_id=grid_id, kinds=kinds, week=week, today=today, zone=zone,
                       radius_m=radius_m, sub_district=sub_district)
    return _assemble(measured)


@dataclass
class Measured:
    """What the coverage of an area is worked out from: per-building columns (aligned with the district's
    buildings) and the window's places per service point. ``coverage`` sums them by area; the snapshot
    (careapp.coverage.snapshot) sums them by grid and keeps them."""

    district: District
    scope: Scope
    kinds: list[ServiceKind]
    radii: dict[ServiceKind, int]
    week: date
    mondays: list[date]                 # the window's weeks, the chosen one last
    in_scope: np.ndarray
    counter: _Counter
    columns: dict[str, np.ndarray]      # see ``_fill`` for the names
    places: list[PlacesRow]
    point_building: dict[int, int]
    reached: dict[ServiceKind, np.ndarray]
    elders: np.ndarray
    children: np.ndarray
    offers: list[PointOffer]


def measure(*, community_id: int | None, grid_id: int | None, kinds: list[ServiceKind], week: date, today: date,
            zone: ZoneInfo, radius_m: dict[str, int], sub_district: str) -> Measured:
    """Read what the area's coverage is worked out from (see ``Measured``)."""
    # Below the sub-district, only the area's own buildings are read: in_scope is then every one of them.
    district = load_district(community_id=community_id, grid_id=grid_id)
    scope = find_scope(district, community_id, grid_id, sub_district)
    radii = {each: int(radius_m[each.value]) for each in kinds}
    in_scope = {Level.subdistrict: np.ones(district.size, dtype=bool),
                Level.community: district.building_community == (scope.id or 0),
                Level.grid: district.building_grid == (scope.id or 0)}[scope.level]
    counter = _Counter(district, scope, in_scope)
    # Below the sub-district, only the scope's buildings (their residents and bookings) are read: every figure
    # is summed over the buildings in scope, so the others' would be read for nothing (a city has thousands).
    buildings = None if scope.level is Level.subdistrict else district.building_ids[in_scope].tolist()

    # Who lives where.
    people = residents(district, today, buildings)
    bands = {band.key: people.per_building(district.size, band.key) for band in BANDS}
    elders = sum(bands[band.key] for band in BANDS if band.kind is RecipientKind.elder)
    children = sum(bands[band.key] for band in BANDS if band.kind is RecipientKind.child)
    served = {each: (elders if serves(each, RecipientKind.elder) else 0)
              + (children if serves(each, RecipientKind.child) else 0) for each in kinds}

    # What reaches them: for each kind, an index of its service points and one query for all buildings.
    offers = point_offers()
    # Only the buildings in scope are asked (a grid's fifty, not the city's every building); on the sphere once.
    homes = on_unit_sphere(district.latitude[in_scope], district.longitude[in_scope])
    reached = {}
    for each in kinds:
        mine = [offer for offer in offers if offer.kind == each]
        points = Places([offer.latitude for offer in mine], [offer.longitude for offer in mine])
        reached[each] = np.zeros(district.size, dtype=bool)
        reached[each][in_scope] = points.reach_from(homes, radii[each])
    uncovered_elders, uncovered_children = out_of_reach(kinds, reached, elders, children)

    # Places and demand in the window: the chosen week and the weeks before it, for the trend.
    week_starts_local = window_mondays(week)
    week_starts = [_utc(day, zone) for day in week_starts_local]
    window_end = _utc(week + timedelta(days=7), zone)
    point_building = _point_buildings(district, offers)
    # The places of service points standing in scope: the only ones summed (by building, week and trend).
    points = None if buildings is None else [point for point, index in point_building.items()
                                             if index >= 0 and in_scope[index]]
    places = places_by_point(week_starts, window_end, points)
    demand = demand_by_building(district, kinds, week_starts[-1], window_end, buildings)

    def place_column(kind_, attribute, weeks=(TREND_WEEKS - 1,)) -> np.ndarray:
        """Places of a kind per building: each service point's put on its nearest building."""
        column = np.zeros(district.size, dtype=np.int64)
        for row in places:
            index = point_building.get(row.point_id, -1)
            if row.kind == kind_ and row.week in weeks and index >= 0:
                column[index] += getattr(row, attribute)
        return column

    columns = {
        "elders": elders, "children": children,
        "uncovered_elders": uncovered_elders, "uncovered_children": uncovered_children,
        **{f"band:{band.key}": bands[band.key] for band in SHOWN},
        **{f"covered:{each.value}": np.where(reached[each], served[each], 0) for each in kinds},
        **{f"offered:{each.value}": place_column(each, "offered") for each in kinds},
        **{f"booked:{each.value}": demand["booked"][each] for each in kinds},
        **{f"waitlisted:{each.value}": demand["waitlisted"][each] for each in kinds},
    }
    return Measured(district, scope, kinds, radii, week, week_starts_local, in_scope, counter, columns, places,
                    point_building, reached, elders, children, offers)


def window_mondays(week: date) -> list[date]:
    """The Mondays of the weeks the trend shows: the TREND_WEEKS weeks up to ``week``, oldest first."""
    return [week - timedelta(weeks=back) for back in range(TREND_WEEKS - 1, -1, -1)]


def out_of_reach(kinds: list[ServiceKind], reached: dict[ServiceKind, np.ndarray], elders: np.ndarray,
                 children: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The elders and children of each building living where some of ``kinds`` that serves them does not reach."""
    missing_elder = np.zeros(len(elders), dtype=bool)
    missing_child = np.zeros(len(children), dtype=bool)
    for each in kinds:
        missing_elder |= ~reached[each] if serves(each, RecipientKind.elder) else False
        missing_child |= ~reached[each] if serves(each, RecipientKind.child) else False
    return np.where(missing_elder, elders, 0), np.where(missing_child, children, 0)


def _assemble(m: Measured) -> Coverage:
    """Sum the measured columns by the scope, the areas one level down and the grids."""
    district, scope, kinds, in_scope, counter, columns, places, point_building = (
        m.district, m.scope, m.kinds, m.in_scope, m.counter, m.columns, m.places, m.point_building)
    scope_area = AreaFigures(scope.id, scope.name, scope.level, community_id=scope.community_id)
    _fill(scope_area, {name: counter.scope_total(column) for name, column in columns.items()}, kinds)
    children_areas = _child_areas(district, scope, in_scope)
    grids = _grid_areas(district, scope)
    for areas, by in ((children_areas, counter.by_child), (grids, counter.by_grid)):
        totals = {name: by(column) for name, column in columns.items()}
        for area in areas:
            _fill(area, {name: per_area.get(area.id, 0) for name, per_area in totals.items()}, kinds)
    if scope.level is Level.subdistrict and not district.size:
        # No buildings to stand the service points on: the sub-district still offers their places.
        scope_area.offered = {each: sum(row.offered for row in places if row.kind == each
                                        and row.week == TREND_WEEKS - 1) for each in kinds}

    mine = [row for row in places if _in_scope_point(point_building, in_scope, scope, row.point_id)]
    weekly = _weekly(kinds, mine, scope_area)
    trend = _trend(kinds, mine, m.mondays)
    uncovered, total = _uncovered(district, in_scope, kinds, m.reached, m.elders, m.children)
    return Coverage(scope, m.week, kinds, m.radii, [scope_area, *children_areas], weekly, trend, grids, uncovered,
                    total, district, in_scope, m.reached, m.offers)


def _utc(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(ZoneInfo("UTC"))


def _point_buildings(district: District, offers: list[PointOffer]) -> dict[int, int]:
    """Service point id -> the index of its home building (the nearest, where its places are counted) among
    the buildings read; -1 when the city has no buildings. Points whose home was not read (outside the area
    asked for) are left out."""
    homes = point_homes(sorted({offer.point_id for offer in offers}))
    placed = {}
    for point_id, building_id in homes.items():
        if building_id is None:
            placed[point_id] = -1
        elif building_id in district.position:
            placed[point_id] = district.position[building_id]
    return placed


def _fill(area: AreaFigures, totals: dict[str, int], kinds: list[ServiceKind]) -> None:
    area.elders, area.children = totals["elders"], totals["children"]
    area.uncovered_elders, area.uncovered_children = totals["uncovered_elders"], totals["uncovered_children"]
    area.bands = {band.key: totals[f"band:{band.key}"] for band in SHOWN}
    for name in ("covered", "offered", "booked", "waitlisted"):
        setattr(area, name, {each: totals[f"{name}:{each.value}"] for each in kinds})


def _in_scope_point(point_building: dict[int, int], in_scope: np.ndarray, scope: Scope, point_id: int) -> bool:
    index = point_building.get(point_id)
    if index is None:  # its home building lies outside the area read
        return False
    return bool(in_scope[index]) if index >= 0 else scope.level is Level.subdistrict


def _weekly(kinds, places: list[PlacesRow], scope_area: AreaFigures) -> list[KindWeek]:
    """The chosen week's figures per kind, from the places of the service points in scope."""
    weekly = {each: KindWeek(each, residents_booked=scope_area.booked[each], waitlisted=scope_area.waitlisted[each])
              for each in kinds}
    for row in places:
        if row.kind in weekly and row.week == TREND_WEEKS - 1:
            figures = weekly[row.kind]
            figures.offered += row.offered
            figures.booked += row.booked
            figures.attended += row.attended
            figures.no_shows += row.no_shows
    return list(weekly.values())


def _trend(kinds, places: list[PlacesRow], mondays) -> list[tuple[date, dict]]:
    """Utilisation per kind and week of the window, from the places of the service points in scope."""
    offered = np.zeros((len(mondays), len(kinds)), dtype=np.int64)
    booked = np.zeros_like(offered)
    column = {each: i for i, each in enumerate(kinds)}
    for row in places:
        if row.kind in column:
            offered[row.week, column[row.kind]] += row.offered
            booked[row.week, column[row.kind]] += row.booked
    return [(monday, {each: (booked[w, column[each]] / offered[w, column[each]]
                             if offered[w, column[each]] else None) for each in kinds})
            for w, monday in enumerate(mondays)]


def uncovered_order(building: UncoveredBuilding) -> tuple:
    """The order of the uncovered list: the most people affected first, then by name and id (as ``_uncovered``)."""
    return -building.affected, building.name, building.id


def affected(kinds_missing: list[ServiceKind], elders: int, children: int) -> int:
    """The people of a building whom some of the kinds that do not reach it would serve (as ``_uncovered``)."""
    return ((elders if any(serves(each, RecipientKind.elder) for each in kinds_missing) else 0)
            + (children if any(serves(each, RecipientKind.child) for each in kinds_missing) else 0))


def _uncovered(district: District, in_scope, kinds, reached, elders, children) -> tuple[list[UncoveredBuilding], int]:
    """Buildings in scope that some kind does not reach, the most people affected first."""
    missing = np.zeros((district.size, len(kinds)), dtype=bool)
    for i, each in enumerate(kinds):
        missing[:, i] = ~reached[each]
    affects_elders = np.array([serves(each, RecipientKind.elder) for each in kinds])
    affects_children = np.array([serves(each, RecipientKind.child) for each in kinds])
    affected = (np.where((missing & affects_elders).any(axis=1), elders, 0)
                + np.where((missing & affects_children).any(axis=1), children, 0))
    candidates = np.flatnonzero(in_scope & missing.any(axis=1))
    names = np.array([district.building_names[i] for i in candidates], dtype=str)
    order = candidates[np.lexsort((district.building_ids[candidates], names, -affected[candidates]))]
    shown = []
    for i in order[:UNCOVERED_SHOWN]:
        grid_id = int(district.building_grid[i])
        shown.append(UncoveredBuilding(
            int(district.building_ids[i]), district.building_names[i], grid_id, district.grid_names[grid_id],
            district.community_names[district.grid_community[grid_id]], int(elders[i]), int(children[i]),
            [each for j, each in enumerate(kinds) if missing[i, j]], int(affected[i])))
    return shown, len(candidates)
