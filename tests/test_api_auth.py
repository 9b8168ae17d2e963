"""API tokens: logging in, who am I, expiry, revoking; every protected route refuses a request without a token."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from careapp.accounts.models import ApiToken
from careapp.api import api
from careapp.core.db import db, write_transaction
from tests.api_helpers import bad_fields, bearer, call, error_of  # noqa: F401  (bearer: a fixture)
from tests.factories import PASSWORD


def test_login_gives_a_token_that_works_and_is_stored_only_as_a_hash(client, world, clock):
    response = call(client, "POST", "/tokens", json={"login": world.family.user.login, "password": PASSWORD})
    assert response.status_code == 201
    body = response.get_json()
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert expires_at.utcoffset() == timedelta(0) and body["expires_at"].endswith("+00:00")
    assert expires_at == clock.now() + timedelta(hours=client.application.config["TOKEN_HOURS"])
    stored = db.session.scalars(sa.select(ApiToken.token_hash)).all()
    assert body["token"] not in stored and len(stored) == 1
    me = call(client, "GET", "/me", {"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.get_json()["id"] == world.family.user.id


def test_login_ignores_case_and_spaces_of_the_login(client, world):
    login = " " + world.admin.login.upper() + " "
    assert call(client, "POST", "/tokens", json={"login": login, "password": PASSWORD}).status_code == 201


@pytest.mark.parametrize("known_login, password", [(True, "wrong-password"), (False, PASSWORD)])
def test_wrong_login_or_password_is_401_without_saying_which(client, world, known_login, password):
    login = world.family.user.login if known_login else "nobody@example.com"
    response = call(client, "POST", "/tokens", json={"login": login, "password": password})
    assert error_of(response, 401, "bad_credentials")["message"] == "Wrong login or password."


def test_deactivated_account_cannot_log_in_and_its_tokens_stop_working(client, world, bearer):
    headers = bearer(world.family.user)
    with write_transaction():
        world.family.user.active = False
    error_of(call(client, "POST", "/tokens", json={"login": world.family.user.login, "password": PASSWORD}), 401)
    error_of(call(client, "GET", "/me", headers), 401, "bad_token")


@pytest.mark.parametrize("body, fields", [
    ({"login": "13800000000"}, {"password"}),
    ({"password": PASSWORD}, {"login"}),
    ({"login": 13800000000, "password": PASSWORD}, {"login"}),
    ({"login": "", "password": ""}, {"login", "password"}),
    ({"login": "a@b.cn", "password": "x" * 257}, {"password"}),
    ({"login": "a@b.cn", "password": PASSWORD, "remember": True}, {"remember"}),
])
def test_login_bad_input_names_each_field(client, world, body, fields):
    assert set(bad_fields(call(client, "POST", "/tokens", json=body))) == fields


@pytest.mark.parametrize("role", ["family", "partner_staff", "partner_manager", "community_staff", "admin"])
def test_me_for_every_role(client, world, bearer, role):
    user = {"family": world.family.user, "partner_staff": world.care_centre.staff,
            "partner_manager": world.care_centre.manager, "community_staff": world.community_staff,
            "admin": world.admin}[role]
    body = call(client, "GET", "/me", bearer(user)).get_json()
    assert body == {"id": user.id, "login": user.login, "name": user.name, "role": role,
                    "partner_id": user.partner_id, "household_id": user.household_id, "language": "zh_CN"}


def test_token_expires(client, world, clock, bearer):
    headers = bearer(world.family.user)
    clock.advance(hours=client.application.config["TOKEN_HOURS"])
    error_of(call(client, "GET", "/me", headers), 401, "bad_token")


def test_revoking_the_current_token_logs_out_only_that_token(client, world, bearer):
    phone, tablet = bearer(world.family.user), bearer(world.family.user)
    response = call(client, "DELETE", "/tokens/current", phone)
    assert response.status_code == 204 and response.data == b""
    error_of(call(client, "GET", "/me", phone), 401, "bad_token")
    assert call(client, "GET", "/me", tablet).status_code == 200
    error_of(call(client, "DELETE", "/tokens/current", phone), 401)


@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "Bearer not-a-real-token",
    "Bearer \u4e2d\u6587", "Bearer " + "x" * 5000,
])
def test_missing_or_bad_token_is_401_with_a_bearer_challenge(client, world, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = call(client, "GET", "/me", headers)
    assert error_of(response, 401)["code"] in {"not_authenticated", "bad_token"}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_session_cookie_of_the_pages_is_not_accepted_by_the_api(client, world):
    """Cookies are sent by browsers on their own; the CSRF-exempt API must not trust them."""
    with client.session_transaction() as session:
        session["_user_id"] = str(world.admin.id)
        session["_fresh"] = True
    error_of(call(client, "GET", "/me"), 401, "not_authenticated")


def _example_path(path: str) -> str:
    return re.sub(r"{\w+}", "1", path)


PROTECTED = sorted((e.method, e.path) for e in api.endpoints if e.auth)
PUBLIC = sorted((e.method, e.path) for e in api.endpoints if not e.auth)


def test_public_routes_are_exactly_these():
    assert PUBLIC == [("GET", "/buildings"), ("GET", "/openapi.json"), ("POST", "/families"),
                      ("POST", "/partner-registrations"), ("POST", "/tokens")]


@pytest.mark.parametrize("method, path", PROTECTED)
def test_every_protected_route_is_401_without_a_token_before_reading_input(client, world, method, path):
    # A body that would be bad input: authentication is checked first, so it still answers 401.
    response = call(client, method, _example_path(path), data="[not json", content_type="application/json")
    error_of(response, 401, "not_authenticated")
