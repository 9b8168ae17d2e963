"""Rate limits (Flask-Limiter) on logging in, registering, and creating API tokens: past the limit a page gets a clear
429 page and the API a 429 in its error shape (code "throttled"), both with Retry-After. Token creation has two
limits: failed attempts (the login limit) and every token issued (CAREAPP_TOKEN_RATE_LIMIT), so a script that knows
a password still cannot fill the token table."""
from __future__ import annotations

import pytest

from careapp.accounts.models import ApiToken
from careapp.config import from_environment
from tests.api_helpers import call, error_of
from tests.factories import PASSWORD
from tests.page_helpers import count, text

THROTTLED = "Too many attempts; please wait a minute and try again."


@pytest.fixture
def app_config() -> dict:
    return {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "2 per minute", "REGISTER_RATE_LIMIT": "2 per hour",
            "TOKEN_RATE_LIMIT": "3 per hour"}


def assert_page_throttled(response) -> None:
    assert response.status_code == 429
    assert THROTTLED in text(response)
    assert int(response.headers["Retry-After"]) > 0


def assert_api_throttled(response) -> None:
    error = error_of(response, 429, "throttled")
    assert "try again" in error["message"]
    assert int(response.headers["Retry-After"]) > 0


def test_the_limits_are_settings(tmp_path):
    defaults = from_environment(str(tmp_path), {})
    assert (defaults["LOGIN_RATE_LIMIT"], defaults["REGISTER_RATE_LIMIT"], defaults["TOKEN_RATE_LIMIT"]) == (
        "5 per minute", "10 per hour", "30 per hour")
    assert from_environment(str(tmp_path), {"CAREAPP_TOKEN_RATE_LIMIT": "5 per day"})["TOKEN_RATE_LIMIT"] == "5 per day"


def test_page_login_is_limited(client, world):
    for _ in range(2):
        assert client.post("/login", data={"login": world.family.user.login, "password": "wrong"}).status_code == 401
    assert_page_throttled(client.post("/login", data={"login": world.family.user.login, "password": PASSWORD}))


def test_page_registration_is_limited(client, world):
    data = {"name": "陈家", "password": "long-enough-1", "confirm": "long-enough-1", "building_id": str(world.building.id)}
    for mobile in ("13911110001", "13911110002"):
        assert client.post("/register", data={**data, "login": mobile}).status_code == 302
        client.post("/logout")
    assert_page_throttled(client.post("/register", data={**data, "login": "13911110003"}))


def test_partner_registration_is_limited(client, world):
    for _ in range(2):
        assert client.post("/partners/register", data={}).status_code != 429
    assert_page_throttled(client.post("/partners/register", data={}))


def test_api_login_failures_are_limited(client, world):
    for _ in range(2):
        error_of(call(client, "POST", "/tokens", json={"login": world.family.user.login, "password": "x"}), 401)
    assert_api_throttled(call(client, "POST", "/tokens", json={"login": world.family.user.login, "password": PASSWORD}))


def test_api_token_creation_is_limited_even_with_the_right_password(client, world):
    for _ in range(3):
        assert call(client, "POST", "/tokens", json={"login": world.family.user.login,
                                                     "password": PASSWORD}).status_code == 201
    assert_api_throttled(call(client, "POST", "/tokens", json={"login": world.family.user.login, "password": PASSWORD}))
    assert count(ApiToken) == 3


def test_api_registration_is_limited(client, world):
    for i in range(2):
        assert call(client, "POST", "/families", json={"login": f"1391234567{i}", "password": PASSWORD,
                                                       "name": f"家{i}", "building_id": world.building.id}).status_code == 201
    assert_api_throttled(call(client, "POST", "/families", json={
        "login": "13912345679", "password": PASSWORD, "name": "又一家", "building_id": world.building.id}))


def test_the_openapi_document_says_token_creation_may_answer_429(client, world):
    operation = call(client, "GET", "/openapi.json").get_json()["paths"]["/api/v1/tokens"]["post"]
    assert "429" in operation["responses"]

