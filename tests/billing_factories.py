"""Meal billing test data: a month of meals in every state, ordered and attended through the real rules.

The clock starts at Tuesday 1 December 2026, 09:00 (conftest.START); every order is placed then, before
its cutoff, and attendance is recorded on the day. Ages are on the meal's day.

| slot (local)                 | 王奶奶 65      | 李爷爷 75 低保  | 陈奶奶 85 特困  | 张爷爷 72 失能 (张家) |
| 午餐 Wed 2 Dec 11:30          | checked in     | checked out    | no-show         | confirmed, ended     |
| 晚餐 Wed 2 Dec 17:00          |                | cancelled      | confirmed, ended|                      |
| 午餐 Thu 3 Dec 11:30          | confirmed      |                |                 |                      |
| 午餐 Fri 4 Dec 11:30 (1 place)| confirmed      | waitlisted     |                 |                      |
| 午餐 Thu 31 Dec 11:30        |                |                | checked in      |                      |
| 午餐 Fri 1 Jan 07:30 (UTC: 31 Dec) |           |                | confirmed       |                      |
| 午餐 Fri 1 Jan 11:30          |                | confirmed      |                 |                      |
| 书院午餐 Wed 2 Dec 12:00 (麓枫书院) | confirmed |              |                 |                      |
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from careapp.booking import engine
from careapp.booking.models import Booking
from careapp.core.clock import FrozenClock
from careapp.core.db import db
from careapp.core.timefmt import from_local, local_date
from careapp.households.models import CareRecipient, RecipientKind, SpecialGroup
from careapp.households.services import add_recipient
from careapp.meals.models import MealOrder
from careapp.partners.models import MealTime, Service, ServiceKind, Slot
from careapp.partners.services import create_service, create_slot
from tests.factories import Family, World, years_ago

DECEMBER = "2026-12"


@dataclass
class BillingScene:
    world: World
    lunch: Service
    dinner: Service
    academy_lunch: Service
    members: dict[str, CareRecipient]
    bookings: dict[tuple[str, str], Booking] = field(default_factory=dict)

    def served_in_december(self, partner_id: int | None = None, household_id: int | None = None) -> set[int]:
        """The bookings the definition of a meal served picks for December (see the table above)."""
        keys = {("L1", "王奶奶"), ("L1", "李爷爷"), ("L1", "张爷爷"), ("D1", "陈奶奶"), ("L2", "王奶奶"),
                ("L3", "王奶奶"), ("L31", "陈奶奶"), ("A1", "王奶奶")}
        chosen = set()
        for key in keys:
            booking = self.bookings[key]
            service = booking.slot.service
            if partner_id is not None and service.partner_id != partner_id:
                continue
            if household_id is not None and booking.recipient.household_id != household_id:
                continue
            chosen.add(booking.id)
        return chosen


def subsidies_of(booking_ids: set[int]) -> int:
    """The sum of the subsidies fixed on those bookings' meal orders, read straight from the table."""
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(MealOrder.subsidy_fen), 0))
                             .where(MealOrder.booking_id.in_(booking_ids)))


def meal_service(world: World, setup, name: str, meal: MealTime, now: datetime, **settings) -> Service:
    point = setup.partner.service_points[0]
    return create_service(partner_id=setup.partner.id, kind=ServiceKind.meal, name=name, capacity=20,
                          service_point_id=point.id, by=setup.manager, now=now, meal=meal, **settings)


def slot_at(service: Service, manager, day: date, start: time, now: datetime, capacity: int | None = None) -> Slot:
    starts_at = from_local(day, start)
    return create_slot(service_id=service.id, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=90),
                       capacity=capacity, by=manager, now=now)


def elder(family: Family, now: datetime, name: str, age: int, group: SpecialGroup | None = None) -> CareRecipient:
    member = add_recipient(household_id=family.household.id, by=family.user, now=now, kind=RecipientKind.elder,
                           name=name, birth_date=years_ago(local_date(now), age, days=30), ability_level=1,
                           special_group=group)
    family.members[name] = member
    return member


def order(slot: Slot, member: CareRecipient, by, now: datetime, mode: str = "dine_in") -> Booking:
    return engine.book(slot.id, member.id, by=by, now=now, options={"mode": mode}).booking


def build_scene(world: World, clock: FrozenClock) -> BillingScene:
    now = clock.now()
    centre, academy = world.care_centre, world.academy
    lunch = meal_service(world, centre, "午餐", MealTime.lunch, now)
    dinner = meal_service(world, centre, "晚餐", MealTime.dinner, now, price_fen=1200)
    academy_lunch = meal_service(world, academy, "书院午餐", MealTime.lunch, now)
    family, other = world.family, world.other_family
    members = {"王奶奶": elder(family, now, "王奶奶", 65), "李爷爷": elder(family, now, "李爷爷", 75, SpecialGroup.dibao),
               "陈奶奶": elder(family, now, "陈奶奶", 85, SpecialGroup.tekun),
               "张爷爷": elder(other, now, "张爷爷", 72, SpecialGroup.shineng)}
    day = local_date(now)
    dec2, dec3, dec4, dec31, jan1 = (day + timedelta(days=n) for n in (1, 2, 3, 30, 31))
    m = centre.manager
    slots = {"L1": slot_at(lunch, m, dec2, time(11, 30), now), "D1": slot_at(dinner, m, dec2, time(17), now),
             "L2": slot_at(lunch, m, dec3, time(11, 30), now),
             "L3": slot_at(lunch, m, dec4, time(11, 30), now, capacity=1),
             "L31": slot_at(lunch, m, dec31, time(11, 30), now),
             "EARLY": slot_at(lunch, m, jan1, time(7, 30), now),
             "L4": slot_at(lunch, m, jan1, time(11, 30), now),
             "A1": slot_at(academy_lunch, academy.manager, dec2, time(12), now)}
    scene = BillingScene(world, lunch, dinner, academy_lunch, members)
    plan = [("L1", "王奶奶"), ("L1", "李爷爷"), ("L1", "陈奶奶"), ("L1", "张爷爷"), ("D1", "李爷爷"), ("D1", "陈奶奶"),
            ("L2", "王奶奶"), ("L3", "王奶奶"), ("L3", "李爷爷"), ("L31", "陈奶奶"), ("EARLY", "陈奶奶"),
            ("L4", "李爷爷"), ("A1", "王奶奶")]
    for slot_key, name in plan:
        member = members[name]
        by = other.user if name == "张爷爷" else family.user
        mode = "delivery" if (slot_key, name) == ("L2", "王奶奶") else "dine_in"
        scene.bookings[(slot_key, name)] = order(slots[slot_key], member, by, now, mode)
    engine.cancel(scene.bookings[("D1", "李爷爷")].id, by=family.user, now=now)

    staff = centre.staff
    clock.set(from_local(dec2, time(11, 0)))
    engine.check_in(scene.bookings[("L1", "王奶奶")].id, by=staff, now=clock.now())
    engine.check_in(scene.bookings[("L1", "李爷爷")].id, by=staff, now=clock.now())
    clock.set(from_local(dec2, time(12, 30)))
    engine.check_out(scene.bookings[("L1", "李爷爷")].id, by=staff, now=clock.now())
    engine.mark_no_show(scene.bookings[("L1", "陈奶奶")].id, by=staff, now=clock.now())
    clock.set(from_local(dec31, time(11, 0)))
    engine.check_in(scene.bookings[("L31", "陈奶奶")].id, by=staff, now=clock.now())
    clock.set(from_local(date(2027, 1, 5), time(9, 0)))  # every December meal has ended
    db.session.expire_all()
    return scene
