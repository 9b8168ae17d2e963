"""Partner registration and approval, the partner profile, rooms and staff accounts."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user
from werkzeug.wrappers import Response

from careapp.accounts.models import PARTNER_ROLES, User
from careapp.accounts.views import start_page
from careapp.core.clock import now
from careapp.core.db import db
from careapp.core.errors import CareappError
from careapp.core.i18n import gettext as _
from careapp.core.i18n import lazy_gettext as _l
from careapp.extensions import limiter
from careapp.pages import acting_user, form_page, render, require, show_refusal
from careapp.partners.admin_forms import DeclineForm, PartnerProfileForm, PartnerRegistrationForm, RoomForm
from careapp.partners.admin_queries import partner_accounts, partner_for_review, pending_partners
from careapp.partners.admin_services import (add_room, approve_partner, can_manage_accounts, can_set_up_partner,
                                             decline_partner, register_partner, remove_room, set_account_active,
                                             update_profile, update_room)
from careapp.partners.models import PartnerKind, PartnerOrganisation, Room, ServicePoint

bp = Blueprint("partner_admin", __name__, url_prefix=None)

DISTRICT_ONLY = _l("Only community staff approve partners.")
SET_UP_ONLY = _l("Only this partner's manager or community staff may change this.")


def _dashboard(partner_id: int) -> str:
    return url_for("partners.dashboard", partner_id=partner_id)


# --- registration and approval ---

@bp.route("/partners/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["REGISTER_RATE_LIMIT"], methods=["POST"])
def register() -> ResponseReturnValue:
    """A partner registers itself and its manager's account; community staff approve it before it publishes."""
    if current_user.is_authenticated:
        return redirect(start_page(current_user))
    form = PartnerRegistrationForm()
    if not form.validate_on_submit():
        return render("partner_admin/register.html", 400 if form.errors else 200, form=form)
    try:
        manager = register_partner(name=form.name.data, kind=PartnerKind(form.kind.data), phone=form.phone.data,
                                   description=form.description.data, manager_name=form.manager_name.data,
                                   login=form.login.data, password=form.password.data, now=now())
    except CareappError as error:
        return render("partner_admin/register.html", show_refusal(error, form), form=form)
    login_user(manager)
    flash(_("%(name)s is registered. Community staff will review it; until they approve it you can add service "
            "points, rooms and services, but not publish slots.", name=manager.partner.name), "success")
    return redirect(_dashboard(manager.partner_id))


@bp.get("/partners/pending")
@login_required
def pending() -> ResponseReturnValue:
    require(acting_user().is_district, DISTRICT_ONLY)
    return render("partner_admin/pending.html", partners=pending_partners())


def _review_page(partner_id: int, form: DeclineForm, status: int = 200) -> ResponseReturnValue:
    partner = partner_for_review(partner_id)
    if partner is None:
        abort(404)
    return render("partner_admin/review.html", status, partner=partner, form=form,
                  accounts=partner_accounts(partner.id))


@bp.get("/partners/<int:partner_id>/review")
@login_required
def review(partner_id: int) -> ResponseReturnValue:
    require(acting_user().is_district, DISTRICT_ONLY)
    return _review_page(partner_id, DeclineForm(formdata=None))


@bp.post("/partners/<int:partner_id>/approve")
@login_required
def approve(partner_id: int) -> Response:
    require(acting_user().is_district, DISTRICT_ONLY)
    partner = db.get_or_404(PartnerOrganisation, partner_id)
    try:
        approve_partner(partner.id, by=acting_user(), now=now())
    except CareappError as error:
        show_refusal(error)
        return redirect(url_for("partner_admin.review", partner_id=partner.id))
    flash(_("%(name)s is approved. It can now publish slots.", name=partner.name), "success")
    return redirect(url_for("community.overview"))


