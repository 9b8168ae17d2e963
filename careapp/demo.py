"""The demo district: 赭麓街道, 镜湖区, 芜湖 (after the 芜湖日报 report in shared/seed-article.txt).

The tables at the top are the data; the code below builds it through the same
rules the app uses (district, partner, household and account services, the
booking engine), so every row has its audit entry and every booking obeyed the
care rules. Slots come from weekly patterns, opened two weeks ahead.

Everything is loaded in one transaction: a failure leaves the database as it
was. The demo admin's login marks a loaded demo, so loading again changes
nothing. Demo passwords are published, so the demo only goes into an empty
database, never next to real accounts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

import sqlalchemy as sa

from careapp.accounts.models import Role, User
from careapp.accounts.services import create_user
from careapp.booking import engine
from careapp.booking.models import Booking
from careapp.booking.policies import policy_for
from careapp.core.db import db, write_transaction
from careapp.core.errors import Conflict
from careapp.core.timefmt import local_date
from careapp.district.models import Building, Community, Grid
from careapp.district.services import add_building, add_community, add_grid
from careapp.households.models import CareRecipient, Household, RecipientKind
from careapp.households.services import add_authorised_adult, add_recipient, register_family
from careapp.partners.models import (FillPolicy, MealTime, PartnerKind, PartnerOrganisation, Service, ServiceKind,
                                     ServicePoint, Slot)
from careapp.partners.services import add_service_point, add_weekly_pattern, create_partner, create_service

SUB_DISTRICT = "赭麓街道"  # 芜湖市镜湖区
DEMO_PASSWORD = "zhelu-demo-2026"
# The stable marker of a loaded demo (see is_loaded).
ADMIN_LOGIN = "admin@zhelu.example"
GRID_WORKER_LOGIN = "grid@zhelu.example"

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
WEEKDAYS = [MON, TUE, WED, THU, FRI]
EVERY_DAY = [MON, TUE, WED, THU, FRI, SAT, SUN]

# ---------------------------------------------------------------------------
# The district: community -> grid -> buildings (name, address, latitude, longitude).
# Places from the report; coordinates around 赭山 in Jinghu district.
# ---------------------------------------------------------------------------
DISTRICT: dict[str, dict[str, list[tuple[str, str, float, float]]]] = {
    "旭日天都社区": {
        "一组团网格": [
            ("一组团1栋", "芜湖市镜湖区九华中路旭日天都一组团1栋", 31.3418, 118.3792),
            ("一组团3栋", "芜湖市镜湖区九华中路旭日天都一组团3栋", 31.3422, 118.3801),
        ],
        "五组团网格": [
            ("五组团7栋", "芜湖市镜湖区九华中路旭日天都五组团7栋", 31.3431, 118.3816),
            ("五组团9栋", "芜湖市镜湖区九华中路旭日天都五组团9栋", 31.3436, 118.3823),
        ],
    },
    "车站社区": {
        "华联片区网格": [
            ("华联片区2栋", "芜湖市镜湖区北京东路华联片区2栋", 31.3352, 118.3868),
            ("华联片区5栋", "芜湖市镜湖区北京东路华联片区5栋", 31.3347, 118.3879),
        ],
        "梅莲路三号院网格": [
            ("梅莲路三号院1栋", "芜湖市镜湖区梅莲路3号院1栋", 31.3369, 118.3746),
            ("梅莲路三号院2栋", "芜湖市镜湖区梅莲路3号院2栋", 31.3373, 118.3752),
        ],
    },
    "康园社区": {
        "康园新村网格": [
            ("康园新村12栋", "芜湖市镜湖区赭山东路康园新村12栋", 31.3392, 118.3712),
        ],
        "汀苑小区网格": [
            ("汀苑小区3栋", "芜湖市镜湖区汀棠路汀苑小区3栋", 31.3461, 118.3698),
        ],
    },
}

# ---------------------------------------------------------------------------
# Partners, one of each kind, each with one service point.
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoPartner:
    name: str
    kind: PartnerKind
    point: str
    address: str
    latitude: float
    longitude: float


PARTNERS = [
    DemoPartner("普康养老服务中心", PartnerKind.elderly_care_centre, "普康养老服务中心旭日天都站",
                "芜湖市镜湖区九华中路旭日天都五组团活动中心", 31.3428, 118.3809),
    DemoPartner("赭麓长者食堂", PartnerKind.canteen, "赭麓长者食堂(车站社区)",
                "芜湖市镜湖区北京东路华联片区1栋底商", 31.3356, 118.3861),
    DemoPartner("新希望社会组织", PartnerKind.social_organisation, "新希望社工站(康园新村党群连心议事站)",
                "芜湖市镜湖区赭山东路康园新村议事站", 31.3395, 118.3719),
    DemoPartner("麓枫书院", PartnerKind.academy, "麓枫书院阅览室",
                "芜湖市镜湖区梅莲路3号院邻里中心二楼", 31.3366, 118.3741),
    DemoPartner("艺涵托育园", PartnerKind.nursery, "艺涵托育园旭日天都园区",
                "芜湖市镜湖区九华中路旭日天都一组团商业街", 31.3415, 118.3786),
]

# ---------------------------------------------------------------------------
# Services and their weekly slots (local time), every ServiceKind covered.
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoService:
    partner: str
    name: str
    kind: ServiceKind
    capacity: int
    weekdays: list[int]
    start: time
    end: time
    settings: dict = field(default_factory=dict)


# A day centre commonly takes ability levels 0-2 (GB/T 42195-2022).
DAY_CENTRE_LEVELS = {"ability_levels": "012"}
# Nursery classes by whole months (托育机构设置标准(试行)), so the bands do not overlap.
INFANT_CLASS = {"min_age_months": 6, "max_age_months": 11}     # 乳儿班 6-12 months, at most 10
TODDLER_CLASS = {"min_age_months": 12, "max_age_months": 23}   # 托小班 12-24 months, at most 15
OLDER_CLASS = {"min_age_months": 24, "max_age_months": 35}     # 托大班 24-36 months, at most 20
# A freed place is offered for 12 hours before it passes on (the scheduler expires offers).
OFFERED = {"fill_policy": FillPolicy.offer, "offer_hours": 12}

SERVICES = [
    DemoService("普康养老服务中心", "半日日托(上午)", ServiceKind.daycare, 12, WEEKDAYS,
                time(8, 30), time(12, 0), DAY_CENTRE_LEVELS),
    # A small full-day group (lunch and 接送 included), so the demo shows a waitlist.
    DemoService("普康养老服务中心", "全日日托(含午餐、接送)", ServiceKind.daycare, 3, WEEKDAYS,
                time(8, 30), time(17, 0), {**DAY_CENTRE_LEVELS, **OFFERED}),
    # Orders close at 09:00 for lunch and 14:00 for dinner (DOMAIN.md defaults).
    DemoService("赭麓长者食堂", "午餐", ServiceKind.meal, 40, EVERY_DAY,
                time(11, 0), time(12, 30), {"meal": MealTime.lunch, "booking_cutoff_minutes": 120,
                                            "cancel_cutoff_minutes": 120}),
    DemoService("赭麓长者食堂", "晚餐", ServiceKind.meal, 30, EVERY_DAY,
                time(17, 0), time(18, 30), {"meal": MealTime.dinner, "booking_cutoff_minutes": 180,
                                            "cancel_cutoff_minutes": 180}),
    DemoService("艺涵托育园", "乳儿班", ServiceKind.childcare, 10, WEEKDAYS, time(8, 0), time(17, 0), INFANT_CLASS),
    DemoService("艺涵托育园", "托小班", ServiceKind.childcare, 15, WEEKDAYS,
                time(8, 0), time(17, 0), {**TODDLER_CLASS, **OFFERED}),
    DemoService("艺涵托育园", "托大班", ServiceKind.childcare, 20, WEEKDAYS, time(8, 0), time(17, 0), OLDER_CLASS),
    DemoService("麓枫书院", "图书阅览(老幼共读)", ServiceKind.activity, 30, [TUE, WED, THU, FRI, SAT, SUN],
                time(14, 0), time(17, 0)),
    DemoService("新希望社会组织", "一老一小手工坊", ServiceKind.activity, 20, [SAT], time(9, 30), time(11, 0)),
]

# ---------------------------------------------------------------------------
# Staff accounts (family accounts come with their households below).
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoAccount:
    role: Role
    login: str
    name: str
    partner: str | None = None


STAFF = [
    DemoAccount(Role.admin, ADMIN_LOGIN, "街道系统管理员"),
    DemoAccount(Role.community_staff, GRID_WORKER_LOGIN, "旭日天都社区网格员"),
    DemoAccount(Role.partner_manager, "pukang.manager@zhelu.example", "普康中心主任", "普康养老服务中心"),
    DemoAccount(Role.partner_staff, "pukang.staff@zhelu.example", "普康护理员", "普康养老服务中心"),
    DemoAccount(Role.partner_staff, "yihan.staff@zhelu.example", "艺涵保育员", "艺涵托育园"),
]

# ---------------------------------------------------------------------------
# Households: members are elders (age in years, ability level) or children
# (age in months); ages count back from the day the demo is loaded.
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoMember:
    name: str
    kind: RecipientKind
    age: int  # years for elders, months for children
    ability_level: int | None = None
    needs: dict = field(default_factory=dict)
    # Adults who may collect a child: (name, relation, phone).
    collectors: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class DemoHousehold:
    name: str
    building: str
    unit: str
    login: str
    members: list[DemoMember]


def elder(name: str, age: int, level: int, **needs: str) -> DemoMember:
    return DemoMember(name, RecipientKind.elder, age, level, needs)


def child(name: str, months: int, *collectors: tuple[str, str, str]) -> DemoMember:
    return DemoMember(name, RecipientKind.child, months, collectors=list(collectors))


HOUSEHOLDS = [
    DemoHousehold("王家", "五组团7栋", "1单元302", "family@zhelu.example", [
        elder("王秀英", 78, 1, diet="低盐", emergency_contact_name="王磊", emergency_contact_phone="13800138001"),
        child("王朵朵", 20, ("王磊", "父亲", "13800138001"), ("刘芳", "母亲", "13800138002")),
    ]),
    DemoHousehold("李家", "梅莲路三号院2栋", "401", "li@zhelu.example", [
        elder("李桂兰", 84, 2, diet="软食", mobility="助行器", emergency_contact_name="李强",
              emergency_contact_phone="13800138003"),
        # Level 3 is past what the day centre takes; he still gets meals.
        elder("李德明", 86, 3, diet="低糖、软食", mobility="轮椅", medication_notes="每日早晚降压药"),
    ]),
    DemoHousehold("张家", "华联片区5栋", "201", "zhang@zhelu.example", [
        child("张乐乐", 30, ("张伟", "父亲", "13800138004")),
        child("张安安", 9, ("张伟", "父亲", "13800138004"), ("陈静", "外婆", "13800138005")),
    ]),
    DemoHousehold("陈家", "康园新村12栋", "502", "chen@zhelu.example", [
        elder("陈玉珍", 68, 0, allergies="青霉素"),
    ]),
    DemoHousehold("赵家", "一组团3栋", "601", "zhao@zhelu.example", [
        elder("赵长林", 72, 0, diet="清真"),
    ]),
]

# ---------------------------------------------------------------------------
# Bookings: (member, service, which of its upcoming bookable slots: 0 = the next,
# who books: a household's login or a staff login for 代办).
# Four elders for the three full-day places: the fourth joins the waitlist.
# ---------------------------------------------------------------------------
BOOKINGS = [
    ("李桂兰", "全日日托(含午餐、接送)", 0, GRID_WORKER_LOGIN),  # 代办: the grid worker books for 李家
    ("陈玉珍", "全日日托(含午餐、接送)", 0, "chen@zhelu.example"),
    ("赵长林", "全日日托(含午餐、接送)", 0, "zhao@zhelu.example"),
    ("王秀英", "全日日托(含午餐、接送)", 0, "family@zhelu.example"),
    ("王秀英", "半日日托(上午)", 1, "family@zhelu.example"),
    ("王秀英", "午餐", 0, "family@zhelu.example"),
    ("李德明", "午餐", 0, GRID_WORKER_LOGIN),
    ("李德明", "晚餐", 0, GRID_WORKER_LOGIN),
    ("赵长林", "晚餐", 1, "zhao@zhelu.example"),
    ("王朵朵", "托小班", 0, "family@zhelu.example"),
    ("张乐乐", "托大班", 0, "zhang@zhelu.example"),
    ("张安安", "乳儿班", 0, "zhang@zhelu.example"),
    ("王朵朵", "图书阅览(老幼共读)", 0, "family@zhelu.example"),
    ("王秀英", "图书阅览(老幼共读)", 0, "family@zhelu.example"),
    ("陈玉珍", "一老一小手工坊", 0, "chen@zhelu.example"),
]


# ===========================================================================
# Building it
# ===========================================================================

@dataclass(frozen=True)
class DemoLogin:
    role: Role
    login: str
    password: str
    name: str


def logins() -> list[DemoLogin]:
    """Every demo account, staff first, as printed after loading."""
    staff = [DemoLogin(a.role, a.login, DEMO_PASSWORD, _staff_label(a)) for a in STAFF]
    families = [DemoLogin(Role.family, h.login, DEMO_PASSWORD, f"{h.name} ({h.building} {h.unit})")
                for h in HOUSEHOLDS]
    return staff + families


def _staff_label(account: DemoAccount) -> str:
    return f"{account.name} ({account.partner})" if account.partner else account.name


def is_loaded() -> bool:
    return db.session.scalar(sa.select(User.id).where(User.login == ADMIN_LOGIN)) is not None


def _database_is_empty() -> bool:
    return all(db.session.scalar(sa.select(model.id).limit(1)) is None
               for model in (User, Community, PartnerOrganisation, Household))


@dataclass
class _Built:
    """What later steps look up by name."""

    users: dict[str, User] = field(default_factory=dict)
    buildings: dict[str, Building] = field(default_factory=dict)
    partners: dict[str, PartnerOrganisation] = field(default_factory=dict)
    service_points: dict[str, ServicePoint] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    members: dict[str, CareRecipient] = field(default_factory=dict)


def load(now: datetime) -> bool:
    """Load the demo district in one transaction; False when it was loaded already.

    Refuses a database that holds other data.
    """
    with write_transaction():
        if is_loaded():
            return False
        if not _database_is_empty():
            raise Conflict("This database already holds data. The demo only goes into an empty database, "
                           "so its published passwords never sit next to real accounts.", code="not_empty")
        built = _Built()
        _add_district_accounts(built, now)
        _add_district(built, now)
        _add_partners(built, now)
        _add_services(built, now)
        _add_households(built, now)
        _add_bookings(built, now)
        return True


def _add_district_accounts(built: _Built, now: datetime) -> None:
    """The admin (made by the operator, by=None, as `careapp users create` does), then the admin adds the rest."""
    for account in STAFF:
        if account.partner is None:
            built.users[account.login] = create_user(
                by=built.users.get(ADMIN_LOGIN), now=now, role=account.role, login=account.login,
                password=DEMO_PASSWORD, name=account.name)


def _add_district(built: _Built, now: datetime) -> None:
    admin = built.users[ADMIN_LOGIN]
    for community_name, grids in DISTRICT.items():
        community = add_community(name=community_name, by=admin, now=now)
        for grid_name, buildings in grids.items():
            grid = add_grid(community_id=community.id, name=grid_name, by=admin, now=now)
            for name, address, latitude, longitude in buildings:
                built.buildings[name] = add_building(grid_id=grid.id, name=name, address=address,
                                                     latitude=latitude, longitude=longitude, by=admin, now=now)


def _add_partners(built: _Built, now: datetime) -> None:
    """Community staff add (and so approve) the partners and open their staff accounts."""
    grid_worker = built.users[GRID_WORKER_LOGIN]
    for row in PARTNERS:
        partner = create_partner(name=row.name, kind=row.kind, by=grid_worker, now=now)
        built.partners[row.name] = partner
        built.service_points[row.name] = add_service_point(
            partner_id=partner.id, name=row.point, address=row.address, latitude=row.latitude,
            longitude=row.longitude, by=grid_worker, now=now)
    for account in STAFF:
        if account.partner is not None:
            built.users[account.login] = create_user(
                by=grid_worker, now=now, role=account.role, login=account.login, password=DEMO_PASSWORD,
                name=account.name, partner_id=built.partners[account.partner].id)


def _publisher(built: _Built, partner: PartnerOrganisation) -> User:
    """The partner's own manager publishes its services; the admin does it for partners without one."""
    for account in STAFF:
        if account.role == Role.partner_manager and account.partner == partner.name:
            return built.users[account.login]
    return built.users[ADMIN_LOGIN]


