"""What the coverage dashboard keeps rather than works out on every page: each service point's home building."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from careapp.core.db import db


class PointHome(db.Model):
    """The building nearest to a service point: its places are counted in that building's grid and community.

    Finding it takes every building of the city; buildings and service points change rarely, so it is found
    when they change (``careapp.coverage.homes``) and read here, and a community's dashboard reads only its
    own buildings. A point with no row (the city has no buildings yet) stands in no area."""

    __tablename__ = "coverage_point_home"

    service_point_id: Mapped[int] = mapped_column(
        sa.ForeignKey("service_point.id", ondelete="CASCADE"), primary_key=True)
    building_id: Mapped[int] = mapped_column(sa.ForeignKey("building.id", ondelete="CASCADE"), index=True)
