"""The administrator's page of the audit trail: who changed what and when, filtered and paged.

Only administrators read it. Every entry may carry a household's before and after values (names, birth dates,
phones) of any household in the sub-district, and the actions of every member of staff: more than community staff
need for their work, who have their own pages for the households they help (docs/privacy.md)."""
from __future__ import annotations

from datetime import date, time, timedelta
from urllib.parse import urlencode

from flask import Blueprint, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from wtforms import DateField, IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import Length, NumberRange, Optional

from careapp.accounts.models import Role
from careapp.core import audit
from careapp.core.i18n import lazy_gettext as _l
from careapp.core.timefmt import from_local
from careapp.core.validation import MAX_ID
from careapp.pages import PageForm, acting_user, options, render, require, within_years

bp = Blueprint("audit_admin", __name__, url_prefix="/admin")

PER_PAGE = 50
MAX_PAGE = 10_000  # far past any real trail; a bigger page number would only overflow the database's OFFSET


class AuditFilterForm(PageForm):
    """A GET form (a filtered view can be bookmarked and shared): no CSRF token."""

    class Meta:
        csrf = False

    actor = StringField(_l("Who (part of a login or name; \"system\" for the scheduler)"), [Optional(), Length(max=120)])
    action = StringField(_l("Action (its start, e.g. booking.)"), [Optional(), Length(max=60)])
    # The kinds are table names (codes, in no language).
    object_type = SelectField(_l("Kind of record"), [Optional()], validate_choice=True, render_kw={"translate": "no"})
    object_id = IntegerField(_l("Record number"), [Optional(), NumberRange(min=1, max=MAX_ID)])
    date_from = DateField(_l("From (day)"), [Optional(), within_years()])
    date_to = DateField(_l("To (day, included)"), [Optional(), within_years()])
    submit = SubmitField(_l("Show"))


def _page_number(text: str | None) -> int:
    """?page=N, 1..MAX_PAGE; anything else is the first page."""
    return int(text) if text and text.isdigit() and len(text) <= 6 and 1 <= int(text) <= MAX_PAGE else 1


def _filter_of(form: AuditFilterForm) -> audit.AuditFilter:
    def start_of(day: date | None):
        return from_local(day, time.min) if day is not None else None

    return audit.AuditFilter(
        actor=form.actor.data or None, action=form.action.data or None, object_type=form.object_type.data or None,
        object_id=form.object_id.data, since=start_of(form.date_from.data),
        until=start_of(form.date_to.data + timedelta(days=1)) if form.date_to.data else None)


def _page_link(page: int) -> str:
    query = {name: value for name, value in request.args.items(multi=True) if name != "page"}
    return url_for("audit_admin.audit_log") + "?" + urlencode({**query, "page": page})


@bp.get("/audit")
@login_required
def audit_log() -> ResponseReturnValue:
    require(acting_user().role == Role.admin, _l("Only administrators read the audit log."))
    form = AuditFilterForm(request.args)
    form.object_type.choices = options([("", _l("Any")), *((kind, kind) for kind in audit.object_types())])
    if request.args and not form.validate():
        return render("admin/audit.html", 400, form=form, result=None)
    wanted = _filter_of(form) if request.args else audit.AuditFilter()
    result = audit.find_entries(wanted, page=_page_number(request.args.get("page")), per_page=PER_PAGE)
    return render("admin/audit.html", form=form, result=result,
                  previous_url=_page_link(result.page - 1) if result.page > 1 else None,
                  next_url=_page_link(result.page + 1) if result.has_next else None)
