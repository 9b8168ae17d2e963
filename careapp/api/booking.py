"""Finding slots, booking them, the waitlist's offers, rosters and attendance."""
from __future__ import annotations

from careapp.accounts.models import User
from careapp.api.registry import api
from careapp.api.schemas import BookingIn, BookingOut, BookingQuery, RosterEntryOut, SlotOut, SlotQuery
from careapp.booking import engine, queries
from careapp.booking.models import Booking
from careapp.core.clock import now
from careapp.core.db import db
from careapp.core.errors import Forbidden, NotFound
from careapp.partners.models import Slot


@api.route("GET", "/slots", summary="Open upcoming slots with booked and free places", query=SlotQuery,
           response=list[SlotOut])
def slots(user: User, query: SlotQuery) -> list[SlotOut]:
    return [SlotOut.of(row) for row in queries.slots_visible_to(
        user, now=now(), kind=query.kind, partner_id=query.partner_id, service_id=query.service_id,
        date_from=query.date_from, date_to=query.date_to)]


@api.route("POST", "/slots/{slot_id}/bookings", summary="Book a place, or join the waitlist when the slot is full",
           status=201, body=BookingIn, response=BookingOut, errors=(403, 409, 422))
def book(user: User, slot_id: int, body: BookingIn) -> BookingOut:
    result = engine.book(slot_id, body.recipient_id, by=user, now=now())
    return BookingOut.of(result.booking, result.waitlist_position)


@api.route("GET", "/bookings", summary="The bookings you may see, newest slot first", query=BookingQuery,
           response=list[BookingOut])
def bookings(user: User, query: BookingQuery) -> list[BookingOut]:
    return [BookingOut.of(view.booking, view.waitlist_position)
            for view in queries.visible_bookings(user, slot_id=query.slot_id)]


@api.route("GET", "/slots/{slot_id}/roster", summary="Who is booked into a slot, with their needs",
           response=list[RosterEntryOut], errors=(403,))
def roster(user: User, slot_id: int) -> list[RosterEntryOut]:
    slot = db.session.get(Slot, slot_id)
    if slot is None:
        raise NotFound("No such slot.")
    if not user.can_view_partner_rosters(slot.service.partner_id):
        raise Forbidden("Only this partner's staff and community staff see its rosters.")
    return [RosterEntryOut.of(view) for view in queries.roster(slot_id)]


def _answer(booking: Booking) -> BookingOut:
    """A booking as it stands after an engine action."""
    return BookingOut.of(booking, engine.waitlist_position(booking))


@api.route("POST", "/bookings/{booking_id}/cancel", response=BookingOut, errors=(403, 409, 422),
           summary="Cancel a booking or leave the waitlist; a freed place goes to the next in line")
def cancel_booking(user: User, booking_id: int) -> BookingOut:
    return _answer(engine.cancel(booking_id, by=user, now=now()))


@api.route("POST", "/bookings/{booking_id}/accept", summary="Accept an offered place", response=BookingOut,
           errors=(403, 409, 422))
def accept_offer(user: User, booking_id: int) -> BookingOut:
    return _answer(engine.accept_offer(booking_id, by=user, now=now()))


@api.route("POST", "/bookings/{booking_id}/decline", summary="Decline an offered place; it passes to the next in line",
           response=BookingOut, errors=(403, 409, 422))
def decline_offer(user: User, booking_id: int) -> BookingOut:
    return _answer(engine.decline_offer(booking_id, by=user, now=now()))


@api.route("POST", "/bookings/{booking_id}/check-in", summary="Record arrival (that partner's staff)",
           response=BookingOut, errors=(403, 409, 422))
def check_in(user: User, booking_id: int) -> BookingOut:
    return _answer(engine.check_in(booking_id, by=user, now=now()))


@api.route("POST", "/bookings/{booking_id}/check-out", summary="Record leaving (that partner's staff)",
           response=BookingOut, errors=(403, 409))
def check_out(user: User, booking_id: int) -> BookingOut:
    return _answer(engine.check_out(booking_id, by=user, now=now()))
