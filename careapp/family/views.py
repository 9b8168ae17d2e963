"""A household's own pages: its members and bookings, adding members and who may collect a child."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required, logout_user
from werkzeug.wrappers import Response

from careapp.accounts.models import Role, User
from careapp.booking import queries
from careapp.core.clock import now
from careapp.core.db import db
from careapp.core.errors import CareappError
from careapp.core.i18n import gettext as _, lazy_gettext as _l
from careapp.core.months import Month, month_name
from careapp.core.privacy import phone_for
from careapp.core.timefmt import local_date
from careapp.family import calendar
from careapp.family.forms import AuthorisedAdultForm, MemberForm
from careapp.households.erasure import erase_household, may_erase
from careapp.households.export import export_filename, household_data, json_chunks
from careapp.households.models import AuthorisedAdult, CareRecipient, Household, RecipientKind
from careapp.households.queries import household_with_members
from careapp.households.services import add_authorised_adult, add_recipient, remove_authorised_adult
from careapp.pages import acting_user, form_page, household_page, render, require, show_refusal

bp = Blueprint("family", __name__, url_prefix="/family")

NOT_YOURS = _l("This household is not yours to see.")


@bp.get("/")
@login_required
def home() -> ResponseReturnValue:
    user = acting_user()
    if user.role != Role.family:
        # Staff who follow a family link (e.g. "back to the start") land on their own start page.
        return redirect(url_for("accounts.start"))
    return _household_page(user.household_id)


@bp.get("/households/<int:household_id>")
@login_required
def household(household_id: int) -> ResponseReturnValue:
    require(acting_user().can_act_for_household(household_id), NOT_YOURS)
    return _household_page(household_id)


def _household_page(household_id: int) -> ResponseReturnValue:
    household = household_with_members(household_id)
    if household is None:
        abort(404)
    moment = now()
    return render("family/household.html", household=household, today=local_date(moment),
                  bookings=queries.household_bookings(household_id, now=moment),
                  calendar_feed=calendar.live_feed(household_id))


@bp.get("/households/<int:household_id>/calendar")
@login_required
def month_calendar(household_id: int) -> ResponseReturnValue:
    """The household's bookings as a month (Monday first), ?month=2026-12; this month by default."""
    require(acting_user().can_act_for_household(household_id), NOT_YOURS)
    household = db.get_or_404(Household, household_id)
    moment = now()
    text = request.args.get("month")
    month = Month.of(moment) if not text else Month.parse(text)
    return render("family/calendar.html", household=household, this_month=Month.of(moment),
                  calendar=calendar.month_calendar(household.id, month, now=moment), month_name=month_name)


def _acting_for(household_id: int) -> tuple[User, Household]:
    """The user, who must be allowed to act for the household, and the household."""
    user = acting_user()
    require(user.can_act_for_household(household_id), NOT_YOURS)
    return user, db.get_or_404(Household, household_id)


@bp.post("/households/<int:household_id>/calendar-link")
@login_required
def make_calendar_link(household_id: int) -> ResponseReturnValue:
    """Make the household's private calendar link (turning off any older one) and show it, this once."""
    user, household = _acting_for(household_id)
    token = calendar.make_feed_link(household.id, by=user, now=now())
    link = url_for("calendar_feed.feed", token=token, _external=True)
    page, status = render("family/calendar_link.html", household=household, link=link,
                          webcal_link="webcal://" + link.split("://", 1)[1],
                          back=household_page(user, household.id))
    # The link is a secret: no copy in a shared cache or the browser's.
    return page, status, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@bp.post("/households/<int:household_id>/calendar-link/stop")
@login_required
def stop_calendar_link(household_id: int) -> Response:
    """Turn the household's calendar link off (phones subscribed to it stop getting updates)."""
    user, household = _acting_for(household_id)
    if calendar.stop_feed(household.id, by=user, now=now()):
        flash(_("The calendar link is turned off. Phones that used it get no more updates."), "success")
    else:
        flash(_("There was no calendar link to turn off."), "error")
    return redirect(household_page(user, household.id))


