"""Feedback while a long import or export runs (static/js/busy.js), in a real browser: the button or link
shows a spinner (aria-busy) and the page's status region says what is happening; a second press sends
nothing more; a download's spinner stops when the file arrives."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.steps import log_in


def test_an_import_says_it_is_running_and_cannot_be_sent_twice(page: Page, world):
    log_in(page, world.community_staff.login)
    page.goto("/community/district/import")
    template = page.request.get("/community/district/template.csv")
    page.get_by_label("The ledger file (.xlsx or .csv)").set_input_files(files=[{
        "name": "ledger.csv", "buffer": template.body(), "mimeType": "text/csv"}])
    # Keep the page from leaving, as a slow import would keep it waiting: a listener on the window runs after
    # busy.js's (on the document) and counts each submission busy.js let through before stopping it.
    page.evaluate("""() => { window.sent = 0; window.addEventListener('submit', e => {
                                 if (!e.defaultPrevented) window.sent += 1; e.preventDefault(); }); }""")
    button = page.get_by_role("button", name="Import")
    button.click()
    expect(button).to_have_attribute("aria-busy", "true")
    status = page.locator("#busy-status")
    expect(status).to_have_text(
        "Importing the ledger… a large file takes up to a minute; please keep this page open.")
    expect(status).to_have_attribute("role", "status")
    page.snap("importing")
    # A second press (the spinner also takes the pointer away; Enter in a field would still send the form).
    page.evaluate("() => document.querySelector('form[data-busy]').requestSubmit()")
    assert page.evaluate("() => window.sent") == 1, "the second press sent the form again"


def test_a_download_shows_a_spinner_until_the_file_arrives(page: Page, world):
    log_in(page, world.community_staff.login)
    page.goto("/community/coverage/")
    link = page.get_by_role("link", name="Grids as CSV")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(".csv")
    expect(page.locator("#busy-status")).to_have_text("The file is downloaded.")
    expect(link).not_to_have_attribute("aria-busy", "true")
