"""What each kind of partner runs: its services, their weekly slots, rooms and how much they are in demand.

The data the generator draws partners from. Numbers follow DOMAIN.md: day centres take ability levels 0-2
(the full-day group with transport also 3), canteens serve lunch and dinner every day, nursery classes
follow 托育机构设置标准(试行) (class sizes 10/15/20, mixed 18), activities run weekly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

from careapp.partners.models import ChildClass, FillPolicy, MealTime, PartnerKind, ServiceKind, SessionLength

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
WEEKDAYS = (MON, TUE, WED, THU, FRI)
EVERY_DAY = (MON, TUE, WED, THU, FRI, SAT, SUN)


@dataclass(frozen=True)
class Offer:
    """A service a partner of some kind runs, with its weekly slots and the demand for it.

    ``fill`` is the expected share of places taken on an average day (more than 1: a waitlist most days);
    ``enrolled`` the share of places held by standing enrolments; ``lead_days`` how long before booking
    closes people book, on average; ``cancel`` the share of bookings later cancelled.
    """

    name: str
    kind: ServiceKind
    capacity: int
    weekdays: tuple[int, ...]
    start: time
    end: time
    room: str
    settings: dict = field(default_factory=dict)
    fill: float = 0.8
    enrolled: float = 0.3
    lead_days: float = 3.0
    cancel: float = 0.06


@dataclass(frozen=True)
class PartnerType:
    kind: PartnerKind
    suffix: str            # appended to a place name: 赭山 + 养老服务中心
    offers: tuple[Offer, ...]
    staff: int             # partner staff accounts besides the manager (nurseries add their carers)
    volunteers: int = 0    # volunteers who carry meals home


ELDERS_ONLY = {"min_age_years": 60}
# Activities for old and young: children from two (babies stay at home).
TODDLERS_UP = {"min_age_months": 24}
DAY_CENTRE = {"ability_levels": "012"}
OFFERED = {"fill_policy": FillPolicy.offer, "offer_hours": 12}
FULL_DAY = {"session_length": SessionLength.full_day}

CARE_CENTRE = PartnerType(PartnerKind.elderly_care_centre, "养老服务中心", staff=3, volunteers=2, offers=(
    Offer("半日日托(上午)", ServiceKind.daycare, 30, WEEKDAYS, time(8, 30), time(11, 30), "日间照料室",
          {**DAY_CENTRE, "session_length": SessionLength.half_day}, fill=0.95, enrolled=0.5),
    Offer("半日日托(下午)", ServiceKind.daycare, 25, WEEKDAYS, time(14, 0), time(17, 0), "日间照料室",
          {**DAY_CENTRE, "session_length": SessionLength.half_day}, fill=0.85, enrolled=0.4),
    Offer("全日日托(含午餐、接送)", ServiceKind.daycare, 20, WEEKDAYS, time(8, 30), time(17, 0), "全日照料区",
          {"ability_levels": "0123", **FULL_DAY, **OFFERED, "lunch_included": True, "transport": True,
           "booking_cutoff_minutes": 720, "cancel_cutoff_minutes": 720}, fill=1.05, enrolled=0.7, lead_days=6),
    Offer("助餐(午餐)", ServiceKind.meal, 80, EVERY_DAY, time(11, 0), time(12, 30), "助餐点",
          {"meal": MealTime.lunch, "price_fen": 1200}, fill=0.9, enrolled=0.45, lead_days=1.5, cancel=0.04),
    Offer("康复训练", ServiceKind.activity, 15, (MON, WED, FRI), time(9, 30), time(10, 30), "康复活动区",
          ELDERS_ONLY, fill=0.9, enrolled=0.4),
    Offer("健康讲座", ServiceKind.activity, 40, (TUE,), time(9, 30), time(11, 0), "多功能厅",
          ELDERS_ONLY, fill=0.6, enrolled=0.1, lead_days=5),
))

CANTEEN = PartnerType(PartnerKind.canteen, "长者食堂", staff=3, volunteers=4, offers=(
    Offer("午餐", ServiceKind.meal, 200, EVERY_DAY, time(11, 0), time(12, 30), "就餐区",
          {"meal": MealTime.lunch, "delivery_radius_m": 1500}, fill=0.85, enrolled=0.45, lead_days=1.5,
          cancel=0.04),
    Offer("晚餐", ServiceKind.meal, 110, EVERY_DAY, time(17, 0), time(18, 30), "就餐区",
          {"meal": MealTime.dinner, "delivery_radius_m": 1500}, fill=0.8, enrolled=0.35, lead_days=1.0,
          cancel=0.04),
    Offer("健康饮食讲座", ServiceKind.activity, 30, (THU,), time(15, 0), time(16, 0), "就餐区",
          ELDERS_ONLY, fill=0.6, enrolled=0.05, lead_days=5),
))

NURSERY = PartnerType(PartnerKind.nursery, "托育园", staff=2, offers=(
    Offer("乳儿班", ServiceKind.childcare, 10, WEEKDAYS, time(8, 0), time(17, 0), "乳儿班教室",
          {"child_class": ChildClass.infant, **FULL_DAY, "cancel_cutoff_minutes": 120},
          fill=1.05, enrolled=0.9, lead_days=7, cancel=0.05),
    Offer("托小班", ServiceKind.childcare, 15, WEEKDAYS, time(8, 0), time(17, 0), "托小班教室",
          {"child_class": ChildClass.toddler, **FULL_DAY, **OFFERED, "cancel_cutoff_minutes": 120},
          fill=1.15, enrolled=0.9, lead_days=7, cancel=0.05),
    Offer("托大班", ServiceKind.childcare, 20, WEEKDAYS, time(8, 0), time(17, 0), "托大班教室",
          {"child_class": ChildClass.preschool, **FULL_DAY, "cancel_cutoff_minutes": 120},
          fill=1.1, enrolled=0.9, lead_days=7, cancel=0.05),
    Offer("混龄班", ServiceKind.childcare, 18, WEEKDAYS, time(8, 0), time(17, 0), "混龄班教室",
          {"child_class": ChildClass.mixed, **FULL_DAY, "cancel_cutoff_minutes": 120},
          fill=1.0, enrolled=0.85, lead_days=7, cancel=0.05),
    Offer("临时托(半日)", ServiceKind.childcare, 6, WEEKDAYS, time(8, 30), time(11, 30), "活动室",
          {"session_length": SessionLength.occasional, "min_age_months": 6, "max_age_months": 36},
          fill=0.8, enrolled=0.0, lead_days=2, cancel=0.08),
    Offer("亲子早教", ServiceKind.activity, 12, (SAT,), time(9, 30), time(10, 30), "活动室",
          {"min_age_months": 6, "max_age_months": 36}, fill=0.9, enrolled=0.3, lead_days=5),
))

SOCIAL_ORGANISATION = PartnerType(PartnerKind.social_organisation, "社工服务站", staff=2, offers=(
    Offer("一老一小手工坊", ServiceKind.activity, 20, (SAT,), time(9, 30), time(11, 0), "议事活动室",
          TODDLERS_UP, fill=0.9, enrolled=0.2, lead_days=5),
    Offer("广场舞队", ServiceKind.activity, 40, (MON, WED, FRI), time(19, 0), time(20, 30), "活动广场",
          ELDERS_ONLY, fill=0.7, enrolled=0.4, lead_days=2),
    Offer("智能手机课堂", ServiceKind.activity, 20, (TUE, THU), time(14, 30), time(16, 0), "议事活动室",
          ELDERS_ONLY, fill=0.95, enrolled=0.3, lead_days=4),
    Offer("书法班", ServiceKind.activity, 15, (WED,), time(14, 0), time(16, 0), "书画室",
          ELDERS_ONLY, fill=0.9, enrolled=0.6, lead_days=4),
    Offer("老幼共读", ServiceKind.activity, 25, (SUN,), time(15, 0), time(16, 30), "议事活动室",
          TODDLERS_UP, fill=0.7, enrolled=0.1, lead_days=4),
    Offer("健康义诊", ServiceKind.activity, 30, (THU,), time(9, 0), time(11, 0), "多功能厅",
          ELDERS_ONLY, fill=0.8, enrolled=0.0, lead_days=3),
))

ACADEMY = PartnerType(PartnerKind.academy, "书院", staff=2, offers=(
    Offer("图书阅览(老幼共读)", ServiceKind.activity, 40, (TUE, WED, THU, FRI, SAT, SUN), time(14, 0),
          time(17, 0), "阅览区", TODDLERS_UP, fill=0.6, enrolled=0.1, lead_days=2),
    Offer("国学启蒙", ServiceKind.activity, 15, (SAT,), time(10, 0), time(11, 0), "国学教室",
          {"min_age_months": 36, "max_age_months": 72}, fill=0.9, enrolled=0.5, lead_days=5),
    Offer("书画社", ServiceKind.activity, 20, (WED, FRI), time(9, 0), time(11, 0), "书画室",
          ELDERS_ONLY, fill=0.85, enrolled=0.5, lead_days=4),
    Offer("黄梅戏社", ServiceKind.activity, 25, (THU,), time(14, 0), time(16, 0), "多功能厅",
          ELDERS_ONLY, fill=0.8, enrolled=0.4, lead_days=4),
    Offer("亲子绘本", ServiceKind.activity, 15, (SUN,), time(10, 0), time(11, 0), "阅览区",
          {"min_age_months": 24, "max_age_months": 72}, fill=0.85, enrolled=0.2, lead_days=4),
))

# Partners are added in this order, again and again: the first five hold one of each kind, ten hold
# 3 care centres, 3 canteens, 2 nurseries, a social organisation and an academy (50 services).
MIX = (CARE_CENTRE, CANTEEN, NURSERY, SOCIAL_ORGANISATION, ACADEMY, CARE_CENTRE, CANTEEN, CARE_CENTRE, CANTEEN,
       NURSERY)

# Nursery carers: one staff shift per class and weekday, from a quarter before opening to a quarter after.
CARER_SHIFT = (time(7, 45), time(17, 15))
# Volunteers carry lunches home on every day a kitchen cooks.
DELIVERY_SHIFT = (time(10, 45), time(12, 30))
