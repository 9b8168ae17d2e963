"""A nursery with classes, staff and volunteers, a second partner, and a family with young children: the scene
of the shift, childcare and roster tests (built through the app's own rules, like tests/factories.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import pytest

from careapp.accounts.models import Role, User
from careapp.booking import engine
from careapp.booking.models import Booking
from careapp.core.db import db, write_transaction
from careapp.core.timefmt import from_local, local_date
from careapp.district.models import Building, Community, Grid
from careapp.households.models import AuthorisedAdult, CareRecipient
from careapp.households.services import add_authorised_adult
from careapp.partners import shifts
from careapp.partners.models import (ChildClass, PartnerKind, Service, ServiceKind, ServicePoint, SessionLength, Shift,
                                     ShiftRole, Slot, Volunteer)
from careapp.partners.services import add_service_point, create_slot
from tests.factories import Family, make_family, make_partner, make_user

# The scene's "tomorrow": Wednesday 2 December 2026 (the clock stands at Tuesday 1 December, 09:00 local).
TOMORROW = date(2026, 12, 2)


@dataclass
class Scene:
    now: datetime
    building: Building
    admin: User
    community_staff: User
    nursery_manager: User
    staff: list[User]          # three partner_staff accounts of the nursery
    point: ServicePoint        # the nursery's first site
    second_point: ServicePoint
    toddlers: Service          # 托小班: toddler class, full day, 15 places, 1 staff : 5 children
    infants: Service           # 乳儿班: infant class, 10 places, 1 : 3
    volunteer: Volunteer
    care_centre_staff: User    # another partner's staff
    care_centre_manager: User
    daycare: Service           # the other partner's day care (no staffing rule)
    family: Family
    families: list[Family] = field(default_factory=list)

    @property
    def partner_id(self) -> int:
        return self.point.partner_id

    def slot(self, service: Service | None = None, *, day: date = TOMORROW, start: time = time(8, 30),
             end: time = time(11, 30), capacity: int | None = None) -> Slot:
        service = service or self.toddlers
        return create_slot(service_id=service.id, starts_at=from_local(day, start), ends_at=from_local(day, end),
                           capacity=capacity, by=self.nursery_manager, now=self.now)

    def shift(self, *, day: date = TOMORROW, start: time = time(8, 0), end: time = time(12, 0),
              service: Service | None | bool = True, role: ShiftRole = ShiftRole.staff, title: str = "早班保育",
              point: ServicePoint | None = None, min_people: int = 1, max_people: int = 3) -> Shift:
        """A shift for the toddler class by default (``service=None``: the point in general)."""
        service = self.toddlers if service is True else service
        return shifts.create_shift(point_id=(point or self.point).id, day=day, start_time=start, end_time=end,
                                   role=role, title=title, min_people=min_people, max_people=max_people,
                                   service_id=service.id if service else None, by=self.nursery_manager, now=self.now)

    def roster(self, shift: Shift, *people: User | Volunteer) -> None:
        for person in people:
            key = "user_id" if isinstance(person, User) else "volunteer_id"
            shifts.assign(shift.id, by=self.nursery_manager, now=self.now, **{key: person.id})

    def child(self, name: str, months: int, family: Family | None = None) -> CareRecipient:
        """A child of ``months`` whole months today (a new family each unless given)."""
        if family is None:
            family = make_family(self.building, self.now, f"{name}家")
            self.families.append(family)
        return family.add_child(self.now, name=name, months=months)

    def book(self, slot: Slot, child: CareRecipient) -> Booking:
        household_user = next(f.user for f in [self.family, *self.families]
                              if f.household.id == child.household_id)
        return engine.book(slot.id, child.id, by=household_user, now=self.now).booking

    def adult(self, child: CareRecipient, name: str = "李奶奶", relation: str = "grandmother") -> AuthorisedAdult:
        family = next(f for f in [self.family, *self.families] if f.household.id == child.household_id)
        return add_authorised_adult(child_id=child.id, by=family.user, now=self.now, name=name, relation=relation,
                                    phone="13900003333")


def build_scene(now: datetime) -> Scene:
    with write_transaction():
        community = Community(name="旭日天都社区")
        grid = Grid(community=community, name="第一网格")
        building = Building(grid=grid, name="1栋", address="旭日天都1栋", latitude=31.331, longitude=118.371)
        db.session.add_all([community, grid, building])
    admin = make_user(Role.admin, now, name="管理员")
    community_staff = make_user(Role.community_staff, now, name="网格员")
    nursery = make_partner("艺涵托育园", PartnerKind.nursery, admin, now, {
        "托小班": (ServiceKind.childcare, 15, {"child_class": ChildClass.toddler,
                                              "session_length": SessionLength.full_day}),
        "乳儿班": (ServiceKind.childcare, 10, {"child_class": ChildClass.infant,
                                              "session_length": SessionLength.occasional}),
    })
    point = nursery.partner.service_points[0]
    second = add_service_point(partner_id=nursery.partner.id, name="艺涵托育园二部", address="赭麓街道8号",
                               latitude=31.34, longitude=118.38, by=admin, now=now)
    staff = [nursery.staff, *(make_user(Role.partner_staff, now, partner_id=nursery.partner.id, name=name)
                              for name in ("王老师", "陈老师"))]
    volunteer = shifts.add_volunteer(partner_id=nursery.partner.id, name="志愿者小赵", phone="13911112222",
                                     by=nursery.manager, now=now)
    care_centre = make_partner("普康养老服务中心", PartnerKind.elderly_care_centre, admin, now, {
        "日间照料": (ServiceKind.daycare, 5, {}),
    })
    family = make_family(building, now, "李家")
    return Scene(now=now, building=building, admin=admin, community_staff=community_staff,
                 nursery_manager=nursery.manager, staff=staff, point=point, second_point=second,
                 toddlers=nursery.services["托小班"], infants=nursery.services["乳儿班"], volunteer=volunteer,
                 care_centre_staff=care_centre.staff, care_centre_manager=care_centre.manager,
                 daycare=care_centre.services["日间照料"], family=family)


@pytest.fixture
def scene(app, clock) -> Scene:
    return build_scene(clock.now())


def day_after(day: date, days: int = 1) -> date:
    return day + timedelta(days=days)


def local_today(now: datetime) -> date:
    return local_date(now)
