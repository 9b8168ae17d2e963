"""With CSRF protection on (as in production): a POST without the form's token is refused, with it works."""
from __future__ import annotations

import pytest

from careapp.booking import engine
from careapp.booking.models import Booking, BookingStatus
from careapp.core.db import db
from careapp.households.models import CareRecipient
from tests.factories import make_slot
from tests.page_helpers import count, csrf_token, login, text


@pytest.fixture
def app_config() -> dict:
    return {"WTF_CSRF_ENABLED": True}


def test_a_form_post_without_the_token_is_refused_and_writes_nothing(client, world):
    login(client, world.family.user)
    url = f"/family/households/{world.family.household.id}/members/new"
    response = client.post(url, data={"kind": "elder", "name": "王奶奶", "birth_date": "1950-03-01"})
    assert response.status_code == 400
    assert "This form has expired or was not sent from careapp" in text(response)
    assert count(CareRecipient) == 0


def test_the_same_post_with_the_forms_token_works(client, world):
    login(client, world.family.user)
    url = f"/family/households/{world.family.household.id}/members/new"
    token = csrf_token(text(client.get(url)))
    response = client.post(url, data={"kind": "elder", "name": "王奶奶", "birth_date": "1950-03-01",
                                      "csrf_token": token})
    assert response.status_code == 302
    assert count(CareRecipient) == 1


def test_a_button_needs_the_token_too(client, world, clock):
    """Cancel, accept, check-in ... are one-button forms; each carries the token from the page."""
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now)
    elder = world.family.add_elder(now)
    booking = engine.book(slot.id, elder.id, by=world.family.user, now=now).booking
    login(client, world.family.user)
    url = f"/booking/bookings/{booking.id}/cancel"
    assert client.post(url).status_code == 400
    assert client.post(url, data={"csrf_token": "forged"}).status_code == 400
    assert db.session.get(Booking, booking.id).status == BookingStatus.confirmed
    token = csrf_token(text(client.get("/family/")))
    assert client.post(url, data={"csrf_token": token}).status_code == 302
    assert db.session.get(Booking, booking.id).status == BookingStatus.cancelled


def test_logging_in_needs_the_token(client, world):
    from tests.factories import PASSWORD

    response = client.post("/login", data={"login": world.family.user.login, "password": PASSWORD})
    assert response.status_code == 400
    login(client, world.family.user)  # takes the token from the log-in page
    assert client.get("/family/").status_code == 200
