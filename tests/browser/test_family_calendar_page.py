"""The family's month calendar in a real browser: a list of days on a phone, a week grid on a desktop, never
wider than the screen, and the private calendar link made from the household page."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from careapp.booking import engine
from tests.browser.steps import log_in
from tests.factories import make_slot


def test_the_month_calendar_fits_the_screen_and_the_feed_link_is_made(page: Page, world, clock):
    now = clock.now()
    elder = world.family.add_elder(now, name="王奶奶", age=78)
    for days in (1, 2, 8):
        slot = make_slot(world.daycare, world.care_centre.manager, now, days_ahead=days, capacity=2)
        engine.book(slot.id, elder.id, by=world.family.user, now=now)
    log_in(page, world.family.user.login)
    page.goto(f"/family/households/{world.family.household.id}/calendar?month=2026-12")
    expect(page.get_by_role("heading", level=1)).to_contain_text("December 2026")
    expect(page.get_by_text("王奶奶").first).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= page.viewport_size["width"]
    page.snap("calendar")

    page.goto(f"/family/households/{world.family.household.id}")
    page.get_by_role("button", name="Make a calendar link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your calendar link")
    link = page.get_by_label(f"The private link to {world.family.household.name}'s bookings").input_value()
    assert link.endswith(".ics")
    feed = page.request.get(link)
    assert feed.ok and feed.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VEVENT" in feed.text() and "王奶奶" in feed.text()
    page.snap("calendar-link")
