"""Coverage as rows for the downloads: one home for the columns, so the CSV, the xlsx and the page agree."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from careapp.coverage.bands import SHOWN
from careapp.coverage.dashboard import AreaFigures, Coverage, iso_week
from careapp.partners.models import ServiceKind


def share_percent(area: AreaFigures, kind: ServiceKind) -> float | None:
    share = area.share(kind)
    return None if share is None else round(100 * share, 1)


def grid_header(cov: Coverage, kind_labels: Mapping[Any, str]) -> list[str]:
    header = ["Community", "Grid", "Elders", "Children", *(f"Aged {band.label} ({band.kind.value})" for band in SHOWN)]
    for kind in cov.kinds:
        label = kind_labels[kind]
        header += [f"{label}: people within {cov.radius_m[kind]} m", f"{label}: share within reach (%)",
                   f"{label}: places offered", f"{label}: booked by residents", f"{label}: residents waiting"]
    return header + ["Elders out of reach of some service", "Children out of reach of some service"]


def grid_rows(cov: Coverage) -> list[list[Any]]:
    """One row per grid of the chosen area, in the order of ``grid_header``."""
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
