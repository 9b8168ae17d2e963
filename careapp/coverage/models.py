"""What the coverage dashboard keeps rather than works out on every page: each service point's home building,
and the snapshot of each grid's figures with the whole area's figures summed from them, which its dashboard
reads."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from careapp.core.db import UTCDateTime, db


class PointHome(db.Model):
    """The building nearest to a service point: its places are counted in that building's grid and community.

    Finding it takes every building of the city; buildings and service points change rarely, so it is found
    when they change (``careapp.coverage.homes``) and read here, and a community's dashboard reads only its
    own buildings. A point with no row (the city has no buildings yet) stands in no area."""

    __tablename__ = "coverage_point_home"

    service_point_id: Mapped[int] = mapped_column(
        sa.ForeignKey("service_point.id", ondelete="CASCADE"), primary_key=True)
    building_id: Mapped[int] = mapped_column(sa.ForeignKey("building.id", ondelete="CASCADE"), index=True)


class GridWeek(db.Model):
    """One grid's coverage figures for one week, as the whole area's dashboard sums them (the snapshot).

    Every figure of the whole area is a sum over its grids, so the scheduler works these out every few minutes
    (``careapp.coverage.snapshot``) and the whole area's page adds up a few hundred rows instead of reading the
    city's residents, bookings and slots on every fetch. ``figures`` holds the per-grid sums, the window's places
    of the service points standing in the grid, and its buildings that some kind does not reach (JSON: the shape
    is ``careapp.coverage.snapshot``'s alone)."""

    __tablename__ = "coverage_grid_week"

    week_start: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    grid_id: Mapped[int] = mapped_column(sa.ForeignKey("grid.id", ondelete="CASCADE"), primary_key=True, index=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    figures: Mapped[dict[str, Any]] = mapped_column(sa.JSON)


class AreaWeek(db.Model):
    """The whole area's coverage for one week and one choice of kinds, assembled as its dashboard shows it.

    Written by the same refresh as the grids' rows, from them, in the same transaction (``careapp.coverage.
    snapshot``): the page reads one row and decodes what it shows (the whole area, its communities, the
    ranked and the busiest grids, the buildings out of reach most affected first), not a few hundred grids'.
    ``kinds`` is "all" (every kind together) or one kind's value: the page's choices. ``figures``: JSON, the
    shape is ``careapp.coverage.snapshot``'s alone."""

    __tablename__ = "coverage_area_week"

    week_start: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    kinds: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    figures: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
