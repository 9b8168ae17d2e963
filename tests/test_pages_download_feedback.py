"""Downloads answer a link's download_token with a short-lived cookie, which static/js/busy.js watches to stop
its "preparing the file" spinner (tests/browser/test_busy_feedback.py shows the spinner itself)."""
from __future__ import annotations

import pytest

from tests.page_helpers import login

GRIDS_CSV = "/community/coverage/grids.csv"


@pytest.fixture
def staff(client, world):
    login(client, world.community_staff)
    return client


def test_a_file_answers_the_token_with_a_cookie(staff):
    response = staff.get(GRIDS_CSV + "?download_token=1733000000123456")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("careapp_download=1733000000123456;")
    assert "Max-Age=120" in cookie and "SameSite=Lax" in cookie and "HttpOnly" not in cookie


@pytest.mark.parametrize("token", ["", "abc", "1" * 33, "12;Path=/x", "<script>"])
def test_anything_but_a_number_is_not_sent_back(staff, token):
    response = staff.get(GRIDS_CSV, query_string={"download_token": token})
    assert response.status_code == 200
    assert "careapp_download" not in response.headers.get("Set-Cookie", "")


def test_a_page_is_not_a_download(staff):
    response = staff.get("/community/coverage/?download_token=42")
    assert response.status_code == 200
    assert "careapp_download" not in response.headers.get("Set-Cookie", "")
