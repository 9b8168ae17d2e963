from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.core.db import db


class Community(db.Model):
    """社区: a community of the sub-district."""

    __tablename__ = "community"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)

    grids: Mapped[list[Grid]] = relationship(back_populates="community", order_by="Grid.name")


class Grid(db.Model):
    """网格: one residential compound or part of one, served by a grid worker."""

    __tablename__ = "grid"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(sa.ForeignKey("community.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))

    community: Mapped[Community] = relationship(back_populates="grids")
    buildings: Mapped[list[Building]] = relationship(back_populates="grid", order_by="Building.name")

    __table_args__ = (sa.UniqueConstraint("community_id", "name"),)


class Building(db.Model):
    """楼栋: where households live; coordinates drive the service circle."""

    __tablename__ = "building"

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(sa.ForeignKey("grid.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    address: Mapped[str] = mapped_column(sa.String(200))
    latitude: Mapped[float]
    longitude: Mapped[float]

    grid: Mapped[Grid] = relationship(back_populates="buildings")

    __table_args__ = (
        sa.UniqueConstraint("grid_id", "name"),
        sa.CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        sa.CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
    )

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "address": self.address,
            "grid_id": self.grid_id,
            "community_id": self.grid.community_id,
            "latitude": self.latitude,
            "longitude": self.longitude,
        }