@bp.post("/partners/<int:partner_id>/decline")
@login_required
def decline(partner_id: int) -> ResponseReturnValue:
    require(acting_user().is_district, DISTRICT_ONLY)
    partner = db.get_or_404(PartnerOrganisation, partner_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        return _review_page(partner.id, form, 400)
    try:
        decline_partner(partner.id, reason=form.reason.data, by=acting_user(), now=now())
    except CareappError as error:
        return _review_page(partner.id, form, show_refusal(error, form))
    flash(_("%(name)s is declined; its manager sees your reason.", name=partner.name), "success")
    return redirect(url_for("community.overview"))


# --- profile ---

@bp.route("/partners/<int:partner_id>/profile", methods=["GET", "POST"])
@login_required
def profile(partner_id: int) -> ResponseReturnValue:
    partner = db.get_or_404(PartnerOrganisation, partner_id)
    user = acting_user()
    require(can_set_up_partner(user, partner.id), SET_UP_ONLY)
    form = PartnerProfileForm(obj=partner)

    def save() -> tuple[str, str]:
        update_profile(partner.id, by=user, now=now(), name=form.name.data, phone=form.phone.data,
                       description=form.description.data)
        return _("The profile is saved."), _dashboard(partner.id)

    return form_page(form, "partner_admin/profile.html", save, partner=partner)


# --- rooms ---

@bp.route("/partners/points/<int:point_id>/rooms/new", methods=["GET", "POST"])
@login_required
def new_room(point_id: int) -> ResponseReturnValue:
    point = db.get_or_404(ServicePoint, point_id)
    user = acting_user()
    require(can_set_up_partner(user, point.partner_id), SET_UP_ONLY)
    form = RoomForm()

    def add() -> tuple[str, str]:
        room = add_room(point.id, name=form.name.data, purpose=form.purpose.data, seats=form.seats.data, by=user,
                        now=now())
        return _("The room %(room)s is added to %(point)s.", room=room.name, point=point.name), \
            _dashboard(point.partner_id)

    return form_page(form, "partner_admin/room_form.html", add, point=point, room=None)


@bp.route("/partners/rooms/<int:room_id>", methods=["GET", "POST"])
@login_required
def edit_room(room_id: int) -> ResponseReturnValue:
    room = db.get_or_404(Room, room_id)
    point = room.service_point
    user = acting_user()
    require(can_set_up_partner(user, point.partner_id), SET_UP_ONLY)
    form = RoomForm(obj=room)

    def save() -> tuple[str, str]:
        update_room(room.id, name=form.name.data, purpose=form.purpose.data, seats=form.seats.data, by=user,
                    now=now())
        return _("The room is saved."), _dashboard(point.partner_id)

    return form_page(form, "partner_admin/room_form.html", save, point=point, room=room)


@bp.post("/partners/rooms/<int:room_id>/remove")
@login_required
def delete_room(room_id: int) -> Response:
    room = db.get_or_404(Room, room_id)
    partner_id, name = room.service_point.partner_id, room.name
    require(can_set_up_partner(acting_user(), partner_id), SET_UP_ONLY)
    try:
        remove_room(room.id, by=acting_user(), now=now())
    except CareappError as error:
        show_refusal(error)
    else:
        flash(_("The room %(name)s is removed.", name=name), "success")
    return redirect(_dashboard(partner_id))


# --- staff accounts ---

@bp.get("/partners/<int:partner_id>/staff")
@login_required
def staff(partner_id: int) -> ResponseReturnValue:
    partner = db.get_or_404(PartnerOrganisation, partner_id)
    require(can_manage_accounts(acting_user(), partner.id), _("Only this partner's manager sees its accounts."))
    return render("partner_admin/staff.html", partner=partner, accounts=partner_accounts(partner.id))


def _switch(user_id: int, active: bool) -> Response:
    account = db.get_or_404(User, user_id)
    require(account.role in PARTNER_ROLES and can_manage_accounts(acting_user(), account.partner_id),
            _("Only this partner's manager may switch its accounts off or on."))
    try:
        set_account_active(account.id, active, by=acting_user(), now=now())
    except CareappError as error:
        show_refusal(error)
    else:
        flash(_("%(name)s can log in again.", name=account.name) if active
              else _("%(name)s can no longer log in.", name=account.name), "success")
    return redirect(url_for("partner_admin.staff", partner_id=account.partner_id))


@bp.post("/partners/accounts/<int:user_id>/deactivate")
@login_required
def deactivate(user_id: int) -> Response:
    return _switch(user_id, False)


@bp.post("/partners/accounts/<int:user_id>/reactivate")
@login_required
def reactivate(user_id: int) -> Response:
    return _switch(user_id, True)
