"""Read models of the district's places."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from careapp.core.db import db
from careapp.district.models import Building, Community, Grid


def buildings_by_place() -> list[tuple[Building, Grid, Community]]:
    """Every building with its grid and community, in the order a resident looks for them: one statement."""
    return [tuple(row) for row in db.session.execute(
        sa.select(Building, Grid, Community)
        .join(Grid, Building.grid_id == Grid.id).join(Community, Grid.community_id == Community.id)
        .order_by(Community.name, Grid.name, Building.name)).all()]


MAX_BUILDINGS = 500


def find_buildings(*, grid_id: int | None = None, name_contains: str | None = None,
                   limit: int = MAX_BUILDINGS) -> list[Building]:
    """Buildings by grid and part of the name (for picking one's building), with their grid: one statement."""
    stmt = sa.select(Building).join(Building.grid).options(contains_eager(Building.grid))
    if grid_id is not None:
        stmt = stmt.where(Building.grid_id == grid_id)
    if name_contains:
        stmt = stmt.where(Building.name.icontains(name_contains, autoescape=True))
    stmt = stmt.order_by(Grid.community_id, Grid.name, Building.name, Building.id).limit(min(limit, MAX_BUILDINGS))
    return list(db.session.scalars(stmt))


def all_communities() -> list[Community]:
    return list(db.session.scalars(sa.select(Community).order_by(Community.name, Community.id)))


def grids_of(community_id: int) -> list[Grid]:
    return list(db.session.scalars(sa.select(Grid).where(Grid.community_id == community_id)
                                   .order_by(Grid.name, Grid.id)))


def community_of_grid(grid_id: int) -> int | None:
    return db.session.scalar(sa.select(Grid.community_id).where(Grid.id == grid_id))