@bp.route("/households/<int:household_id>/members/new", methods=["GET", "POST"])
@login_required
def add_member(household_id: int) -> ResponseReturnValue:
    user = acting_user()
    # Access first: whether another household exists is none of a family's business.
    require(user.can_act_for_household(household_id), NOT_YOURS)
    household = db.get_or_404(Household, household_id)
    form = MemberForm()

    def add() -> tuple[str, str]:
        member = add_recipient(household_id=household.id, by=user, now=now(), kind=RecipientKind(form.kind.data),
                               name=form.name.data, birth_date=form.birth_date.data,
                               ability_level=form.ability_level.data, needs=form.needs())
        return _("%(name)s is added to your household.", name=member.name), household_page(user, household.id)

    return form_page(form, "family/member_form.html", add, aliases={"needs": "diet"}, household=household)


@bp.route("/members/<int:member_id>/adults/new", methods=["GET", "POST"])
@login_required
def add_adult(member_id: int) -> ResponseReturnValue:
    user = acting_user()
    child = db.get_or_404(CareRecipient, member_id)
    require(user.can_act_for_household(child.household_id), NOT_YOURS)
    if child.kind != RecipientKind.child:
        abort(404)  # only children are collected by an authorised adult
    form = AuthorisedAdultForm()

    def add() -> tuple[str, str]:
        adult = add_authorised_adult(child_id=child.id, by=user, now=now(), name=form.name.data,
                                     relation=form.relation.data, phone=form.phone.data or None)
        return (_("%(adult)s may now collect %(child)s.", adult=adult.name, child=child.name),
                household_page(user, child.household_id))

    return form_page(form, "family/adult_form.html", add, child=child)


@bp.post("/adults/<int:adult_id>/remove")
@login_required
def remove_adult(adult_id: int) -> Response:
    """Take an adult off a child's list of who may collect them."""
    user = acting_user()
    adult = db.get_or_404(AuthorisedAdult, adult_id)
    require(user.can_act_for_household(adult.child.household_id), NOT_YOURS)
    try:
        remove_authorised_adult(adult.id, by=user, now=now())
        flash(_("%(adult)s may no longer collect %(child)s.", adult=adult.name, child=adult.child.name), "success")
    except CareappError as error:
        show_refusal(error)
    return redirect(household_page(user, adult.child.household_id))


# --- the household's own data (PIPL): a copy of all of it, and deletion (docs/privacy.md) ---

# Every page may show a resident's phone through the one rule of careapp.core.privacy.
bp.add_app_template_global(phone_for, "phone_for")

ONLY_THE_HOUSEHOLD = _l("Only the household itself may download or delete its data.")


def _own_data(household_id: int) -> tuple[User, Household]:
    """The household's own account (or an administrator, for a resident who asks in person) and the household."""
    user = acting_user()
    require(may_erase(user, household_id), ONLY_THE_HOUSEHOLD)
    return user, db.get_or_404(Household, household_id)


@bp.get("/households/<int:household_id>/data.json")
@login_required
def export_data(household_id: int) -> ResponseReturnValue:
    """Everything careapp holds about the household, as a JSON file to keep."""
    _user, household = _own_data(household_id)
    data = household_data(household.id, now=now())
    return Response(json_chunks(data), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{export_filename(household.id)}"',
                             "Cache-Control": "no-store"})


@bp.route("/households/<int:household_id>/delete", methods=["GET", "POST"])
@login_required
def delete_data(household_id: int) -> ResponseReturnValue:
    """Ask before deleting (GET), then anonymise the household at once (POST): it cannot be undone."""
    user, household = _own_data(household_id)
    if household.anonymised_at is not None:
        flash(_("This household's data has already been deleted."), "error")
        return redirect(url_for("accounts.start"))
    back = household_page(user, household.id)
    if request.method == "GET":
        return render("family/delete_data.html", household=household, back=back,
                      bookings=queries.household_bookings(household.id, now=now()))
    try:
        erasure = erase_household(household.id, by=user, now=now())
    except CareappError as error:
        show_refusal(error)
        return redirect(back)
    message = _("The household's data is deleted: %(cancelled)s bookings cancelled, %(kept)s kept (too late to "
                "cancel), %(accounts)s accounts closed.", cancelled=erasure.bookings_cancelled,
                kept=erasure.bookings_kept, accounts=erasure.accounts_closed)
    if user.household_id == household.id:
        logout_user()  # the account itself is closed now
        flash(message, "success")
        return redirect(url_for("accounts.login"))
    flash(message, "success")
    return redirect(url_for("accounts.start"))
