"""District rules: the sub-district's communities, grids and buildings.

The map of where people live is the sub-district's own record, so community
staff and admins keep it; every change writes an audit entry.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from careapp.accounts.models import User
from careapp.core import audit
from careapp.core.db import db, write_transaction
from careapp.core.errors import Conflict, Forbidden, NotFound
from careapp.core.i18n import gettext as _
from careapp.core.validation import check_coordinates, require_name
from careapp.district.models import Building, Community, Grid


def _require_district_staff(by: User) -> None:
    if not by.is_district:
        raise Forbidden(_("Only community staff and admins change the district's map."))




def add_community(*, name: str, by: User, now: datetime) -> Community:
    _require_district_staff(by)
    name = require_name(name)
    with write_transaction():
        if db.session.scalar(sa.select(Community.id).where(Community.name == name)) is not None:
            raise Conflict(_("A community of that name exists already."), code="duplicate_name",
                           fields={"name": "taken"})
        community = Community(name=name)
        db.session.add(community)
        db.session.flush()
        audit.record("community.created", community, actor=by, now=now, after={"name": name})
        return community


def add_grid(*, community_id: int, name: str, by: User, now: datetime) -> Grid:
    _require_district_staff(by)
    name = require_name(name)
    with write_transaction():
        if db.session.get(Community, community_id) is None:
            raise NotFound(_("No such community."))
        taken = sa.select(Grid.id).where(Grid.community_id == community_id, Grid.name == name)
        if db.session.scalar(taken) is not None:
            raise Conflict(_("This community already has a grid of that name."), code="duplicate_name",
                           fields={"name": "taken"})
        grid = Grid(community_id=community_id, name=name)
        db.session.add(grid)
        db.session.flush()
        audit.record("grid.created", grid, actor=by, now=now, after={"community_id": community_id, "name": name})
        return grid


def add_building(*, grid_id: int, name: str, address: str, latitude: float, longitude: float,
                 by: User, now: datetime) -> Building:
    _require_district_staff(by)
    name = require_name(name)
    check_coordinates(latitude, longitude)
    with write_transaction():
        if db.session.get(Grid, grid_id) is None:
            raise NotFound(_("No such grid."))
        taken = sa.select(Building.id).where(Building.grid_id == grid_id, Building.name == name)
        if db.session.scalar(taken) is not None:
            raise Conflict(_("This grid already has a building of that name."), code="duplicate_name",
                           fields={"name": "taken"})
        building = Building(grid_id=grid_id, name=name, address=(address or "").strip(),
                            latitude=latitude, longitude=longitude)
        db.session.add(building)
        db.session.flush()
        audit.record("building.created", building, actor=by, now=now, after=building.as_dict())
        return building
