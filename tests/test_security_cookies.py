"""Cookies: the session (and every other cookie careapp sets) is HttpOnly and SameSite=Lax, and Secure when the
request came over HTTPS: directly, through a trusted proxy (CAREAPP_PROXY_COUNT), or always with
CAREAPP_SECURE_COOKIES=on. A forged X-Forwarded-Proto from a client is not believed."""
from __future__ import annotations

import pytest

from careapp.config import from_environment
from tests.factories import PASSWORD
from tests.page_helpers import login


def set_cookies(response) -> dict[str, str]:
    """Each Set-Cookie header of the answer, by cookie name."""
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


def attributes(header: str) -> set[str]:
    return {part.strip().split("=", 1)[0].lower() + ("=" + part.strip().split("=", 1)[1].lower()
                                                   if part.strip().lower().startswith("samesite") else "")
            for part in header.split(";")[1:]}


def log_in(client, user, **kwargs):
    return client.post("/login", data={"login": user.login, "password": PASSWORD}, **kwargs)


def test_over_http_the_session_cookie_is_httponly_and_lax_but_not_secure(client, world):
    cookie = set_cookies(log_in(client, world.family.user))["session"]
    assert {"httponly", "samesite=lax"} <= attributes(cookie)
    assert "secure" not in attributes(cookie)  # a plain-HTTP demo on a laptop still works


def test_over_https_it_is_secure(client, world):
    response = log_in(client, world.family.user, base_url="https://careapp.example")
    assert response.status_code == 302
    assert {"httponly", "samesite=lax", "secure"} <= attributes(set_cookies(response)["session"])


def test_a_clients_own_forwarded_proto_is_not_believed_without_a_proxy(client, world):
    response = log_in(client, world.family.user, headers={"X-Forwarded-Proto": "https"})
    assert "secure" not in attributes(set_cookies(response)["session"])


@pytest.mark.parametrize("app_config", [{"PROXY_COUNT": 1}])
def test_behind_a_trusted_proxy_its_forwarded_proto_counts(client, world):
    response = log_in(client, world.family.user, headers={"X-Forwarded-Proto": "https"})
    assert {"httponly", "samesite=lax", "secure"} <= attributes(set_cookies(response)["session"])
    plain = log_in(client, world.other_family.user, headers={"X-Forwarded-Proto": "http"})
    assert "secure" not in attributes(set_cookies(plain)["session"])


@pytest.mark.parametrize("app_config", [{"SESSION_COOKIE_SECURE": True}])
def test_secure_cookies_on_marks_them_secure_whatever_the_scheme(client, world):
    assert "secure" in attributes(set_cookies(log_in(client, world.family.user))["session"])
    switched = client.post("/language", data={"language": "en", "next": "/"})
    assert "secure" in attributes(set_cookies(switched)["language"])


def test_no_remember_me_cookie_is_ever_set_and_it_would_be_https_only(app, client, world):
    """careapp has no "remember me": logging in sets the session cookie only. Flask-Login's settings still make
    its long-lived cookie HttpOnly, Lax and Secure, should anyone ever turn it on."""
    assert set(set_cookies(log_in(client, world.family.user))) == {"session"}
    assert app.config["REMEMBER_COOKIE_HTTPONLY"] is True
    assert app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


@pytest.mark.parametrize("base_url, secure", [("http://localhost", False), ("https://careapp.example", True)])
def test_the_language_and_text_size_cookies_follow_the_same_rules(client, world, base_url, secure):
    for path, data, name in (("/language", {"language": "en", "next": "/"}, "language"),
                             ("/text-size", {"size": "large", "next": "/"}, "text_size")):
        cookie = set_cookies(client.post(path, data=data, base_url=base_url))[name]
        assert {"httponly", "samesite=lax"} <= attributes(cookie), cookie
        assert ("secure" in attributes(cookie)) is secure, cookie


def test_the_settings_come_from_the_environment(tmp_path):
    assert from_environment(str(tmp_path), {})["SESSION_COOKIE_SECURE"] is False
    assert from_environment(str(tmp_path), {})["PROXY_COUNT"] == 0
    settings = from_environment(str(tmp_path), {"CAREAPP_SECURE_COOKIES": "on", "CAREAPP_PROXY_COUNT": "1"})
    assert settings["SESSION_COOKIE_SECURE"] is True and settings["PROXY_COUNT"] == 1
    with pytest.raises(SystemExit, match="CAREAPP_PROXY_COUNT"):
        from_environment(str(tmp_path), {"CAREAPP_PROXY_COUNT": "-1"})
