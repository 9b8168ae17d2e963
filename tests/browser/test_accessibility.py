"""Accessibility in a real browser: axe-core (vendored, tests/browser/vendor/axe-core) finds no serious or critical
WCAG 2.1 A/AA violation on the main pages of each role, at a phone's size and a desktop's; and the login form
works by keyboard alone.

The pages hold the demo district (careapp/demo.py), so they are as full as a real sub-district's: households
with elders and children, slots with bookings and waiting lists, menus, enrolments, coverage gaps.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from careapp import demo
from careapp.booking.models import Booking
from careapp.core.db import db
from careapp.partners.models import PartnerOrganisation, Service, Slot
from careapp.scheduler.runner import run_job, schedule
from tests.browser import axe, steps


@dataclass(frozen=True)
class Check:
    """A page to check: its path and the level-1 heading that shows the right page loaded."""

    path: str
    heading: str | re.Pattern


@pytest.fixture
def district(app, clock):
    """The demo district, loaded through the app's rules at the tests' frozen time."""
    assert demo.load(clock.now())
    return app


def log_in(page: Page, login: str, password: str = demo.DEMO_PASSWORD) -> None:
    """As a demo account; wait until the page says so."""
    steps.log_in(page, login, password)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def partner_id(name: str) -> int:
    return db.session.scalar(sa.select(PartnerOrganisation.id).where(PartnerOrganisation.name == name))


def busiest_slot(partner: str) -> int:
    """The partner's slot with the most bookings (confirmed, waiting, offered), for a full roster."""
    return db.session.scalar(
        sa.select(Slot.id).join(Service, Slot.service_id == Service.id).join(Booking, Booking.slot_id == Slot.id)
        .where(Service.partner_id == partner_id(partner)).group_by(Slot.id)
        .order_by(sa.func.count(Booking.id).desc(), Slot.id).limit(1))


def check_pages(page: Page, who: str, checks: list[Check]) -> None:
    """Open each page in turn as ``who`` and run axe on it; fail once, listing every page's problems."""
    problems = []
    for check in checks:
        response = page.goto(check.path)
        assert response is not None and response.ok, f"{check.path} answered {response and response.status}"
        expect(page.get_by_role("heading", level=1)).to_have_text(check.heading)
        # axe skips what is hidden: open every <details> (the coverage dashboard's numbers behind its charts).
        page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
        page.snap(f"{who}-" + re.sub(r"\W+", "-", check.path).strip("-"))
        problem = axe.serious_violations(page, f"{check.path} as {who} at the {page.viewport_name} size")
        if problem:
            problems.append(problem)
    assert not problems, "\n\n".join(problems)


def test_the_check_finds_and_explains_serious_violations(browser):
    """The check itself: axe is injected and run, and its message names the rule, the element and the fix (a
    broken injection that found nothing would let every page below pass)."""
    page = browser.new_page()
    try:
        page.set_content("""<!doctype html><html lang="en"><title>t</title><main><h1>Test</h1>
            <p style="color: #bbb">Faint text</p>
            <input type="text" name="nameless">
            <h2 id="twice">Once</h2><input id="twice" aria-labelledby="twice"></main></html>""")
        problem = axe.serious_violations(page, "a page made to fail")
    finally:
        page.close()
    assert problem is not None
    vendored = re.match(r"axe-core (\S+) ", (axe.AXE_JS.parent / "README.md").read_text()).group(1)
    assert f"on a page made to fail (axe-core {vendored}):" in problem  # the README says which axe is here
    assert "- color-contrast (serious): Elements must meet minimum color contrast ratio thresholds" in problem
    assert "Faint text" in problem and "insufficient color contrast" in problem
    assert "- label (critical): Form elements must have labels" in problem
    assert '<input type="text" name="nameless">' in problem
    assert "- duplicate-id-aria (critical)" in problem


