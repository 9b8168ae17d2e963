"""Staff and volunteer shifts, and the day roster of a service point (a page to print, and a CSV)."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from careapp.accounts.models import User
from careapp.core.clock import now
from careapp.core.exports import csv_response
from careapp.core.db import db
from careapp.core.errors import CareappError
from careapp.core.i18n import gettext as _
from careapp.core.i18n import lazy_gettext as _l
from careapp.core.i18n import short_date
from careapp.core.timefmt import format_local, local_date
from careapp.households.models import NEED_FIELDS
from careapp.pages import LABELS, acting_user, flash_form_errors, form_page, render, require, show_refusal
from careapp.partners import roster_queries, shifts
from careapp.partners.models import PartnerOrganisation, ServicePoint, Shift
from careapp.partners.roster_forms import AssignForm, DayForm, ShiftForm, VolunteerForm

bp = Blueprint("rosters", __name__, url_prefix="/partners")

NOT_YOUR_PARTNER = _l("This belongs to another partner.")
MANAGERS_ONLY = _l("Only this partner's manager may plan its shifts.")
# Spreadsheet programs run a cell that starts with one of these as a formula.


# --- the dashboard's part (templates/rosters/_dashboard.html) ---

@bp.app_context_processor
def dashboard_helpers() -> dict:
    """What the partner dashboard's roster part asks for; nothing runs unless a template calls it."""

    def roster_dashboard(partner_id: int) -> dict:
        today = local_date(now())
        return {"today": today, "tomorrow": today + timedelta(days=1),
                "short": roster_queries.shifts_below_minimum(partner_id, now=now())}

    return {"roster_dashboard": roster_dashboard}


# --- loading with access checks ---

def _viewable_point(point_id: int) -> ServicePoint:
    point = db.get_or_404(ServicePoint, point_id)
    require(acting_user().can_view_partner_rosters(point.partner_id), str(NOT_YOUR_PARTNER))
    return point


def _managed_shift(shift_id: int) -> Shift:
    shift = db.get_or_404(Shift, shift_id)
    require(acting_user().manages_partner(shift.service_point.partner_id), str(MANAGERS_ONLY))
    return shift


def _chosen_day(form: DayForm) -> tuple[date, int]:
    """The day asked for (default today) and the status to answer: 400 when the day given is not a date."""
    today = local_date(now())
    if "day" not in request.args:
        return today, 200
    if not form.validate():
        return today, 400
    return form.day.data or today, 200


def _week_url(shift: Shift) -> str:
    return url_for("rosters.point_shifts", point_id=shift.service_point_id, week=shift.day.isoformat())


# --- the day roster ---

@bp.get("/points/<int:point_id>/day")
@login_required
def day_roster(point_id: int) -> ResponseReturnValue:
    """Who is coming and who is working at a service point on one day; prints on A4."""
    point = _viewable_point(point_id)
    form = DayForm(request.args)
    day, status = _chosen_day(form)
    if status == 200:
        form = DayForm(formdata=None, day=day)
    user = acting_user()
    return render("rosters/day.html", status, point=point, roster=roster_queries.day_roster(point, day), form=form,
                  day=day, previous_day=day - timedelta(days=1), next_day=day + timedelta(days=1),
                  shows_needs=user.belongs_to_partner(point.partner_id),
                  manages=user.manages_partner(point.partner_id))


@bp.get("/points/<int:point_id>/day.csv")
@login_required
def day_roster_csv(point_id: int) -> ResponseReturnValue:
    point = _viewable_point(point_id)
    form = DayForm(request.args)
    day, status = _chosen_day(form)
    if status != 200:
        flash_form_errors(form)
        return redirect(url_for("rosters.day_roster", point_id=point.id))
    roster = roster_queries.day_roster(point, day)
    return csv_response(f"roster-{point.id}-{day.isoformat()}.csv",
                        _csv_rows(roster, shows_needs=acting_user().belongs_to_partner(point.partner_id)))


