"""Finding slots and booking: the family's whole path, the waiting list and offers, refusals shown plainly."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from careapp.accounts.models import User
from careapp.booking import engine
from careapp.booking.models import Booking, BookingStatus
from careapp.core.audit import AuditEntry
from careapp.core.db import db, write_transaction
from careapp.households.models import CareRecipient
from careapp.partners.models import SessionLength, Slot
from tests.factories import make_family, make_slot
from tests.page_helpers import count, follow, login, text


def only_booking() -> Booking:
    return db.session.scalars(sa.select(Booking)).one()


def test_register_add_member_find_book_and_cancel(client, world, clock):
    slot = make_slot(world.daycare, world.care_centre.manager, clock.now(), days_ahead=2)
    make_slot(world.academy.services["图书阅览"], world.academy.manager, clock.now(), days_ahead=2)
    client.post("/register", data={"name": "陈家", "login": "chen@example.cn", "password": "long-enough-1",
                                   "confirm": "long-enough-1", "building_id": str(world.building.id)})
    household_id = db.session.scalar(sa.select(User.household_id).where(User.login == "chen@example.cn"))
    assert f'href="/family/households/{household_id}/members/new"' in text(client.get("/family/"))
    client.post(f"/family/households/{household_id}/members/new",
                data={"kind": "elder", "name": "陈爷爷", "birth_date": "1945-02-03", "ability_level": "0"})
    elder = db.session.scalar(sa.select(CareRecipient).where(CareRecipient.name == "陈爷爷"))
    assert elder.household_id == household_id

    found = text(client.get("/booking/slots?kind=daycare&date_from=2026-12-03&date_to=2026-12-03"))
    assert "日间照料" in found and "图书阅览" not in found
    assert "<strong>2</strong> of 2 places left" in found
    assert f'href="/booking/slots/{slot.id}"' in found

    page = text(client.get(f"/booking/slots/{slot.id}"))
    assert "2026-12-03 08:30" in page
    assert f'<option value="{elder.id}">陈爷爷</option>' in page
    response = client.post(f"/booking/slots/{slot.id}/book", data={"recipient_id": elder.id})
    assert response.headers["Location"] == "/family/"
    home = follow(client, response)
    assert "陈爷爷, 日间照料 at 普康养老服务中心, 2026-12-03 08:30: confirmed." in home
    booking = only_booking()
    assert f"/booking/bookings/{booking.id}/cancel" in home

    home = follow(client, client.post(f"/booking/bookings/{booking.id}/cancel"))
    assert "2026-12-03 08:30: cancelled." in home
    assert "No bookings yet." in home
    assert db.session.get(Booking, booking.id).status == BookingStatus.cancelled


def test_find_slots_shows_places_left_and_waiting_list(client, world, clock):
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=1)
    for name in ("甲", "乙"):
        family = make_family(world.building, now, name)
        engine.book(slot.id, family.add_elder(now, name=f"{name}老人").id, by=family.user, now=now)
    login(client, world.family.user)
    page = text(client.get(f"/booking/slots?partner_id={world.care_centre.partner.id}"))
    assert "<strong>0</strong> of 1 places left" in page
    assert "1 on the waiting list" in page


def test_find_slots_with_a_backwards_date_range_says_so(client, world):
    login(client, world.family.user)
    response = client.get("/booking/slots?date_from=2026-12-10&date_to=2026-12-01")
    assert response.status_code == 400
    assert 'id="date_to-error">The last day must be on or after the first day.' in text(response)


def test_family_sees_only_members_the_service_serves(client, world, clock):
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now)
    world.family.add_elder(now)
    world.family.add_child(now)
    world.other_family.add_elder(now, name="别家老人")
    login(client, world.family.user)
    page = text(client.get(f"/booking/slots/{slot.id}"))
    assert "王奶奶" in page
    assert "小明" not in page and "别家老人" not in page


def test_waitlist_then_offer_then_accept(client, other_client, world, clock):
    now = clock.now()
    slot = make_slot(world.nursery.services["托小班"], world.nursery.manager, now, days_ahead=3, capacity=1)
    theirs = world.other_family.add_child(now, name="小红")
    mine = world.family.add_child(now)
    first = engine.book(slot.id, theirs.id, by=world.other_family.user, now=now).booking
    login(client, world.family.user)
    home = follow(client, client.post(f"/booking/slots/{slot.id}/book", data={"recipient_id": mine.id}))
    assert "小明, 托小班 at 艺涵托育园, 2026-12-04 08:30: waitlisted, position 1." in home
    assert "On the waiting list</strong>, number 1 in line" in home

    login(other_client, world.other_family.user)
    other_client.post(f"/booking/bookings/{first.id}/cancel")
    home = text(client.get("/family/"))
    assert "Place offered</strong>. Please answer by 2026-12-01 21:00" in home  # 12 offer hours
    booking = db.session.scalar(sa.select(Booking).where(Booking.recipient_id == mine.id))
    assert f"/booking/bookings/{booking.id}/accept" in home and f"/booking/bookings/{booking.id}/decline" in home

    home = follow(client, client.post(f"/booking/bookings/{booking.id}/accept"))
    assert "the place is yours, confirmed." in home
    assert db.session.get(Booking, booking.id).status == BookingStatus.confirmed


def test_cancelling_asks_first_and_the_answer_no_keeps_the_place(client, world, clock):
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now, days_ahead=2)
    booking = engine.book(slot.id, world.family.add_elder(now).id, by=world.family.user, now=now).booking
    login(client, world.family.user)
    home = text(client.get("/family/"))
    assert f'<a class="button secondary" href="/booking/bookings/{booking.id}/cancel"' in home

    page = text(client.get(f"/booking/bookings/{booking.id}/cancel"))
    assert "<h1>Cancel 日间照料 for 王奶奶?</h1>" in page
    assert f'action="/booking/bookings/{booking.id}/cancel"' in page and "Yes, cancel it" in page
    assert '<a class="button secondary" href="/family/">No, keep it</a>' in page
    assert db.session.get(Booking, booking.id).status == BookingStatus.confirmed  # asking changes nothing

    client.post(f"/booking/bookings/{booking.id}/cancel")
    response = client.get(f"/booking/bookings/{booking.id}/cancel")
    assert response.headers["Location"] == "/family/"
    assert "2026-12-03 08:30: cancelled, so there is nothing to cancel." in follow(client, response)


def test_the_slot_page_shows_the_familys_offer_with_its_answers(client, world, clock):
    """A message about an offered place links to the slot: the family answers there."""
    now = clock.now()
    slot = make_slot(world.nursery.services["托小班"], world.nursery.manager, now, days_ahead=3, capacity=1)
    other = world.other_family
    first = engine.book(slot.id, other.add_child(now, name="小红").id, by=other.user, now=now).booking
    mine = engine.book(slot.id, world.family.add_child(now).id, by=world.family.user, now=now).booking
    engine.cancel(first.id, by=other.user, now=now)
    login(client, world.family.user)
    page = text(client.get(f"/booking/slots/{slot.id}"))
    assert "<h2>Your bookings here</h2>" in page
    assert "Place offered</strong>. Please answer by 2026-12-01 21:00" in page
    assert f"/booking/bookings/{mine.id}/accept" in page and f"/booking/bookings/{mine.id}/decline" in page
    assert "小红" not in page  # another household's booking is not shown
    login(client, other.user)
    assert "Your bookings here" not in text(client.get(f"/booking/slots/{slot.id}"))


def test_declining_an_offer_passes_it_on(client, world, clock):
    now = clock.now()
    slot = make_slot(world.nursery.services["托小班"], world.nursery.manager, now, days_ahead=3, capacity=1)
    families = [make_family(world.building, now, name) for name in ("甲", "乙")]
    first = engine.book(slot.id, families[0].add_child(now).id, by=families[0].user, now=now).booking
    mine = engine.book(slot.id, world.family.add_child(now).id, by=world.family.user, now=now).booking
    last = engine.book(slot.id, families[1].add_child(now).id, by=families[1].user, now=now).booking
    engine.cancel(first.id, by=families[0].user, now=now)
    login(client, world.family.user)
    home = text(client.get("/family/"))
    assert f'<a class="button secondary" href="/booking/bookings/{mine.id}/decline"' in home  # a link: it asks

    page = text(client.get(f"/booking/bookings/{mine.id}/decline"))
    assert "<h1>Decline the place at 托小班 for 小明?</h1>" in page
    assert "The place goes to the next person waiting" in page
    assert f'action="/booking/bookings/{mine.id}/decline"' in page and "Yes, decline it" in page
    assert '<a class="button secondary" href="/family/">No, go back</a>' in page
    assert db.session.get(Booking, mine.id).status == BookingStatus.offered  # asking changes nothing

    home = follow(client, client.post(f"/booking/bookings/{mine.id}/decline"))
    assert "you declined the place; it goes to the next person waiting." in home
    assert db.session.get(Booking, last.id).status == BookingStatus.offered

    response = client.get(f"/booking/bookings/{mine.id}/decline")
    assert response.headers["Location"] == "/family/"
    assert "so there is nothing to decline." in follow(client, response)


def test_only_an_offered_place_can_be_declined(client, world, clock):
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now, days_ahead=2)
    booking = engine.book(slot.id, world.family.add_elder(now).id, by=world.family.user, now=now).booking
    login(client, world.family.user)
    response = client.get(f"/booking/bookings/{booking.id}/decline")
    assert response.status_code == 302 and response.headers["Location"] == "/family/"
    assert "confirmed, so there is nothing to decline." in follow(client, response)
    login(client, world.other_family.user)
    assert client.get(f"/booking/bookings/{booking.id}/decline").status_code == 403


def test_an_expired_offer_is_refused_with_its_reason(client, world, clock):
    now = clock.now()
    slot = make_slot(world.nursery.services["托小班"], world.nursery.manager, now, days_ahead=3, capacity=1)
    other = world.other_family
    first = engine.book(slot.id, other.add_child(now).id, by=other.user, now=now).booking
    mine = engine.book(slot.id, world.family.add_child(now).id, by=world.family.user, now=now).booking
    engine.cancel(first.id, by=other.user, now=now)
    clock.advance(hours=13)
    login(client, world.family.user)
    response = client.post(f"/booking/bookings/{mine.id}/accept")
    assert response.status_code == 302
    assert "This offer expired at 2026-12-01 21:00." in follow(client, response)
    assert db.session.get(Booking, mine.id).status == BookingStatus.offered  # the job expires it, not the page


def test_an_ineligible_booking_says_why_and_writes_nothing(client, world, clock):
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now)
    young = world.family.add_elder(now, name="年轻人", age=55)
    login(client, world.family.user)
    before = count(AuditEntry)
    response = client.post(f"/booking/slots/{slot.id}/book", data={"recipient_id": young.id})
    assert response.headers["Location"] == f"/booking/slots/{slot.id}"
    assert "日间照料 is for people aged 60 or more; 年轻人 will be 55 on that day." in follow(client, response)
    assert count(Booking) == 0 and count(AuditEntry) == before


def test_booking_without_choosing_a_person_says_so(client, world, clock):
    slot = make_slot(world.daycare, world.care_centre.manager, clock.now())
    login(client, world.family.user)
    page = follow(client, client.post(f"/booking/slots/{slot.id}/book", data={"recipient_id": ""}))
    assert "Please choose who the place is for." in page
    assert count(Booking) == 0


def test_booking_twice_is_a_plain_message(client, world, clock):
    slot = make_slot(world.daycare, world.care_centre.manager, clock.now())
    elder = world.family.add_elder(clock.now())
    login(client, world.family.user)
    client.post(f"/booking/slots/{slot.id}/book", data={"recipient_id": elder.id})
    page = follow(client, client.post(f"/booking/slots/{slot.id}/book", data={"recipient_id": elder.id}))
    assert "王奶奶 already has a booking in this slot." in page
    assert count(Booking) == 1


def test_cancelling_after_the_cutoff_is_refused_with_the_time(client, world, clock):
    with write_transaction():
        world.daycare.cancel_cutoff_minutes = 24 * 60
    slot = make_slot(world.daycare, world.care_centre.manager, clock.now())
    booking = engine.book(slot.id, world.family.add_elder(clock.now()).id, by=world.family.user,
                          now=clock.now()).booking
    clock.set(slot.starts_at - timedelta(hours=2))
    login(client, world.family.user)
    page = follow(client, client.post(f"/booking/bookings/{booking.id}/cancel"))
    assert "Cancellation for this slot closed at 2026-12-01 08:30." in page
    assert db.session.get(Booking, booking.id).status == BookingStatus.confirmed


def test_partner_staff_find_only_their_own_partners_slots(client, world, clock):
    now = clock.now()
    ours = make_slot(world.nursery.services["托小班"], world.nursery.manager, now)
    theirs = make_slot(world.daycare, world.care_centre.manager, now)
    login(client, world.nursery.staff)
    page = text(client.get(f"/booking/slots?partner_id={world.care_centre.partner.id}"))
    assert f'href="/booking/slots/{ours.id}"' in page
    assert f'href="/booking/slots/{theirs.id}"' not in page
    assert 'name="partner_id"' not in page
    assert "Book a place" not in text(client.get(f"/booking/slots/{ours.id}"))


def test_the_slot_list_tells_the_session_and_the_places_staffing_allows(client, world, clock):
    with write_transaction():
        service = db.session.get(type(world.daycare), world.daycare.id)
        service.session_length, service.transport = SessionLength.half_day, True
    slot = make_slot(world.daycare, world.care_centre.manager, clock.now(), days_ahead=2)
    with write_transaction():
        db.session.get(Slot, slot.id).staffed_places = 1
    login(client, world.family.user)
    found = text(client.get("/booking/slots?kind=daycare"))
    assert "Half day" in found and "transport (接送) offered" in found
    assert "<strong>1</strong> of 1 places left" in found
