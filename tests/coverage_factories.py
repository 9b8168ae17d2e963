"""A small district whose distances and residents are known, for checking every coverage number.

Two service points: P (day care and lunch) and Q (a nursery class and the reading room), 4.4 km apart.

    community 赭山社区
      grid 旭日天都网格
        一组团1栋  900 m north of P    elders 65, 82; a child of 26 months
        一组团3栋  1,100 m north of P  elders 71, 75, 90
      grid 华联网格
        华联2栋    990 m east of P     elder 68       (990 m on the great circle; 1,160 m if one forgot
        华联5栋    1,010 m east of P   elder 77; a child of 5 years   that a degree east is shorter here)
    community 汀棠社区
      grid 汀苑网格
        汀苑3栋    500 m north of Q    elder 61; children of 4 and 7 years

Day care is booked in week 2026-W49 (the week of the tests' clock, Tuesday 1 December 2026) and W48:
    Mon 30 Nov, 2 places: 65 checked in, 68 a no-show
    Wed 2 Dec, 2 places: 71 and 75 confirmed, 77 waitlisted
    Tue 24 Nov (W48), 4 places: 65 confirmed
and the nursery class (at Q), Thu 3 Dec, 5 places: the 4-year-old confirmed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from math import asin, cos, degrees, radians, sin

from careapp.booking import engine
from careapp.core.db import db, write_transaction
from careapp.core.geo import EARTH_RADIUS_M
from careapp.core.timefmt import from_local
from careapp.district.models import Building, Community, Grid
from careapp.households.models import CareRecipient
from careapp.partners.models import MealTime, PartnerKind, Service, ServiceKind
from careapp.partners.services import add_service_point, create_partner, create_service, create_slot
from tests.factories import Family, make_family, make_user
from careapp.accounts.models import Role, User

P = (31.34, 118.38)
Q = (31.30, 118.38)
WEEK = "2026-W49"
MONDAY = date(2026, 11, 30)


def north_of(origin: tuple[float, float], metres: float) -> tuple[float, float]:
    """Due north along the meridian: the great-circle distance is exactly ``metres``."""
    return origin[0] + degrees(metres / EARTH_RADIUS_M), origin[1]


def east_of(origin: tuple[float, float], metres: float) -> tuple[float, float]:
    """On the same latitude, ``metres`` away on the great circle (the haversine solved for the longitude)."""
    lat = radians(origin[0])
    return origin[0], origin[1] + degrees(2 * asin(sin(metres / (2 * EARTH_RADIUS_M)) / cos(lat)))


@dataclass
class District:
    now: datetime
    admin: User
    staff: User
    communities: dict[str, Community] = field(default_factory=dict)
    grids: dict[str, Grid] = field(default_factory=dict)
    buildings: dict[str, Building] = field(default_factory=dict)
    people: dict[str, CareRecipient] = field(default_factory=dict)
    families: dict[str, Family] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    managers: dict[str, User] = field(default_factory=dict)


LAYOUT = {
    "赭山社区": {
        "旭日天都网格": {"一组团1栋": north_of(P, 900), "一组团3栋": north_of(P, 1100)},
        "华联网格": {"华联2栋": east_of(P, 990), "华联5栋": east_of(P, 1010)},
    },
    "汀棠社区": {"汀苑网格": {"汀苑3栋": north_of(Q, 500)}},
}
# Building -> residents: ("elder", years) or ("child", months).
RESIDENTS = {
    "一组团1栋": [("elder", 65), ("elder", 82), ("child", 26)],
    "一组团3栋": [("elder", 71), ("elder", 75), ("elder", 90)],
    "华联2栋": [("elder", 68)],
    "华联5栋": [("elder", 77), ("child", 60)],
    "汀苑3栋": [("elder", 61), ("child", 48), ("child", 84)],
}


def person(kind: str, age: int) -> str:
    return f"{kind}{age}"


def build_district(now: datetime) -> District:
    """The district above, with its people, services and bookings (made ten days before ``now``)."""
    before = now - timedelta(days=10)
    admin = make_user(Role.admin, before, name="管理员")
    district = District(now, admin, make_user(Role.community_staff, before, name="网格员"))
    with write_transaction():
        for community_name, grids in LAYOUT.items():
            community = district.communities[community_name] = Community(name=community_name)
            for grid_name, buildings in grids.items():
                grid = district.grids[grid_name] = Grid(community=community, name=grid_name)
                for name, (lat, lon) in buildings.items():
                    district.buildings[name] = Building(grid=grid, name=name, address=f"{grid_name}{name}",
                                                        latitude=lat, longitude=lon)
        db.session.add_all([*district.communities.values()])
    for building_name, residents in RESIDENTS.items():
        family = district.families[building_name] = make_family(district.buildings[building_name], before,
                                                                f"{building_name}家")
        for kind, age in residents:
            if kind == "elder":
                member = family.add_elder(now, name=person(kind, age), age=age)
            else:
                member = family.add_child(now, name=person(kind, age), months=age)
            district.people[member.name] = member
    _add_services(district, before)
    _book(district, before)
    return district


def _add_services(district: District, now: datetime) -> None:
    centre = create_partner(name="普康养老服务中心", kind=PartnerKind.elderly_care_centre, by=district.admin, now=now)
    nursery = create_partner(name="艺涵托育园", kind=PartnerKind.nursery, by=district.admin, now=now)
    p = add_service_point(partner_id=centre.id, name="P", address="P", latitude=P[0], longitude=P[1],
                          by=district.admin, now=now)
    q = add_service_point(partner_id=nursery.id, name="Q", address="Q", latitude=Q[0], longitude=Q[1],
                          by=district.admin, now=now)
    for partner, key in ((centre, "centre"), (nursery, "nursery")):
        district.managers[key] = make_user(Role.partner_manager, now, partner_id=partner.id, name=f"{key} manager")
    make = {
        "daycare": (centre, p, ServiceKind.daycare, {"ability_levels": "012"}),
        "lunch": (centre, p, ServiceKind.meal, {"meal": MealTime.lunch}),
        "nursery": (nursery, q, ServiceKind.childcare, {"min_age_months": 12, "max_age_months": 72}),
        "reading": (nursery, q, ServiceKind.activity, {}),
    }
    for label, (partner, point, kind, extra) in make.items():
        manager = district.managers["centre" if partner is centre else "nursery"]
        district.services[label] = create_service(partner_id=partner.id, kind=kind, name=label, capacity=5,
                                                  service_point_id=point.id, by=manager, now=now, **extra)


def _slot(district: District, service: str, day: date, capacity: int, now: datetime):
    starts_at = from_local(day, time(8, 30))
    manager = district.managers["centre" if service in ("daycare", "lunch") else "nursery"]
    return create_slot(service_id=district.services[service].id, starts_at=starts_at,
                       ends_at=starts_at + timedelta(hours=3), capacity=capacity, by=manager, now=now)


def _book(district: District, now: datetime) -> None:
    def book(slot, name):
        member = district.people[name]
        family = next(f for f in district.families.values() if f.household.id == member.household_id)
        return engine.book(slot.id, member.id, by=family.user, now=now).booking

    monday = _slot(district, "daycare", MONDAY, 2, now)
    came, missed = book(monday, "elder65"), book(monday, "elder68")
    wednesday = _slot(district, "daycare", MONDAY + timedelta(days=2), 2, now)
    for name in ("elder71", "elder75", "elder77"):
        book(wednesday, name)
    last_week = _slot(district, "daycare", MONDAY - timedelta(days=6), 4, now)
    book(last_week, "elder65")
    nursery = _slot(district, "nursery", MONDAY + timedelta(days=3), 5, now)
    book(nursery, "child48")
    staff = make_user(Role.partner_staff, now, partner_id=district.services["daycare"].partner_id, name="护理员")
    engine.check_in(came.id, by=staff, now=monday.starts_at + timedelta(minutes=5))
    engine.mark_no_show(missed.id, by=staff, now=monday.ends_at + timedelta(minutes=5))
