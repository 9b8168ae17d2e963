"""The API with production's protections on: rate limits (429 in the API's error shape) and CSRF (the API is exempt)."""
from __future__ import annotations

import pytest

from tests.api_helpers import call, error_of
from tests.factories import PASSWORD

LOGIN_LIMIT = 3
REGISTER_LIMIT = 2


@pytest.fixture
def app_config() -> dict:
    return {"RATELIMIT_ENABLED": True, "WTF_CSRF_ENABLED": True,
            "LOGIN_RATE_LIMIT": f"{LOGIN_LIMIT} per minute", "REGISTER_RATE_LIMIT": f"{REGISTER_LIMIT} per hour"}


def log_in(client, login: str, password: str):
    return call(client, "POST", "/tokens", json={"login": login, "password": password})


def test_failed_logins_are_throttled_with_a_json_429(client, world):
    login = world.family.user.login
    for _ in range(LOGIN_LIMIT):
        error_of(log_in(client, login, "wrong-password"), 401, "bad_credentials")
    response = log_in(client, login, PASSWORD)  # even the right password waits now
    error = error_of(response, 429, "throttled")
    assert "try again" in error["message"]
    assert int(response.headers["Retry-After"]) > 0


def test_successful_logins_do_not_use_up_the_limit(client, world):
    for _ in range(LOGIN_LIMIT + 2):
        assert log_in(client, world.family.user.login, PASSWORD).status_code == 201
    for _ in range(LOGIN_LIMIT):
        error_of(log_in(client, world.family.user.login, "wrong-password"), 401)
    error_of(log_in(client, world.family.user.login, PASSWORD), 429, "throttled")


def test_malformed_login_attempts_count_as_failures(client, world):
    for _ in range(LOGIN_LIMIT):
        error_of(call(client, "POST", "/tokens", data=b"[]", content_type="application/json"), 400)
    error_of(log_in(client, world.family.user.login, PASSWORD), 429, "throttled")


def test_family_registration_is_throttled(client, world):
    for i in range(REGISTER_LIMIT):
        response = call(client, "POST", "/families", json={
            "login": f"1391234567{i}", "password": PASSWORD, "name": f"家{i}", "building_id": world.building.id})
        assert response.status_code == 201
    response = call(client, "POST", "/families", json={
        "login": "13912345679", "password": PASSWORD, "name": "又一家", "building_id": world.building.id})
    error_of(response, 429, "throttled")


def test_other_routes_are_not_throttled(client, world):
    for _ in range(LOGIN_LIMIT + REGISTER_LIMIT + 2):
        assert call(client, "GET", "/buildings").status_code == 200


def test_the_api_is_exempt_from_csrf_but_the_pages_are_not(client, world):
    """Bearer tokens are never sent by a browser on its own, so the API needs no CSRF token; pages still do."""
    token = log_in(client, world.community_staff.login, PASSWORD).get_json()["token"]
    response = call(client, "POST", "/partners", {"Authorization": f"Bearer {token}"},
                    json={"name": "新希望社会组织", "kind": "social_organisation"})
    assert response.status_code == 201
    page_rules = [rule for rule in client.application.url_map.iter_rules()
                  if "POST" in rule.methods and not rule.rule.startswith("/api/") and not rule.arguments]
    assert page_rules, "no page takes a POST: nothing to compare the API with"
    page = client.post(page_rules[0].rule, data={"anything": "1"})
    assert page.status_code == 400 and b"expired or was not sent from careapp" in page.data
