"""Security headers on every answer, and pages the Content-Security-Policy does not break: no template has an inline
script, an on*= handler, a <style> element or a style= attribute, and the pages as served have none either."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from careapp.web import CONTENT_SECURITY_POLICY
from tests.page_helpers import login

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "templates"

DIRECTIVES = {
    "default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self' data:",
    "object-src": "'none'", "base-uri": "'self'", "form-action": "'self'", "frame-ancestors": "'none'",
}


def policy(response) -> dict[str, str]:
    header = response.headers.get("Content-Security-Policy", "")
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


def assert_secure_headers(response) -> None:
    found = policy(response)
    for directive, value in DIRECTIVES.items():
        assert found.get(directive) == value, (directive, response.headers.get("Content-Security-Policy"))
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", ["/login", "/register", "/no-such-page", "/api/v1/openapi.json", "/api/v1/me",
                                  "/static/careapp.css"])
def test_every_answer_carries_the_headers(client, world, path):
    assert_secure_headers(client.get(path))


def test_logged_in_pages_and_refusals_carry_them_too(client, world):
    login(client, world.family.user)
    assert_secure_headers(client.get("/family/"))
    assert_secure_headers(client.get(f"/family/households/{world.other_family.household.id}"))
    assert_secure_headers(client.post("/logout"))


def test_the_policy_is_the_one_documented():
    assert policy(type("R", (), {"headers": {"Content-Security-Policy": CONTENT_SECURITY_POLICY}})()) == {
        **DIRECTIVES, "font-src": "'self'", "connect-src": "'self'"}


# --- what the policy would block ---

INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.I)
SCRIPT = re.compile(r"<script\b([^>]*)>", re.I)
JAVASCRIPT_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.I)


def blocked_in(source: str) -> list[str]:
    """What a Content-Security-Policy without 'unsafe-inline' would block in this HTML (or template)."""
    source = re.sub(r"{#.*?#}", "", source, flags=re.S)  # Jinja comments are never sent
    problems = [f"inline handler: {m.group(0)[:80]}" for m in INLINE_HANDLER.finditer(source)]
    problems += [f"style attribute: {m.group(0)[:80]}" for m in STYLE_ATTRIBUTE.finditer(source)]
    problems += [f"<style> element at {m.start()}" for m in STYLE_ELEMENT.finditer(source)]
    problems += [f"javascript: URL: {m.group(0)}" for m in JAVASCRIPT_URL.finditer(source)]
    for match in SCRIPT.finditer(source):
        attributes = match.group(1)
        if "src=" not in attributes and 'type="application/json"' not in attributes:
            problems.append(f"inline script: {match.group(0)}")
    return problems


def test_the_scan_finds_what_the_policy_blocks():
    sample = ('<button onclick="go()">x</button><p style="color:red">y</p><style>p{}</style>'
              '<script>alert(1)</script><a href="javascript:alert(1)">z</a>'
              '<script src="/static/js/busy.js" defer></script><script type="application/json">{}</script>')
    assert len(blocked_in(sample)) == 5


@pytest.mark.parametrize("template", sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*")
                                            if p.suffix in (".html", ".svg")))
def test_no_template_has_inline_script_or_style(template):
    assert blocked_in((TEMPLATES / template).read_text()) == []


class _Scanner(HTMLParser):
    def __init__(self):
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name for name, _value in attrs}
        values = dict(attrs)
        self.problems += [f"<{tag} {name}=...>" for name in names if name.startswith("on") or name == "style"]
        if tag == "style":
            self.problems.append("<style>")
        if tag == "script" and "src" not in names and values.get("type") != "application/json":
            self.problems.append("inline <script>")


def served_problems(response) -> list[str]:
    scanner = _Scanner()
    scanner.feed(response.get_data(as_text=True))
    return scanner.problems


def test_pages_as_served_have_nothing_the_policy_blocks(client, world, clock):
    """The rendered pages too (macros and Python-built markup such as the coverage map's SVG)."""
    pages = {"/login": None, "/register": None}
    assert all(served_problems(client.get(path)) == [] for path in pages)
    login(client, world.community_staff)
    for path in ("/community/", "/community/coverage/", "/community/coverage/map", "/booking/slots",
                 f"/partners/{world.care_centre.partner.id}"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert served_problems(response) == [], path
