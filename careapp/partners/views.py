"""A partner's pages: its dashboard, services, slots, rosters and attendance."""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from werkzeug.wrappers import Response

from careapp.accounts.models import PARTNER_ROLES, Role
from careapp.accounts.services import create_user
from careapp.booking import engine, queries
from careapp.booking.models import Booking
from careapp.core.clock import now
from careapp.core.db import db
from careapp.core.errors import CareappError
from careapp.core.i18n import gettext as _
from careapp.core.i18n import lazy_gettext as _l
from careapp.core.i18n import local_time
from careapp.core.timefmt import from_local, local_date
from careapp.households.models import RecipientKind
from careapp.households.queries import authorised_adults_for
from careapp.pages import (
    acting_user,
    flash_form_errors,
    form_page,
    managed_partner,
    render,
    require,
    show_refusal,
)
from careapp.partners.forms import (
    CapacityForm,
    PartnerAccountForm,
    ServiceForm,
    ServicePointForm,
    SlotForm,
    WeeklyPatternForm,
)
from careapp.partners.models import PartnerOrganisation, Service, Slot
from careapp.partners.queries import partner_with_services
from careapp.partners.roster_forms import CheckInForm, CheckOutForm
from careapp.partners.services import (
    add_service_point,
    add_weekly_pattern,
    create_service,
    create_slot,
)

bp = Blueprint("partners", __name__, url_prefix="/partners")

NOT_YOUR_PARTNER = _l("This belongs to another partner.")
MANAGERS_ONLY = _l("Only this partner's manager may do that.")
# A rule's names for the times of a slot, and the form fields that hold them.
SLOT_FIELDS = {"starts_at": "start_time", "ends_at": "end_time"}


@bp.get("/")
@login_required
def index() -> Response:
    user = acting_user()
    if user.role in PARTNER_ROLES:
        return redirect(url_for("partners.dashboard", partner_id=user.partner_id))
    require(user.is_district, _("Partner pages are for partner staff."))
    return redirect(url_for("community.overview"))


@bp.get("/<int:partner_id>")
@login_required
def dashboard(partner_id: int) -> ResponseReturnValue:
    user = acting_user()
    require(user.can_view_partner_rosters(partner_id), NOT_YOUR_PARTNER)
    partner = partner_with_services(partner_id)
    if partner is None:
        abort(404)
    rows = queries.find_slots(now=now(), partner_id=partner_id, only_open=False)
    return render("partners/dashboard.html", partner=partner, rows=rows, manages=user.manages_partner(partner_id))


def _managed_service(service_id: int) -> Service:
    service = db.get_or_404(Service, service_id)
    require(acting_user().manages_partner(service.partner_id), MANAGERS_ONLY)
    return service


@bp.route("/<int:partner_id>/services/new", methods=["GET", "POST"])
@login_required
def new_service(partner_id: int) -> ResponseReturnValue:
    partner = managed_partner(partner_id, MANAGERS_ONLY)
    form = ServiceForm()
    form.service_point_id.set_options([(point.id, f"{point.name} ({point.address})")
                                       for point in partner.service_points])
    form.room_id.set_options([(room.id, f"{room.name} ({point.name})")
                              for point in partner.service_points for room in point.rooms])

    def create() -> tuple[str, str]:
        service = create_service(partner_id=partner.id, kind=form.service_kind, name=form.name.data,
                                 capacity=form.capacity.data, service_point_id=form.service_point_id.data,
                                 by=acting_user(), now=now(), **form.settings())
        return (_("The service %(name)s is created. Now add its slots.", name=service.name),
                url_for("partners.dashboard", partner_id=partner.id))

    return form_page(form, "partners/service_form.html", create, partner=partner)


@bp.route("/<int:partner_id>/points/new", methods=["GET", "POST"])
@login_required
def new_point(partner_id: int) -> ResponseReturnValue:
    partner = db.get_or_404(PartnerOrganisation, partner_id)
    user = acting_user()
    require(user.is_district or user.manages_partner(partner.id), MANAGERS_ONLY)
    form = ServicePointForm()

    def add() -> tuple[str, str]:
        point = add_service_point(partner_id=partner.id, name=form.name.data, address=form.address.data,
                                  latitude=form.latitude.data, longitude=form.longitude.data, by=user, now=now())
        return (_("The service point %(name)s is added.", name=point.name),
                url_for("partners.dashboard", partner_id=partner.id))

    return form_page(form, "partners/point_form.html", add, partner=partner)


