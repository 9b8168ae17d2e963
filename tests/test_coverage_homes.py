"""Each service point's home building (its nearest) is kept as buildings and points change, and an area's
dashboard, which reads only the area's own buildings, gives the numbers the whole sub-district gives it."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from careapp.core.db import db, write_transaction
from careapp.core.geo import distance_m
from careapp.coverage.dashboard import coverage
from careapp.coverage.homes import nearest_buildings, point_homes
from careapp.coverage.models import PointHome
from careapp.district.models import Building
from careapp.partners.models import ServiceKind, ServicePoint
from careapp.partners.services import add_service_point
from tests.conftest import SHANGHAI, START
from tests.coverage_factories import MONDAY, P, Q, build_district, east_of, north_of

DAY = ServiceKind.daycare
FIGURES = ("elders", "children", "bands", "covered", "offered", "booked", "waitlisted", "uncovered_elders",
           "uncovered_children")


@pytest.fixture
def district(app):
    return build_district(START)


def run(app, **choice):
    return coverage(week=MONDAY, today=START.date(), zone=SHANGHAI, radius_m=app.config["COVERAGE_RADIUS_M"],
                    sub_district="赭麓街道", **choice)


def stored_homes() -> dict[str, str]:
    """Point name -> its home building's name, as kept in coverage_point_home."""
    return dict(db.session.execute(
        sa.select(ServicePoint.name, Building.name).join(PointHome, PointHome.service_point_id == ServicePoint.id)
        .join(Building, Building.id == PointHome.building_id)).all())


def nearest_by_haversine() -> dict[str, str]:
    """Point name -> the name of the building nearest to it, worked out pair by pair."""
    buildings = db.session.execute(sa.select(Building.name, Building.latitude, Building.longitude)).all()
    return {point.name: min(buildings, key=lambda b: distance_m(point.latitude, point.longitude, b[1], b[2]))[0]
            for point in db.session.scalars(sa.select(ServicePoint))}


def move(building: Building, place: tuple[float, float]) -> None:
    with write_transaction():
        row = db.session.get(Building, building.id)
        row.latitude, row.longitude = place


def test_each_point_is_at_home_in_its_nearest_building(app, district):
    assert stored_homes() == nearest_by_haversine() == {"P": "一组团1栋", "Q": "汀苑3栋"}


def test_a_building_moved_next_to_a_point_becomes_its_home_and_takes_its_places(app, district):
    grid = district.grids["华联网格"]
    offered = run(app, grid_id=district.grids["旭日天都网格"].id).scope_area.offered[DAY]
    assert offered > 0 and run(app, grid_id=grid.id).scope_area.offered[DAY] == 0
    move(district.buildings["华联2栋"], east_of(P, 100))
    assert stored_homes() == nearest_by_haversine() == {"P": "华联2栋", "Q": "汀苑3栋"}
    whole_grids = {area.name: area.offered[DAY] for area in run(app).grids}
    assert whole_grids == {"旭日天都网格": 0, "华联网格": offered, "汀苑网格": 0}
    assert run(app, grid_id=grid.id).scope_area.offered[DAY] == offered


def test_renaming_a_building_keeps_the_homes(app, district):
    with write_transaction():
        db.session.get(Building, district.buildings["一组团1栋"].id).name = "一组团一栋"
    assert stored_homes() == {"P": "一组团一栋", "Q": "汀苑3栋"}


def test_buildings_added_in_bulk_as_the_district_import_does_are_seen(app, district):
    grid = district.grids["汀苑网格"]
    lat, lon = north_of(Q, 100)
    with write_transaction():
        db.session.execute(sa.insert(Building), [{"grid_id": grid.id, "name": "汀苑9栋", "address": "汀苑9栋",
                                                  "latitude": lat, "longitude": lon}])
    assert stored_homes() == nearest_by_haversine() == {"P": "一组团1栋", "Q": "汀苑9栋"}


def test_a_new_service_point_gets_its_home(app, district):
    lat, lon = east_of(P, 1005)
    add_service_point(partner_id=district.services["daycare"].partner_id, name="R", address="R", latitude=lat,
                      longitude=lon, by=district.admin, now=district.now)
    assert stored_homes() == nearest_by_haversine() == {"P": "一组团1栋", "Q": "汀苑3栋", "R": "华联5栋"}


def test_homes_not_kept_are_worked_out_from_every_building(app, district):
    points = [point.id for point in db.session.scalars(sa.select(ServicePoint).order_by(ServicePoint.id))]
    kept = point_homes(points)
    before = run(app, community_id=district.communities["赭山社区"].id).scope_area
    db.session.execute(sa.text("DELETE FROM coverage_point_home"))  # as a write around the session would leave it
    assert point_homes(points) == kept == nearest_buildings(db.session.connection())
    after = run(app, community_id=district.communities["赭山社区"].id).scope_area
    assert [getattr(after, name) for name in FIGURES] == [getattr(before, name) for name in FIGURES]


def test_without_buildings_a_point_stands_in_no_area(app):
    assert nearest_buildings(db.session.connection()) == {}
    assert point_homes([]) == {}


@pytest.mark.parametrize("moved", [False, True])
def test_every_area_read_alone_gives_what_the_whole_gives_it(app, district, moved):
    if moved:  # P's places now stand in the other grid of the community
        move(district.buildings["华联2栋"], east_of(P, 100))
    whole = run(app)
    for community in whole.children_areas:
        alone = run(app, community_id=community.id)
        assert alone.district.size == sum(1 for b in district.buildings.values() if b.grid.community_id == community.id)
        assert [getattr(alone.scope_area, name) for name in FIGURES] == [getattr(community, name) for name in FIGURES]
        for grid in alone.children_areas:
            grid_alone = run(app, grid_id=grid.id)
            assert [getattr(grid_alone.scope_area, name) for name in FIGURES] == \
                [getattr(grid, name) for name in FIGURES]
    # The places of the week and their trend: each community's, read alone, add up to the whole's.
    parts = [run(app, community_id=community.id) for community in whole.children_areas]
    for i, week in enumerate(whole.weekly):
        assert (week.offered, week.booked, week.attended, week.no_shows) == tuple(
            sum(getattr(part.weekly[i], name) for part in parts)
            for name in ("offered", "booked", "attended", "no_shows"))
    assert whole.weekly[0].offered > 0
