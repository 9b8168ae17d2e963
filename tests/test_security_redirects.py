"""No open redirect: every place that goes on to a page the request names (``next`` after logging in, the language
and text-size switches, the "No, keep it" link of a cancellation) follows only a same-site relative path; and no
view in careapp redirects to request input that did not go through careapp.pages.safe_next."""
from __future__ import annotations

import ast
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from careapp.booking import engine
from careapp.pages import safe_next
from tests.factories import PASSWORD, make_slot
from tests.page_helpers import login, text

HOSTILE = ["//evil.example", "//evil.example/x", "https://evil.example", "https://evil.example/",
           "http:/evil.example", "/\\evil.example", "\\\\evil.example", "/\t/evil.example", "javascript:alert(1)",
           "JavaScript:alert(1)", " javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
           "evil.example", "/\x00/evil.example", "%2F%2Fevil.example"]
PACKAGE = Path(__file__).resolve().parents[1] / "careapp"


def stays_on_site(location: str) -> bool:
    parts = urlsplit(location)
    return (not parts.scheme and not parts.netloc and location.startswith("/")
            and not location.startswith("//") and "\\" not in location)


@pytest.mark.parametrize("target", HOSTILE)
def test_safe_next_refuses_every_way_off_the_site(target):
    assert safe_next(target) is None


@pytest.mark.parametrize("target", ["/family/", "/booking/slots?kind=daycare", "/meals/order?day=2026-12-02#menu"])
def test_safe_next_keeps_local_paths(target):
    assert safe_next(target) == target


def test_logging_in_never_leaves_the_site(client, world):
    for target in HOSTILE:
        response = client.post("/login", data={"login": world.family.user.login, "password": PASSWORD,
                                               "next": target})
        assert response.status_code == 302 and response.headers["Location"] == "/family/", target
        # Already logged in, the login page sends the user on with ?next= too.
        again = client.get("/login", query_string={"next": target})
        assert again.status_code == 302 and again.headers["Location"] == "/family/", target


@pytest.mark.parametrize("switch, data", [("/language", {"language": "en"}), ("/text-size", {"size": "large"})])
def test_the_switches_never_leave_the_site(client, switch, data):
    for target in HOSTILE:
        response = client.post(switch, data={**data, "next": target})
        assert response.status_code == 302 and response.headers["Location"] == "/", target


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil.example", "javascript:alert(1)"])
def test_the_keep_it_link_of_a_cancellation_stays_on_site(client, world, clock, target):
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now)
    booking = engine.book(slot.id, world.family.add_elder(now).id, by=world.family.user, now=now).booking
    login(client, world.family.user)
    page = text(client.get(f"/booking/bookings/{booking.id}/cancel", query_string={"next": target}))
    links = re.findall(r'(?:href|action)="([^"]*)"', page)
    assert links and all(stays_on_site(link) for link in links if not link.startswith("#")), links
    assert '<a class="button secondary" href="/family/">' in page


# --- no view redirects to unchecked input ---

REQUEST_INPUT = {"args", "form", "values", "referrer", "headers", "cookies", "full_path", "url"}


def _unchecked_input(node: ast.AST) -> str | None:
    """Request input inside ``node`` that did not pass through safe_next: request.args..., or a form's .next.data."""
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("safe_next", "url_for"):
        return None  # checked, or a careapp URL whose query carries the input (the login page's ?next=)
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and node.value.id == "request" and node.attr in REQUEST_INPUT:
            return f"request.{node.attr}"
        if node.attr == "data" and isinstance(node.value, ast.Attribute) and node.value.attr == "next":
            return "form.next.data"
    for child in ast.iter_child_nodes(node):
        found = _unchecked_input(child)
        if found:
            return found
    return None


def unchecked_redirects(source: str, filename: str) -> list[str]:
    problems = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "redirect":
            found = _unchecked_input(node)
            if found:
                problems.append(f"{filename}:{node.lineno}: redirect to {found}")
    return problems


def test_the_scan_finds_a_redirect_to_raw_input():
    assert unchecked_redirects("redirect(request.args.get('next'))", "x.py") == ["x.py:1: redirect to request.args"]
    assert unchecked_redirects("redirect(form.next.data or '/')", "x.py") == ["x.py:1: redirect to form.next.data"]
    assert unchecked_redirects("redirect(safe_next(request.args.get('next')) or '/')", "x.py") == []
    assert unchecked_redirects("redirect(url_for('accounts.login', next=request.path))", "x.py") == []


def test_no_view_redirects_to_unchecked_input():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        problems += unchecked_redirects(path.read_text(), str(path.relative_to(PACKAGE.parent)))
    assert problems == []
