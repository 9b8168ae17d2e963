"""The coverage map: buildings and service points at their places, each kind's reach drawn as a circle.

Drawn from the district's own coordinates as inline SVG (``templates/coverage/_map.svg``): no tile server,
so it works with no internet. This module computes plain numbers; the template writes the markup.

Projection: local equirectangular around the middle of the area, in metres (x = R·Δλ·cos φ0, y = −R·Δφ).
One SVG unit is one metre on the ground both ways, so a kind's radius is a true circle of that many units;
across a sub-district (a few km) the shapes and distances are off by well under 0.1 % (docs/coverage-map.md).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from flask import url_for

from careapp.core.geo import EARTH_RADIUS_M
from careapp.core.i18n import current_language, gettext as _, lazy_gettext as _l, ngettext
from careapp.coverage.dashboard import Coverage, link_args
from careapp.pages import LABELS
from careapp.partners.models import ServiceKind

# Above this many buildings in the area, one marker per grid: every building as an SVG element would be
# too heavy for a phone (a city sub-district can hold 100,000).
BUILDINGS_DRAWN = 3000
# Even with a tiny radius setting, some ground around a lone building (else its marker would fill the map).
MIN_MARGIN_M = 100
# Marker sizes are fractions of the map's longer side, so they look the same at every zoom.
UNITS_ACROSS = 120
# Keep the map from becoming a sliver on a phone: height between these multiples of the width.
ASPECT = (0.6, 1.25)
SCALE_BAR_LENGTHS_M = (20, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000)

# Per kind: a colour (dark enough for 3:1 on the background), a dash pattern (in marker units) and a marker
# shape, so no kind is told apart by colour alone. Colours after Okabe and Ito (safe for colour blindness).
KIND_STYLE = {
    ServiceKind.daycare: ("#0072B2", "", "square", "solid"),
    ServiceKind.meal: ("#A35200", "3 1.5", "triangle", "dashed"),
    ServiceKind.childcare: ("#007A5A", "0.6 1.2", "diamond", "dotted"),
    ServiceKind.activity: ("#9E3D82", "3 1.2 0.6 1.2", "star", "dash-and-dot"),
}
# The shapes' and lines' names, as the legend says them.
SHAPE_NAMES = {"square": _l("square"), "triangle": _l("triangle"), "diamond": _l("diamond"), "star": _l("star")}
LINE_NAMES = {"solid": _l("solid"), "dashed": _l("dashed"), "dotted": _l("dotted"), "dash-and-dot": _l("dash-and-dot")}
BACKGROUND = "#F7F7F2"
BUILDING_COLOUR = "#333333"
UNCOVERED_COLOUR = "#B3261E"


def shape_path(shape: str, size: float) -> str:
    """A closed path around (0, 0) about ``size`` across."""
    h = size / 2
    if shape == "square":
        corners = [(-h, -h), (h, -h), (h, h), (-h, h)]
    elif shape == "triangle":
        corners = [(0, -1.15 * h), (1.1 * h, 0.85 * h), (-1.1 * h, 0.85 * h)]
    elif shape == "diamond":
        corners = [(0, -1.3 * h), (1.3 * h, 0), (0, 1.3 * h), (-1.3 * h, 0)]
    else:  # a five-pointed star
        corners = [((1.3 if i % 2 == 0 else 0.55) * h * math.sin(i * math.pi / 5),
                    -(1.3 if i % 2 == 0 else 0.55) * h * math.cos(i * math.pi / 5)) for i in range(10)]
    return "M" + " L".join(f"{x:.2f} {y:.2f}" for x, y in corners) + " Z"


def scaled_dash(dash: str, unit: float) -> str:
    return " ".join(f"{float(part) * unit:.1f}" for part in dash.split()) if dash else "none"


@dataclass(frozen=True)
class KindStyle:
    kind: ServiceKind
    label: str
    radius_m: int
    colour: str
    shape: str         # the marker's and the line's names, for the legend
    line: str
    dash: str          # in map units ("none" for a solid line)
    marker: str        # path around (0, 0) in map units
    legend_dash: str   # the same in the legend's 24-unit swatch
    legend_marker: str

    @property
    def shape_name(self) -> str:
        return str(SHAPE_NAMES[self.shape])

    @property
    def line_name(self) -> str:
        return str(LINE_NAMES[self.line])


@dataclass(frozen=True)
class Reach:
    """One service point's circle for one kind."""
    x: float
    y: float
    r: float
    style: KindStyle


