"""The slots' booking tallies (booked, attended, no-show) always equal the bookings counted, through every
change the booking engine makes: reports at city scale sum the tallies instead of counting bookings."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from careapp.booking import engine
from careapp.booking.models import TALLIES, Booking
from careapp.core.db import db
from careapp.partners.models import Slot
from tests.factories import make_family, make_slot


def counted(slot_id: int) -> dict[str, int]:
    return {column: db.session.scalar(sa.select(sa.func.count()).select_from(Booking).where(
        Booking.slot_id == slot_id, Booking.status.in_(statuses))) for column, statuses in TALLIES.items()}


def tallied(slot_id: int) -> dict[str, int]:
    db.session.expire_all()
    slot = db.session.get(Slot, slot_id)
    return {column: getattr(slot, column) for column in TALLIES}


def check(slot_id: int, booked: int, attended: int, no_shows: int) -> None:
    expected = {"booked_count": booked, "attended_count": attended, "no_show_count": no_shows}
    assert counted(slot_id) == expected
    assert tallied(slot_id) == expected


def test_tallies_follow_booking_waitlist_cancel_check_in_out_and_no_show(world, clock):
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=2)
    people = []
    for i in range(4):
        family = make_family(world.building, now, f"家{i}")
        people.append((family.user, family.add_elder(now, name=f"老人{i}")))
    bookings = [engine.book(slot.id, elder.id, by=user, now=now).booking for user, elder in people]
    check(slot.id, 2, 0, 0)  # two confirmed, two waiting
    engine.cancel(bookings[0].id, by=people[0][0], now=now)  # the first in line takes the place
    check(slot.id, 2, 0, 0)
    engine.set_capacity(slot.id, 3, by=world.care_centre.manager, now=now)  # the next one too
    check(slot.id, 3, 0, 0)
    clock.set(slot.starts_at + timedelta(minutes=5))
    staff = world.care_centre.staff
    engine.check_in(bookings[1].id, by=staff, now=clock.now())
    check(slot.id, 3, 1, 0)
    engine.check_out(bookings[1].id, by=staff, now=clock.now() + timedelta(hours=1))
    check(slot.id, 3, 1, 0)
    engine.mark_no_show(bookings[2].id, by=staff, now=slot.ends_at + timedelta(minutes=1))
    check(slot.id, 3, 1, 1)


def test_tallies_follow_offers_and_a_cancelled_slot(world, clock):
    now = clock.now()
    service = world.nursery.services["托小班"]  # offers a freed place for 12 hours
    slot = make_slot(service, world.nursery.manager, now, days_ahead=3, capacity=1)
    families = [make_family(world.building, now, f"童家{i}") for i in range(3)]
    kids = [f.add_child(now, name=f"孩子{i}") for i, f in enumerate(families)]
    bookings = [engine.book(slot.id, k.id, by=f.user, now=now).booking for f, k in zip(families, kids)]
    check(slot.id, 1, 0, 0)
    engine.cancel(bookings[0].id, by=families[0].user, now=now)
    check(slot.id, 0, 0, 0)  # an open offer is not a booking yet
    engine.decline_offer(bookings[1].id, by=families[1].user, now=now)
    engine.accept_offer(bookings[2].id, by=families[2].user, now=now)
    check(slot.id, 1, 0, 0)
    engine.cancel_slot(slot.id, by=world.nursery.manager, now=now)
    check(slot.id, 0, 0, 0)
