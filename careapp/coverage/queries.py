"""What coverage is computed from, each read in one grouped statement: the district's buildings, the
service points and the kinds they offer, who lives where (by age band), and a window's places and bookings.

Buildings come back as numpy arrays (one entry per building, in one order) so the coverage arithmetic
runs on whole columns at once, never in a Python loop over buildings.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from careapp.booking.models import BOOKED, Booking, BookingStatus
from careapp.core.db import db
from careapp.coverage.bands import band_column
from careapp.district.models import Building, Community, Grid
from careapp.households.models import CareRecipient, Household
from careapp.partners.models import PartnerOrganisation, Service, ServiceKind, ServicePoint, Slot, SlotStatus



@dataclass
class District:
    """Every community and grid, and the buildings read (all, or an area's); building columns are aligned arrays."""

    community_names: dict[int, str]
    grid_names: dict[int, str]
    grid_community: dict[int, int]
    building_ids: np.ndarray
    building_names: list[str]
    building_grid: np.ndarray
    building_community: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    position: dict[int, int] = field(init=False)  # building id -> index in the arrays

    def __post_init__(self) -> None:
        self.position = {int(building_id): index for index, building_id in enumerate(self.building_ids)}

    @property
    def size(self) -> int:
        return len(self.building_ids)


def load_district(*, community_id: int | None = None, grid_id: int | None = None,
                  buildings: bool = True) -> District:
    """Every community and grid, and the buildings of the area asked for: the grid's, else the community's,
    else every one. An area's page reads its own buildings, not the city's thousands. ``buildings=False``:
    none (the whole area read from its grids' snapshot needs only the names of communities and grids)."""
    communities = dict(db.session.execute(sa.select(Community.id, Community.name)).all())
    grids = db.session.execute(sa.select(Grid.id, Grid.name, Grid.community_id)).all()
    stmt = (sa.select(Building.id, Building.name, Building.grid_id, Grid.community_id, Building.latitude,
                      Building.longitude)
            .join(Grid, Building.grid_id == Grid.id).order_by(Building.id))
    if grid_id is not None:
        stmt = stmt.where(Building.grid_id == grid_id)
    elif community_id is not None:
        stmt = stmt.where(Grid.community_id == community_id)
    rows = _plain_rows(stmt) if buildings else []
    # Column by column (zip(*rows) over 100,000 rows is ten times slower: one huge argument tuple).
    ids, names, grid_ids, community_ids, lats, lons = ([row[k] for row in rows] for k in range(6))
    return District(
        community_names=communities,
        grid_names={grid_id: name for grid_id, name, _ in grids},
        grid_community={grid_id: community_id for grid_id, _, community_id in grids},
        building_ids=np.array(ids, dtype=np.int64), building_names=list(names),
        building_grid=np.array(grid_ids, dtype=np.int64), building_community=np.array(community_ids, dtype=np.int64),
        latitude=np.array(lats, dtype=float), longitude=np.array(lons, dtype=float))


@dataclass(frozen=True)
class PointOffer:
    """A service point and one kind of care it offers (an active service of an approved partner)."""

    point_id: int
    name: str
    partner: str
    kind: ServiceKind
    latitude: float
    longitude: float


def point_offers() -> list[PointOffer]:
    stmt = (sa.select(ServicePoint.id, ServicePoint.name, PartnerOrganisation.name, Service.kind,
                      ServicePoint.latitude, ServicePoint.longitude).distinct()
            .join(Service, Service.service_point_id == ServicePoint.id)
            .join(PartnerOrganisation, ServicePoint.partner_id == PartnerOrganisation.id)
            .where(Service.active.is_(True), PartnerOrganisation.approved.is_(True))
            .order_by(ServicePoint.id, Service.kind))
    return [PointOffer(*row) for row in db.session.execute(stmt)]


@dataclass
class Residents:
    """How many people of each age band live in each building: one row per building and band, as aligned arrays."""

    building: np.ndarray   # the index of the building in the district's arrays
    band: np.ndarray       # the age band key
    people: np.ndarray     # how many

    def per_building(self, size: int, band_key: str) -> np.ndarray:
        """How many people of the band live in each building."""
        mine = self.band == band_key
        return np.bincount(self.building[mine], weights=self.people[mine], minlength=size).astype(np.int64)


def residents(district: District, on: date, buildings: list[int] | None = None) -> Residents:
    """The elders and children of each building by age band on the day ``on``, counted in SQL (a city has
    90,000 of them: one row each would cost more to carry over than to count). With ``buildings``, only
    those living in them (a community's, not the city's: the page's cost follows its area)."""
    band = band_column(on).label("band")
    stmt = (sa.select(Household.building_id, band, sa.func.count())
            .select_from(CareRecipient).join(Household, CareRecipient.household_id == Household.id)
            .group_by(Household.building_id, sa.literal_column("band")))
    if buildings is not None:
        stmt = stmt.where(_living_in(buildings))
    rows = _plain_rows(stmt)
    return Residents(building=_positions(district, [row[0] for row in rows]),
                     band=np.array([row[1] for row in rows], dtype=object),
                     people=np.array([row[2] for row in rows], dtype=np.int64))


def _positions(district: District, building_ids: list[int]) -> np.ndarray:
    """The index of each building id in the district's arrays (its ids are in ascending order: one search)."""
    return np.searchsorted(district.building_ids, np.array(building_ids, dtype=np.int64)).astype(np.int64)


@dataclass(frozen=True)
class PlacesRow:
    """One service point's places of one kind in one week of the window: offered, booked and what happened."""

    point_id: int
    kind: ServiceKind
    week: int  # 0 = the window's first week
    offered: int
    booked: int
    attended: int
    no_shows: int


def _sum_where(condition) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _week_of(week_starts: list[datetime]) -> sa.ColumnElement[int]:
    """The index of the week (starts given in UTC, in order) a slot starts in."""
    return sa.case(*[(Slot.starts_at >= start, index) for index, start in reversed(list(enumerate(week_starts)))],
                   else_=0)


def places_by_point(week_starts: list[datetime], window_end: datetime,
                    point_ids: list[int] | None = None) -> list[PlacesRow]:
    """Places offered and booked at each service point, per kind and week, for slots starting in the window.

    One grouped statement over the window's slots, summing the tallies the booking engine keeps on each
    slot (Slot.booked_count, ...): never a count of every booking. Cancelled slots offer nothing. With
    ``point_ids``, the slots of those service points only."""
    week = _week_of(week_starts).label("week")
    stmt = (sa.select(Service.service_point_id, Service.kind, week, sa.func.sum(Slot.capacity),
                      sa.func.sum(Slot.booked_count), sa.func.sum(Slot.attended_count), sa.func.sum(Slot.no_show_count))
            .join(Service, Slot.service_id == Service.id)
            .where(Slot.starts_at >= week_starts[0], Slot.starts_at < window_end, Slot.status != SlotStatus.cancelled)
            # By the output column: the week's CASE is then worked out once a slot, not twice.
            .group_by(Service.service_point_id, Service.kind, sa.literal_column("week")))
    if point_ids is not None:
        stmt = stmt.where(Service.service_point_id.in_(point_ids))
    return [PlacesRow(point, ServiceKind(getattr(kind, "value", kind)), index, *sums)
            for point, kind, index, *sums in _plain_rows(stmt)]


def demand_by_building(district: District, kinds: list[ServiceKind], start: datetime, end: datetime,
                       buildings: list[int] | None = None) -> dict[str, dict[ServiceKind, np.ndarray]]:
    """Where demand lives, per kind, as columns aligned with the district's buildings: ``booked`` (places the
    residents booked in slots starting between ``start`` and ``end``) and ``waitlisted`` (people, not
    bookings: someone on two waitlists of the week counts once).

    Counted per building and kind in SQL: the week's bookings of a city are some 100,000 rows, a few
    thousand buildings' totals are what the page needs. With ``buildings``, only the bookings of the people
    living there: found through them (index booking(recipient_id, slot_id, status)), so an area's demand
    costs what its residents booked, not what the whole city booked that week."""
    waiting = sa.case((Booking.status == BookingStatus.waitlisted, Booking.recipient_id))
    stmt = (sa.select(Household.building_id, Service.kind, _sum_where(Booking.status.in_(BOOKED)),
                      sa.func.count(sa.distinct(waiting)))
            .select_from(Slot).join(Service, Slot.service_id == Service.id)
            .join(Booking, Booking.slot_id == Slot.id)
            .join(CareRecipient, Booking.recipient_id == CareRecipient.id)
            .join(Household, CareRecipient.household_id == Household.id)
            .where(Slot.starts_at >= start, Slot.starts_at < end, Slot.status != SlotStatus.cancelled,
                   Booking.status != BookingStatus.cancelled)
            .group_by(Household.building_id, Service.kind))
    if buildings is not None:
        stmt = stmt.where(_one_of(Booking.recipient_id, sa.select(CareRecipient.id).where(_living_in(buildings))))
    rows = _plain_rows(stmt)
    building = _positions(district, [row[0] for row in rows])
    kind = np.array([getattr(row[1], "value", row[1]) for row in rows], dtype=object)
    columns: dict[str, dict[ServiceKind, np.ndarray]] = {"booked": {}, "waitlisted": {}}
    for name, values in (("booked", [row[2] for row in rows]), ("waitlisted", [row[3] for row in rows])):
        values = np.array(values, dtype=np.int64)
        for each in kinds:
            mine = kind == each.value
            columns[name][each] = np.bincount(building[mine], weights=values[mine],
                                              minlength=district.size).astype(np.int64)
    return columns


def _one_of(column: sa.ColumnElement, ids: sa.Select) -> sa.ColumnElement[bool]:
    """``column IN (ids)``. PostgreSQL plans that as a join and, once a city has some 100,000 households or
    people, hashes the whole table to match an area's two thousand; ``= ANY`` of the ids gathered first
    (one array, worked out once) makes it look the area's up in the index instead, as SQLite does anyway."""
    if db.session.get_bind().dialect.name == "postgresql":
        gathered = ids.with_only_columns(sa.func.array_agg(ids.selected_columns[0])).scalar_subquery()
        # The cast makes it ANY of one array value, not ANY of the subquery's rows (which would be the join again).
        return column == sa.any_(sa.cast(gathered, postgresql.ARRAY(sa.Integer)))
    return column.in_(ids)


def _living_in(buildings: list[int]) -> sa.ColumnElement[bool]:
    """The people (care recipients) living in ``buildings``."""
    return _one_of(CareRecipient.household_id, sa.select(Household.id).where(Household.building_id.in_(buildings)))


def _plain_rows(stmt) -> list[tuple]:
    """The driver's own tuples: at city scale, SQLAlchemy's per-row processing costs more than the query."""
    return db.session.connection().execute(stmt).cursor.fetchall()
