"""Finding and booking slots, cancelling, offers from the waitlist, rosters and attendance through the API."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from careapp.booking import engine
from careapp.booking.models import Booking, BookingStatus
from careapp.core.db import db, write_transaction
from careapp.households.models import RecipientKind
from careapp.households.services import add_recipient
from tests.api_helpers import bad_fields, bearer, booked, call, daycare_slot, error_of  # noqa: F401
from tests.factories import make_family, make_slot

# --- finding slots ---


@pytest.fixture
def week(world):
    """Day care tomorrow and in three days, the reading room tomorrow, childcare in two days."""
    return {
        "daycare_tomorrow": daycare_slot(world, days_ahead=1),
        "daycare_later": daycare_slot(world, days_ahead=3),
        "reading": make_slot(world.academy.services["图书阅览"], world.academy.manager, world.now, days_ahead=1),
        "childcare": make_slot(world.nursery.services["托小班"], world.nursery.manager, world.now, days_ahead=2),
    }


def ids(response) -> list[int]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [row["id"] for row in response.get_json()]


def test_families_find_every_partners_slots_soonest_first_with_places(client, world, bearer, week):
    booked(world, week["daycare_tomorrow"], world.family.add_elder(world.now))
    response = call(client, "GET", "/slots", bearer(world.family.user))
    assert set(ids(response)) == {slot.id for slot in week.values()}
    rows = response.get_json()
    assert [row["starts_at"] for row in rows] == sorted(row["starts_at"] for row in rows)
    first = next(row for row in rows if row["id"] == week["daycare_tomorrow"].id)
    assert (first["capacity"], first["confirmed"], first["waitlisted"], first["available"]) == (2, 1, 0, 1)
    assert first["starts_at"].endswith("+00:00") and first["partner_id"] == world.care_centre.partner.id


def test_slots_filter_by_kind_partner_service_and_local_dates(client, world, bearer, week):
    headers = bearer(world.community_staff)
    assert set(ids(call(client, "GET", "/slots?kind=daycare", headers))) == {
        week["daycare_tomorrow"].id, week["daycare_later"].id}
    assert ids(call(client, "GET", f"/slots?partner_id={world.nursery.partner.id}", headers)) == [
        week["childcare"].id]
    assert ids(call(client, "GET", f"/slots?service_id={world.academy.services['图书阅览'].id}", headers)) == [
        week["reading"].id]
    # Local dates: tomorrow is 2 December in Shanghai; the 08:30 slots start on 2 December 00:30 UTC.
    assert set(ids(call(client, "GET", "/slots?date_from=2026-12-02&date_to=2026-12-02", headers))) == {
        week["daycare_tomorrow"].id, week["reading"].id}
    assert ids(call(client, "GET", "/slots?kind=daycare&date_from=2026-12-03", headers)) == [week["daycare_later"].id]


@pytest.mark.parametrize("who", ["staff", "manager"])
def test_partner_staff_find_only_their_partners_slots(client, world, bearer, week, who):
    headers = bearer(getattr(world.care_centre, who))
    assert set(ids(call(client, "GET", "/slots", headers))) == {week["daycare_tomorrow"].id, week["daycare_later"].id}
    assert ids(call(client, "GET", f"/slots?partner_id={world.nursery.partner.id}", headers)) == []


def test_cancelled_and_started_slots_are_not_offered(client, world, clock, bearer, week):
    headers = bearer(world.family.user)
    call(client, "POST", f"/slots/{week['reading'].id}/cancel", bearer(world.academy.manager))
    clock.set(week["daycare_tomorrow"].starts_at)
    assert set(ids(call(client, "GET", "/slots", headers))) == {week["daycare_later"].id, week["childcare"].id}


@pytest.mark.parametrize("query, field", [
    ("kind=yoga", "kind"), ("partner_id=abc", "partner_id"), ("partner_id=0", "partner_id"),
    ("service_id=1e3", "service_id"), ("date_from=2026-02-30", "date_from"), ("date_to=02/12/2026", "date_to"),
    ("date_to=9999-12-31", "date_to"), ("date_from=0001-01-01", "date_from"), ("date_from=2026-12-02T08:00", "date_from"),
    ("kind=daycare&kind=meal", "kind"), ("limit=5", "limit"),
])
def test_slot_search_bad_query_names_the_parameter(client, world, bearer, query, field):
    assert field in bad_fields(call(client, "GET", "/slots?" + query, bearer(world.family.user)))


# --- booking ---


def book(client, headers, slot_id: int, recipient_id) -> object:
    return call(client, "POST", f"/slots/{slot_id}/bookings", headers, json={"recipient_id": recipient_id})


def test_booking_confirms_then_waitlists_with_positions(client, world, bearer):
    slot = daycare_slot(world)  # 2 places
    answers = []
    for i in range(4):
        family = make_family(world.building, world.now, f"家{i}")
        elder = family.add_elder(world.now, name=f"老人{i}")
        answers.append(book(client, bearer(family.user), slot.id, elder.id))
    assert [a.status_code for a in answers] == [201] * 4
    bodies = [a.get_json() for a in answers]
    assert [(b["status"], b["waitlist_position"]) for b in bodies] == [
        ("confirmed", None), ("confirmed", None), ("waitlisted", 1), ("waitlisted", 2)]
    assert bodies[0]["slot_id"] == slot.id and bodies[0]["starts_at"] == slot.starts_at.isoformat()


@pytest.mark.parametrize("role", ["community_staff", "admin"])
def test_district_staff_book_on_behalf_of_a_resident(client, world, bearer, role):
    elder = world.other_family.add_elder(world.now)
    response = book(client, bearer(getattr(world, role)), daycare_slot(world).id, elder.id)
    assert response.status_code == 201
    assert db.session.get(Booking, response.get_json()["id"]).booked_by_id == getattr(world, role).id


@pytest.mark.parametrize("who", ["other_family", "partner_staff", "partner_manager"])
def test_others_cannot_book_a_households_member(client, world, bearer, who):
    user = {"other_family": world.other_family.user, "partner_staff": world.care_centre.staff,
            "partner_manager": world.care_centre.manager}[who]
    elder = world.family.add_elder(world.now)
    error_of(book(client, bearer(user), daycare_slot(world).id, elder.id), 403)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0


def test_unknown_slot_or_member_is_404(client, world, bearer):
    elder, headers = world.family.add_elder(world.now), bearer(world.family.user)
    error_of(book(client, headers, 999999, elder.id), 404)
    error_of(book(client, headers, daycare_slot(world).id, 999999), 404)


def test_booking_the_same_person_twice_is_a_409(client, world, bearer):
    slot, elder, headers = daycare_slot(world), world.family.add_elder(world.now), bearer(world.family.user)
    book(client, headers, slot.id, elder.id)
    error_of(book(client, headers, slot.id, elder.id), 409, "duplicate_booking")


@pytest.mark.parametrize("member, rule", [("child", "recipient_kind"), ("young", "min_age"), ("frail", "ability_level")])
def test_ineligible_members_are_refused_with_the_rule(client, world, bearer, member, rule):
    person = {"child": lambda: world.family.add_child(world.now),
              "young": lambda: world.family.add_elder(world.now, age=55),
              "frail": lambda: world.family.add_elder(world.now, ability_level=4)}[member]()
    error = error_of(book(client, bearer(world.family.user), daycare_slot(world).id, person.id), 422, "ineligible")
    assert error["fields"] == {"rule": rule}


def test_booking_after_the_cutoff_is_refused(client, world, clock, bearer):
    with write_transaction():
        world.daycare.booking_cutoff_minutes = 60
    slot, elder = daycare_slot(world), world.family.add_elder(world.now)
    clock.set(slot.starts_at - timedelta(minutes=30))
    error = error_of(book(client, bearer(world.family.user), slot.id, elder.id), 422, "past_cutoff")
    assert error["fields"]["cutoff"] == (slot.starts_at - timedelta(minutes=60)).isoformat()


def test_a_cancelled_slot_takes_no_bookings(client, world, bearer):
    slot, elder = daycare_slot(world), world.family.add_elder(world.now)
    call(client, "POST", f"/slots/{slot.id}/cancel", bearer(world.care_centre.manager))
    error_of(book(client, bearer(world.family.user), slot.id, elder.id), 422, "slot_not_open")


@pytest.mark.parametrize("raw, field", [
    ({"recipient_id": "1"}, "recipient_id"), ({"recipient_id": 0}, "recipient_id"),
    ({"recipient_id": 2**31}, "recipient_id"), ({"recipient_id": 1.0}, "recipient_id"),
    ({"recipient_id": True}, "recipient_id"), ({}, "recipient_id"), ({"recipient_id": 1, "slot_id": 2}, "slot_id"),
    ([1], "body"), (None, "body"),
])
def test_booking_bad_input(client, world, bearer, raw, field):
    response = call(client, "POST", f"/slots/{daycare_slot(world).id}/bookings", bearer(world.family.user), json=raw)
    assert field in bad_fields(response)


# --- seeing bookings ---


def test_everyone_sees_the_bookings_that_concern_them(client, world, bearer, week):
    mine = booked(world, week["daycare_tomorrow"], world.family.add_elder(world.now))
    theirs = booked(world, week["reading"], world.other_family.add_elder(world.now), by=world.other_family.user)
    assert ids(call(client, "GET", "/bookings", bearer(world.family.user))) == [mine.id]
    assert ids(call(client, "GET", "/bookings", bearer(world.other_family.user))) == [theirs.id]
    assert ids(call(client, "GET", "/bookings", bearer(world.care_centre.staff))) == [mine.id]
    assert ids(call(client, "GET", "/bookings", bearer(world.academy.manager))) == [theirs.id]
    assert set(ids(call(client, "GET", "/bookings", bearer(world.community_staff)))) == {mine.id, theirs.id}
    staff = bearer(world.community_staff)
    assert ids(call(client, "GET", f"/bookings?slot_id={week['reading'].id}", staff)) == [theirs.id]
    assert ids(call(client, "GET", f"/bookings?slot_id={week['reading'].id}", bearer(world.family.user))) == []


@pytest.mark.parametrize("query, field", [("slot_id=abc", "slot_id"), ("slot_id=-2", "slot_id"), ("mine=1", "mine")])
def test_booking_list_bad_query(client, world, bearer, query, field):
    assert field in bad_fields(call(client, "GET", "/bookings?" + query, bearer(world.family.user)))


# --- cancelling ---


def test_cancelling_frees_the_place_for_the_waitlist_head(client, world, bearer):
    slot = daycare_slot(world, capacity=1)
    first = booked(world, slot, world.family.add_elder(world.now))
    second = booked(world, slot, world.other_family.add_elder(world.now), by=world.other_family.user)
    response = call(client, "POST", f"/bookings/{first.id}/cancel", bearer(world.family.user))
    assert response.status_code == 200
    assert (response.get_json()["id"], response.get_json()["status"]) == (first.id, "cancelled")
    assert response.get_json()["end_reason"] == "cancelled"
    promoted = call(client, "GET", "/bookings", bearer(world.other_family.user)).get_json()
    assert [(b["id"], b["status"]) for b in promoted] == [(second.id, "confirmed")]


def test_community_staff_cancel_on_behalf_but_other_families_and_partners_cannot(client, world, bearer):
    booking = booked(world, daycare_slot(world), world.family.add_elder(world.now))
    for user in (world.other_family.user, world.care_centre.staff, world.care_centre.manager):
        error_of(call(client, "POST", f"/bookings/{booking.id}/cancel", bearer(user)), 403)
    assert call(client, "POST", f"/bookings/{booking.id}/cancel", bearer(world.community_staff)).status_code == 200


def test_cancelling_twice_is_a_409_and_after_the_cutoff_a_422(client, world, clock, bearer):
    with write_transaction():
        world.daycare.cancel_cutoff_minutes = 24 * 60
    slot, headers = daycare_slot(world, days_ahead=3), bearer(world.family.user)
    first = booked(world, slot, world.family.add_elder(world.now, name="甲"))
    late = booked(world, slot, world.family.add_elder(world.now, name="乙"))
    call(client, "POST", f"/bookings/{first.id}/cancel", headers)
    error_of(call(client, "POST", f"/bookings/{first.id}/cancel", headers), 409, "wrong_state")
    clock.set(slot.starts_at - timedelta(hours=2))
    error_of(call(client, "POST", f"/bookings/{late.id}/cancel", headers), 422, "past_cutoff")
    error_of(call(client, "POST", "/bookings/999999/cancel", headers), 404)


# --- offers from the waitlist (the nursery's service offers freed places for 12 hours) ---


@pytest.fixture
def offer(world):
    """A 1-place childcare slot: family A's child holds it, B's and C's wait; A cancels, so B is offered it."""
    slot = make_slot(world.nursery.services["托小班"], world.nursery.manager, world.now, days_ahead=3, capacity=1)
    families = [world.family, world.other_family, make_family(world.building, world.now, "丙家")]
    bookings = [booked(world, slot, f.add_child(world.now), by=f.user) for f in families]
    engine.cancel(bookings[0].id, by=families[0].user, now=world.now)
    return families, bookings


