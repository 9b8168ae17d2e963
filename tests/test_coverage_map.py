"""The coverage map: every building and service point at its projected place, circles of the real radius,
uncovered buildings marked, zoom, the per-grid markers above the cap, and the page around it.

Distances come from the known district (tests/coverage_factories.py): one SVG unit is one metre."""
from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest
from flask import render_template

from careapp.accounts.models import Role
from careapp.core.geo import distance_m
from careapp.coverage import map as coverage_map_module
from careapp.coverage.dashboard import coverage
from careapp.coverage.map import coverage_map, project
from careapp.partners.models import ServiceKind
from tests.conftest import SHANGHAI, START
from tests.coverage_factories import MONDAY, WEEK, build_district
from tests.factories import make_user
from tests.page_helpers import login, text

SVG = "{http://www.w3.org/2000/svg}"
TRANSLATE = re.compile(r"translate\(([-\d.]+) ([-\d.]+)\)")


@pytest.fixture
def district(app):
    return build_district(START)


def cover(app, **choice):
    return coverage(week=MONDAY, today=START.date(), zone=SHANGHAI, radius_m=app.config["COVERAGE_RADIUS_M"],
                    sub_district=app.config["SUB_DISTRICT"], **choice)


def draw(app, cov):
    """The map and its SVG parsed as XML (parsing fails unless the SVG is well-formed)."""
    with app.test_request_context():
        drawn = coverage_map(cov)
        svg = render_template("coverage/_map.svg", map=drawn) if not drawn.empty else None
    return drawn, (ET.fromstring(svg) if svg else None)


def buildings(root) -> dict[str, tuple[float, float, str, str]]:
    """Building name -> (x, y, its marker, its title)."""
    found = {}
    for use in root.iter(f"{SVG}use"):
        if use.get("href") not in ("#coverage-map-building", "#coverage-map-uncovered"):
            continue
        title = use.find(f"{SVG}title").text
        found[title.split(" · ")[0]] = (float(use.get("x")), float(use.get("y")), use.get("href"), title)
    return found


def points(root) -> dict[str, tuple[float, float, list[str]]]:
    """Service point name -> (x, y, the titles of its markers)."""
    found = {}
    for group in root.iter(f"{SVG}g"):
        if group.get("class") == "point":
            x, y = map(float, TRANSLATE.fullmatch(group.get("transform")).groups())
            titles = [marker.find(f"{SVG}title").text for marker in group.iter(f"{SVG}use")]
            found[titles[0].split(" (")[0]] = (x, y, titles)
    return found


def circles(root) -> list[tuple[str, float, float, float]]:
    return [(circle.get("class").split("reach-")[1], float(circle.get("cx")), float(circle.get("cy")),
             float(circle.get("r"))) for circle in root.iter(f"{SVG}circle") if "reach" in (circle.get("class") or "")]


def view_box(root) -> tuple[float, float, float, float]:
    return tuple(map(float, root.get("viewBox").split()))


def test_every_building_and_point_of_the_sub_district_stands_at_its_projected_place(app, district):
    drawn, root = draw(app, cover(app))
    found, at = buildings(root), points(root)
    assert set(found) == set(district.buildings) and set(at) == {"P", "Q"}
    px, py, _ = at["P"]
    # Due north is straight up, metre for metre.
    assert found["一组团1栋"][:2] == pytest.approx((px, py - 900), abs=0.2)
    assert found["一组团3栋"][:2] == pytest.approx((px, py - 1100), abs=0.2)
    # Due east: the great-circle distance, to within the projection's error (well under a metre here).
    assert found["华联2栋"][:2] == pytest.approx((px + 990, py), abs=1)
    assert found["华联5栋"][:2] == pytest.approx((px + 1010, py), abs=1)
    qx, qy, _ = at["Q"]
    q_from_p = distance_m(31.34, 118.38, 31.30, 118.38)
    assert (qx, qy) == pytest.approx((px, py + q_from_p), abs=0.2)
    assert found["汀苑3栋"][:2] == pytest.approx((qx, qy - 500), abs=0.2)
    # P offers day care and meals, Q childcare and the reading room: one marker each, titled.
    assert sorted(at["P"][2]) == ["P (普康养老服务中心): Day care", "P (普康养老服务中心): Meal help"]
    assert sorted(at["Q"][2]) == ["Q (艺涵托育园): Activity or reading room", "Q (艺涵托育园): Childcare"]
    assert drawn.buildings == 5 and not drawn.aggregated


