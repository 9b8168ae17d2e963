"""Build test data through the same rules the app uses (so tests exercise real paths)."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from careapp.accounts.models import Role, User
from careapp.accounts.services import create_user
from careapp.core.db import db, write_transaction
from careapp.core.timefmt import from_local, local_date
from careapp.district.models import Building, Community, Grid
from careapp.households.models import CareRecipient, Household, RecipientKind
from careapp.households.services import add_recipient, register_family
from careapp.partners.models import (FillPolicy, MealTime, PartnerKind, PartnerOrganisation, Service,
                                     ServiceKind, Slot)
from careapp.partners.services import add_service_point, create_partner, create_service, create_slot

PASSWORD = "correct-horse-9"
_logins = itertools.count(13800000000)


def next_mobile() -> str:
    return str(next(_logins))


def years_ago(today: date, years: int, days: int = 0) -> date:
    return today.replace(year=today.year - years) - timedelta(days=days)


def months_ago(today: date, months: int) -> date:
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    return date(year, month + 1, min(today.day, 28))


def make_user(role: Role, now: datetime, **fields) -> User:
    fields.setdefault("login", next_mobile())
    fields.setdefault("name", f"{role.value} user")
    return create_user(by=None, now=now, role=role, password=PASSWORD, **fields)


@dataclass
class Family:
    user: User
    household: Household
    members: dict[str, CareRecipient] = field(default_factory=dict)

    def add_elder(self, now: datetime, name: str = "王奶奶", age: int = 75, ability_level: int = 1) -> CareRecipient:
        member = add_recipient(household_id=self.household.id, by=self.user, now=now, kind=RecipientKind.elder,
                               name=name, birth_date=years_ago(local_date(now), age, days=30),
                               ability_level=ability_level)
        self.members[name] = member
        return member

    def add_child(self, now: datetime, name: str = "小明", months: int = 26) -> CareRecipient:
        member = add_recipient(household_id=self.household.id, by=self.user, now=now, kind=RecipientKind.child,
                               name=name, birth_date=months_ago(local_date(now), months))
        self.members[name] = member
        return member


def make_neighbourhood() -> tuple[Community, Grid, Building, Building]:
    """旭日天都社区, its first grid, and two buildings of it about 150 m apart."""
    with write_transaction():
        community = Community(name="旭日天都社区")
        grid = Grid(community=community, name="第一网格")
        building = Building(grid=grid, name="1栋", address="旭日天都1栋", latitude=31.331, longitude=118.371)
        other = Building(grid=grid, name="2栋", address="旭日天都2栋", latitude=31.332, longitude=118.372)
        db.session.add_all([community, grid, building, other])
    return community, grid, building, other


def make_family(building: Building, now: datetime, name: str = "李家") -> Family:
    user = register_family(login=next_mobile(), password=PASSWORD, name=name, building_id=building.id, now=now)
    return Family(user=user, household=user.household)


@dataclass
class PartnerSetup:
    partner: PartnerOrganisation
    manager: User
    staff: User
    services: dict[str, Service] = field(default_factory=dict)


def make_partner(name: str, kind: PartnerKind, by: User, now: datetime, services: dict[str, tuple]) -> PartnerSetup:
    """``services`` maps a label to (ServiceKind, capacity, extra settings)."""
    partner = create_partner(name=name, kind=kind, by=by, now=now)
    point = add_service_point(partner_id=partner.id, name=f"{name}服务点", address="赭麓街道", latitude=31.33,
                              longitude=118.37, by=by, now=now)
    manager = make_user(Role.partner_manager, now, partner_id=partner.id, name=f"{name}主任")
    staff = make_user(Role.partner_staff, now, partner_id=partner.id, name=f"{name}护理员")
    setup = PartnerSetup(partner, manager, staff)
    for label, (kind_, capacity, extra) in services.items():
        setup.services[label] = create_service(partner_id=partner.id, kind=kind_, name=label, capacity=capacity,
                                               service_point_id=point.id, by=manager, now=now, **extra)
    return setup


def make_slot(service: Service, by: User, now: datetime, *, days_ahead: int = 1, start: time = time(8, 30),
              hours: int = 3, capacity: int | None = None) -> Slot:
    day = local_date(now) + timedelta(days=days_ahead)
    starts_at = from_local(day, start)
    return create_slot(service_id=service.id, starts_at=starts_at, ends_at=starts_at + timedelta(hours=hours),
                       capacity=capacity, by=by, now=now)


@dataclass
class World:
    """One community, two buildings, an admin and community staff, three partners, two families."""

    now: datetime
    community: Community
    grid: Grid
    building: Building
    other_building: Building
    admin: User
    community_staff: User
    care_centre: PartnerSetup
    nursery: PartnerSetup
    academy: PartnerSetup
    family: Family
    other_family: Family

    @property
    def daycare(self) -> Service:
        return self.care_centre.services["日间照料"]

    @classmethod
    def build(cls, now: datetime) -> World:
        community, grid, building, other = make_neighbourhood()
        admin = make_user(Role.admin, now, name="管理员")
        staff = make_user(Role.community_staff, now, name="网格员")
        care_centre = make_partner("普康养老服务中心", PartnerKind.elderly_care_centre, admin, now, {
            "日间照料": (ServiceKind.daycare, 2, {"ability_levels": "012"}),
            "午餐": (ServiceKind.meal, 20, {"meal": MealTime.lunch}),
        })
        nursery = make_partner("艺涵托育园", PartnerKind.nursery, admin, now, {
            "托小班": (ServiceKind.childcare, 5, {"min_age_months": 12, "max_age_months": 36,
                                                 "fill_policy": FillPolicy.offer, "offer_hours": 12}),
        })
        academy = make_partner("麓枫书院", PartnerKind.academy, admin, now, {
            "图书阅览": (ServiceKind.activity, 10, {}),
        })
        family = make_family(building, now, "李家")
        other_family = make_family(other, now, "张家")
        return cls(now, community, grid, building, other, admin, staff, care_centre, nursery, academy,
                   family, other_family)
