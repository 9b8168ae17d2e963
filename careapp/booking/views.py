"""Finding slots, booking a place, and a family's cancel / accept / decline actions."""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from werkzeug.wrappers import Response

from careapp.accounts.models import Role, User
from careapp.booking import engine, queries
from careapp.booking.forms import BookForm, FindSlotsForm, ResidentSearchForm, member_option_id
from careapp.booking.models import Booking, BookingStatus
from careapp.booking.policies import policy_for
from careapp.core.clock import now
from careapp.core.db import db
from careapp.core.errors import CareappError
from careapp.core.i18n import gettext as _
from careapp.core.i18n import local_time
from careapp.households.models import CareRecipient, Household
from careapp.households.queries import household_with_members, search_households
from careapp.pages import (LABELS, acting_user, flash_form_errors, household_page, render, require, safe_next,
                           show_refusal)
from careapp.partners.models import Service, ServiceKind
from careapp.partners.queries import approved_partner_names

bp = Blueprint("booking", __name__, url_prefix="/booking")

# What a family may cancel (the engine checks the cancellation deadline of a confirmed place).
CANCELLABLE = frozenset({BookingStatus.confirmed, BookingStatus.waitlisted, BookingStatus.offered})


def can_book(user: User) -> bool:
    """Families book for themselves; district staff on behalf of residents (the engine checks each member)."""
    return user.role == Role.family or user.is_district


@bp.get("/slots")
@login_required
def find_slots() -> ResponseReturnValue:
    user = acting_user()
    form = FindSlotsForm(request.args)
    form.partner_id.set_options(approved_partner_names())
    if not can_book(user):
        del form.partner_id  # partner staff search their own partner's slots only
    if not form.validate():
        return render("booking/find_slots.html", 400, form=form, rows=[], can_book=can_book(user))
    partner_id = form.partner_id.data if "partner_id" in form else None
    rows = queries.slots_visible_to(user, now=now(), kind=form.kind.data, partner_id=partner_id,
                                    date_from=form.date_from.data, date_to=form.date_to.data)
    return render("booking/find_slots.html", form=form, rows=rows, can_book=can_book(user))


@bp.get("/slots/<int:slot_id>")
@login_required
def slot(slot_id: int) -> ResponseReturnValue:
    user = acting_user()
    row = queries.slot_availability(slot_id)
    if row is None:
        abort(404)
    require(can_book(user) or user.can_view_partner_rosters(row.partner.id), _("This slot is another partner's."))
    form, search, households, mine = None, None, [], []
    if user.role == Role.family:
        # The family's own bookings here, with their actions: a message about an offered place links to this page.
        mine = [view for view in queries.household_bookings(user.household_id, now=now())
                if view.booking.slot_id == slot_id]
    if can_book(user):
        form = BookForm(formdata=None)
        form.next.data = request.full_path if request.query_string else request.path
        households, search = _households_to_choose_from(user)
        form.recipient_id.set_options(_member_options(households, row.service.kind, user))
        if not offers_transport(row.service):
            del form.needs_transport
    return render("booking/slot.html", row=row, form=form, search=search, households=households, mine=mine,
                  can_see_roster=user.can_view_partner_rosters(row.partner.id))


def _households_to_choose_from(user: User) -> tuple[list[Household], ResidentSearchForm | None]:
    """A family books for its own household; district staff pick one (``?household=``) or search (``?q=``)."""
    if user.role == Role.family:
        return [household_with_members(user.household_id)], None
    search = ResidentSearchForm(request.args)
    if not search.validate():
        return [], search  # the search shows its error (e.g. a NUL in the name) beside the box
    chosen = member_option_id(request.args.get("household"))
    if chosen is not None:
        household = household_with_members(chosen)
        return ([household] if household else []), search
    return search_households(search.q.data or ""), search


def _member_options(households: list[Household], kind: ServiceKind, user: User) -> list[tuple[int, str]]:
    """Only the members this kind of care serves (the engine still checks every rule on booking)."""
    policy = policy_for(kind)
    return [(member.id, member.name if user.role == Role.family else
             f"{member.name} - {household.name}, {household.building.name} {household.unit or ''}".strip())
            for household in households for member in household.members if policy.serves(member.kind)]


@bp.post("/slots/<int:slot_id>/book")
@login_required
def book(slot_id: int) -> Response:
    user = acting_user()
    require(can_book(user), _("Only families and community staff book places."))
    form = BookForm()
    form.recipient_id.validate_choice = False  # the engine decides who this user may book for
    back = safe_next(form.next.data) or url_for("booking.slot", slot_id=slot_id)
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(back)
    try:
        result = engine.book(slot_id, form.recipient_id.data, by=user, now=now(), options=_options(form))
    except CareappError as error:
        show_refusal(error)
        return redirect(back)
    flash(confirmation(result), "success")
    return redirect(household_page(user, result.booking.recipient.household_id))


