"""The larger-text switch in a real browser: at a phone's size and a desktop's the text grows by about a quarter,
nothing gets wider than the screen, tap targets stay at least 48 px, and the choice is kept from page to page
(logged out on the login page, then logged in on the family's and district's fullest pages)."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from careapp import demo
from tests.browser.test_accessibility import district, log_in  # noqa: F401  (district is a fixture)

# The page's width against the screen's, and any visible element sticking out to the right (ignoring those
# inside a box that scrolls sideways on purpose, such as the coverage tables).
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('.table-scroll')) continue;
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1) wide.push(el.tagName + '.' + el.className + ' ' + Math.round(box.right));
  }
  return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5)};
}"""
FONT_SIZE = "el => parseFloat(getComputedStyle(el).fontSize)"
SMALL_TARGETS = """() => [...document.querySelectorAll('button, .button, .site-header nav a')]
  .filter(el => el.offsetParent && el.getBoundingClientRect().height < 47.5)
  .map(el => el.textContent.trim())"""


def fits(page: Page) -> None:
    found = page.evaluate(OVERFLOW)
    assert found["scroll"] <= found["width"] and not found["wide"], f"{page.url} is too wide: {found}"
    assert page.evaluate(SMALL_TARGETS) == [], f"{page.url} has small tap targets"


def switch(page: Page):
    return page.locator("header form.text-size").get_by_role("button", name="Larger text")


def test_larger_text_switch_grows_the_text_and_keeps_the_page_fitting(page: Page, district):  # noqa: F811
    page.goto("/login")
    body, heading = page.locator("body"), page.get_by_role("heading", level=1)
    normal_body, normal_heading = body.evaluate(FONT_SIZE), heading.evaluate(FONT_SIZE)
    assert normal_body >= 16
    expect(switch(page)).to_have_attribute("aria-pressed", "false")

    switch(page).click()
    expect(page).to_have_url("/login".join([page.url.split("/login")[0], ""]))
    expect(page.locator("html")).to_have_class("large-text")
    expect(switch(page)).to_have_attribute("aria-pressed", "true")
    assert body.evaluate(FONT_SIZE) >= normal_body * 1.2
    assert heading.evaluate(FONT_SIZE) >= normal_heading * 1.2  # rem sizes follow
    fits(page)
    page.snap("login-larger")

    # Kept after logging in, on the family's fullest pages and the district's.
    log_in(page, "family@zhelu.example")
    expect(page.locator("html")).to_have_class("large-text")
    for path in ("/family/", "/booking/slots"):
        page.goto(path)
        expect(page.locator("html")).to_have_class("large-text")
        assert page.locator("body").evaluate(FONT_SIZE) >= normal_body * 1.2
        fits(page)
    page.snap("family-larger")

    # Back to normal from any page, returning to that page.
    switch(page).click()
    expect(page).to_have_url(page.url.split("/booking")[0] + "/booking/slots")
    expect(page.locator("html")).not_to_have_class("large-text")
    assert page.locator("body").evaluate(FONT_SIZE) == normal_body


def test_larger_text_fits_the_district_pages(page: Page, district):  # noqa: F811
    log_in(page, demo.GRID_WORKER_LOGIN)
    switch(page).click()
    expect(page.locator("html")).to_have_class("large-text")
    for path in ("/community/", "/community/coverage/", "/community/residents?q=1栋"):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        fits(page)
    page.snap("community-larger")
