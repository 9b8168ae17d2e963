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

from careapp.booking.models import Booking, BookingStatus
from careapp.core.db import db
from careapp.coverage.bands import BANDS, band_column
from careapp.district.models import Building, Community, Grid
from careapp.households.models import CareRecipient, Household
from careapp.partners.models import PartnerOrganisation, Service, ServiceKind, ServicePoint, Slot, SlotStatus

# A place counts as booked once someone holds it for good (an open offer is not a booking yet).
BOOKED = (BookingStatus.confirmed, BookingStatus.checked_in, BookingStatus.checked_out, BookingStatus.no_show)
ATTENDED = (BookingStatus.checked_in, BookingStatus.checked_out)


@dataclass
class District:
    """Every community, grid and building; building columns are aligned arrays."""

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


def load_district() -> District:
    communities = dict(db.session.execute(sa.select(Community.id, Community.name)).all())
    grids = db.session.execute(sa.select(Grid.id, Grid.name, Grid.community_id)).all()
    # Plain tuples straight from the driver: a city has 100,000 buildings, and ORM rows cost more than the query.
    rows = db.session.connection().execute(
        sa.select(Building.id, Building.name, Building.grid_id, Grid.community_id, Building.latitude, Building.longitude)
        .join(Grid, Building.grid_id == Grid.id).order_by(Building.id)).cursor.fetchall()
    ids, names, grid_ids, community_ids, lats, lons = (zip(*rows) if rows else ((),) * 6)
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


def residents_by_band(district: District, on: date) -> dict[str, np.ndarray]:
    """Band key -> the number of people of that band living in each building (aligned with the district)."""
    band = band_column(on).label("band")
    stmt = (sa.select(Household.building_id, band, sa.func.count())
            .join(Household, CareRecipient.household_id == Household.id)
            .group_by(Household.building_id, band))
    counts = {item.key: np.zeros(district.size, dtype=np.int64) for item in BANDS}
    for building_id, key, number in db.session.execute(stmt):
        counts[key][district.position[building_id]] = number
    return counts


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


def places_by_point(week_starts: list[datetime], window_end: datetime) -> list[PlacesRow]:
    """Places offered and booked at each service point, per kind and week, for slots starting in the window.

    Two plain grouped statements — places from the slots, bookings from the bookings — merged here: each
    slot's capacity is summed once, and neither statement needs the other's rows (cheaper than a join of
    per-slot counts). Cancelled slots offer nothing."""
    week = _week_of(week_starts).label("week")
    in_window = (Slot.starts_at >= week_starts[0], Slot.starts_at < window_end, Slot.status != SlotStatus.cancelled)
    offered = (sa.select(Service.service_point_id, Service.kind, week, sa.func.sum(Slot.capacity))
               .join(Service, Slot.service_id == Service.id).where(*in_window)
               .group_by(Service.service_point_id, Service.kind, week))
    # The window's slots first, then their bookings through the (slot_id, status) index: never a scan of
    # every booking ever made.
    window_slots = sa.select(Slot.id).where(*in_window).scalar_subquery()
    booked = (sa.select(Service.service_point_id, Service.kind, week, sa.func.count(),
                        _sum_where(Booking.status.in_(ATTENDED)), _sum_where(Booking.status == BookingStatus.no_show))
              .select_from(Booking).join(Slot, Booking.slot_id == Slot.id).join(Service, Slot.service_id == Service.id)
              .where(Booking.slot_id.in_(window_slots), Booking.status.in_(BOOKED))
              .group_by(Service.service_point_id, Service.kind, week))
    counts = {(point, kind, index): (number, attended, no_shows)
              for point, kind, index, number, attended, no_shows in db.session.execute(booked)}
    return [PlacesRow(point, kind, index, places, *counts.get((point, kind, index), (0, 0, 0)))
            for point, kind, index, places in db.session.execute(offered)]


@dataclass(frozen=True)
class DemandRow:
    """Where demand lives: for one building and kind, places its residents booked and who of them waits."""

    building_id: int
    kind: ServiceKind
    booked: int
    waitlisted: int  # people, not bookings: someone on two waitlists of the week counts once


def demand_by_building(start: datetime, end: datetime) -> list[DemandRow]:
    waiting = sa.case((Booking.status == BookingStatus.waitlisted, Booking.recipient_id), else_=None)
    stmt = (sa.select(Household.building_id, Service.kind, _sum_where(Booking.status.in_(BOOKED)),
                      sa.func.count(sa.distinct(waiting)))
            .select_from(Booking)
            .join(Slot, Booking.slot_id == Slot.id).join(Service, Slot.service_id == Service.id)
            .join(CareRecipient, Booking.recipient_id == CareRecipient.id)
            .join(Household, CareRecipient.household_id == Household.id)
            .where(Booking.slot_id.in_(sa.select(Slot.id).where(Slot.starts_at >= start, Slot.starts_at < end,
                                                                  Slot.status != SlotStatus.cancelled)
                                       .scalar_subquery()),
                   Booking.status != BookingStatus.cancelled)
            .group_by(Household.building_id, Service.kind))
    return [DemandRow(*row) for row in db.session.execute(stmt)]
