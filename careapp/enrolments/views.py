"""A family's standing enrolments: enrol a member for every week, pause, resume, end.

District staff acting for a household use the same pages (from the household page they open).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from werkzeug.wrappers import Response

from careapp.booking.forms import member_option_id
from careapp.booking.models import Enrolment
from careapp.core.clock import now
from careapp.core.errors import CareappError
from careapp.core.i18n import current_language, short_date, weekday_name
from careapp.core.i18n import gettext as _
from careapp.core.timefmt import local_date
from careapp.enrolments import queries
from careapp.enrolments.forms import ActionForm, ChooseForm, EnrolForm, PauseForm
from careapp.enrolments.services import (
    EnrolmentChange,
    describe_kept,
    end,
    enrol,
    listed,
    pause,
    resume,
)
from careapp.households.models import CareRecipient, Household
from careapp.households.queries import household_with_members
from careapp.pages import (
    LABELS,
    PageForm,
    acting_user,
    flash_form_errors,
    form_page,
    household_page,
    render,
    require,
    show_refusal,
)
from careapp.partners.models import Service

bp = Blueprint("enrolments", __name__, url_prefix="/enrolments")


@bp.app_context_processor
def enrolment_helpers() -> dict:
    """The household page's enrolment part loads its own rows (the page itself knows nothing of them)."""
    return {"enrolments_of": queries.household_enrolments, "weekday_names": weekday_names}


def weekday_names(days: Sequence[int], *, mid_sentence: bool = False) -> str:
    """The days of an enrolment, as a heading starts them or (``mid_sentence``) as a sentence goes on with them."""
    days = sorted(days)
    if days == list(range(5)):
        return _("every weekday (Monday to Friday)") if mid_sentence else _("Every weekday (Monday to Friday)")
    if days == list(range(7)):
        return _("every day") if mid_sentence else _("Every day")
    return listed(weekday_name(day) for day in days)


def _sentences(sentences: Sequence[str]) -> str:
    """Sentences of one message, spaced as the language spaces them."""
    return ("" if current_language() == "zh_CN" else " ").join(sentences)


def _pick(rows: Sequence, raw: str | None):
    chosen = member_option_id(raw)
    return next((row for row in rows if row.id == chosen), None)



@bp.route("/households/<int:household_id>/new", methods=["GET", "POST"])
@login_required
def new(household_id: int) -> ResponseReturnValue:
    """Step one chooses the person and the service; step two the days, session, first day and options."""
    user = acting_user()
    require(user.can_act_for_household(household_id), _("This household is not yours."))
    household = household_with_members(household_id)
    if household is None:
        abort(404)
    source = request.form if request.method == "POST" else request.args
    member = _pick(household.members, source.get("member"))
    services = queries.enrolable_services({member.kind} if member else {m.kind for m in household.members})
    service = _pick(services, source.get("service")) if member else None
    if member is None or service is None:
        if request.method == "POST":
            flash(_("Please choose the person and the service first."), "error")
            return redirect(url_for("enrolments.new", household_id=household.id))
        return _choose_page(household, services, member)
    today = local_date(now())
    sessions = queries.weekly_sessions(service.id, on_or_after=today)
    form = EnrolForm.for_service(service, sessions, member_id=member.id, today=today)

    def act() -> tuple[str, str]:
        change = enrol(member.id, service.id, form.weekdays.data, starts_on=form.starts_on.data,
                       ends_on=form.ends_on.data, start_time=form.session_time(), options=form.options(),
                       by=user, now=now())
        return _enrolled_message(change), household_page(user, household.id)

    return form_page(form, "enrolments/enrol.html", act, household=household, member=member, service=service,
                     sessions=sessions)


def _choose_page(household: Household, services: list[Service], member: CareRecipient | None) -> ResponseReturnValue:
    form = ChooseForm(request.args)
    form.member.set_options([(m.id, _("%(name)s (%(kind)s)", name=m.name,
                                      kind=str(LABELS["recipient_kind"][m.kind]).lower()))
                             for m in household.members])
    form.service.set_options([(s.id, _("%(service)s - %(kind)s, %(partner)s", service=s.name,
                                       kind=LABELS["service_kind"][s.kind], partner=s.partner.name))
                              for s in services])
    # Only a submitted choice is checked: arriving from a "enrol this person" link shows no errors.
    status = 400 if "service" in request.args and not form.validate() else 200
    return render("enrolments/choose.html", status, form=form, household=household, member=member,
                  back=household_page(acting_user(), household.id))


