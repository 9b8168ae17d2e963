"""Finding slots, booking them, the waitlist's offers, rosters and attendance."""
from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from careapp.accounts.models import User
from careapp.api.registry import api
from careapp.api.roster_schemas import CheckInIn, CheckOutIn
from careapp.api.schemas import BookingIn, BookingOut, BookingQuery, RosterEntryOut, SlotOut, SlotQuery
from careapp.booking import engine, queries
from careapp.booking.models import Booking
from careapp.core.clock import now
from careapp.core.db import db
from careapp.core.errors import Forbidden, NotFound
from careapp.core.i18n import gettext as _
from careapp.partners.models import Slot

BodyModel = TypeVar("BodyModel", bound=BaseModel)


@api.route("GET", "/slots", summary="Open upcoming slots with booked and free places", query=SlotQuery,
           response=list[SlotOut])
def slots(user: User, query: SlotQuery) -> list[SlotOut]:
    return [SlotOut.of(row) for row in queries.slots_visible_to(
        user, now=now(), kind=query.kind, partner_id=query.partner_id, service_id=query.service_id,
        date_from=query.date_from, date_to=query.date_to)]


@api.route("POST", "/slots/{slot_id}/bookings", summary="Book a place, or join the waitlist when the slot is full",
           status=201, body=BookingIn, response=BookingOut, errors=(403, 409, 422))
def book(user: User, slot_id: int, body: BookingIn) -> BookingOut:
    # The answer is made of the booking as written, before its commit (afterwards it would be read back).
    return engine.book(slot_id, body.recipient_id, by=user, now=now(), options=body.options(),
                       describe=BookingOut.of).answer


@api.route("GET", "/bookings", summary="The bookings you may see, newest slot first", query=BookingQuery,
           response=list[BookingOut])
def bookings(user: User, query: BookingQuery) -> list[BookingOut]:
    return [BookingOut.of(view.booking, view.waitlist_position)
            for view in queries.visible_bookings(user, slot_id=query.slot_id)]


@api.route("GET", "/slots/{slot_id}/roster", response=list[RosterEntryOut], errors=(403,),
           summary="Who is booked into a slot; needs, health checks and collectors to that partner's staff only")
def roster(user: User, slot_id: int) -> list[RosterEntryOut]:
    slot = db.session.get(Slot, slot_id)
    if slot is None:
        raise NotFound(_("No such slot."))
    if not user.can_view_partner_rosters(slot.service.partner_id):
        raise Forbidden(_("Only this partner's staff and community staff see its rosters."))
    own_staff = user.belongs_to_partner(slot.service.partner_id)
    return [RosterEntryOut.of(view, own_staff=own_staff) for view in queries.roster(slot_id)]


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


@api.route("POST", "/bookings/{booking_id}/check-in", response=BookingOut, errors=(403, 409, 422),
           body=CheckInIn, body_required=False,
           summary="Record arrival (that partner's staff), with the morning health check when one was made")
def check_in(user: User, booking_id: int, body: CheckInIn) -> BookingOut:
    return _answer(engine.check_in(booking_id, by=user, now=now(), temperature=body.temperature,
                                   health_notes=body.health_notes))


@api.route("POST", "/bookings/{booking_id}/check-out", response=BookingOut, errors=(403, 409, 422),
           body=CheckOutIn, body_required=False,
           summary="Record leaving (that partner's staff); for childcare, collected_by names the authorised adult "
                   "(anyone not on the child's list is refused and the attempt logged)")
def check_out(user: User, booking_id: int, body: CheckOutIn) -> BookingOut:
    return _answer(engine.check_out(booking_id, by=user, now=now(), collected_by_id=body.collected_by))


@api.route("POST", "/bookings/{booking_id}/no-show", response=BookingOut, errors=(403, 409, 422),
           summary="Record that someone booked did not come (that partner's staff, from the slot's start)")
def no_show(user: User, booking_id: int) -> BookingOut:
    return _answer(engine.mark_no_show(booking_id, by=user, now=now()))
