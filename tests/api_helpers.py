"""Helpers for the JSON API tests: bearer headers, the error shape, and slots/bookings made through the rules."""
from __future__ import annotations

from typing import Any, Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from careapp.accounts.models import User
from careapp.accounts.services import issue_token
from careapp.booking import engine
from careapp.booking.models import Booking
from careapp.core.clock import FrozenClock
from careapp.households.models import CareRecipient
from careapp.partners.models import Slot
from tests.factories import World, make_slot

API = "/api/v1"
Headers = dict[str, str]


@pytest.fixture
def bearer(app: Flask, clock: FrozenClock) -> Callable[[User], Headers]:
    """``bearer(user)``: headers carrying a fresh API token of that user (issued by the real rule)."""

    def headers(user: User) -> Headers:
        token, _ = issue_token(user, now=clock.now())
        return {"Authorization": f"Bearer {token}"}

    return headers


def error_of(response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert the API's one error shape and status; return the error (code, message, fields)."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    if code is not None:
        assert error["code"] == code, error
    return error


def bad_fields(response) -> dict[str, str]:
    """The ``fields`` of a 400 bad_input answer."""
    return error_of(response, 400, "bad_input")["fields"]


def call(client: FlaskClient, method: str, path: str, headers: Headers | None = None, **kwargs):
    return client.open(API + path, method=method, headers=headers or {}, **kwargs)


def daycare_slot(world: World, **kwargs) -> Slot:
    """A day-care slot tomorrow morning (capacity 2 unless given), published by the care centre's manager."""
    return make_slot(world.daycare, world.care_centre.manager, world.now, **kwargs)


def booked(world: World, slot: Slot, recipient: CareRecipient, by: User | None = None) -> Booking:
    return engine.book(slot.id, recipient.id, by=by or world.family.user, now=world.now).booking
