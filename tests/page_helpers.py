"""Helpers for the page tests: logging in through the real form, reading tokens and messages out of pages.
(The ``client`` fixture itself, whose every request runs in its own app context, is in conftest.py.)"""
from __future__ import annotations

import html
import re

import sqlalchemy as sa
from flask.testing import FlaskClient

from careapp.accounts.models import User
from careapp.core.db import db
from tests.factories import PASSWORD

CSRF_INPUT = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def login(client: FlaskClient, user: User, password: str = PASSWORD) -> None:
    page = client.get("/login")
    data = {"login": user.login, "password": password}
    token = csrf_token(page.get_data(as_text=True))
    if token:
        data["csrf_token"] = token
    response = client.post("/login", data=data)
    assert response.status_code == 302, f"login of {user.login} failed: {response.status_code}"


def csrf_token(page: str) -> str | None:
    match = CSRF_INPUT.search(page)
    return match.group(1) if match else None


def text(response) -> str:
    """The page as text with HTML entities decoded (so Chinese names and quotes read as typed)."""
    return html.unescape(response.get_data(as_text=True))


def follow(client: FlaskClient, response) -> str:
    """Follow one redirect and return the next page's text (where flash messages show)."""
    assert response.status_code in (302, 303), response.status_code
    return text(client.get(response.headers["Location"]))


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))