def test_login_works_by_keyboard_alone(page: Page, district):
    """Tab from the top: the skip link comes first and lands in the page content; Tab goes on to the login
    field, the password and the button, each with a visible focus ring; Enter on the button logs in."""
    page.goto("/login")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the page content")).to_be_focused()
    assert focus_ring(page), "the skip link shows no focus ring"
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()

    login, password = page.get_by_label("Mobile number or e-mail"), page.get_by_label("Password")
    button = page.get_by_role("button", name="Log in")
    page.keyboard.press("Tab")
    expect(login).to_be_focused()
    assert focus_ring(page), "the login field shows no focus ring"
    page.keyboard.type("family@zhelu.example")
    page.keyboard.press("Tab")
    expect(password).to_be_focused()
    page.keyboard.type(demo.DEMO_PASSWORD)
    page.keyboard.press("Tab")
    expect(button).to_be_focused()
    assert focus_ring(page), "the Log in button shows no focus ring"
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert page.url.endswith("/family/")


def test_login_form_reached_from_the_top_of_the_page_in_order(page: Page, district):
    """Without the skip link, Tab through the header (however many links it has) reaches the login field, then
    the password, then the button; Enter in the password field sends the form."""
    page.goto("/login")
    login = page.get_by_label("Mobile number or e-mail")
    for _ in range(20):
        page.keyboard.press("Tab")
        if login.evaluate("e => e === document.activeElement"):
            break
    expect(login).to_be_focused()
    page.keyboard.type("family@zhelu.example")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Log in")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    page.keyboard.type(demo.DEMO_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def focus_ring(page: Page) -> bool:
    """Whether the focused element draws an outline at least 2 px wide (careapp.css's :focus-visible)."""
    return page.evaluate("""() => {
        const style = getComputedStyle(document.activeElement);
        return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
    }""")


def test_anonymous_pages_have_no_serious_accessibility_violation(page: Page, district):
    check_pages(page, "anonymous", [Check("/login", "Log in"), Check("/register", "Register your family")])


def test_login_form_errors_have_no_serious_accessibility_violation(page: Page, district):
    """The form as it comes back with its errors beside the fields."""
    page.goto("/login")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Please give your mobile number or e-mail.")).to_be_visible()
    axe.assert_accessible(page, "/login with errors")


def test_family_pages_have_no_serious_accessibility_violation(page: Page, district):
    log_in(page, "family@zhelu.example")
    check_pages(page, "family", [Check("/family/", "王家"), Check("/booking/slots", "Find care")])


@pytest.mark.parametrize("login, partner", [
    ("pukang.staff@zhelu.example", "普康养老服务中心"),
    ("pukang.manager@zhelu.example", "普康养老服务中心"),
    ("canteen.manager@zhelu.example", "赭麓长者食堂"),
    ("yihan.manager@zhelu.example", "艺涵托育园"),
])
def test_partner_pages_have_no_serious_accessibility_violation(page: Page, district, login, partner):
    """Staff and managers of a care centre, a canteen and a nursery: each kind's dashboard and roster differ."""
    dashboard, roster = f"/partners/{partner_id(partner)}", f"/partners/slots/{busiest_slot(partner)}"
    log_in(page, login)
    check_pages(page, login.split("@")[0], [Check(dashboard, partner),
                                            Check(roster, re.compile(": who is booked$"))])


def test_community_staff_pages_have_no_serious_accessibility_violation(page: Page, district):
    log_in(page, demo.GRID_WORKER_LOGIN)
    here = district.config["SUB_DISTRICT"]
    check_pages(page, "community-staff", [Check("/community/", "Partners and their services"),
                                          Check("/community/coverage/", f"Coverage: {here}"),
                                          Check("/community/coverage/map", f"Coverage map: {here}")])


def test_admin_scheduler_page_has_no_serious_accessibility_violation(page: Page, district):
    for job in schedule(district):  # every job has run once: the table shows runs, counts and the outbox
        run_job(district, job)
    log_in(page, demo.ADMIN_LOGIN)
    check_pages(page, "admin", [Check("/admin/scheduler", "Scheduler and outbox")])
