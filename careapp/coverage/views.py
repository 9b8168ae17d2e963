"""Coverage pages for community staff: the dashboard and its drill-down, the map and the downloads.

Every page takes the same GET choice (``CoverageForm``: community, grid, kind, week) and the same
``Coverage`` read model, so the page, the map and the exports always show the same numbers.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlencode

from flask import Blueprint, current_app, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from markupsafe import Markup
from openpyxl import Workbook
from openpyxl.styles import Font

from careapp.core.clock import now
from careapp.core.errors import CareappError
from careapp.core.exports import append_rows, csv_response, set_widths, workbook_response
from careapp.core.i18n import gettext as _
from careapp.core.timefmt import format_local, local_date, zone
from careapp.coverage.bands import SHOWN
from careapp.coverage.dashboard import CHART_GRIDS, Coverage, Level, coverage, iso_week, link_args, parse_week, serves
from careapp.coverage.forms import CoverageForm
from careapp.coverage.snapshot import fresh_within
from careapp.coverage.tables import export_name, grid_header, grid_rows, list_separator
from careapp.district.queries import all_communities, community_of_grid, grids_of
from careapp.households.models import RecipientKind
from careapp.pages import LABELS, acting_user, render, require, show_refusal

bp = Blueprint("coverage", __name__, url_prefix="/community/coverage")


@bp.before_request
@login_required
def district_staff_only() -> ResponseReturnValue | None:
    require(acting_user().is_district, _("Coverage is for community staff."))


def _choice_form() -> CoverageForm:
    """The choice, with the grids of the chosen community (or of the chosen grid's) to pick from: a city has
    thousands of grids, too many for one list."""
    form = CoverageForm(request.args)
    form.community_id.set_options([(community.id, community.name) for community in all_communities()])
    community_id = form.community_id.data if not form.community_id.errors else None
    if community_id is None and form.grid_id.data is not None and not form.grid_id.errors:
        community_id = community_of_grid(form.grid_id.data)
    if community_id is None:
        form.grid_id.placeholder = _("Choose a community first")
    form.grid_id.set_options([(grid.id, grid.name) for grid in grids_of(community_id)] if community_id else [])
    return form


def _chosen(template: str, *, snapshot: bool = True, every_grid: bool = True,
            **context) -> tuple[CoverageForm, Coverage | None, ResponseReturnValue | None]:
    """The area, kind and week asked for, and their coverage; or the page answering a bad choice. The whole
    area's figures come from the snapshot when a fresh one exists (``snapshot=False``: always worked out, for
    the map, which needs every building; ``every_grid=False``: the whole area's summary, which holds only the
    grids the dashboard shows)."""
    form = _choice_form()
    if not form.validate():
        return form, None, render(template, 400, form=form, coverage=None, **context)
    today = local_date(now())
    try:
        cov = coverage(community_id=form.community_id.data, grid_id=form.grid_id.data, kind=form.chosen_kind,
                       week=parse_week(form.week.data, today), today=today, zone=zone(),
                       radius_m=current_app.config["COVERAGE_RADIUS_M"],
                       sub_district=current_app.config["SUB_DISTRICT"],
                       snapshot_within=fresh_within() if snapshot else None, every_grid=every_grid)
    except CareappError as error:
        return form, None, render(template, show_refusal(error, form), form=form, coverage=None, **context)
    form.week.data = iso_week(cov.week)
    return form, cov, None


@bp.get("/")
def dashboard() -> ResponseReturnValue:
    form, cov, answer = _chosen("coverage/dashboard.html", every_grid=False)
    if answer is not None:
        return answer
    return render("coverage/dashboard.html", form=form, coverage=cov, bands=SHOWN, Level=Level,
                  pct=percent, link_args=link_args, charts=chart_data(cov),
                  dashboard_href=area_links(cov, "coverage.dashboard"), map_link=area_links(cov, "coverage.map_page"),
                  served_by=served_by, busiest=cov.busiest_grids(CHART_GRIDS),
                  as_of=None if cov.as_of is None else format_local(cov.as_of, "%H:%M"))


def area_links(cov: Coverage, endpoint: str) -> Callable[..., str]:
    """``href(community_id=..., grid_id=...)``: the link to ``endpoint`` for another area, keeping the kind and
    week chosen (as ``url_for(endpoint, **link_args(cov, ...))`` gives it). The whole area's page has one for
    every community and every building out of reach, and building each with ``url_for`` cost more than the
    row it sits in."""
    base, kept = url_for(endpoint), link_args(cov)

    def href(**changes: int | None) -> str:
        return f"{base}?{urlencode({**kept, **{k: v for k, v in changes.items() if v is not None}})}"

    return href


def percent(value: float | None) -> str:
    """A share as a whole percentage, "42%"; "—" when there is none. A function, not a template macro: the
    page shows one for every kind in every community, and a macro call costs ten times as much."""
    return "—" if value is None else f"{100 * value:.0f}%"


def served_by(kind) -> str:
    """Whom a kind of care serves, in words: "Elders", "Children" or "Elders and children"."""
    elders, children = serves(kind, RecipientKind.elder), serves(kind, RecipientKind.child)
    if elders and children:
        return _("Elders and children")
    if elders:
        return _("Elders")
    return _("Children") if children else ""


def chart_data(cov: Coverage) -> Markup:
    """The charts' numbers as JSON for static/js/coverage-charts.js (no inline script: the page's CSP allows none)."""
    kind_label = LABELS["service_kind"]
    busiest = cov.busiest_grids(CHART_GRIDS)
    data = {
        "utilisation": {
            "weeks": [iso_week(monday) for monday, _by_kind in cov.trend],
            "series": [{"label": str(kind_label[kind]),
                        "values": [None if by_kind[kind] is None else round(100 * float(by_kind[kind]), 1)
                                   for _monday, by_kind in cov.trend]} for kind in cov.kinds],
        },
        "demand": {
            "grids": [grid.name for grid in busiest],
            "offered": [sum(grid.offered.values()) for grid in busiest],
            "booked": [sum(grid.booked.values()) for grid in busiest],
            "waitlisted": [sum(grid.waitlisted.values()) for grid in busiest],
        },
        # The charts' own words, in the page's language (coverage-charts.js has none of its own).
        "words": {
            "percent_booked": _("%(sign)s of places booked", sign="%"),
            "offered": _("Places offered"),
            "booked": _("Booked by residents"),
            "waitlisted": _("Residents waiting"),
        },
    }
    # Safe inside <script type="application/json">: no "</" can close the element early.
    return Markup(json.dumps(data, ensure_ascii=False).replace("</", "<\\/"))


@bp.get("/map")
def map_page() -> ResponseReturnValue:
    from careapp.coverage.map import coverage_map

    form, cov, answer = _chosen("coverage/map.html", snapshot=False, map=None)
    if answer is not None:
        return answer
    return render("coverage/map.html", form=form, coverage=cov, map=coverage_map(cov), Level=Level,
                  link_args=link_args, dashboard_href=area_links(cov, "coverage.dashboard"))


@bp.get("/grids.csv")
def grids_csv() -> ResponseReturnValue:
    form, cov, answer = _chosen("coverage/dashboard.html")
    if answer is not None:
        return answer
    return csv_response(export_name(cov, "csv"), [grid_header(cov, LABELS["service_kind"]), *grid_rows(cov)])


@bp.get("/grids.xlsx")
def grids_xlsx() -> ResponseReturnValue:
    form, cov, answer = _chosen("coverage/dashboard.html")
    if answer is not None:
        return answer
    book = Workbook()
    sheet = book.active
    sheet.title = _("Coverage per grid")
    reach = list_separator().join(_("%(kind)s %(radius)s m", kind=LABELS["service_kind"][kind], radius=cov.radius_m[kind])
                         for kind in cov.kinds)
    append_rows(sheet, [[_("%(sub_district)s · %(area)s · coverage per grid",
                           sub_district=current_app.config["SUB_DISTRICT"], area=cov.scope.name)],
                        [_("Week %(week)s; within reach: %(reach)s", week=iso_week(cov.week), reach=reach)],
                        [None]])
    sheet["A1"].font = Font(bold=True, size=14)
    header = grid_header(cov, LABELS["service_kind"])
    append_rows(sheet, [header, *grid_rows(cov)])
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "C5"
    set_widths(sheet, [16, 16, *([12] * (len(header) - 2))])
    return workbook_response(export_name(cov, "xlsx"), book)