def _enrolled_message(change: EnrolmentChange) -> str:
    enrolment, summary = change.enrolment, change.summary
    text = [_("%(name)s is enrolled in %(service)s: %(days)s.", name=enrolment.recipient.name,
              service=enrolment.service.name, days=weekday_names(enrolment.weekday_list, mid_sentence=True))]
    if summary.booked and summary.waitlisted:
        text.append(_("Booked %(count)s coming day(s), %(waiting)s on the waiting list.",
                      count=len(summary.confirmed), waiting=len(summary.waitlisted)))
    elif summary.booked:
        text.append(_("Booked %(count)s coming day(s).", count=len(summary.confirmed)))
    if summary.skipped:
        text.append(_("Not booked on %(count)s day(s), for example: %(reason)s", count=len(summary.skipped),
                      reason=summary.skipped[0].message))
    return _sentences(text)


def _own_enrolment(enrolment_id: int) -> Enrolment:
    enrolment = queries.enrolment(enrolment_id)
    if enrolment is None:
        abort(404)
    require(acting_user().can_act_for_household(enrolment.recipient.household_id),
            _("This household is not yours."))
    return enrolment


def _back(enrolment: Enrolment) -> Response:
    return redirect(household_page(acting_user(), enrolment.recipient.household_id) + "#enrolments")


def _changed(change: EnrolmentChange, done: str) -> str:
    """``done`` is the first sentence (who, which service, what happened); then what it did to the bookings."""
    text = [done]
    if change.cancelled:
        text.append(_("%(count)s booking(s) cancelled.", count=change.cancelled))
    if change.kept:
        text.append(_("Too late to cancel %(bookings)s; that booking stays. Please tell the service if nobody will "
                      "come.", bookings=describe_kept(change.kept)))
    if change.summary.booked:
        text.append(_("Booked %(count)s coming day(s) again.", count=len(change.summary.booked)))
    return _sentences(text)


def _change(enrolment_id: int, form: PageForm, rule: Callable[[Enrolment], EnrolmentChange],
            done: Callable[[Enrolment], str]) -> Response:
    """Pause, resume or end: check the form, run the rule, say what happened to the bookings, go back."""
    enrolment = _own_enrolment(enrolment_id)
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back(enrolment)
    try:
        change = rule(enrolment)
    except CareappError as error:
        show_refusal(error)
    else:
        flash(_changed(change, done(change.enrolment)), "success")
    return _back(enrolment)


@bp.post("/<int:enrolment_id>/pause")
@login_required
def pause_enrolment(enrolment_id: int) -> Response:
    form = PauseForm()
    return _change(enrolment_id, form,
                   lambda enrolment: pause(enrolment.id, resumes_on=form.resumes_on.data, by=acting_user(), now=now()),
                   lambda enrolment: _("%(name)s, %(service)s: paused, back on %(day)s.",
                                       name=enrolment.recipient.name, service=enrolment.service.name,
                                       day=short_date(form.resumes_on.data)))


@bp.post("/<int:enrolment_id>/resume")
@login_required
def resume_enrolment(enrolment_id: int) -> Response:
    return _change(enrolment_id, ActionForm(),
                   lambda enrolment: resume(enrolment.id, by=acting_user(), now=now()),
                   lambda enrolment: _("%(name)s, %(service)s: started again.", name=enrolment.recipient.name,
                                       service=enrolment.service.name))


@bp.get("/<int:enrolment_id>/end")
@login_required
def confirm_end(enrolment_id: int) -> ResponseReturnValue:
    enrolment = _own_enrolment(enrolment_id)
    return render("enrolments/end.html", enrolment=enrolment, back=household_page(acting_user(),
                                                                                  enrolment.recipient.household_id))


@bp.post("/<int:enrolment_id>/end")
@login_required
def end_enrolment(enrolment_id: int) -> Response:
    return _change(enrolment_id, ActionForm(),
                   lambda enrolment: end(enrolment.id, by=acting_user(), now=now()),
                   lambda enrolment: _("%(name)s, %(service)s: ended.", name=enrolment.recipient.name,
                                       service=enrolment.service.name))
