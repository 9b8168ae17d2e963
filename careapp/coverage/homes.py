"""Each service point's home building (the nearest one), found when buildings or service points change.

A service point's places count in the area of its nearest building, and finding that building means looking
at every building of the city. Pages would pay that on every fetch (a community's dashboard reading a city's
thousands of buildings to place a handful of points), so it is found on writes instead: whenever a flush or
a bulk statement adds, moves or removes a building or a service point, every point's home is found again in
the same transaction (``coverage_point_home``; a few thousand buildings take milliseconds, and such writes are
rare). Writes that bypass the session (bench-data's COPY) call ``refresh_point_homes`` themselves; should a
point still have no row, ``point_homes`` works it out from every building rather than give a wrong answer.
"""
from __future__ import annotations

import numpy as np
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from careapp.core.db import db
from careapp.coverage.models import PointHome
from careapp.coverage.reach import Places
from careapp.district.models import Building
from careapp.partners.models import ServicePoint

# The columns whose change moves a home (a renamed building or point stays where it was).
PLACE_COLUMNS = ("latitude", "longitude")
PLACE_TABLES = (Building.__tablename__, ServicePoint.__tablename__)


def nearest_buildings(connection: sa.Connection, point_ids: list[int] | None = None) -> dict[int, int | None]:
    """Service point id -> the id of its nearest building (None when there are no buildings), from every
    building; with ``point_ids``, for those points only."""
    points_stmt = sa.select(ServicePoint.id, ServicePoint.latitude, ServicePoint.longitude).order_by(ServicePoint.id)
    if point_ids is not None:
        points_stmt = points_stmt.where(ServicePoint.id.in_(point_ids))
    points = connection.execute(points_stmt).all()
    if not points:
        return {}
    buildings = connection.execute(sa.select(Building.id, Building.latitude, Building.longitude)
                                   .order_by(Building.id)).all()
    if not buildings:
        return {point_id: None for point_id, _lat, _lon in points}
    ids = np.array([row[0] for row in buildings], dtype=np.int64)
    index, _distance = Places([row[1] for row in buildings], [row[2] for row in buildings]).nearest(
        [row[1] for row in points], [row[2] for row in points])
    return {point_id: int(ids[i]) for (point_id, _lat, _lon), i in zip(points, index)}


def refresh_point_homes(connection: sa.Connection) -> None:
    """Find every service point's home again and store it (in the caller's transaction)."""
    homes = nearest_buildings(connection)
    connection.execute(sa.delete(PointHome.__table__))
    rows = [{"service_point_id": point_id, "building_id": building_id}
            for point_id, building_id in homes.items() if building_id is not None]
    if rows:
        connection.execute(sa.insert(PointHome.__table__), rows)


def point_homes(point_ids: list[int]) -> dict[int, int | None]:
    """Service point id -> its home building's id (None: the city has no buildings), for ``point_ids``."""
    if not point_ids:
        return {}
    connection = db.session.connection()
    stored = dict(connection.execute(sa.select(PointHome.service_point_id, PointHome.building_id)
                                     .where(PointHome.service_point_id.in_(point_ids))).all())
    if len(stored) < len(set(point_ids)):
        # Not kept for some point (no buildings yet, or written around the session): found from every building.
        return nearest_buildings(connection, point_ids)
    return stored


# --- keeping it: every session's writes to buildings and service points ---

def _moves_a_place(session: Session) -> bool:
    for obj in session.new | session.deleted:
        if isinstance(obj, (Building, ServicePoint)):
            return True
    for obj in session.dirty:
        if isinstance(obj, (Building, ServicePoint)):
            state = sa.inspect(obj)
            if any(state.attrs[column].history.has_changes() for column in PLACE_COLUMNS):
                return True
    return False


@event.listens_for(Session, "before_flush")
def _note_moves(session: Session, _flush_context, _instances) -> None:
    # Seen before the flush (afterwards the changes are history); acted on after it, when new rows have ids.
    if _moves_a_place(session):
        session.info["coverage_homes_moved"] = True


@event.listens_for(Session, "after_flush_postexec")
def _refresh_after_flush(session: Session, _flush_context) -> None:
    if session.info.pop("coverage_homes_moved", False):
        refresh_point_homes(session.connection())


@event.listens_for(Session, "do_orm_execute")
def _refresh_after_bulk(state) -> sa.Result | None:
    """A bulk INSERT/UPDATE/DELETE of buildings or service points (the district import): run it, then refresh."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return None
    if getattr(getattr(state.statement, "table", None), "name", None) not in PLACE_TABLES:
        return None
    result = state.invoke_statement()
    refresh_point_homes(state.session.connection())
    return result