def test_the_view_is_the_buildings_box_with_the_largest_radius_around_it(app, district):
    drawn, root = draw(app, cover(app, community_id=district.communities["赭山社区"].id))
    left, top, width, height = view_box(root)
    xs = [x for x, _, _, _ in buildings(root).values()]
    ys = [y for _, y, _, _ in buildings(root).values()]
    # (to a tenth of a metre: coordinates are written rounded)
    assert left <= min(xs) - 999.9 and left + width >= max(xs) + 999.9
    assert top <= min(ys) - 999.9 and top + height >= max(ys) + 999.9
    # Phone first: the map scales to the screen's width.
    assert root.get("width") == "100%" and root.get("viewBox")


def test_each_circle_is_its_kinds_radius_and_follows_the_setting(app, district):
    _, root = draw(app, cover(app))
    assert sorted(circles(root)) == sorted(
        [("daycare", *points(root)["P"][:2], 1000.0), ("meal", *points(root)["P"][:2], 1000.0),
         ("childcare", *points(root)["Q"][:2], 1000.0), ("activity", *points(root)["Q"][:2], 1000.0)])
    app.config["COVERAGE_RADIUS_M"] = {**app.config["COVERAGE_RADIUS_M"], "meal": 500, "childcare": 300}
    _, root = draw(app, cover(app))
    assert {kind: r for kind, _, _, r in circles(root)} == {"daycare": 1000, "meal": 500, "childcare": 300,
                                                           "activity": 1000}


def test_kinds_differ_by_shape_and_dash_as_well_as_colour(app, district):
    drawn, root = draw(app, cover(app))
    styles = drawn.kinds
    for attribute in ("colour", "shape", "line", "dash", "marker"):
        assert len({getattr(style, attribute) for style in styles}) == len(ServiceKind)
    dashes = {kind: circle.get("stroke-dasharray") for circle in root.iter(f"{SVG}circle")
              if (kind := (circle.get("class") or "").partition("reach-")[2])}
    assert len(set(dashes.values())) == 4


def test_uncovered_buildings_are_marked_with_the_kinds_that_do_not_reach_them(app, district):
    found = buildings(draw(app, cover(app, community_id=district.communities["赭山社区"].id))[1])
    assert found["一组团1栋"][2] == "#coverage-map-uncovered"
    assert found["一组团1栋"][3] == "一组团1栋 · 旭日天都网格 · out of reach of Childcare, Activity or reading room"

    drawn, root = draw(app, cover(app, community_id=district.communities["赭山社区"].id, kind=ServiceKind.daycare))
    found = buildings(root)
    assert {name: marker for name, (_, _, marker, _) in found.items()} == {
        "一组团1栋": "#coverage-map-building", "一组团3栋": "#coverage-map-uncovered",  # 900 m and 1,100 m
        "华联2栋": "#coverage-map-building", "华联5栋": "#coverage-map-uncovered"}      # 990 m and 1,010 m
    assert found["一组团3栋"][3] == "一组团3栋 · 旭日天都网格 · out of reach of Day care"
    assert found["华联2栋"][3] == "华联2栋 · 华联网格 · within reach of every kind shown"
    assert drawn.uncovered == 2
    # Only day care is drawn: P's day care circle, not its meals, and not Q (4.4 km away, nothing in reach).
    assert [kind for kind, *_ in circles(root)] == ["daycare"] and set(points(root)) == {"P"}


