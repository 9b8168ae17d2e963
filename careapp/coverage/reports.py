"""The monthly service statistics report a sub-district sends up to its district (xlsx)."""
from __future__ import annotations

from io import BytesIO

from flask import Blueprint, current_app, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from werkzeug.wrappers import Response

from careapp.core.clock import now
from careapp.core.errors import BadInput
from careapp.core.exports import XLSX_TYPE
from careapp.core.i18n import gettext as _
from careapp.core.timefmt import zone
from careapp.coverage.monthly import MonthlyStatistics, monthly_statistics, monthly_workbook, tables
from careapp.core.months import Month
from careapp.pages import LABELS, acting_user, render, require

bp = Blueprint("reports", __name__, url_prefix="/community/reports")


@bp.before_request
@login_required
def district_staff_only() -> ResponseReturnValue | None:
    """Every report here is for community staff and admins."""
    require(acting_user().is_district, _("These reports are for community staff."))


def _report_month() -> Month:
    """``?month=YYYY-MM``. By default last month: the report is sent up once a month has ended, but the
    month under way can be looked at too. A month not yet begun has no statistics."""
    this_month = Month.of(now())
    text = request.args.get("month")
    if not text:
        return this_month.previous
    month = Month.parse(text)
    if month > this_month:
        raise BadInput(_("%(month)s has not begun yet; choose %(latest)s or an earlier month.", month=month.label,
                         latest=str(this_month)),
                       fields={"month": f"{this_month} or earlier"})
    return month


def _statistics() -> MonthlyStatistics:
    return monthly_statistics(_report_month(), zone=zone(), now=now())


@bp.get("/monthly")
def monthly() -> ResponseReturnValue:
    stats = _statistics()
    month = stats.month
    latest = month >= Month.of(now())
    return render("coverage/monthly.html", stats=stats, tables=tables(stats, LABELS),
                  sub_district=current_app.config["SUB_DISTRICT"],
                  previous=url_for("reports.monthly", month=str(month.previous)),
                  next=None if latest else url_for("reports.monthly", month=str(month.next)))


@bp.get("/monthly.xlsx")
def monthly_xlsx() -> Response:
    stats = _statistics()
    content = monthly_workbook(stats, tables(stats, LABELS), sub_district=current_app.config["SUB_DISTRICT"])
    return send_file(BytesIO(content), mimetype=XLSX_TYPE, as_attachment=True,
                     download_name=f"monthly-service-statistics-{stats.month}.xlsx")
