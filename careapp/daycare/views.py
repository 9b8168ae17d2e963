"""Day-care pages: the day's transport list (接送) of a service point, as a printable page and a CSV."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from careapp.booking.engine import status_word
from careapp.core.clock import now
from careapp.core.db import db
from careapp.core.exports import csv_response
from careapp.core.privacy import sees_whole_phone
from careapp.core.i18n import gettext as _
from careapp.core.i18n import lazy_gettext as _l
from careapp.core.timefmt import format_local, local_date
from careapp.daycare.forms import DayForm
from careapp.daycare.queries import TransportRow, transport_list
from careapp.pages import acting_user, render, require
from careapp.partners.models import ServicePoint

bp = Blueprint("daycare", __name__, url_prefix="/daycare")

# The columns of the transport CSV, in the reader's language.
CSV_HEADER = (_l("Time"), _l("Service"), _l("Name"), _l("Address"), _l("Phone"), _l("Mobility aid"), _l("Status"))


def _point_and_day(point_id: int) -> tuple[ServicePoint, DayForm, date | None]:
    """The point if the user may see its lists (its partner's staff, district staff), and the chosen day
    (today by default; None when the day given is not a date)."""
    point = db.get_or_404(ServicePoint, point_id)
    require(acting_user().can_view_partner_rosters(point.partner_id), _("This list belongs to another partner."))
    form = DayForm(request.args)
    if not form.validate():
        return point, form, None
    return point, form, form.day.data or local_date(now())


def _whole_phones(point: ServicePoint) -> bool:
    """The partner's own staff call the numbers; others see them masked (careapp.core.privacy's one rule)."""
    return sees_whole_phone(acting_user(), partner_id=point.partner_id)


@bp.get("/points/<int:point_id>/transport")
@login_required
def transport(point_id: int) -> ResponseReturnValue:
    point, form, day = _point_and_day(point_id)
    if day is None:
        return render("daycare/transport.html", 400, point=point, form=form, day=None, rows=[])
    return render("daycare/transport.html", point=point, form=form, day=day, rows=transport_list(point.id, day),
                  whole_phones=_whole_phones(point), previous_day=day - timedelta(days=1),
                  next_day=day + timedelta(days=1))


@bp.get("/points/<int:point_id>/transport.csv")
@login_required
def transport_csv(point_id: int) -> ResponseReturnValue:
    point, form, day = _point_and_day(point_id)
    if day is None:
        return render("daycare/transport.html", 400, point=point, form=form, day=None, rows=[])
    whole = _whole_phones(point)
    rows = [_csv_row(row, whole) for row in transport_list(point.id, day)]
    return csv_response(f"transport-{point.id}-{day.isoformat()}.csv", [[str(name) for name in CSV_HEADER], *rows])


def _csv_row(row: TransportRow, whole_phones: bool) -> tuple[str, ...]:
    when = f"{format_local(row.slot.starts_at, '%H:%M')}-{format_local(row.slot.ends_at, '%H:%M')}"
    return (when, row.service.name, row.recipient.name, row.address, row.phone_for(whole_phones),
            row.recipient.mobility or "", status_word(row.booking.status))
