"""Browser tests: careapp served on a real port, driven by Playwright in headless Debian Chromium.

They need /usr/bin/chromium (Debian's `chromium` package; `.ci/run` installs it) and Playwright for Python
(the test extras); never a downloaded browser. Without Chromium they are skipped, so the README's test
command still runs everywhere. Each flow runs at a phone's size and a desktop's; screenshots go to
``artifacts/screenshots/`` (CAREAPP_SCREENSHOTS), which CI keeps and git ignores.
"""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CAREAPP_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("CAREAPP_SCREENSHOTS", Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"))
VIEWPORTS = {"phone": {"width": 375, "height": 812}, "desktop": {"width": 1280, "height": 800}}


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is in the test extras")
    with sync_api.sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--lang=zh-CN"])
        yield browser
        browser.close()


@pytest.fixture
def app_config() -> dict:
    """Forms carry their CSRF tokens as in production."""
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture
def live_server(app):
    """The test's app on a free port, served by threads beside the test (same database, same frozen clock)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(params=list(VIEWPORTS))
def page(browser, live_server, request):
    """A fresh browser page at a phone's or a desktop's size; ``page.snap(name)`` saves a screenshot."""
    context = browser.new_context(viewport=VIEWPORTS[request.param], base_url=live_server, locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Anything the Content-Security-Policy blocked (an inline script or style, a handler) fails the test too.
    csp_violations: list[str] = []
    page.on("console", lambda message: csp_violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    test = re.sub(r"\W+", "-", request.node.originalname)

    def snap(name: str) -> None:
        # Focus left in a field makes Chromium scroll back to it after a full-page screenshot, and the next
        # click could land on the wrong element: take the picture with nothing focused.
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{test}-{request.param}-{name}.png"), full_page=True)

    page.snap = snap
    page.viewport_name = request.param
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not csp_violations, f"Content-Security-Policy violations on the page: {csp_violations}"