@dataclass(frozen=True)
class PointMark:
    """One service point: a marker per kind it offers, side by side around its place."""
    x: float
    y: float
    name: str
    partner: str
    markers: list[tuple[KindStyle, float]]  # (kind, x offset from the point)


@dataclass(frozen=True)
class BuildingMark:
    x: float
    y: float
    name: str
    missing: list[str]  # the kinds (labels) that do not reach it


@dataclass(frozen=True)
class GridBuildings:
    """The buildings of one grid, drawn inside one link to the grid's figures."""
    grid: str
    href: str
    buildings: list[BuildingMark]


@dataclass(frozen=True)
class GridMark:
    """A grid drawn as one marker (over the cap): at its buildings' centroid, sized by its residents."""
    x: float
    y: float
    r: float
    name: str
    href: str
    residents: int
    buildings: int
    uncovered: int


@dataclass(frozen=True)
class ScaleBar:
    x: float
    y: float
    length: float
    label: str


@dataclass(frozen=True)
class CoverageMap:
    title: str
    description: str
    empty: bool
    kinds: list[KindStyle]
    view_box: str = ""
    left: float = 0.0
    top: float = 0.0
    width: float = 0.0
    height: float = 0.0        # the drawn area; the scale bar and north arrow sit in a band below it
    band: float = 0.0
    unit: float = 1.0
    reaches: tuple[Reach, ...] = ()
    points: tuple[PointMark, ...] = ()
    grids_of_buildings: tuple[GridBuildings, ...] = ()
    grids: tuple[GridMark, ...] = ()
    aggregated: bool = False
    buildings: int = 0
    uncovered: int = 0
    scale_bar: ScaleBar | None = None
    background: str = BACKGROUND
    building_colour: str = BUILDING_COLOUR
    uncovered_colour: str = UNCOVERED_COLOUR


