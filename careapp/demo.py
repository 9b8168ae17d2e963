"""The demo district: 赭麓街道, 镜湖区, 芜湖 (after the 芜湖日报 report in shared/seed-article.txt).

The tables at the top are the data; the code below builds it through the same
rules the app uses (district, partner, household and account services, the
booking engine), so every row has its audit entry and every booking obeyed the
care rules. Slots come from weekly patterns, opened two weeks ahead.

Beyond slots and bookings the demo runs a real week: canteen dishes and a
week of menus, standing enrolments (weekday lunch delivery booked by the grid
worker, a nursery place every weekday), nursery classes staffed by shifts so
their places follow the staff ratios, volunteer delivery shifts, rooms, and a
partner that registered itself and waits for approval.

Everything is loaded in one transaction: a failure leaves the database as it
was. The demo admin's login marks a loaded demo, so loading again changes
nothing. Demo passwords are published, so the demo only goes into an empty
database, never next to real accounts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

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
from careapp.enrolments.services import enrol
from careapp.households.models import DietTag, SpecialGroup
from careapp.meals.models import MealMode
from careapp.meals.services import create_dish, menu_of, set_menu
from careapp.partners.admin_services import add_room, register_partner
from careapp.partners.models import (ChildClass, FillPolicy, MealTime, PartnerKind, PartnerOrganisation, Room,
                                     Service, ServiceKind, ServicePoint, SessionLength, ShiftRole, Slot)
from careapp.partners.services import add_service_point, add_weekly_pattern, create_partner, create_service
from careapp.partners.shifts import add_volunteer, assign, create_shift

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
        # Two kilometres west of every service point: the gap the coverage dashboard is there to show.
        "赭山西村网格": [
            ("赭山西村4栋", "芜湖市镜湖区赭山西路赭山西村4栋", 31.3405, 118.3550),
            ("赭山西村6栋", "芜湖市镜湖区赭山西路赭山西村6栋", 31.3411, 118.3541),
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
# Nursery classes of 托育机构设置标准(试行): the class sets the age band, class size and staff ratio;
# the places a day really has follow the staff rostered on it (NURSERY_SHIFTS below).
INFANT_CLASS = {"child_class": ChildClass.infant, "session_length": SessionLength.full_day, "room": "乳儿班教室"}
TODDLER_CLASS = {"child_class": ChildClass.toddler, "session_length": SessionLength.full_day, "room": "托小班教室"}
OLDER_CLASS = {"child_class": ChildClass.preschool, "session_length": SessionLength.full_day, "room": "托大班教室"}
# A freed place is offered for 12 hours before it passes on (the scheduler expires offers).
OFFERED = {"fill_policy": FillPolicy.offer, "offer_hours": 12}

SERVICES = [
    DemoService("普康养老服务中心", "半日日托(上午)", ServiceKind.daycare, 12, WEEKDAYS,
                time(8, 30), time(12, 0), {**DAY_CENTRE_LEVELS, "session_length": SessionLength.half_day,
                                           "room": "日间照料室"}),
    # A small full-day group (lunch and 接送 included), so the demo shows a waitlist.
    DemoService("普康养老服务中心", "全日日托(含午餐、接送)", ServiceKind.daycare, 3, WEEKDAYS,
                time(8, 30), time(17, 0), {**DAY_CENTRE_LEVELS, **OFFERED, "session_length": SessionLength.full_day,
                                           "lunch_included": True, "transport": True, "room": "日间照料室"}),
    # Orders close at 09:00 for lunch and 14:00 for dinner (the MEAL_*_CUTOFF settings). The canteen
    # delivers 1.5 km, past the 1 km default, so 梅莲路三号院 gets meals brought home.
    DemoService("赭麓长者食堂", "午餐", ServiceKind.meal, 40, EVERY_DAY, time(11, 0), time(12, 30),
                {"meal": MealTime.lunch, "delivery_radius_m": 1500, "room": "就餐区"}),
    DemoService("赭麓长者食堂", "晚餐", ServiceKind.meal, 30, EVERY_DAY, time(17, 0), time(18, 30),
                {"meal": MealTime.dinner, "delivery_radius_m": 1500, "room": "就餐区"}),
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
    DemoAccount(Role.partner_manager, "canteen.manager@zhelu.example", "食堂负责人", "赭麓长者食堂"),
    DemoAccount(Role.partner_staff, "canteen.staff@zhelu.example", "食堂厨师长", "赭麓长者食堂"),
    DemoAccount(Role.partner_manager, "yihan.manager@zhelu.example", "艺涵园长", "艺涵托育园"),
    DemoAccount(Role.partner_staff, "yihan.staff@zhelu.example", "艺涵保育员", "艺涵托育园"),
] + [
    # The nursery's other carers: two per class, rostered below (they log in too, but are not printed).
    DemoAccount(Role.partner_staff, f"yihan.carer{n}@zhelu.example", name, "艺涵托育园")
    for n, name in enumerate(["周老师", "吴老师", "郑老师", "孙老师", "钱老师"], start=1)
]
# Printed after loading; everyone else above shares the password too.
PRINTED_STAFF = 8

# ---------------------------------------------------------------------------
# Rooms of each partner's service point.
# ---------------------------------------------------------------------------
ROOMS = {
    "普康养老服务中心": [("日间照料室", "day care", 20), ("康复活动区", "activity", 15)],
    "赭麓长者食堂": [("就餐区", "dining", 60)],
    "麓枫书院": [("阅览区", "reading", 30)],
    "艺涵托育园": [("乳儿班教室", "nursery class", 10), ("托小班教室", "nursery class", 15),
                   ("托大班教室", "nursery class", 20)],
    "新希望社会组织": [("议事活动室", "activity", 25)],
}

# ---------------------------------------------------------------------------
# The canteen's dishes (diet tags it meets, allergens it holds) and its rotating menus:
# day n of the coming week serves LUNCH_MENUS[n % len] and DINNER_MENUS[n % len].
# ---------------------------------------------------------------------------
DISHES = {
    "清蒸鲈鱼": ([DietTag.low_salt, DietTag.soft], ["鱼"]),
    "番茄炒蛋": ([DietTag.soft, DietTag.vegetarian], ["鸡蛋"]),
    "冬瓜排骨汤": ([DietTag.low_salt], []),
    "清炒时蔬": ([DietTag.vegetarian, DietTag.low_salt, DietTag.low_sugar], []),
    "红烧狮子头": ([DietTag.soft], []),
    "土豆烧牛肉": ([DietTag.halal], []),
    "南瓜小米粥": ([DietTag.soft, DietTag.vegetarian, DietTag.low_sugar], []),
    "香菇青菜": ([DietTag.vegetarian, DietTag.low_salt], []),
    "虾仁豆腐羹": ([DietTag.soft], ["虾"]),
    "白切鸡": ([DietTag.low_salt, DietTag.low_sugar], []),
}
LUNCH_MENUS = [["清蒸鲈鱼", "清炒时蔬", "冬瓜排骨汤"], ["红烧狮子头", "香菇青菜", "南瓜小米粥"],
               ["土豆烧牛肉", "番茄炒蛋", "清炒时蔬"], ["白切鸡", "虾仁豆腐羹", "香菇青菜"]]
DINNER_MENUS = [["南瓜小米粥", "番茄炒蛋"], ["虾仁豆腐羹", "清炒时蔬"], ["白切鸡", "南瓜小米粥"]]
MENU_DAYS = 7

# ---------------------------------------------------------------------------
# Shifts for the two weeks of slots: each nursery class has two carers on every weekday
# (a class's places = carers x its ratio, within its size), and volunteers carry the lunches.
# ---------------------------------------------------------------------------
NURSERY_SHIFTS = {  # class -> the two carers' logins
    "乳儿班": ["yihan.staff@zhelu.example", "yihan.carer1@zhelu.example"],
    "托小班": ["yihan.carer2@zhelu.example", "yihan.carer3@zhelu.example"],
    "托大班": ["yihan.carer4@zhelu.example", "yihan.carer5@zhelu.example"],
}
NURSERY_SHIFT_TIME = (time(7, 45), time(17, 15))
VOLUNTEERS = [("新希望志愿者 刘阿姨", "13900139001"), ("新希望志愿者 许师傅", "13900139002"),
              ("新希望志愿者 小林", "13900139003")]
DELIVERY_SHIFT_TIME = (time(10, 45), time(12, 30))

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


def elder(name: str, age: int, level: int, **needs) -> DemoMember:
    """``needs``: the care needs (diet, allergies, mobility, ...) and the meal profile (diet_tags,
    special_group, phone)."""
    return DemoMember(name, RecipientKind.elder, age, level, needs)


def child(name: str, months: int, *collectors: tuple[str, str, str]) -> DemoMember:
    return DemoMember(name, RecipientKind.child, months, collectors=list(collectors))


HOUSEHOLDS = [
    DemoHousehold("王家", "五组团7栋", "1单元302", "family@zhelu.example", [
        elder("王秀英", 78, 1, diet="低盐", diet_tags=[DietTag.low_salt], phone="13800138011",
              emergency_contact_name="王磊", emergency_contact_phone="13800138001"),
        child("王朵朵", 20, ("王磊", "父亲", "13800138001"), ("刘芳", "母亲", "13800138002")),
    ]),
    DemoHousehold("李家", "梅莲路三号院2栋", "401", "li@zhelu.example", [
        elder("李桂兰", 84, 2, diet="软食", diet_tags=[DietTag.soft], mobility="助行器",
              emergency_contact_name="李强", emergency_contact_phone="13800138003"),
        # Level 3 is past what the day centre takes; he gets his lunch brought home (失能: extra subsidy).
        elder("李德明", 86, 3, diet="低糖、软食", diet_tags=[DietTag.low_sugar, DietTag.soft], mobility="轮椅",
              medication_notes="每日早晚降压药", special_group=SpecialGroup.shineng, phone="13800138013"),
    ]),
    DemoHousehold("张家", "华联片区5栋", "201", "zhang@zhelu.example", [
        child("张乐乐", 30, ("张伟", "父亲", "13800138004")),
        child("张安安", 9, ("张伟", "父亲", "13800138004"), ("陈静", "外婆", "13800138005")),
    ]),
    DemoHousehold("陈家", "康园新村12栋", "502", "chen@zhelu.example", [
        elder("陈玉珍", 68, 0, allergies="青霉素、虾", special_group=SpecialGroup.dibao),
    ]),
    DemoHousehold("赵家", "一组团3栋", "601", "zhao@zhelu.example", [
        elder("赵长林", 72, 0, diet="清真", diet_tags=[DietTag.halal], phone="13800138015"),
    ]),
    # Out of reach of every service (see the coverage dashboard): nobody here has booked anything yet.
    DemoHousehold("孙家", "赭山西村4栋", "102", "sun@zhelu.example", [
        elder("孙淑芬", 81, 1), elder("孙国平", 83, 2, mobility="拐杖"),
    ]),
    DemoHousehold("周家", "赭山西村6栋", "303", "zhou@zhelu.example", [
        elder("周建华", 66, 0),
        child("周小雨", 40, ("周敏", "母亲", "13800138006")),
    ]),
]

# ---------------------------------------------------------------------------
# Bookings: (member, service, which of its upcoming bookable slots: 0 = the next,
# who books: a household's login or a staff login for 代办, and the booking's options).
# Four elders for the three full-day places: the fourth joins the waitlist.
# ---------------------------------------------------------------------------
BOOKINGS = [
    # 代办: the grid worker books for 李家; she is fetched and brought home (接送).
    ("李桂兰", "全日日托(含午餐、接送)", 0, GRID_WORKER_LOGIN, {"needs_transport": True}),
    ("陈玉珍", "全日日托(含午餐、接送)", 0, "chen@zhelu.example"),
    ("赵长林", "全日日托(含午餐、接送)", 0, "zhao@zhelu.example"),
    ("王秀英", "全日日托(含午餐、接送)", 0, "family@zhelu.example"),
    ("王秀英", "半日日托(上午)", 1, "family@zhelu.example"),
    # Meal orders: "dishes" n picks the first n dishes of that day's menu (none: the set meal).
    ("王秀英", "午餐", 0, "family@zhelu.example", {"mode": MealMode.dine_in.value, "dishes": 2}),
    ("陈玉珍", "午餐", 0, "chen@zhelu.example", {"mode": MealMode.pick_up.value, "dishes": 1}),
    ("李德明", "晚餐", 0, GRID_WORKER_LOGIN, {"mode": MealMode.delivery.value, "dishes": 2}),
    ("王朵朵", "托小班", 0, "family@zhelu.example"),
    ("张乐乐", "托大班", 0, "zhang@zhelu.example"),
    ("张安安", "乳儿班", 0, "zhang@zhelu.example"),
    ("王朵朵", "图书阅览(老幼共读)", 0, "family@zhelu.example"),
    ("王秀英", "图书阅览(老幼共读)", 0, "family@zhelu.example"),
    ("陈玉珍", "一老一小手工坊", 0, "chen@zhelu.example"),
]

# ---------------------------------------------------------------------------
# Standing enrolments: (member, service, weekdays, meal mode or None, who enrols).
# Each books the member into every open slot on those days, after the bookings above.
# (王秀英 is left for you: enrol her in weekday lunch delivery from 王家's home page.)
# ---------------------------------------------------------------------------
ENROLMENTS = [
    ("李德明", "午餐", WEEKDAYS, MealMode.delivery, GRID_WORKER_LOGIN),  # 代办
    ("赵长林", "晚餐", WEEKDAYS, MealMode.pick_up, "zhao@zhelu.example"),
    ("李桂兰", "半日日托(上午)", [MON, WED, FRI], None, "li@zhelu.example"),
    ("王朵朵", "托小班", WEEKDAYS, None, "family@zhelu.example"),
    ("张乐乐", "托大班", WEEKDAYS, None, "zhang@zhelu.example"),
]

# A care provider that registered itself and waits for community staff to approve it.
PENDING_PARTNER = dict(name="镜湖区康乐居家养老服务社", kind=PartnerKind.elderly_care_centre, manager_name="孙主任",
                       login="kangle@zhelu.example", phone="0553-3888123",
                       description="上门助浴、助洁与陪诊服务, 申请入驻赭麓街道一老一小服务平台。")


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
    staff = [DemoLogin(a.role, a.login, DEMO_PASSWORD, _staff_label(a)) for a in STAFF[:PRINTED_STAFF]]
    pending = DemoLogin(Role.partner_manager, PENDING_PARTNER["login"], DEMO_PASSWORD,
                        f"{PENDING_PARTNER['manager_name']} ({PENDING_PARTNER['name']}, waiting for approval)")
    families = [DemoLogin(Role.family, h.login, DEMO_PASSWORD, f"{h.name} ({h.building} {h.unit})")
                for h in HOUSEHOLDS]
    return staff + [pending] + families


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
    rooms: dict[tuple[str, str], Room] = field(default_factory=dict)
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
        _add_rooms(built, now)
        _add_services(built, now)
        _add_menus(built, now)
        _add_shifts(built, now)
        _add_households(built, now)
        _add_bookings(built, now)
        _add_enrolments(built, now)
        register_partner(now=now, password=DEMO_PASSWORD, **PENDING_PARTNER)
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


def _add_rooms(built: _Built, now: datetime) -> None:
    for partner_name, rooms in ROOMS.items():
        by = _publisher(built, built.partners[partner_name])
        for name, purpose, seats in rooms:
            built.rooms[partner_name, name] = add_room(built.service_points[partner_name].id, name=name,
                                                       purpose=purpose, seats=seats, by=by, now=now)


def _add_services(built: _Built, now: datetime) -> None:
    today = local_date(now)
    for row in SERVICES:
        partner = built.partners[row.partner]
        by = _publisher(built, partner)
        settings = dict(row.settings)
        if "room" in settings:
            settings["room_id"] = built.rooms[row.partner, settings.pop("room")].id
        service = create_service(partner_id=partner.id, kind=row.kind, name=row.name, capacity=row.capacity,
                                 service_point_id=built.service_points[row.partner].id, by=by, now=now, **settings)
        add_weekly_pattern(service_id=service.id, weekdays=row.weekdays, start_time=row.start,
                           end_time=row.end, valid_from=today, by=by, now=now)
        built.services[row.name] = service


def _add_menus(built: _Built, now: datetime) -> None:
    """The canteen's dishes and a week of lunch and dinner menus from today."""
    canteen = built.partners["赭麓长者食堂"]
    by = _publisher(built, canteen)
    dishes = {name: create_dish(partner_id=canteen.id, name=name, diet_tags=[tag.value for tag in tags],
                                allergens=allergens, by=by, now=now)
              for name, (tags, allergens) in DISHES.items()}
    today = local_date(now)
    for service_name, menus in (("午餐", LUNCH_MENUS), ("晚餐", DINNER_MENUS)):
        for n in range(MENU_DAYS):
            set_menu(service_id=built.services[service_name].id, day=today + timedelta(days=n),
                     dish_ids=[dishes[name].id for name in menus[n % len(menus)]], by=by, now=now)


