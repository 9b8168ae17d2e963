"""Read models: counts, positions, and a fixed number of SQL statements whatever the bookings."""
from __future__ import annotations

import pytest

from careapp.booking import engine, queries
from careapp.booking.models import BookingStatus
from careapp.core.db import db
from tests.factories import make_family, make_slot
from tests.statements import count_statements




def fill(world, slot, n, now, family=None):
    """n bookings in ``slot``; with ``family`` all members of one household, else one household each."""
    for i in range(n):
        f = family or make_family(world.building, now, f"家{slot.id}-{i}")
        elder = f.add_elder(now, name=f"老人{slot.id}-{i}")
        engine.book(slot.id, elder.id, by=f.user, now=now)


def test_find_slots_counts_confirmed_waitlisted_and_available(world, clock):
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=2)
    fill(world, slot, 3, now)
    [row] = queries.find_slots(now=now, partner_id=world.care_centre.partner.id)
    assert (row.confirmed, row.offered, row.waitlisted, row.available) == (2, 0, 1, 0)


def test_find_slots_filters_by_kind_and_local_date(world, clock):
    now = clock.now()
    tomorrow = make_slot(world.daycare, world.care_centre.manager, now, days_ahead=1)
    make_slot(world.daycare, world.care_centre.manager, now, days_ahead=3)
    make_slot(world.academy.services["图书阅览"], world.academy.manager, now, days_ahead=1)
    from careapp.core.timefmt import local_date
    from careapp.partners.models import ServiceKind

    day = local_date(tomorrow.starts_at)
    rows = queries.find_slots(now=now, kind=ServiceKind.daycare, date_from=day, date_to=day)
    assert [r.slot.id for r in rows] == [tomorrow.id]


def test_household_bookings_show_waitlist_positions(world, clock):
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=1)
    fill(world, slot, 2, now)
    mine = world.family.add_elder(now)
    engine.book(slot.id, mine.id, by=world.family.user, now=now)
    [view] = queries.household_bookings(world.family.household.id, now=now)
    assert view.booking.status == BookingStatus.waitlisted
    assert view.waitlist_position == 2


@pytest.mark.parametrize("reader", ["roster", "household", "slot_list", "visible"])
def test_statement_count_does_not_grow_with_bookings(world, clock, reader):
    now = clock.now()
    slots = [make_slot(world.daycare, world.care_centre.manager, now, days_ahead=d, capacity=3) for d in (1, 2)]
    family = world.family

    def read():
        db.session.expire_all()
        with count_statements() as statements:
            if reader == "roster":
                views = queries.roster(slots[0].id)
                [(v.booking.recipient.name, v.booking.slot.service.partner.name) for v in views]
            elif reader == "household":
                views = queries.household_bookings(family.household.id, now=now)
                [(v.booking.recipient.name, v.booking.slot.service.name) for v in views]
            elif reader == "visible":
                views = queries.visible_bookings(world.community_staff)
                [(v.booking.recipient.name, v.booking.slot.service.partner.name) for v in views]
            else:
                [r.as_dict() for r in queries.find_slots(now=now)]
        return len(statements)

    fill(world, slots[0], 1, now, family)
    small = read()
    for slot in slots:
        fill(world, slot, 5, now, family if slot is slots[0] else None)
    assert read() == small


@pytest.mark.parametrize("page", ["family_home", "slot_list", "roster"])
def test_pages_issue_the_same_number_of_statements_whatever_the_bookings(world, clock, client, page):
    """The family home, the slot finder and a slot's roster, measured over a whole request."""
    from tests.page_helpers import login

    now = clock.now()
    slots = [make_slot(world.daycare, world.care_centre.manager, now, days_ahead=d, capacity=3) for d in (1, 2)]
    viewer = world.care_centre.staff if page == "roster" else world.family.user
    url = {"family_home": "/family/", "slot_list": "/booking/slots", "roster": f"/partners/slots/{slots[0].id}"}[page]
    login(client, viewer)

    def statements_for_page() -> int:
        with count_statements() as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    fill(world, slots[0], 1, now, world.family)
    small = statements_for_page()
    for slot in slots:
        fill(world, slot, 5, now, world.family if slot is slots[0] else None)
    assert statements_for_page() == small
