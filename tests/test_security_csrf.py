"""CSRF, generated from the app's URL map: every rule that changes state (POST, PUT, PATCH, DELETE) outside /api/
(which takes bearer tokens, never cookies) refuses a request without the form's CSRF token with 400, for a
visitor and for a logged-in user alike. A new route that skips the check (csrf.exempt) fails this test."""
from __future__ import annotations

import pytest
from flask import Flask

from careapp import create_app
from careapp.extensions import csrf
from tests.conftest import base_config

STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
CSRF_MESSAGE = "This form has expired or was not sent from careapp"


@pytest.fixture
def app_config() -> dict:
    return {"WTF_CSRF_ENABLED": True}


def form_rules(app: Flask) -> list[tuple[str, str]]:
    """(method, URL) of every state-changing page rule, with 1 for each id in the path."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.endpoint == "static":
            continue
        for method in sorted(set(STATE_CHANGING) & rule.methods):
            url = rule.build({name: 1 for name in rule.arguments}, append_unknown=False)[1]
            found.append((method, url))
    return found


def unprotected(app: Flask, client) -> list[str]:
    """The rules that answer a token-less request with anything but the CSRF refusal."""
    missing = []
    for method, url in form_rules(app):
        response = client.open(url, method=method, data={"anything": "1"})
        if response.status_code != 400 or CSRF_MESSAGE not in response.get_data(as_text=True):
            missing.append(f"{method} {url} -> {response.status_code}")
    return missing


def test_the_map_has_the_forms_we_know(app):
    rules = form_rules(app)
    assert len(rules) >= 50  # every page form of every role
    assert ("POST", "/login") in rules and ("POST", "/logout") in rules
    assert ("POST", "/booking/bookings/1/cancel") in rules


def test_every_form_refuses_a_visitor_without_the_token(app, client, world):
    assert unprotected(app, client) == []


def test_every_form_refuses_a_logged_in_user_without_the_token(app, client, world):
    """Logged in (the session made directly: the log-in form itself needs the token) as each kind of user, so
    a check that only ran after login_required would show up as a 302 or 403 here."""
    for user in (world.family.user, world.care_centre.manager, world.community_staff, world.admin):
        with client.session_transaction() as session:
            session["_user_id"] = str(user.id)
            session["_fresh"] = True
        assert client.get("/").status_code == 302
        assert unprotected(app, client) == [], user.role


def test_the_api_is_the_only_exemption(app, world):
    """Only the API's blueprint skips CSRF: its callers send a bearer token, which a browser never adds by itself."""
    # Flask-WTF keeps its exemptions in these two sets (blueprints, and views by dotted name).
    assert {blueprint.url_prefix for blueprint in csrf._exempt_blueprints} == {"/api/v1"}
    assert not csrf._exempt_views


def test_a_new_route_without_csrf_fails_the_check(database, tmp_path):
    """The check above would catch a new form that skips CSRF (here a route exempted on purpose)."""
    app = create_app({**base_config(database), "WTF_CSRF_ENABLED": True}, instance_path=str(tmp_path))

    @app.post("/family/unprotected")
    @csrf.exempt
    def unprotected_view():
        return "done"

    try:
        with app.app_context():
            missing = unprotected(app, app.test_client())
    finally:
        csrf._exempt_views.discard(f"{unprotected_view.__module__}.{unprotected_view.__name__}")
    assert missing == ["POST /family/unprotected -> 200"]
