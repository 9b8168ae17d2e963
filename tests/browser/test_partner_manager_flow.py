"""A partner manager in a real browser: the care centre's manager opens a weekly day-care session, rosters a
member of staff on tomorrow's shift, and prints tomorrow's day roster and tomorrow's lunch kitchen sheet (the
print views, and PDFs of them laid out on A4). At a phone's size and a desktop's."""
from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from careapp.booking import engine
from careapp.core.timefmt import local_date
from careapp.enrolments.services import enrol
from tests.browser.conftest import SCREENSHOTS
from tests.enrolments_factories import WED
from tests.meals_factories import meals, menu, set_member  # noqa: F401  (meals, menu: fixtures)
from tests.browser.steps import log_in, open_menu_link

PDFS = SCREENSHOTS.parent / "pdf"


def assert_no_sideways_scroll(page: Page) -> None:
    """Nothing pushes the page wider than the screen (wide tables scroll inside their own box)."""
    width, screen = page.evaluate("document.documentElement.scrollWidth"), page.viewport_size["width"]
    assert width <= screen, f"the page is {width} px wide on a {screen} px screen"


def pdf_pages(path: Path) -> int:
    """The number of pages of a PDF Chromium wrote (its page objects are not compressed)."""
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", path.read_bytes()))


def print_to_pdf(page: Page, name: str) -> Path:
    """As the page prints: the print style sheet, on A4 (the page's own @page size), into artifacts/pdf/."""
    PDFS.mkdir(parents=True, exist_ok=True)
    path = PDFS / f"partner-manager-{page.viewport_name}-{name}.pdf"
    page.emulate_media(media="print")
    page.snap(f"{name}-print")
    page.pdf(path=str(path), format="A4", prefer_css_page_size=True, print_background=True)
    page.emulate_media(media="screen")
    return path


def check_the_print_button(page: Page, name: str) -> None:
    """The page's print button opens the browser's print dialogue (headless: window.print is stubbed)."""
    page.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }")
    page.get_by_role("button", name=name).click()
    assert page.evaluate("window.__printed") == 1


