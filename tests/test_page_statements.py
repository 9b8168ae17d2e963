"""The five pages of the speed benchmark (issue 7) read a fixed number of statements, however many rows they show.

Each page is fetched with a few rows, then again after more bookings (people, slots, meal orders, waiting
lists) are added, and both fetches must send the same number of statements: a query per booking, per
person or per slot (an N+1, a lazy load in a template loop) would make the second count larger.
"""
from __future__ import annotations

from datetime import time

import pytest

from careapp.booking import engine
from careapp.core.db import db, write_transaction
from careapp.core.timefmt import local_date
from careapp.coverage.dashboard import week_start
from careapp.coverage.snapshot import refresh_snapshot
from careapp.district.models import Building, Community, Grid
from tests.factories import make_family, make_slot
from tests.meals_factories import meals, menu  # noqa: F401  (fixtures)
from tests.meals_factories import add_dish, put_on_menu, set_member
from tests.page_helpers import login
from tests.statements import count_statements


def statements_of(client, path: str) -> list[str]:
    """The statements one fetch of the page sends (after a first fetch, so one-off loads are not counted)."""
    assert client.get(path).status_code == 200
    db.session.expire_all()  # nothing left over from the scene's set-up in the session
    with count_statements() as seen:
        response = client.get(path)
    assert response.status_code == 200, path
    return list(seen)


def assert_same(few: list[str], many: list[str]) -> None:
    assert len(few) == len(many), "\n\n".join(many)


def book(slot, member, family, now, **options):
    return engine.book(slot.id, member.id, by=family.user, now=now, options=options or None).booking


@pytest.fixture
def more_families(world, clock):
    """Five more households (in both buildings) with an elder each."""
    now = clock.now()
    families = [make_family(world.building if i % 2 else world.other_building, now, f"邻家{i}") for i in range(5)]
    return [(family, family.add_elder(now, name=f"邻居{i}")) for i, family in enumerate(families)]


def test_family_home(client, world, clock, meals, menu):
    now = clock.now()
    family = world.family
    fish, chicken = menu
    # Few: one place, one lunch with one dish, one place on a waiting list (each kind of row the page reads).
    daycare = make_slot(world.daycare, world.care_centre.manager, now, capacity=2)
    book(daycare, meals.elder, family, now)
    book(meals.lunch_slot, meals.elder, family, now, mode="delivery", dish_ids=[fish.id])
    full = make_slot(world.daycare, world.care_centre.manager, now, days_ahead=5, capacity=1)
    book(full, world.other_family.add_elder(now, name="张爷爷"), world.other_family, now)
    book(full, meals.elder, family, now)
    login(client, family.user)
    few = statements_of(client, "/family/")

    grandpa = family.add_elder(now, name="李爷爷")
    child = family.add_child(now, name="小明", months=26)
    set_member(grandpa, diet_tags="low_salt", allergies="花生")
    book(meals.lunch_slot, grandpa, family, now, mode="pick_up", dish_ids=[fish.id, chicken.id])
    book(meals.dinner_slot, grandpa, family, now, mode="delivery")
    book(meals.dinner_slot, meals.elder, family, now, mode="pick_up")
    book(daycare, grandpa, family, now)
    for days in (2, 3, 4):
        later = make_slot(world.daycare, world.care_centre.manager, now, days_ahead=days, capacity=2)
        book(later, meals.elder, family, now)
        book(make_slot(world.academy.services["图书阅览"], world.academy.manager, now, days_ahead=days),
             grandpa, family, now)
    book(make_slot(world.nursery.services["托小班"], world.nursery.manager, now, days_ahead=2), child, family, now)
    book(full, grandpa, family, now)  # a second one waiting
    many = statements_of(client, "/family/")
    assert_same(few, many)


def test_slot_finder(client, world, clock, more_families):
    now = clock.now()
    first = make_slot(world.daycare, world.care_centre.manager, now, capacity=2)
    family, elder = more_families[0]
    book(first, elder, family, now)
    login(client, world.family.user)
    few = statements_of(client, "/booking/slots")

    for days in (2, 3, 4, 5):
        slot = make_slot(world.daycare, world.care_centre.manager, now, days_ahead=days, capacity=2)
        reading = make_slot(world.academy.services["图书阅览"], world.academy.manager, now, days_ahead=days)
        for family, elder in more_families[:3]:
            book(slot, elder, family, now)  # two confirmed, one waiting
            book(reading, elder, family, now)
    make_slot(world.nursery.services["托小班"], world.nursery.manager, now, days_ahead=2)
    many = statements_of(client, "/booking/slots")
    assert_same(few, many)


