"""The larger-text switch in every page's header: a cookie, a class on <html>, and only local redirects."""
from __future__ import annotations

import pytest

from tests.page_helpers import follow, login, text


def switch(client, size: str, next_path: str | None):
    data = {"size": size}
    if next_path is not None:
        data["next"] = next_path
    return client.post("/text-size", data=data)


def test_the_switch_is_on_the_login_page_and_off_at_first(client):
    page = text(client.get("/login"))
    assert '<html lang="en" data-theme="light">' in page
    assert '<form class="text-size" method="post" action="/text-size">' in page
    assert '<input type="hidden" name="size" value="large">' in page
    assert '<input type="hidden" name="next" value="/login">' in page
    assert 'aria-pressed="false">Larger text</button>' in page


def test_an_anonymous_visitor_switches_it_on_and_keeps_it(client):
    response = switch(client, "large", "/login?next=/family/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/family/"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("text_size=large;")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Max-Age=63072000" in cookie  # two years: an elder's phone keeps the choice
    page = text(client.get("/login"))
    assert '<html lang="en" data-theme="light" class="large-text">' in page
    assert '<input type="hidden" name="size" value="normal">' in page
    assert 'aria-pressed="true"><span aria-hidden="true">✓ </span>Larger text</button>' in page
    assert '<html lang="en" data-theme="light" class="large-text">' in text(client.get("/register"))  # kept on the next page


def test_normal_text_takes_the_cookie_away(client):
    switch(client, "large", "/login")
    response = switch(client, "normal", "/login")
    assert response.headers["Location"] == "/login"
    assert 'text_size=;' in response.headers["Set-Cookie"] and "Max-Age=0" in response.headers["Set-Cookie"]
    assert '<html lang="en" data-theme="light">' in text(client.get("/login"))


def test_a_logged_in_family_switches_on_its_page(client, world):
    login(client, world.family.user)
    assert 'name="next" value="/family/"' in text(client.get("/family/"))
    response = switch(client, "large", "/family/")
    assert response.headers["Location"] == "/family/"
    page = text(client.get("/booking/slots"))
    assert 'class="large-text"' in page and "Log out" in page


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)",
                                    "http:/evil", "\x00/family/", "", None])
def test_it_never_redirects_off_the_site(client, target):
    response = switch(client, "large", target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"  # the start page, which sends a visitor on to log in
    assert "text_size=large" in response.headers["Set-Cookie"]


@pytest.mark.parametrize("size", ["huge", "", "LARGE", "large\x00"])
def test_an_unknown_size_changes_nothing_and_says_so(client, size):
    response = switch(client, size, "/login")
    assert response.headers["Location"] == "/login"
    assert "Set-Cookie" not in response.headers or "text_size" not in response.headers["Set-Cookie"]
    assert "Please choose larger or normal text." in follow(client, response)