def test_buildings_link_to_their_grid_on_the_dashboard(app, district):
    _, root = draw(app, cover(app, kind=ServiceKind.meal))
    links = {link.get("href") for link in root.iter(f"{SVG}a")}
    assert links == {f"/community/coverage/?week={WEEK}&kind=meal&grid_id={grid.id}"
                     for grid in district.grids.values()}


def test_zoom_to_a_grid_shows_its_buildings_and_the_points_that_reach_in(app, district):
    # With a 600 m reach, P (300 m below the bottom of the grid's box) still covers part of the box: drawn, clipped.
    app.config["COVERAGE_RADIUS_M"] = {**app.config["COVERAGE_RADIUS_M"], "daycare": 600}
    drawn, root = draw(app, cover(app, grid_id=district.grids["旭日天都网格"].id, kind=ServiceKind.daycare))
    found, at = buildings(root), points(root)
    assert set(found) == {"一组团1栋", "一组团3栋"}
    assert set(at) == {"P"}
    left, top, width, height = view_box(root)
    px, py, _ = at["P"]
    assert py > top + height and py - 600 < top + height - drawn.band  # outside the view, its circle inside
    assert found["一组团1栋"][:2] == pytest.approx((px, py - 900), abs=0.2)
    assert circles(root) == [("daycare", px, py, 600.0)]
    assert root.find(f"{SVG}g").get("clip-path") == "url(#coverage-map-clip)"
    # Both are now beyond 600 m.
    assert {marker for _, _, marker, _ in found.values()} == {"#coverage-map-uncovered"}


def test_above_the_cap_each_grid_is_one_marker_sized_by_its_residents(app, district, monkeypatch):
    monkeypatch.setattr(coverage_map_module, "BUILDINGS_DRAWN", 4)
    drawn, root = draw(app, cover(app))
    assert drawn.aggregated and not buildings(root)
    marks = {mark.name: mark for mark in drawn.grids}
    assert set(marks) == set(district.grids)
    xudu, hualian = marks["旭日天都网格"], marks["华联网格"]
    px, py, _ = points(root)["P"]
    assert (xudu.x, xudu.y) == pytest.approx((px, py - 1000), abs=0.2)  # the middle of 900 m and 1,100 m north
    assert (hualian.x, hualian.y) == pytest.approx((px + 1000, py), abs=1)
    drawn_at = [tuple(map(float, TRANSLATE.fullmatch(group.get("transform")).groups()))
                for group in root.iter(f"{SVG}g") if "grid-mark" in (group.get("class") or "").split()]
    assert drawn_at == [(mark.x, mark.y) for mark in drawn.grids]
    assert (xudu.residents, xudu.buildings, xudu.uncovered) == (6, 2, 2)
    assert hualian.residents == 3 and xudu.r > hualian.r
    titles = [title.text for title in root.iter(f"{SVG}title")]
    assert "旭日天都网格: 6 elders and children in 2 buildings, 2 of them out of reach of some kind" in titles
    assert [text.text for text in root.iter(f"{SVG}text") if text.text.isdigit()] == ["6", "3", "3"]
    # A grid needs no more than the cap: zoomed in, each building again.
    drawn, _ = draw(app, cover(app, grid_id=district.grids["旭日天都网格"].id))
    assert not drawn.aggregated


def test_an_empty_district_says_there_are_no_buildings_yet(app, client):
    drawn, root = draw(app, cover(app))
    assert drawn.empty and root is None
    login(client, make_user(Role.community_staff, START, name="网格员"))
    response = client.get("/community/coverage/map")
    assert response.status_code == 200
    assert "No buildings yet in 赭麓街道" in text(response) and "<svg" not in text(response).split("<main")[1]