def test_slot_roster(client, world, clock, more_families):
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=2)
    family, elder = more_families[0]
    book(slot, elder, family, now)
    login(client, world.care_centre.staff)
    few = statements_of(client, f"/partners/slots/{slot.id}")

    engine.set_capacity(slot.id, 4, by=world.care_centre.manager, now=now)
    for family, elder in more_families[1:]:
        book(slot, elder, family, now)  # three more confirmed, the last one waiting
    grandpa = world.family.add_elder(now, name="李爷爷")
    book(slot, grandpa, world.family, now)
    many = statements_of(client, f"/partners/slots/{slot.id}")
    assert_same(few, many)


def test_kitchen_sheet(client, world, clock, meals, menu, more_families):
    now = clock.now()
    fish, chicken = menu
    book(meals.lunch_slot, meals.elder, world.family, now, mode="delivery", dish_ids=[fish.id])
    login(client, world.care_centre.staff)
    path = f"/meals/slots/{meals.lunch_slot.id}/kitchen"
    few = statements_of(client, path)

    soup = add_dish(world.care_centre.partner.id, "豆腐汤", "soft", "大豆")
    put_on_menu(meals.lunch, meals.day, soup)
    set_member(more_families[0][1], diet_tags="low_salt,soft", allergies="花生")
    for i, (family, elder) in enumerate(more_families):
        dishes = [[fish.id, chicken.id], [soup.id], [], [chicken.id, soup.id], [fish.id]][i]
        book(meals.lunch_slot, elder, family, now, mode="pick_up" if i % 2 else "delivery", dish_ids=dishes)
    engine.set_capacity(meals.lunch_slot.id, 6, by=meals.manager, now=now)
    book(meals.lunch_slot, world.other_family.add_elder(now, name="张爷爷"), world.other_family, now)  # waiting
    many = statements_of(client, path)
    assert_same(few, many)


@pytest.mark.parametrize("query", ["", "?community_id={community}", "?community_id={community}&grid_id={grid}"])
def test_coverage_dashboard(client, world, clock, more_families, query):
    now = clock.now()
    path = "/community/coverage/" + query.format(community=world.community.id, grid=world.grid.id)
    slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=2)
    family, elder = more_families[0]
    book(slot, elder, family, now)
    login(client, world.community_staff)
    few = statements_of(client, path)

    engine.set_capacity(slot.id, 3, by=world.care_centre.manager, now=now)
    for days in (2, 3):
        later = make_slot(world.daycare, world.care_centre.manager, now, days_ahead=days, capacity=2)
        reading = make_slot(world.academy.services["图书阅览"], world.academy.manager, now, days_ahead=days,
                            start=time(14))
        for family, elder in more_families:
            book(later, elder, family, now)
            book(reading, elder, family, now)
    child = world.family.add_child(now, name="小明", months=26)
    book(make_slot(world.nursery.services["托小班"], world.nursery.manager, now), child, world.family, now)
    many = statements_of(client, path)
    assert_same(few, many)


def test_coverage_dashboard_of_the_whole_area_from_its_summary(client, world, clock):
    """From the snapshot, the whole area's page reads one row of its summary, whatever the number of
    communities, grids and buildings out of reach (the grids' rows are not read)."""
    now = clock.now()
    week = week_start(local_date(now))
    refresh_snapshot(week, now=now)
    login(client, world.community_staff)
    few = statements_of(client, "/community/coverage/")

    home = world.building
    with write_transaction():
        for i in range(3):
            community = Community(name=f"新社区{i}")
            for j in range(2):
                grid = Grid(community=community, name=f"新网格{j}")
                db.session.add(Building(grid=grid, name=f"{i}-{j}栋", address="", latitude=home.latitude + i / 10,
                                        longitude=home.longitude + j / 10))
    refresh_snapshot(week, now=now)
    many = statements_of(client, "/community/coverage/")
    assert_same(few, many)
    for seen in (few, many):
        text = " ".join(seen).lower()
        assert text.count("from coverage_area_week") == 1 and "coverage_grid_week" not in text
