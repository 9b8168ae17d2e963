"""The account page of API tokens (/account/tokens): a user sees only their own tokens, by number, with created and
expiry times and whether each is live, expired or revoked, and can revoke one or all; another's token is 404."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from careapp.accounts.models import ApiToken
from careapp.accounts.services import issue_token, revoke_token
from careapp.core.audit import AuditEntry
from careapp.core.db import db
from tests.api_helpers import call, error_of
from tests.page_helpers import csrf_token, follow, login, text


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def works(client, token: str) -> bool:
    return call(client, "GET", "/me", bearer(token)).status_code == 200


def revoked_ats() -> dict[int, object]:
    db.session.rollback()
    return dict(db.session.execute(sa.select(ApiToken.id, ApiToken.revoked_at)).all())


@pytest.fixture
def tokens(world, clock):
    """The family's four tokens (one expired, one revoked, two live) and another family's live token."""
    user = world.family.user
    start = clock.now()
    _, expired = issue_token(user, now=start - timedelta(hours=24 * 365))
    revoked_plain, revoked = issue_token(user, now=start - timedelta(hours=2))
    live_plain, live = issue_token(user, now=start - timedelta(hours=1))
    second_plain, second = issue_token(user, now=start)
    other_plain, other = issue_token(world.other_family.user, now=start)
    assert revoke_token(revoked.id, by=user, now=start - timedelta(minutes=30))
    return {"expired": expired.id, "revoked": revoked.id, "live": live.id, "second": second.id, "other": other.id,
            "live_plain": live_plain, "second_plain": second_plain, "other_plain": other_plain,
            "revoked_plain": revoked_plain}


def row_of(page: str, token_id: int) -> str:
    start = page.index(f'id="token-{token_id}"')
    return page[start:page.index("</tr>", start)]


def test_the_page_lists_only_ones_own_tokens_with_their_status(client, world, tokens):
    login(client, world.family.user)
    response = client.get("/account/tokens")
    assert response.status_code == 200
    page = text(response)
    assert "Live" in row_of(page, tokens["live"]) and "Revoke</button>" in row_of(page, tokens["live"])
    assert "Live" in row_of(page, tokens["second"])
    assert "Expired" in row_of(page, tokens["expired"]) and "Revoke</button>" not in row_of(page, tokens["expired"])
    assert "Revoked " in row_of(page, tokens["revoked"]) and "Revoke</button>" not in row_of(page, tokens["revoked"])
    assert f'id="token-{tokens["other"]}"' not in page
    assert tokens["live_plain"] not in page  # the token itself is never kept, so never shown
    # Newest first.
    assert page.index(f'id="token-{tokens["second"]}"') < page.index(f'id="token-{tokens["live"]}"')
    assert "Revoke all live tokens" in page
    # The link is in every logged-in user's menu.
    assert 'href="/account/tokens"' in page


def test_a_user_without_tokens_is_told_so(client, world):
    login(client, world.admin)
    page = text(client.get("/account/tokens"))
    assert "You have no API tokens." in page and "Revoke all live tokens" not in page


def test_revoking_one_token_stops_it_in_the_api_and_leaves_the_others(client, world, tokens, clock):
    login(client, world.family.user)
    response = client.post(f"/account/tokens/{tokens['live']}/revoke")
    assert f"Token {tokens['live']} is revoked: it no longer works." in follow(client, response)
    error_of(call(client, "GET", "/me", bearer(tokens["live_plain"])), 401, "bad_token")
    assert works(client, tokens["second_plain"]) and works(client, tokens["other_plain"])
    assert revoked_ats()[tokens["live"]] == clock.now()
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "token.revoked")
                               .order_by(AuditEntry.id.desc())).first()
    assert entry.object_id == tokens["live"] and entry.actor_id == world.family.user.id
    assert "Revoked " in row_of(text(client.get("/account/tokens")), tokens["live"])


def test_revoking_an_ended_token_changes_nothing(client, world, tokens, clock):
    login(client, world.family.user)
    before = revoked_ats()
    clock.advance(minutes=5)
    for name in ("revoked", "expired"):
        response = client.post(f"/account/tokens/{tokens[name]}/revoke")
        assert "had already expired or been revoked" in follow(client, response)
    assert revoked_ats() == before  # the first revocation time is kept


def test_revoke_all_ends_every_live_token_of_the_user_only(client, world, tokens, clock):
    login(client, world.family.user)
    response = client.post("/account/tokens/revoke-all")
    assert "2 tokens are revoked." in follow(client, response)
    for name in ("live_plain", "second_plain", "revoked_plain"):
        error_of(call(client, "GET", "/me", bearer(tokens[name])), 401, "bad_token")
    assert works(client, tokens["other_plain"])
    after = revoked_ats()
    assert after[tokens["live"]] == after[tokens["second"]] == clock.now()
    assert after[tokens["expired"]] is None and after[tokens["other"]] is None
    page = follow(client, client.post("/account/tokens/revoke-all"))
    assert "You had no live tokens." in page and "Revoke all live tokens" not in page


@pytest.mark.parametrize("who", ["other_family", "admin"])
def test_another_users_token_is_404_and_nothing_changes(client, world, tokens, who):
    login(client, world.other_family.user if who == "other_family" else world.admin)
    before = revoked_ats()
    response = client.post(f"/account/tokens/{tokens['live']}/revoke")
    assert response.status_code == 404
    assert "No such token." in text(response)  # the 404 page, as for a token that does not exist
    assert client.post("/account/tokens/999999/revoke").status_code == 404
    assert revoked_ats() == before
    assert works(client, tokens["live_plain"])
    page = text(client.get("/account/tokens"))
    assert f'id="token-{tokens["live"]}"' not in page


def test_anonymous_is_sent_to_log_in(client, tokens):
    assert client.get("/account/tokens").headers["Location"].startswith("/login")
    response = client.post(f"/account/tokens/{tokens['live']}/revoke")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert revoked_ats()[tokens["live"]] is None


class TestWithCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_a_post_without_the_form_token_is_refused(self, client, world, tokens):
        login(client, world.family.user)
        before = revoked_ats()
        assert client.post(f"/account/tokens/{tokens['live']}/revoke").status_code == 400
        assert client.post("/account/tokens/revoke-all").status_code == 400
        assert revoked_ats() == before and works(client, tokens["live_plain"])

    def test_the_pages_buttons_carry_the_token_and_work(self, client, world, tokens):
        login(client, world.family.user)
        token = csrf_token(client.get("/account/tokens").get_data(as_text=True))
        response = client.post(f"/account/tokens/{tokens['live']}/revoke", data={"csrf_token": token})
        assert response.status_code == 302
        assert revoked_ats()[tokens["live"]] is not None and works(client, tokens["second_plain"])