@bp.route("/services/<int:service_id>/slots/new", methods=["GET", "POST"])
@login_required
def new_slot(service_id: int) -> ResponseReturnValue:
    service = _managed_service(service_id)
    form = SlotForm(capacity=None)

    def create() -> tuple[str, str]:
        slot = create_slot(service_id=service.id, starts_at=from_local(form.day.data, form.start_time.data),
                           ends_at=from_local(form.day.data, form.end_time.data), capacity=form.capacity.data,
                           by=acting_user(), now=now())
        return (_("A slot of %(service)s on %(time)s is added.", service=service.name, time=local_time(slot.starts_at)),
                url_for("partners.dashboard", partner_id=service.partner_id))

    return form_page(form, "partners/slot_form.html", create, aliases=SLOT_FIELDS, service=service)


@bp.route("/services/<int:service_id>/weekly/new", methods=["GET", "POST"])
@login_required
def new_weekly(service_id: int) -> ResponseReturnValue:
    service = _managed_service(service_id)
    form = WeeklyPatternForm(valid_from=local_date(now()))

    def add() -> tuple[str, str]:
        patterns = add_weekly_pattern(service_id=service.id, weekdays=form.weekdays.data,
                                      start_time=form.start_time.data, end_time=form.end_time.data,
                                      capacity=form.capacity.data, valid_from=form.valid_from.data,
                                      valid_until=form.valid_until.data, by=acting_user(), now=now())
        return (_("%(service)s now repeats on %(count)s day(s) each week; the next two weeks are open for booking.",
                  service=service.name, count=len(patterns)),
                url_for("partners.dashboard", partner_id=service.partner_id))

    return form_page(form, "partners/weekly_form.html", add, service=service)


@bp.get("/slots/<int:slot_id>")
@login_required
def roster(slot_id: int) -> ResponseReturnValue:
    user = acting_user()
    row = queries.slot_availability(slot_id)
    if row is None:
        abort(404)
    require(user.can_view_partner_rosters(row.partner.id), NOT_YOUR_PARTNER)
    people = queries.roster(slot_id)
    children = {view.booking.recipient_id for view in people if view.booking.recipient.kind == RecipientKind.child}
    form = CapacityForm(formdata=None, capacity=row.slot.capacity)
    # Needs, health checks and who may collect a child are for this partner's own staff only.
    own_staff = user.belongs_to_partner(row.partner.id)
    return render("partners/roster.html", row=row, people=people,
                  adults=authorised_adults_for(children) if own_staff else {},
                  slot_day=local_date(row.slot.starts_at), capacity_form=form,
                  manages=user.manages_partner(row.partner.id), records_attendance=own_staff, shows_needs=own_staff,
                  started=now() >= row.slot.starts_at)


def _managed_slot(slot_id: int) -> Slot:
    slot = db.get_or_404(Slot, slot_id)
    require(acting_user().manages_partner(slot.service.partner_id), MANAGERS_ONLY)
    return slot


@bp.post("/slots/<int:slot_id>/capacity")
@login_required
def change_capacity(slot_id: int) -> Response:
    slot = _managed_slot(slot_id)
    form = CapacityForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
    else:
        try:
            engine.set_capacity(slot.id, form.capacity.data, by=acting_user(), now=now())
        except CareappError as error:
            show_refusal(error)
        else:
            flash(_("The slot now has %(count)s places.", count=form.capacity.data), "success")
    return redirect(url_for("partners.roster", slot_id=slot_id))


@bp.get("/slots/<int:slot_id>/cancel")
@login_required
def confirm_cancel_slot(slot_id: int) -> ResponseReturnValue:
    slot = _managed_slot(slot_id)
    return render("partners/cancel_slot.html", row=queries.slot_availability(slot.id))


@bp.post("/slots/<int:slot_id>/cancel")
@login_required
def cancel_slot(slot_id: int) -> Response:
    slot = _managed_slot(slot_id)
    try:
        slot = engine.cancel_slot(slot.id, by=acting_user(), now=now())
    except CareappError as error:
        show_refusal(error)
        return redirect(url_for("partners.roster", slot_id=slot_id))
    flash(_("The slot on %(time)s is cancelled, with every booking in it.", time=local_time(slot.starts_at)),
          "success")
    return redirect(url_for("partners.dashboard", partner_id=slot.service.partner_id))