def test_the_svg_describes_itself_and_has_no_script_or_style_attributes(app, district):
    with app.test_request_context():
        svg = render_template("coverage/_map.svg", map=coverage_map(cover(app)))
    root = ET.fromstring(svg)
    assert root.get("aria-labelledby") == "coverage-map-title"
    assert root.get("aria-describedby") == "coverage-map-desc"
    # Its links are for pointer users only (the list below the map has them), so no role="img": an image holding
    # links would be an image with nested controls.
    assert root.get("role") is None
    links = list(root.iter(f"{SVG}a"))
    assert links and all(link.get("tabindex") == "-1" and link.get("aria-hidden") == "true" for link in links)
    assert root.find(f"{SVG}title").text == "Coverage map of 赭麓街道"
    assert root.find(f"{SVG}desc").text.startswith("5 buildings in 赭麓街道, 5 of them out of reach")
    assert "<script" not in svg and " style=" not in svg
    assert [text.text for text in root.iter(f"{SVG}text")] == ["1 km", "N"]  # scale bar and north arrow


def test_projection_is_true_to_the_ground_across_a_sub_district():
    """Against the haversine, 3 km each way from the middle at 赭麓街道's latitude: under 0.05 %."""
    centre = (31.34, 118.38)
    # The corners of a 6 km square around the middle, and a point off to the east.
    lats = [centre[0] + d for d in (-0.027, 0.027, 0.027, -0.027, 0.0)]
    lons = [centre[1] + d for d in (-0.0315, 0.0315, -0.0315, 0.0315, 0.02)]
    xs, ys = project(lats, lons, centre)
    for i in range(len(lats)):
        for j in range(i + 1, len(lats)):
            ground = distance_m(lats[i], lons[i], lats[j], lons[j])
            assert math.hypot(xs[i] - xs[j], ys[i] - ys[j]) == pytest.approx(ground, rel=5e-4)


def test_the_map_page(app, client, district):
    login(client, district.staff)
    community = district.communities["赭山社区"]
    response = client.get(f"/community/coverage/map?community_id={community.id}&week={WEEK}")
    assert response.status_code == 200
    page = text(response)
    assert "<h1>Coverage map: 赭山社区</h1>" in page
    svg = re.search(r'<svg xmlns="http://www.w3.org/2000/svg" id="coverage-map".*?</svg>',
                    response.get_data(as_text=True), re.S).group(0)
    root = ET.fromstring(svg)
    assert set(buildings(root)) == {"一组团1栋", "一组团3栋", "华联2栋", "华联5栋"}
    assert all("grid_id=" in link.get("href") for link in root.iter(f"{SVG}a"))
    # The legend names every kind's marker and line; the list below is the text alternative.
    assert "Day care</strong>: a square marks the service point; the solid circle" in page
    assert "Meal help</strong>: a triangle marks the service point; the dashed circle" in page
    assert "Building out of reach</strong> of some kind: a red ring with a cross" in page
    assert re.search(r"<th scope=\"row\">一组团3栋</th>", page)
    assert "4 buildings that some kind of care does not reach" in page
    # Zoom: the form chooses the area, and the grids are links to their maps.
    assert 'name="community_id"' in page and 'name="grid_id"' in page
    grid = district.grids["华联网格"]
    assert f'/community/coverage/map?week={WEEK}&amp;community_id={community.id}&amp;grid_id={grid.id}' \
        in response.get_data(as_text=True)
    assert "<script" not in page.split("<main")[1].split("</main>")[0]


def test_the_map_page_above_the_cap_asks_to_zoom_in(app, client, district, monkeypatch):
    monkeypatch.setattr(coverage_map_module, "BUILDINGS_DRAWN", 2)
    login(client, district.staff)
    page = text(client.get("/community/coverage/map"))
    assert "Zoom to a community or grid to see each building." in page
    assert "Grid with buildings out of reach</strong>" in page


def test_a_bad_choice_shows_the_form_again(app, client, district):
    login(client, district.staff)
    response = client.get("/community/coverage/map?week=soon")
    assert response.status_code == 400
    assert "Give the week like 2026-W49." in text(response)