def test_partner_manager_opens_weekly_slots_rosters_staff_and_prints_tomorrows_sheets(page: Page, meals, menu,
                                                                                       clock):
    world = meals.world
    centre = world.care_centre
    now = clock.now()  # Tuesday 1 Dec 2026, 09:00; tomorrow is Wednesday 2 Dec
    fish, chicken = menu
    # 王奶奶 comes to day care every Wednesday (the centre books her as soon as it opens Wednesday slots) and has
    # lunch delivered tomorrow, low salt, allergic to peanuts; 张爷爷 has the set meal delivered; 李爷爷 picks up.
    elder = set_member(meals.elder, diet_tags="low_salt", allergies="花生")
    enrol(elder.id, world.daycare.id, [WED], starts_on=local_date(now), by=world.family.user, now=now)
    engine.book(meals.lunch_slot.id, elder.id, by=world.family.user, now=now,
                options={"mode": "delivery", "dish_ids": [fish.id, chicken.id]})
    zhang = world.other_family.add_elder(now, name="张爷爷")
    engine.book(meals.lunch_slot.id, zhang.id, by=world.other_family.user, now=now, options={"mode": "delivery"})
    grandpa = world.family.add_elder(now, name="李爷爷")
    engine.book(meals.lunch_slot.id, grandpa.id, by=world.family.user, now=now,
                options={"mode": "pick_up", "dish_ids": [fish.id]})

    log_in(page, centre.manager.login)
    expect(page.get_by_role("heading", level=1)).to_have_text("普康养老服务中心")

    # A weekly pattern: day care on Monday, Wednesday and Friday mornings.
    daycare_card = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="日间照料", exact=True))
    daycare_card.get_by_role("link", name="Add weekly slots").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add weekly slots of 日间照料")
    days = page.get_by_role("group", name="On these days")
    for day in ("Monday", "Wednesday", "Friday"):
        days.get_by_label(day, exact=True).check()
    page.get_by_label("Starts at").fill("08:30")
    page.get_by_label("Ends at").fill("11:30")
    page.get_by_label("Ends at").blur()  # (see the shift's change below)
    expect(page.get_by_label("First day")).to_have_value("2026-12-01")
    page.snap("weekly-form")
    page.get_by_role("button", name="Add the weekly slots").click()
    expect(page.get_by_role("status")).to_have_text(
        "日间照料 now repeats on 3 day(s) each week; the next two weeks are open for booking.")

    # The slots it opened, on the dashboard: Wed 2, Fri 4, Mon 7, Wed 9, Fri 11, Mon 14 December; 王奶奶 is already
    # booked into tomorrow's by her standing enrolment.
    opened = page.get_by_role("listitem").filter(has=page.get_by_role("link", name="日间照料", exact=True))
    expect(opened).to_have_count(6)
    expect(opened.first).to_contain_text("2026-12-02 08:30–11:30")
    expect(opened.first).to_contain_text("1 booked")
    expect(opened.nth(1)).to_contain_text("2026-12-04 08:30–11:30")
    expect(opened.last).to_contain_text("2026-12-14 08:30–11:30")
    page.snap("slots-opened")

    # Shifts: plan tomorrow's morning shift for day care, then put the centre's carer on it.
    point = centre.partner.service_points[0]
    rosters = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=point.name))
    rosters.get_by_role("link", name="Plan shifts this week").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{point.name}: shifts, 2026-11-30 to 2026-12-06")
    page.get_by_label("Day", exact=True).fill("2026-12-02")
    page.get_by_label("Starts at").fill("08:00")
    page.get_by_label("Ends at").fill("12:00")
    page.get_by_role("group", name="Who works it").get_by_label("Staff").check()
    page.get_by_label("Title").fill("日托早班")
    page.get_by_label("Fewest people needed").fill("1")
    page.get_by_label("Most people").fill("1")
    page.get_by_label("Class or service it staffs (optional)").select_option(label="日间照料")
    page.get_by_role("button", name="Save the shift").click()
    expect(page.get_by_role("status")).to_have_text(
        "The shift 日托早班 on 2026-12-02 is planned. Now add the people who work it.")
    wednesday = page.get_by_role("region", name="Wednesday 2026-12-02")
    shift_card = wednesday.get_by_role("listitem").filter(has=page.get_by_role("heading", name=re.compile("^日托早班")))
    expect(shift_card.get_by_role("heading")).to_have_text("日托早班, 08:00–12:00")
    expect(shift_card).to_contain_text("Below minimum: 1 more person needed.")

    # Two may work it after all: change the shift (its own form), then add the carer.
    shift_card.get_by_role("link", name="Change or delete this shift").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change the shift 日托早班")
    page.get_by_label("Most people").fill("2")
    # A full-page screenshot with a field focused makes Chromium scroll the field back into view afterwards, under
    # the next click: leave the field first.
    page.get_by_label("Most people").blur()
    page.snap("shift-change")
    page.get_by_role("button", name="Save the shift").click()
    expect(page.get_by_role("status")).to_have_text("The shift 日托早班 is changed.")
    shift_card = page.get_by_role("region", name="Wednesday 2026-12-02").get_by_role("listitem").filter(
        has=page.get_by_role("heading", name=re.compile("^日托早班")))
    expect(shift_card).to_contain_text("Staff · for 日间照料 · 0 on it, needs 1 to 2")
    shift_card.get_by_label("Add a member of staff").select_option(label=centre.staff.name)
    shift_card.get_by_role("button", name="Add to 日托早班").click()
    expect(page.get_by_role("status")).to_have_text(f"{centre.staff.name} is on the shift 日托早班.")
    shift_card = page.get_by_role("region", name="Wednesday 2026-12-02").get_by_role("listitem").filter(
        has=page.get_by_role("heading", name=re.compile("^日托早班")))
    expect(shift_card).to_contain_text("1 on it, needs 1 to 2")
    expect(shift_card).not_to_contain_text("Below minimum")
    expect(shift_card.get_by_role("button", name=f"Take {centre.staff.name} off")).to_be_visible()
    page.snap("shift-rostered")

    # Tomorrow's day roster, from the dashboard: who is coming (day care, lunch, dinner) and who is working.
    open_menu_link(page, "Our services")
    rosters = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=point.name))
    rosters.get_by_role("link", name="Print tomorrow's roster").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{point.name}: day roster for 2026-12-02 (Wednesday)")
    daycare = page.get_by_role("region", name="日间照料, 08:30–11:30")
    expect(daycare.get_by_role("row", name=re.compile("王奶奶"))).to_contain_text("Confirmed")
    lunch = page.get_by_role("region", name="长者午餐, 11:30–13:00")
    expect(lunch.get_by_role("cell", name=re.compile("^(王奶奶|张爷爷|李爷爷)$"))).to_have_count(3)
    expect(lunch).to_contain_text("3 booked, 0 waiting")
    working = page.get_by_role("row", name=re.compile("日托早班"))
    expect(working).to_contain_text("08:00–12:00")
    expect(working).to_contain_text(centre.staff.name)
    page.snap("tomorrow-roster")
    assert_no_sideways_scroll(page)
    check_the_print_button(page, "Print this roster")

    # Printed: no navigation, buttons or day picker; the lists and the shift stay; one or two A4 pages.
    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(page.get_by_role("button", name="Print this roster")).to_be_hidden()
    expect(page.get_by_label("Day", exact=True)).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(daycare.get_by_role("row", name=re.compile("王奶奶"))).to_be_visible()
    expect(working).to_be_visible()
    roster_pdf = print_to_pdf(page, "roster")
    assert 1 <= pdf_pages(roster_pdf) <= 2, f"{roster_pdf} has {pdf_pages(roster_pdf)} pages"

    # Tomorrow's lunch kitchen sheet, from the dashboard's meal help part.
    open_menu_link(page, "Our services")
    tomorrow_meals = page.locator("h3", has_text=re.compile("^Tomorrow$")).locator("xpath=following-sibling::ul[1]")
    tomorrow_meals.get_by_role("listitem").filter(has_text="长者午餐 11:30").get_by_role(
        "link", name="kitchen sheet").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kitchen sheet: 长者午餐")
    expect(page.get_by_text("3 meals to cook.")).to_be_visible()
    by_dish = page.locator("#by-dish")
    expect(by_dish.get_by_role("row", name="清蒸鱼 2")).to_be_visible()
    expect(by_dish.get_by_role("row", name="宫保鸡丁 1")).to_be_visible()
    expect(by_dish.get_by_role("row", name="Set meal 1")).to_be_visible()
    expect(page.locator("#by-mode").get_by_role("row", name="Delivered home 2")).to_be_visible()
    expect(page.locator("#by-mode").get_by_role("row", name="Pick up 1")).to_be_visible()
    expect(page.locator("#by-need").get_by_role("row", name="Allergy: 花生 1")).to_be_visible()
    attention = page.locator("#attention").get_by_role("row", name=re.compile("王奶奶"))
    expect(attention).to_contain_text("allergic to 花生")
    expect(attention).to_contain_text("Check: 宫保鸡丁: contains 花生")
    expect(page.get_by_role("heading", name="Everyone (3)")).to_be_visible()
    page.snap("kitchen-sheet")
    assert_no_sideways_scroll(page)
    check_the_print_button(page, "Print")

    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(page.get_by_text("3 meals to cook.")).to_be_visible()
    kitchen_pdf = print_to_pdf(page, "kitchen")
    assert 1 <= pdf_pages(kitchen_pdf) <= 2, f"{kitchen_pdf} has {pdf_pages(kitchen_pdf)} pages"