def test_accepting_an_offer_confirms_it(client, world, bearer, offer):
    families, bookings = offer
    response = call(client, "POST", f"/bookings/{bookings[1].id}/accept", bearer(families[1].user))
    assert (response.status_code, response.get_json()["status"]) == (200, "confirmed")
    assert response.get_json()["offer_expires_at"] is None


def test_declining_passes_the_offer_on(client, world, bearer, offer):
    families, bookings = offer
    listed = call(client, "GET", "/bookings", bearer(families[1].user)).get_json()
    assert listed[0]["status"] == "offered" and listed[0]["offer_expires_at"].endswith("+00:00")
    response = call(client, "POST", f"/bookings/{bookings[1].id}/decline", bearer(families[1].user))
    assert (response.status_code, response.get_json()["end_reason"]) == (200, "declined")
    assert db.session.get(Booking, bookings[2].id).status == BookingStatus.offered


def test_offers_refuse_strangers_wrong_states_and_lateness(client, world, clock, bearer, offer):
    families, bookings = offer
    for action in ("accept", "decline"):
        error_of(call(client, "POST", f"/bookings/{bookings[1].id}/{action}", bearer(families[2].user)), 403)
        error_of(call(client, "POST", f"/bookings/{bookings[1].id}/{action}", bearer(world.nursery.staff)), 403)
        # C is still waitlisted, not offered anything.
        error_of(call(client, "POST", f"/bookings/{bookings[2].id}/{action}", bearer(families[2].user)),
                 409, "wrong_state")
        error_of(call(client, "POST", f"/bookings/999999/{action}", bearer(families[2].user)), 404)
    clock.advance(hours=13)
    error_of(call(client, "POST", f"/bookings/{bookings[1].id}/accept", bearer(families[1].user)),
             422, "offer_expired")


