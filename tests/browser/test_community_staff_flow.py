"""Community staff in a real browser: import the district, find the gaps on the coverage dashboard and its
map, and book a place on behalf of an elder without a smartphone (代办). At a phone's size and a desktop's."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.factories import make_slot
from tests.browser.steps import log_in, open_menu_link


def test_community_staff_import_the_district_see_the_gaps_and_book_for_an_elder(page: Page, world, clock):
    elder = world.family.add_elder(clock.now(), name="王奶奶", age=78)
    make_slot(world.daycare, world.care_centre.manager, clock.now(), capacity=2)
    log_in(page, world.community_staff.login)
    expect(page.get_by_role("heading", level=1)).to_have_text("Partners and their services")

    # The grid ledger: the page's own template, uploaded back.
    page.get_by_role("link", name="Import the grid ledger").click()
    template = page.request.get("/community/district/template.xlsx")
    assert template.ok
    page.get_by_label("The ledger file (.xlsx or .csv)").set_input_files(files=[{
        "name": "网格台账.xlsx", "buffer": template.body(),
        "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("status")).to_contain_text("Imported:")
    expect(page.get_by_role("status")).to_contain_text("2 new buildings")
    page.snap("imported")

    # Coverage: the dashboard lists the new buildings as out of reach (no service point within 1 km); the map.
    open_menu_link(page, "Coverage")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Coverage: "))
    uncovered = page.get_by_role("region", name="Buildings out of reach")
    expect(uncovered.get_by_role("rowheader", name="一组团1栋")).to_be_visible()
    page.snap("coverage")
    page.get_by_role("link", name="See it on the map").click()
    expect(page.get_by_role("img", name=re.compile("Coverage map"))).to_be_visible()
    page.snap("map")

    # 代办: find 李家, choose 王奶奶, book the day-care place.
    open_menu_link(page, "Book for a resident")
    page.get_by_label("Resident's family name, building or flat").fill("李家")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=f"Book for {elder.name}").click()
    page.get_by_role("button", name=f"Book for {elder.name}").first.click()
    expect(page.get_by_role("status")).to_contain_text(f"{elder.name}, 日间照料")
    expect(page.get_by_role("status")).to_contain_text("confirmed")
    page.snap("booked")