def _csv_rows(roster: roster_queries.DayRoster, *, shows_needs: bool) -> list[list[str]]:
    need_columns = [str(LABELS["need"][name]) for name in NEED_FIELDS] + [_("May be collected by")] if shows_needs \
        else []
    rows = [[_("Part"), _("Time"), _("Service or shift"), _("Name"), _("Age"), _("Status"), _("In"), _("Out"),
             *need_columns]]
    for slot_roster in roster.slots:
        slot, service = slot_roster.row.slot, slot_roster.row.service
        times = f"{format_local(slot.starts_at, '%H:%M')}-{format_local(slot.ends_at, '%H:%M')}"
        for view in slot_roster.people:
            booking, person = view.booking, view.booking.recipient
            status = str(LABELS["booking_status"][booking.status])
            if view.waitlist_position is not None:
                status = f"{status} ({view.waitlist_position})"
            row = [_("Coming"), times, service.name, person.name, _age(person, roster.day), status,
                   format_local(booking.checked_in_at, "%H:%M"), format_local(booking.checked_out_at, "%H:%M")]
            if shows_needs:
                adults = roster.adults.get(person.id, [])
                row += [person.needs[name] or "" for name in NEED_FIELDS]
                row.append("; ".join(_("%(name)s (%(relation)s)", name=a.name, relation=a.relation) for a in adults))
            rows.append(row)
    for view in roster.shifts:
        shift = view.shift
        times = f"{shift.start_time:%H:%M}-{shift.end_time:%H:%M}"
        flag = _("BELOW MINIMUM: needs %(fewest)s", fewest=shift.min_people) if view.below_minimum else ""
        names = view.names or [_("(nobody yet)")]
        for name in names:
            rows.append([_("Working"), times, shift.title, name, "", str(LABELS["shift_role"][shift.role]), flag, "",
                         *([""] * len(need_columns))])
    return rows


def _age(person, day: date) -> str:
    years = person.age_on(day)
    if person.kind.value == "child" and years < 3:
        return _("%(months)s months", months=person.age_in_months_on(day))
    return _("%(years)s years", years=years)


# --- shifts ---

@bp.route("/points/<int:point_id>/shifts", methods=["GET", "POST"])
@login_required
def point_shifts(point_id: int) -> ResponseReturnValue:
    """A service point's shifts for one week; the manager plans them here."""
    point = _viewable_point(point_id)
    user = acting_user()
    manages = user.manages_partner(point.partner_id)
    asked = request.args.get("week")
    first = local_date(now())
    if asked:
        try:
            first = date.fromisoformat(asked)
        except ValueError:
            flash(_("Please give the week as a date, e.g. 2026-12-07."), "error")
        if not 1900 < first.year < 2100:
            first = local_date(now())
    monday, sunday = roster_queries.week_of(first)
    views = roster_queries.point_shifts(point.id, monday, sunday)
    form = ShiftForm(day=max(monday, local_date(now())))
    form.set_services([service for service in point.partner.services if service.service_point_id == point.id])
    context = dict(point=point, manages=manages, monday=monday, sunday=sunday, one_week=timedelta(days=7),
                   days=[monday + timedelta(days=n) for n in range(7)],
                   shift_views=views, ended={view.shift.id for view in views if view.ended(now())},
                   people=roster_queries.rosterable_people(point.partner_id) if manages else ([], []),
                   today=local_date(now()))
    if request.method == "POST":
        require(manages, str(MANAGERS_ONLY))

    def create() -> tuple[str, str]:
        shift = shifts.create_shift(point_id=point.id, by=user, now=now(), **form.values())
        return (_("The shift %(title)s on %(day)s is planned. Now add the people who work it.", title=shift.title,
                  day=short_date(shift.day)), _week_url(shift))

    return form_page(form, "rosters/shifts.html", create, **context)


