"""The main screens in both languages at a phone's (and a 360 px phone's) and a desktop's size: the family home, the slot finder, a
roster and the coverage dashboard, holding the demo district. In each: nothing is cut off or wider than the
screen, no text spills out of its button, Chinese pages have no English left, axe finds no serious problem,
and a screenshot is saved (``<language>-<screen>``) for people to look at.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser import axe
from tests.browser.test_accessibility import busiest_slot, district, log_in  # noqa: F401  (fixture)
from tests.i18n_scan import english_in_page

# Each screen: who opens it, and its path (a function of nothing, called once the district is loaded).
SCREENS = {
    "family-home": ("family@zhelu.example", lambda: "/family/"),
    "slot-finder": ("family@zhelu.example", lambda: "/booking/slots?kind=daycare"),
    "roster": ("pukang.manager@zhelu.example", lambda: f"/partners/slots/{busiest_slot('普康养老服务中心')}"),
    "kitchen-sheet": ("canteen.manager@zhelu.example", lambda: f"/meals/slots/{busiest_slot('赭麓长者食堂')}/kitchen"),
    "coverage": ("grid@zhelu.example", lambda: "/community/coverage/"),
}

# Elements whose text must fit inside them (a clipped label is unreadable).
CLIPPED = """() => [...document.querySelectorAll('button, a.button, input[type=submit], th, td, label, h1, h2')]
  .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1 &&
          getComputedStyle(e).overflowX !== 'auto' && !e.closest('.table-scroll'))
  .map(e => e.tagName + ': ' + e.textContent.trim().slice(0, 60))"""
WIDER_THAN_SCREEN = "() => document.documentElement.scrollWidth - window.innerWidth"


@pytest.mark.parametrize("language", ["zh_CN", "en"])
@pytest.mark.parametrize("screen", list(SCREENS))
def test_main_screens_look_finished_in_both_languages(page: Page, district, monkeypatch, screen, language):
    who, path = SCREENS[screen]
    log_in(page, who)
    monkeypatch.setitem(district.config, "FIXED_LANGUAGE", language)
    response = page.goto(path())
    assert response is not None and response.ok, f"{screen} answered {response and response.status}"
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if language == "zh_CN" else "en")
    page.snap(f"{language}-{screen}")
    assert page.evaluate(WIDER_THAN_SCREEN) <= 0, f"{screen} is wider than the {page.viewport_name} screen"
    assert page.evaluate(CLIPPED) == [], f"text cut off on {screen}"
    if page.viewport_name == "phone":  # and on the narrowest phones still sold (360 px)
        page.set_viewport_size({"width": 360, "height": 780})
        assert page.evaluate(WIDER_THAN_SCREEN) <= 0, f"{screen} is wider than a 360 px screen"
        assert page.evaluate(CLIPPED) == [], f"text cut off on {screen} at 360 px"
    if language == "zh_CN":
        assert english_in_page(page.content()) == [], f"English left on {screen} in Chinese"
    problem = axe.serious_violations(page, f"{screen} in {language} at the {page.viewport_name} size")
    assert problem is None, problem