def _attended_booking(booking_id: int) -> Booking:
    booking = db.get_or_404(Booking, booking_id)
    require(acting_user().belongs_to_partner(booking.slot.service.partner_id),
            _("Only this partner's staff record attendance."))
    return booking


def _back_to_roster(booking: Booking, *, refused: bool = False) -> Response:
    """Back to the slot's roster: at the person's card when it worked; at the top of the page, where the
    message is, when it was refused (at the card, a phone would scroll the refusal out of sight)."""
    anchor = "main" if refused else f"booking-{booking.id}"
    return redirect(url_for("partners.roster", slot_id=booking.slot_id, _anchor=anchor))


def _attendance(booking: Booking, action: Callable[[], Booking], done: Callable[[str], str]) -> Response:
    """Check-in, check-out and no-shows: only this partner's staff record who came and left. ``done`` words the
    message from the person's name."""
    try:
        booking = action()
    except CareappError as error:
        show_refusal(error)
        return _back_to_roster(booking, refused=True)
    flash(done(booking.recipient.name), "success")
    return _back_to_roster(booking)


@bp.post("/bookings/<int:booking_id>/check-in")
@login_required
def check_in(booking_id: int) -> Response:
    """Arrival, with the morning health check (temperature, notes) when one was made."""
    booking = _attended_booking(booking_id)
    form = CheckInForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back_to_roster(booking, refused=True)
    return _attendance(booking, lambda: engine.check_in(booking.id, by=acting_user(), now=now(),
                                                        temperature=form.temperature.data,
                                                        health_notes=form.health_notes.data),
                       lambda name: _("%(name)s is checked in.", name=name))


@bp.post("/bookings/<int:booking_id>/check-out")
@login_required
def check_out(booking_id: int) -> Response:
    """Leaving; a child leaves only with one of the family's authorised adults (a refusal is logged)."""
    booking = _attended_booking(booking_id)
    form = CheckOutForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back_to_roster(booking, refused=True)
    return _attendance(booking, lambda: engine.check_out(booking.id, by=acting_user(), now=now(),
                                                         collected_by_id=form.collected_by.data),
                       lambda name: _("%(name)s is checked out.", name=name))


@bp.get("/bookings/<int:booking_id>/no-show")
@login_required
def confirm_no_show(booking_id: int) -> ResponseReturnValue:
    """Ask before recording a no-show: the booking cannot be checked in afterwards, and careapp cannot undo it.
    A booking that cannot be marked (not confirmed, or the slot not started) goes back with the rule's words."""
    booking = _attended_booking(booking_id)
    try:
        engine.check_no_show(booking, now=now())
    except CareappError as error:
        show_refusal(error)
        return _back_to_roster(booking, refused=True)
    return render("partners/no_show.html", booking=booking)


@bp.post("/bookings/<int:booking_id>/no-show")
@login_required
def no_show(booking_id: int) -> Response:
    booking = _attended_booking(booking_id)
    return _attendance(booking, lambda: engine.mark_no_show(booking.id, by=acting_user(), now=now()),
                       lambda name: _("%(name)s is recorded as not coming.", name=name))


@bp.route("/<int:partner_id>/accounts/new", methods=["GET", "POST"])
@login_required
def new_account(partner_id: int) -> ResponseReturnValue:
    """A staff or manager account: created by the partner's manager, community staff or an admin."""
    partner = db.get_or_404(PartnerOrganisation, partner_id)
    user = acting_user()
    require(user.is_district or user.manages_partner(partner.id), MANAGERS_ONLY)
    form = PartnerAccountForm()

    def create() -> tuple[str, str]:
        account = create_user(by=user, now=now(), role=Role(form.role.data), login=form.login.data,
                              password=form.password.data, name=form.name.data, email=form.email.data or None,
                              phone=form.phone.data or None, partner_id=partner.id)
        return (_("%(name)s can now log in with %(login)s.", name=account.name, login=account.login),
                url_for("partners.dashboard", partner_id=partner.id))

    return form_page(form, "partners/account_form.html", create, partner=partner)