@bp.route("/shifts/<int:shift_id>/edit", methods=["GET", "POST"])
@login_required
def edit_shift(shift_id: int) -> ResponseReturnValue:
    shift = _managed_shift(shift_id)
    point = shift.service_point
    form = ShiftForm(day=shift.day, start_time=shift.start_time, end_time=shift.end_time, role=shift.role.value,
                     title=shift.title, min_people=shift.min_people, max_people=shift.max_people,
                     service_id=shift.service_id)
    form.set_services([service for service in point.partner.services if service.service_point_id == point.id])

    def change() -> tuple[str, str]:
        changed = shifts.update_shift(shift.id, by=acting_user(), now=now(), **form.values())
        return _("The shift %(title)s is changed.", title=changed.title), _week_url(changed)

    return form_page(form, "rosters/shift_form.html", change, shift=shift, point=point)


@bp.get("/shifts/<int:shift_id>/delete")
@login_required
def confirm_delete_shift(shift_id: int) -> ResponseReturnValue:
    """Ask before deleting a shift: everyone comes off it, and careapp cannot bring it back."""
    shift = _managed_shift(shift_id)
    return render("rosters/delete_shift.html", shift=shift, point=shift.service_point,
                  names=roster_queries.ShiftView(shift).names)


@bp.post("/shifts/<int:shift_id>/delete")
@login_required
def delete_shift(shift_id: int) -> Response:
    shift = _managed_shift(shift_id)
    target, title = _week_url(shift), shift.title
    try:
        shifts.delete_shift(shift.id, by=acting_user(), now=now())
    except CareappError as error:
        show_refusal(error)
        return redirect(target)
    flash(_("The shift %(title)s is deleted.", title=title), "success")
    return redirect(target)


@bp.post("/shifts/<int:shift_id>/assign")
@login_required
def assign(shift_id: int) -> Response:
    shift = _managed_shift(shift_id)
    form = AssignForm()
    form.set_people(shift.role, *roster_queries.rosterable_people(shift.service_point.partner_id))
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(_week_url(shift))
    try:
        assignment = shifts.assign(shift.id, by=acting_user(), now=now(), **form.person_ids())
    except CareappError as error:
        show_refusal(error)
    else:
        flash(_("%(person)s is on the shift %(title)s.", person=roster_queries.person_name(assignment),
                title=shift.title), "success")
    return redirect(_week_url(shift))


@bp.post("/shifts/<int:shift_id>/people/<int:assignment_id>/remove")
@login_required
def unassign(shift_id: int, assignment_id: int) -> Response:
    shift = _managed_shift(shift_id)
    try:
        assignment = shifts.unassign(shift.id, assignment_id, by=acting_user(), now=now())
    except CareappError as error:
        show_refusal(error)
    else:
        flash(_("%(person)s is off the shift %(title)s.", person=roster_queries.person_name(assignment),
                title=shift.title), "success")
    return redirect(_week_url(shift))


# --- volunteers ---

@bp.route("/<int:partner_id>/volunteers", methods=["GET", "POST"])
@login_required
def volunteers(partner_id: int) -> ResponseReturnValue:
    partner = db.get_or_404(PartnerOrganisation, partner_id)
    user: User = acting_user()
    require(user.manages_partner(partner.id), _("Only this partner's manager may see and add its volunteers."))
    form = VolunteerForm()

    def add() -> tuple[str, str]:
        volunteer = shifts.add_volunteer(partner_id=partner.id, name=form.name.data, phone=form.phone.data,
                                         by=user, now=now())
        return (_("%(name)s is added; put them on volunteer shifts from a service point's shifts page.",
                  name=volunteer.name), url_for("rosters.volunteers", partner_id=partner.id))

    return form_page(form, "rosters/volunteers.html", add, partner=partner,
                     volunteers=roster_queries.partner_volunteers(partner.id, active_only=False))