# --- rosters ---


def test_roster_shows_members_with_age_on_the_slots_date_needs_and_waitlist(client, world, bearer):
    slot = daycare_slot(world, capacity=1)  # 2 December, local
    turns_76 = add_recipient(household_id=world.family.household.id, by=world.family.user, now=world.now,
                             kind=RecipientKind.elder, name="刘奶奶", birth_date=date(1950, 12, 2), ability_level=2,
                             needs={"diet": "soft food", "emergency_contact_phone": "13900001111"})
    first = booked(world, slot, turns_76)
    waiting = booked(world, slot, world.other_family.add_elder(world.now, name="赵爷爷"), by=world.other_family.user)
    response = call(client, "GET", f"/slots/{slot.id}/roster", bearer(world.care_centre.staff))
    assert response.status_code == 200
    rows = response.get_json()
    assert [(r["booking_id"], r["status"], r["waitlist_position"]) for r in rows] == [
        (first.id, "confirmed", None), (waiting.id, "waitlisted", 1)]
    recipient = rows[0]["recipient"]
    assert (recipient["id"], recipient["name"], recipient["kind"]) == (turns_76.id, "刘奶奶", "elder")
    assert recipient["age"] == 76  # 75 today, 76 on the slot's day
    assert recipient["needs"]["diet"] == "soft food" and recipient["needs"]["emergency_contact_phone"] == "13900001111"
    assert rows[0]["checked_in_at"] is None and rows[0]["checked_out_at"] is None