def offers_transport(service: Service) -> bool:
    return service.kind == ServiceKind.daycare and service.transport


def _options(form: BookForm) -> dict:
    """Only what was asked for: a ticked transport box (the day-care policy refuses it where not offered)."""
    return {"needs_transport": True} if form.needs_transport.data else {}


def describe(booking: Booking) -> str:
    slot = booking.slot
    return _("%(name)s, %(service)s at %(partner)s, %(time)s", name=booking.recipient.name,
             service=slot.service.name, partner=slot.service.partner.name, time=local_time(slot.starts_at))


def confirmation(result: engine.BookingResult) -> str:
    """What booking did, as one sentence: a place (with transport when asked for) or a turn on the waiting list."""
    booking, what = result.booking, describe(result.booking)
    if result.waitlist_position is not None:
        if booking.needs_transport:
            return _("%(booking)s: waitlisted, position %(position)s, fetched and brought home.", booking=what,
                     position=result.waitlist_position)
        return _("%(booking)s: waitlisted, position %(position)s.", booking=what, position=result.waitlist_position)
    if booking.needs_transport:
        return _("%(booking)s: %(status)s, fetched and brought home.", booking=what,
                 status=str(LABELS["booking_status"][booking.status]).lower())
    return _("%(booking)s: %(status)s.", booking=what, status=str(LABELS["booking_status"][booking.status]).lower())


def _family_action(booking_id: int, action: Callable[..., Booking], done: Callable[[str], str]) -> Response:
    """Cancel, accept or decline: the same load -> check -> rule -> flash -> redirect for each. ``done`` words
    the outcome, given the booking's description."""
    user = acting_user()
    _booking, household_id = _own_booking(booking_id)
    try:
        booking = action(booking_id, by=user, now=now())
    except CareappError as error:
        show_refusal(error)
    else:
        flash(done(describe(booking)), "success")
    return redirect(household_page(user, household_id))


def _own_booking(booking_id: int) -> tuple[Booking, int]:
    """A booking the acting user may answer for (404 / 403 otherwise), with its household's id."""
    booking = db.get_or_404(Booking, booking_id)
    household_id = db.session.get(CareRecipient, booking.recipient_id).household_id
    require(acting_user().can_act_for_household(household_id), _("This booking is not yours."))
    return booking, household_id


def _nothing_to_do(booking: Booking, action: str, back: str) -> Response:
    """Asked to cancel or decline a booking that no longer can be: say why instead."""
    what, status = describe(booking), str(LABELS["booking_status"][booking.status]).lower()
    if action == "decline":
        flash(_("%(booking)s: %(status)s, so there is nothing to decline.", booking=what, status=status), "info")
    else:
        flash(_("%(booking)s: %(status)s, so there is nothing to cancel.", booking=what, status=status), "info")
    return redirect(back)


@bp.get("/bookings/<int:booking_id>/cancel")
@login_required
def confirm_cancel(booking_id: int) -> ResponseReturnValue:
    """Ask before cancelling: a place given up may go to someone waiting at once, and not come back.
    ``?next=`` (a local path) is where "No, keep it" goes, e.g. the meal order page it was asked from."""
    booking, household_id = _own_booking(booking_id)
    back = safe_next(request.args.get("next")) or household_page(acting_user(), household_id)
    if booking.status not in CANCELLABLE:
        return _nothing_to_do(booking, "cancel", back)
    position = queries.waitlist_positions({booking.slot_id}).get(booking.id)
    return render("booking/cancel.html", view=queries.BookingView(booking, position), back=back)


@bp.get("/bookings/<int:booking_id>/decline")
@login_required
def confirm_decline(booking_id: int) -> ResponseReturnValue:
    """Ask before declining an offered place: it goes to the next person waiting at once, and not come back."""
    booking, household_id = _own_booking(booking_id)
    back = household_page(acting_user(), household_id)
    if booking.status != BookingStatus.offered:
        return _nothing_to_do(booking, "decline", back)
    return render("booking/decline.html", booking=booking, back=back)


@bp.post("/bookings/<int:booking_id>/cancel")
@login_required
def cancel(booking_id: int) -> Response:
    return _family_action(booking_id, engine.cancel, lambda what: _("%(booking)s: cancelled.", booking=what))


@bp.post("/bookings/<int:booking_id>/accept")
@login_required
def accept(booking_id: int) -> Response:
    return _family_action(booking_id, engine.accept_offer,
                          lambda what: _("%(booking)s: the place is yours, confirmed.", booking=what))


@bp.post("/bookings/<int:booking_id>/decline")
@login_required
def decline(booking_id: int) -> Response:
    return _family_action(booking_id, engine.decline_offer,
                          lambda what: _("%(booking)s: you declined the place; it goes to the next person waiting.",
                                         booking=what))