def _add_services(built: _Built, now: datetime) -> None:
    today = local_date(now)
    for row in SERVICES:
        partner = built.partners[row.partner]
        by = _publisher(built, partner)
        service = create_service(partner_id=partner.id, kind=row.kind, name=row.name, capacity=row.capacity,
                                 service_point_id=built.service_points[row.partner].id, by=by, now=now, **row.settings)
        add_weekly_pattern(service_id=service.id, weekdays=row.weekdays, start_time=row.start,
                           end_time=row.end, valid_from=today, by=by, now=now)
        built.services[row.name] = service


def _birth_date(member: DemoMember, today: date) -> date:
    if member.kind == RecipientKind.elder:
        # Half a year past the birthday, so the age in the table holds for the two weeks of slots.
        return _months_before(today, member.age * 12 + 6)
    return _months_before(today, member.age)


def _months_before(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, 28))


def _add_households(built: _Built, now: datetime) -> None:
    today = local_date(now)
    for row in HOUSEHOLDS:
        user = register_family(login=row.login, password=DEMO_PASSWORD, name=row.name,
                               building_id=built.buildings[row.building].id, unit=row.unit, now=now)
        built.users[row.login] = user
        for member in row.members:
            recipient = add_recipient(household_id=user.household_id, by=user, now=now, kind=member.kind,
                                      name=member.name, birth_date=_birth_date(member, today),
                                      ability_level=member.ability_level, needs=member.needs)
            built.members[member.name] = recipient
            for name, relation, phone in member.collectors:
                add_authorised_adult(child_id=recipient.id, by=user, now=now, name=name, relation=relation,
                                     phone=phone)


def _upcoming_bookable_slots(service: Service, now: datetime) -> list[Slot]:
    """The service's slots still taking bookings, soonest first (today's may have closed already)."""
    slots = db.session.scalars(sa.select(Slot).where(Slot.service_id == service.id, Slot.starts_at > now)
                               .order_by(Slot.starts_at)).all()
    policy = policy_for(service.kind)
    return [slot for slot in slots if now < policy.booking_closes_at(slot)]


def _add_bookings(built: _Built, now: datetime) -> None:
    for member_name, service_name, nth, booked_by in BOOKINGS:
        slot = _upcoming_bookable_slots(built.services[service_name], now)[nth]
        engine.book(slot.id, built.members[member_name].id, by=built.users[booked_by], now=now)


def summary() -> dict[str, int]:
    """How much demo data the database holds, for the command's report."""
    models = {"communities": Community, "grids": Grid, "buildings": Building, "partners": PartnerOrganisation,
              "services": Service, "slots": Slot, "households": Household, "members": CareRecipient,
              "bookings": Booking, "accounts": User}
    return {label: db.session.scalar(sa.select(sa.func.count()).select_from(model)) for label, model in
            models.items()}