@pytest.mark.parametrize("who, status", [
    ("own_staff", 200), ("own_manager", 200), ("community_staff", 200), ("admin", 200),
    ("other_staff", 403), ("other_manager", 403), ("family", 403),
])
def test_who_may_see_a_roster(client, world, bearer, who, status):
    user = {"own_staff": world.care_centre.staff, "own_manager": world.care_centre.manager,
            "community_staff": world.community_staff, "admin": world.admin, "other_staff": world.nursery.staff,
            "other_manager": world.nursery.manager, "family": world.family.user}[who]
    response = call(client, "GET", f"/slots/{daycare_slot(world).id}/roster", bearer(user))
    if status == 200:
        assert response.status_code == 200 and response.get_json() == []
    else:
        error_of(response, status, "forbidden")


def test_roster_of_an_unknown_slot_is_404(client, world, bearer):
    error_of(call(client, "GET", "/slots/999999/roster", bearer(world.admin)), 404)


# --- attendance ---


def test_that_partners_staff_check_in_and_out_and_the_roster_shows_it(client, world, clock, bearer):
    slot = daycare_slot(world)
    booking = booked(world, slot, world.family.add_elder(world.now))
    staff = bearer(world.care_centre.staff)
    error_of(call(client, "POST", f"/bookings/{booking.id}/check-in", staff), 422, "too_early")
    error_of(call(client, "POST", f"/bookings/{booking.id}/check-out", staff), 409, "wrong_state")
    clock.set(slot.starts_at - timedelta(minutes=10))
    arrived = call(client, "POST", f"/bookings/{booking.id}/check-in", staff)
    assert (arrived.status_code, arrived.get_json()["status"]) == (200, "checked_in")
    assert arrived.get_json()["checked_in_at"] == clock.now().isoformat()
    error_of(call(client, "POST", f"/bookings/{booking.id}/check-in", staff), 409, "wrong_state")
    clock.advance(hours=3)
    left = call(client, "POST", f"/bookings/{booking.id}/check-out", bearer(world.care_centre.manager))
    assert (left.status_code, left.get_json()["status"]) == (200, "checked_out")
    [row] = call(client, "GET", f"/slots/{slot.id}/roster", staff).get_json()
    assert row["checked_out_at"] == clock.now().isoformat() and row["checked_in_at"].endswith("+00:00")


@pytest.mark.parametrize("who", ["other_staff", "community_staff", "admin", "family"])
def test_only_that_partners_staff_record_attendance(client, world, clock, bearer, who):
    user = {"other_staff": world.nursery.staff, "community_staff": world.community_staff, "admin": world.admin,
            "family": world.family.user}[who]
    slot = daycare_slot(world)
    booking = booked(world, slot, world.family.add_elder(world.now))
    clock.set(slot.starts_at)
    for action in ("check-in", "check-out"):
        error_of(call(client, "POST", f"/bookings/{booking.id}/{action}", bearer(user)), 403)
        error_of(call(client, "POST", f"/bookings/999999/{action}", bearer(user)), 404)
    assert db.session.get(Booking, booking.id).status == BookingStatus.confirmed