def _coming_weekdays(now: datetime, days: int = 14) -> list[date]:
    today = local_date(now)
    return [today + timedelta(days=n) for n in range(1, days + 1) if (today + timedelta(days=n)).weekday() < SAT]


def _add_shifts(built: _Built, now: datetime) -> None:
    """Two carers per nursery class on each coming weekday (so each class's places follow its ratio),
    and the canteen's volunteers on the lunch deliveries."""
    nursery, canteen = built.partners["艺涵托育园"], built.partners["赭麓长者食堂"]
    start, end = NURSERY_SHIFT_TIME
    for day in _coming_weekdays(now):
        for class_name, carers in NURSERY_SHIFTS.items():
            shift = create_shift(point_id=built.service_points[nursery.name].id, day=day, start_time=start,
                                 end_time=end, role=ShiftRole.staff, title=f"{class_name}保育", min_people=2,
                                 max_people=3, service_id=built.services[class_name].id,
                                 by=_publisher(built, nursery), now=now)
            for login in carers:
                assign(shift.id, user_id=built.users[login].id, by=_publisher(built, nursery), now=now)
    by = _publisher(built, canteen)
    volunteers = [add_volunteer(partner_id=canteen.id, name=name, phone=phone, by=by, now=now)
                  for name, phone in VOLUNTEERS]
    start, end = DELIVERY_SHIFT_TIME
    for n, day in enumerate(_coming_weekdays(now, days=7)):
        shift = create_shift(point_id=built.service_points[canteen.name].id, day=day, start_time=start,
                             end_time=end, role=ShiftRole.volunteer, title="午餐送餐", min_people=2, max_people=3,
                             by=by, now=now)
        # One volunteer on the first day, so the roster shows a shift below its minimum.
        crew = [volunteers[0]] if n == 0 else [volunteers[n % 3], volunteers[(n + 1) % 3]]
        for volunteer in crew:
            assign(shift.id, volunteer_id=volunteer.id, by=by, now=now)


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
    for member_name, service_name, nth, booked_by, *extra in BOOKINGS:
        slot = _upcoming_bookable_slots(built.services[service_name], now)[nth]
        options = dict(extra[0]) if extra else {}
        if "dishes" in options:
            menu = menu_of(slot.service_id, local_date(slot.starts_at))
            options["dish_ids"] = [dish.id for dish in menu[:options.pop("dishes")]]
        engine.book(slot.id, built.members[member_name].id, by=built.users[booked_by], now=now,
                    options=options or None)


def _add_enrolments(built: _Built, now: datetime) -> None:
    today = local_date(now)
    for member_name, service_name, weekdays, meal_mode, enrolled_by in ENROLMENTS:
        enrol(built.members[member_name].id, built.services[service_name].id, weekdays, starts_on=today,
              by=built.users[enrolled_by], now=now,
              options={"mode": meal_mode.value} if meal_mode else None)


def summary() -> dict[str, int]:
    """How much demo data the database holds, for the command's report."""
    models = {"communities": Community, "grids": Grid, "buildings": Building, "partners": PartnerOrganisation,
              "services": Service, "slots": Slot, "households": Household, "members": CareRecipient,
              "bookings": Booking, "accounts": User}
    return {label: db.session.scalar(sa.select(sa.func.count()).select_from(model)) for label, model in
            models.items()}
