"""With rate limits on: repeated failed log-ins are throttled with a clear page; good ones are not counted."""
from __future__ import annotations

import pytest

from careapp.households.models import Household
from tests.factories import PASSWORD
from tests.page_helpers import count, text


@pytest.fixture
def app_config() -> dict:
    return {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute", "REGISTER_RATE_LIMIT": "2 per hour"}


def attempt(client, login: str, password: str):
    return client.post("/login", data={"login": login, "password": password})


def test_failed_log_ins_are_throttled_with_429(client, world):
    login = world.family.user.login
    assert [attempt(client, login, "wrong-password").status_code for _ in range(3)] == [401, 401, 401]
    throttled = attempt(client, login, PASSWORD)  # even the right password waits now
    assert throttled.status_code == 429
    assert "Too many attempts; please wait a minute and try again." in text(throttled)
    assert client.get("/login").status_code == 200  # the page itself still shows


def test_successful_log_ins_are_not_counted(client, world):
    login = world.family.user.login
    for _ in range(5):
        assert attempt(client, login, PASSWORD).status_code == 302
        client.post("/logout")
    assert attempt(client, login, "wrong-password").status_code == 401


def test_another_login_is_counted_apart(client, world):
    """Counted per login and address: one person's typos do not lock out the rest of a shared network."""
    for _ in range(3):
        attempt(client, world.family.user.login, "wrong-password")
    assert attempt(client, world.family.user.login, PASSWORD).status_code == 429
    assert attempt(client, world.other_family.user.login, PASSWORD).status_code == 302


def test_registration_is_limited(client, world):
    data = {"name": "陈家", "password": "long-enough-1", "confirm": "long-enough-1",
            "building_id": str(world.building.id)}
    for mobile in ("13911110001", "13911110002"):
        assert client.post("/register", data={**data, "login": mobile}).status_code == 302
        client.post("/logout")
    response = client.post("/register", data={**data, "login": "13911110003"})
    assert response.status_code == 429
    assert "Too many attempts" in text(response)
    assert count(Household) == 2 + 2  # the world's two families and the two that got through
