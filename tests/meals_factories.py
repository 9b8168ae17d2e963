"""Meal help test data: a lunch and a dinner service at the care centre, dishes and a day's menu."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest

from careapp.core.db import db, write_transaction
from careapp.core.timefmt import from_local, local_date
from careapp.district.models import Building
from careapp.households.models import CareRecipient
from careapp.meals.models import Dish, MenuItem
from careapp.partners.models import MealTime, Service, ServiceKind, Slot
from careapp.partners.services import create_service, create_slot
from tests.factories import Family, World, make_family


@dataclass
class MealScene:
    world: World
    lunch: Service
    dinner: Service
    day: date              # tomorrow, local
    lunch_slot: Slot       # tomorrow 11:30-13:00
    dinner_slot: Slot      # tomorrow 17:00-18:30
    elder: CareRecipient   # 李家's elder, aged 75, 145 m from the canteen

    @property
    def family(self) -> Family:
        return self.world.family

    @property
    def manager(self):
        return self.world.care_centre.manager


def meal_service(world: World, name: str, meal: MealTime | None, now: datetime, **settings) -> Service:
    """A meal service of the care centre; ``meal=None`` makes one as older data may hold (no meal set)."""
    point = world.daycare.service_point_id
    service = create_service(partner_id=world.care_centre.partner.id, kind=ServiceKind.meal, name=name, capacity=20,
                             service_point_id=point, by=world.care_centre.manager, now=now,
                             meal=meal or MealTime.lunch, **settings)
    if meal is None:
        with write_transaction():
            service = db.session.get(Service, service.id)
            service.meal = None
    return service


def meal_slot(service: Service, day: date, start: time, by, now: datetime, capacity: int | None = None) -> Slot:
    starts_at = from_local(day, start)
    return create_slot(service_id=service.id, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=90),
                       capacity=capacity, by=by, now=now)


def add_dish(partner_id: int, name: str, tags: str | None = None, allergens: str | None = None) -> Dish:
    with write_transaction():
        dish = Dish(partner_id=partner_id, name=name, diet_tags=tags, allergens=allergens, active=True)
        db.session.add(dish)
    return dish


def put_on_menu(service: Service, day: date, *dishes: Dish) -> None:
    with write_transaction():
        db.session.add_all(MenuItem(service_id=service.id, day=day, dish_id=dish.id) for dish in dishes)


def set_member(member: CareRecipient, **fields) -> CareRecipient:
    with write_transaction():
        row = db.session.get(CareRecipient, member.id)
        for name, value in fields.items():
            setattr(row, name, value)
    return row


def elder_born(family: Family, now: datetime, born: date, name: str) -> CareRecipient:
    member = family.add_elder(now, name=name)
    return set_member(member, birth_date=born)


def far_family(world: World, now: datetime, name: str = "远家") -> Family:
    """A household about 2.2 km from the canteen (the canteen is at 31.33, 118.37)."""
    with write_transaction():
        building = Building(grid_id=world.grid.id, name="远楼", address="远处路9号", latitude=31.35, longitude=118.37)
        db.session.add(building)
    return make_family(building, now, name)


@pytest.fixture
def meals(world, clock) -> MealScene:
    now = clock.now()
    lunch = meal_service(world, "长者午餐", MealTime.lunch, now)
    dinner = meal_service(world, "长者晚餐", MealTime.dinner, now)
    day = local_date(now) + timedelta(days=1)
    manager = world.care_centre.manager
    lunch_slot = meal_slot(lunch, day, time(11, 30), manager, now)
    dinner_slot = meal_slot(dinner, day, time(17, 0), manager, now)
    elder = world.family.add_elder(now, name="王奶奶", age=75)
    return MealScene(world, lunch, dinner, day, lunch_slot, dinner_slot, elder)


def at_local(clock, day: date, hour: int, minute: int = 0) -> datetime:
    clock.set(from_local(day, time(hour, minute)))
    return clock.now()


@pytest.fixture
def menu(meals):
    """Two dishes on tomorrow's lunch menu: a low-salt soft fish (fish) and chicken with peanuts."""
    partner = meals.world.care_centre.partner.id
    fish = add_dish(partner, "清蒸鱼", "low_salt,soft", "鱼")
    chicken = add_dish(partner, "宫保鸡丁", None, "花生")
    put_on_menu(meals.lunch, meals.day, fish, chicken)
    return fish, chicken


def lunch_orders(meals, menu, now: datetime, **elder_needs):
    """Four elders of three households on tomorrow's lunch (capacity 3): two delivered, one picking up, one
    waiting. 王奶奶 is low-salt and allergic to peanuts, plus ``elder_needs`` (set before she orders, since an
    order fixes its subsidy)."""
    from careapp.booking import engine

    fish, chicken = menu
    world = meals.world
    set_member(meals.elder, diet_tags="low_salt", allergies="花生", phone="13812341234", **elder_needs)
    engine.book(meals.lunch_slot.id, meals.elder.id, by=world.family.user, now=now,
                options={"mode": "delivery", "dish_ids": [fish.id, chicken.id]})
    zhang = world.other_family.add_elder(now, name="张爷爷")
    engine.book(meals.lunch_slot.id, zhang.id, by=world.other_family.user, now=now, options={"mode": "delivery"})
    grandpa = world.family.add_elder(now, name="李爷爷")
    engine.book(meals.lunch_slot.id, grandpa.id, by=world.family.user, now=now,
                options={"mode": "pick_up", "dish_ids": [fish.id]})
    engine.set_capacity(meals.lunch_slot.id, 3, by=meals.manager, now=now)
    late = world.other_family.add_elder(now, name="迟奶奶")
    engine.book(meals.lunch_slot.id, late.id, by=world.other_family.user, now=now)
    return meals
