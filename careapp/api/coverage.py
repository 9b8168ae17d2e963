"""Coverage for community staff: the same read model as the coverage dashboard (careapp.coverage)."""
from __future__ import annotations

from flask import current_app
from pydantic import Field

from careapp.accounts.models import User
from careapp.api.registry import api
from careapp.api.schemas import Id, Out, Query, UtcTimestamp
from careapp.core.clock import now
from careapp.core.errors import Forbidden
from careapp.core.i18n import gettext as _
from careapp.core.timefmt import local_date, zone
from careapp.coverage.dashboard import AreaFigures, Coverage, Level, UncoveredBuilding, coverage, iso_week, parse_week
from careapp.coverage.snapshot import fresh_within
from careapp.partners.models import ServiceKind

Counts = dict[ServiceKind, int]


class CoverageQuery(Query):
    community_id: Id | None = None
    grid_id: Id | None = None
    kind: ServiceKind | None = Field(None, description="Only this kind of care; every kind when left out.")
    week: str | None = Field(None, pattern=r"^\d{4}-W\d{2}$", description="ISO week, like 2026-W49; this week when left out.")


class AreaOut(Out):
    id: int | None = Field(description="None for the sub-district itself.")
    name: str
    level: Level
    elders: int
    children: int
    age_bands: dict[str, int] = Field(description="People per age band (careapp.coverage.bands): elder_60 is under 70, "
                                                  "elder_70 70-79, elder_80 80 and over; child_0 under 3, child_3 3-5, "
                                                  "child_6 6 and over.")
    covered: Counts = Field(description="The people each kind serves (elders for day care and meals, children for "
                                        "childcare, both for activities) who live within its radius.")
    offered: Counts = Field(description="Places offered in the week at the service points standing in this area.")
    booked: Counts = Field(description="Places in the week booked by people living in this area.")
    waitlisted: Counts = Field(description="People living in this area on a waitlist in the week (unmet demand).")
    uncovered_elders: int
    uncovered_children: int

    @classmethod
    def of(cls, area: AreaFigures) -> AreaOut:
        return cls(id=area.id, name=area.name, level=area.level, elders=area.elders, children=area.children,
                   age_bands=area.bands, covered=area.covered, offered=area.offered, booked=area.booked,
                   waitlisted=area.waitlisted, uncovered_elders=area.uncovered_elders,
                   uncovered_children=area.uncovered_children)


class UncoveredBuildingOut(Out):
    id: int
    name: str
    grid_id: int
    elders: int
    children: int
    kinds: list[ServiceKind] = Field(description="The kinds of care that do not reach this building.")

    @classmethod
    def of(cls, building: UncoveredBuilding) -> UncoveredBuildingOut:
        return cls(id=building.id, name=building.name, grid_id=building.grid_id, elders=building.elders,
                   children=building.children, kinds=building.kinds)


class CoverageOut(Out):
    week: str
    radius_m: dict[ServiceKind, int]
    areas: list[AreaOut] = Field(description="The chosen area first, then the areas one level down.")
    uncovered_buildings: list[UncoveredBuildingOut] = Field(
        description="Buildings of the area that some kind does not reach, the most people affected first "
                    "(at most 100; uncovered_buildings_total counts them all).")
    uncovered_buildings_total: int
    as_of: UtcTimestamp | None = Field(
        description="When the figures were worked out, if they come from the snapshot the scheduler refreshes "
                    "every CAREAPP_COVERAGE_SNAPSHOT_MINUTES (the whole area only, this week and the next; at most "
                    "two refreshes old); null when they were worked out for this request.")

    @classmethod
    def of(cls, cov: Coverage) -> CoverageOut:
        return cls(week=iso_week(cov.week), radius_m=cov.radius_m, areas=[AreaOut.of(area) for area in cov.areas],
                   uncovered_buildings=[UncoveredBuildingOut.of(building) for building in cov.uncovered],
                   uncovered_buildings_total=cov.uncovered_total, as_of=cov.as_of)


@api.route("GET", "/coverage", query=CoverageQuery, response=CoverageOut, errors=(403, 404),
           summary="Community staff: who lives within reach of each kind of care, places offered, booked and "
                   "waited for, for the sub-district, a community or a grid and the areas inside it")
def coverage_report(user: User, query: CoverageQuery) -> CoverageOut:
    if not user.is_district:
        raise Forbidden(_("Coverage is for community staff."))
    today = local_date(now())
    return CoverageOut.of(coverage(
        community_id=query.community_id, grid_id=query.grid_id, kind=query.kind,
        week=parse_week(query.week, today), today=today, zone=zone(),
        radius_m=current_app.config["COVERAGE_RADIUS_M"], sub_district=current_app.config["SUB_DISTRICT"],
        snapshot_within=fresh_within(), every_grid=False))  # the answer lists no grid
