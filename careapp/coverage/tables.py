"""Coverage as rows for the downloads: one home for the columns, so the CSV, the xlsx and the page agree."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from careapp.coverage.bands import SHOWN
from careapp.core.i18n import current_language, gettext as _
from careapp.coverage.dashboard import AreaFigures, Coverage, iso_week
from careapp.households.models import RecipientKind
from careapp.partners.models import ServiceKind


def share_percent(area: AreaFigures, kind: ServiceKind) -> float | None:
    share = area.share(kind)
    return None if share is None else round(100 * share, 1)


def list_separator() -> str:
    """Between the items of a list in a sentence: "Day care, Meal help" / "日间照料、助餐"."""
    return ", " if current_language() == "en" else "、"


def band_heading(band) -> str:
    """An age band as a column heading: "Aged 80 and over (elder)"."""
    if band.kind == RecipientKind.elder:
        return _("Aged %(band)s (elder)", band=band.label)
    return _("Aged %(band)s (child)", band=band.label)


def grid_header(cov: Coverage, kind_labels: Mapping[Any, str]) -> list[str]:
    """The columns, in the language of the request (the downloads are read by the people who asked for them)."""
    header = [_("Community"), _("Grid"), _("Elders"), _("Children"), *(band_heading(band) for band in SHOWN)]
    for kind in cov.kinds:
        label = kind_labels[kind]
        header += [_("%(kind)s: people within %(radius)s m", kind=label, radius=cov.radius_m[kind]),
                   _("%(kind)s: share within reach (%%)", kind=label),
                   _("%(kind)s: places offered", kind=label), _("%(kind)s: booked by residents", kind=label),
                   _("%(kind)s: residents waiting", kind=label)]
    return header + [_("Elders out of reach of some service"), _("Children out of reach of some service")]


def grid_rows(cov: Coverage) -> list[list[Any]]:
    """One row per grid of the chosen area, in the order of ``grid_header``."""
    if cov.some_grids is not None:
        raise ValueError("a coverage holding only the grids the page shows has no row for every grid")
    communities = cov.district.community_names
    rows = []
    for grid in cov.grids:
        row = [communities[grid.community_id], grid.name, grid.elders, grid.children,
               *(grid.bands[band.key] for band in SHOWN)]
        for kind in cov.kinds:
            row += [grid.covered[kind], share_percent(grid, kind), grid.offered[kind], grid.booked[kind],
                    grid.waitlisted[kind]]
        rows.append(row + [grid.uncovered_elders, grid.uncovered_children])
    return rows


def export_name(cov: Coverage, extension: str) -> str:
    """ASCII file names (every browser and spreadsheet program takes them): the level, its id and the week."""
    where = cov.scope.level.value + (f"-{cov.scope.id}" if cov.scope.id else "")
    return f"coverage-{where}-{iso_week(cov.week)}.{extension}"
