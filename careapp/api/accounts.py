"""Bearer tokens and who the caller is."""
from __future__ import annotations

from careapp.accounts.models import ApiToken, User
from careapp.accounts.services import authenticate, issue_token, revoke_token, set_language
from careapp.api.registry import api, failed, login_rate_limit, token_rate_limit
from careapp.api.schemas import LanguageIn, MeOut, TokenIn, TokenOut
from careapp.core.clock import now


@api.route("POST", "/tokens", summary="Log in: exchange login and password for a bearer token", auth=False,
           status=201, body=TokenIn, response=TokenOut, errors=(401,), rate_limit=login_rate_limit,
           deduct_when=failed, overall_limit=token_rate_limit)
def create_token(body: TokenIn) -> TokenOut:
    user = authenticate(body.login, body.password)
    token, row = issue_token(user, now=now())
    return TokenOut(token=token, expires_at=row.expires_at)


@api.route("DELETE", "/tokens/current", summary="Log out: revoke the token this request was sent with", status=204)
def revoke_current_token(user: User, token: ApiToken) -> None:
    revoke_token(token.id, by=user, now=now())


@api.route("GET", "/me", summary="The account the token belongs to", response=MeOut)
def me(user: User) -> MeOut:
    return MeOut.of(user)


@api.route("POST", "/me/language", summary="Choose the language of the caller's messages (zh_CN or en)",
           body=LanguageIn, response=MeOut)
def choose_language(user: User, body: LanguageIn) -> MeOut:
    return MeOut.of(set_language(user.id, body.language, by=user, now=now()))