def project(latitude, longitude, centre: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Degrees -> metres east and metres *down* (SVG's y grows downwards) from ``centre``."""
    lat0, lon0 = centre
    x = EARTH_RADIUS_M * np.radians(np.asarray(longitude, float) - lon0) * math.cos(math.radians(lat0))
    y = -EARTH_RADIUS_M * np.radians(np.asarray(latitude, float) - lat0)
    return x, y


def dashboard_link(cov: Coverage) -> Callable[[int], str]:
    """A grid's page on the dashboard, keeping the chosen week and kind."""
    return lambda grid_id: url_for("coverage.dashboard", **link_args(cov, grid_id=grid_id))


def coverage_map(cov: Coverage, grid_link: Callable[[int], str] | None = None) -> CoverageMap:
    """The map of ``cov``'s area; ``grid_link(grid_id)`` is where a building or grid leads (the dashboard)."""
    grid_link = grid_link or dashboard_link(cov)
    district = cov.district
    title = _("Coverage map of %(area)s", area=cov.scope.name)
    inside = np.flatnonzero(cov.in_scope)
    if not len(inside):
        return CoverageMap(title, _("%(area)s has no buildings yet.", area=cov.scope.name), True, _styles(cov, 1.0))

    lat, lon = district.latitude[inside], district.longitude[inside]
    centre = ((lat.min() + lat.max()) / 2, (lon.min() + lon.max()) / 2)
    xs, ys = project(lat, lon, centre)
    margin = max(*cov.radius_m.values(), MIN_MARGIN_M)
    left, right, top, bottom = xs.min() - margin, xs.max() + margin, ys.min() - margin, ys.max() + margin
    left, right, top, bottom = (float(edge) for edge in _fit_aspect(left, right, top, bottom))
    width, height = right - left, bottom - top
    unit = max(width, height) / UNITS_ACROSS
    band = 8 * unit
    styles = _styles(cov, unit)

    # Buildings: uncovered when some chosen kind does not reach them.
    missing = np.zeros((len(inside), len(cov.kinds)), dtype=bool)
    for column, kind in enumerate(cov.kinds):
        missing[:, column] = ~cov.reached[kind][inside]
    uncovered = missing.any(axis=1)
    grid_of = district.building_grid[inside]
    aggregated = len(inside) > BUILDINGS_DRAWN
    if aggregated:
        grids, grids_of_buildings = _grid_marks(cov, grid_of, xs, ys, uncovered, unit, grid_link), ()
    else:
        grids, grids_of_buildings = (), _buildings(cov, inside, grid_of, xs, ys, missing, styles, grid_link)

    reaches, points = _service_points(cov, centre, styles, (left, right, top, bottom), unit)
    length = _scale_length(width)
    description = (" " if current_language() == "en" else "").join((
        ngettext("%(num)d building in %(area)s, %(uncovered)d of them out of reach of some kind of care (marked "
                 "with a crossed ring; listed below the map).",
                 "%(num)d buildings in %(area)s, %(uncovered)d of them out of reach of some kind of care (marked "
                 "with a crossed ring; listed below the map).", len(inside), area=cov.scope.name,
                 uncovered=int(uncovered.sum())),
        ngettext("%(num)d service point.", "%(num)d service points.", len(points)),
        *(_("%(kind)s: circles of %(radius)s m.", kind=style.label, radius=style.radius_m) for style in styles),
        _("North is up.")))
    return CoverageMap(
        title, description, False, styles,
        view_box=f"{left:.1f} {top:.1f} {width:.1f} {height + band:.1f}",
        left=round(left, 1), top=round(top, 1), width=round(width, 1), height=round(height, 1),
        band=round(band, 1), unit=round(unit, 3), reaches=tuple(reaches), points=tuple(points),
        grids_of_buildings=tuple(grids_of_buildings), grids=tuple(grids), aggregated=aggregated,
        buildings=len(inside), uncovered=int(uncovered.sum()),
        scale_bar=ScaleBar(round(left + 2 * unit, 1), round(bottom + band / 2, 1), float(length),
                           _("%(length)s km", length=length // 1000) if length >= 1000 and length % 1000 == 0
                           else _("%(length)s m", length=length)))


def _styles(cov: Coverage, unit: float) -> list[KindStyle]:
    styles = []
    for kind in cov.kinds:
        colour, dash, shape, line = KIND_STYLE[kind]
        styles.append(KindStyle(kind, LABELS["service_kind"][kind], cov.radius_m[kind], colour, shape, line,
                                scaled_dash(dash, unit), shape_path(shape, 3 * unit),
                                scaled_dash(dash, 2.0), shape_path(shape, 12)))
    return styles


def _fit_aspect(left: float, right: float, top: float, bottom: float) -> tuple[float, float, float, float]:
    """Widen or heighten the box about its middle so its height stays within ASPECT times its width."""
    width, height = right - left, bottom - top
    if height < ASPECT[0] * width:
        grow = (ASPECT[0] * width - height) / 2
        top, bottom = top - grow, bottom + grow
    elif height > ASPECT[1] * width:
        grow = (height / ASPECT[1] - width) / 2
        left, right = left - grow, right + grow
    return left, right, top, bottom


def _buildings(cov, inside, grid_of, xs, ys, missing, styles, grid_link) -> list[GridBuildings]:
    """Every building of the area (at most the cap), grouped by grid under one link each."""
    district = cov.district
    labels = np.array([style.label for style in styles], dtype=object)
    groups: dict[int, list[BuildingMark]] = {}
    # By grid; in each, the uncovered rings first, so a covered dot beside one stays on top and seen.
    for i in np.lexsort((~missing.any(axis=1), grid_of)):
        groups.setdefault(int(grid_of[i]), []).append(BuildingMark(
            round(float(xs[i]), 1), round(float(ys[i]), 1), district.building_names[inside[i]],
            list(labels[missing[i]])))
    return [GridBuildings(district.grid_names[grid_id], grid_link(grid_id), marks) for grid_id, marks in groups.items()]


def _grid_marks(cov, grid_of, xs, ys, uncovered, unit, grid_link) -> list[GridMark]:
    """One marker per grid at its buildings' centroid, its area growing with the elders and children living there."""
    grid_ids, index, counts = np.unique(grid_of, return_inverse=True, return_counts=True)
    mean_x = np.bincount(index, weights=xs) / counts
    mean_y = np.bincount(index, weights=ys) / counts
    out_of_reach = np.bincount(index, weights=uncovered.astype(float)).astype(int)
    residents = {grid.id: grid.elders + grid.children for grid in cov.grids}
    most = max([residents.get(int(grid_id), 0) for grid_id in grid_ids] + [1])
    marks = []
    for j, grid_id in enumerate(int(g) for g in grid_ids):
        people = residents.get(grid_id, 0)
        marks.append(GridMark(round(float(mean_x[j]), 1), round(float(mean_y[j]), 1),
                              round(unit * (1.2 + 3.3 * math.sqrt(people / most)), 1),
                              cov.district.grid_names[grid_id], grid_link(grid_id), people,
                              int(counts[j]), int(out_of_reach[j])))
    return marks


def _service_points(cov, centre, styles, box, unit) -> tuple[list[Reach], list[PointMark]]:
    """The points of the chosen kinds whose circle reaches into the box: one outside it may cover a building in it."""
    left, right, top, bottom = box
    by_kind = {style.kind: style for style in styles}
    offers = [offer for offer in cov.offers if offer.kind in by_kind]
    if not offers:
        return [], []
    xs, ys = project([offer.latitude for offer in offers], [offer.longitude for offer in offers], centre)
    radius = np.array([cov.radius_m[offer.kind] for offer in offers], dtype=float)
    # The circle meets the box when the box's nearest spot to the centre lies within the radius.
    gap_x = np.maximum.reduce([left - xs, np.zeros_like(xs), xs - right])
    gap_y = np.maximum.reduce([top - ys, np.zeros_like(ys), ys - bottom])
    shown = gap_x ** 2 + gap_y ** 2 < radius ** 2
    reaches, points = [], {}
    for offer, x, y, r, show in zip(offers, xs, ys, radius, shown):
        if not show:
            continue
        x, y = round(float(x), 1), round(float(y), 1)
        reaches.append(Reach(x, y, float(r), by_kind[offer.kind]))
        points.setdefault(offer.point_id, (offer, x, y, []))[3].append(by_kind[offer.kind])
    marks = []
    for offer, x, y, kinds in points.values():
        # A point offering several kinds: their markers side by side, centred on its place.
        offsets = [round(float(i - (len(kinds) - 1) / 2) * 3.4 * unit, 1) for i in range(len(kinds))]
        marks.append(PointMark(x, y, offer.name, offer.partner, list(zip(kinds, offsets))))
    # Larger circles first, so smaller ones stay on top where they overlap.
    reaches.sort(key=lambda reach: -reach.r)
    return reaches, marks


def _scale_length(width: float) -> int:
    """The longest round length no more than a quarter of the map's width."""
    fitting = [length for length in SCALE_BAR_LENGTHS_M if length <= width / 4]
    return fitting[-1] if fitting else SCALE_BAR_LENGTHS_M[0]
