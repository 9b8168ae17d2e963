"""Account rules: creating users, checking passwords, API tokens."""
from __future__ import annotations

import enum
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from careapp.accounts.models import PARTNER_ROLES, ApiToken, Role, User
from careapp.core import audit
from careapp.core.db import db, write_transaction
from careapp.core.errors import BadInput, Conflict, Forbidden, NotAuthenticated, NotFound
from careapp.core.i18n import gettext as _
from careapp.households.models import Household
from careapp.partners.models import PartnerOrganisation

MOBILE = re.compile(r"^1[3-9]\d{9}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8


def normalise_login(login: str) -> str:
    return login.strip().lower()


def check_login_form(login: str) -> str:
    """A login is a mainland mobile number (11 digits, 1[3-9]...) or an e-mail address."""
    login = normalise_login(login)
    if not (MOBILE.match(login) or EMAIL.match(login)):
        raise BadInput(_("Log in with a mobile number (11 digits starting 13-19) or an e-mail address."),
                       fields={"login": "mobile number or e-mail"})
    return login


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadInput(_("The password needs at least %(count)s characters.", count=MIN_PASSWORD_LENGTH),
                       fields={"password": f"at least {MIN_PASSWORD_LENGTH} characters"})


def hash_password(password: str) -> str:
    # scrypt by default (Werkzeug); tests lower the cost through PASSWORD_HASH_METHOD.
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def new_user(*, login: str, password: str, role: Role, name: str, now: datetime,
             email: str | None = None, phone: str | None = None,
             partner_id: int | None = None, household_id: int | None = None, language: str = "zh_CN") -> User:
    """Build a user inside the caller's write transaction (validated, unique login)."""
    login = check_login_form(login)
    check_password_strength(password)
    if db.session.scalar(sa.select(User.id).where(User.login == login)) is not None:
        raise Conflict(_("That login is already registered."), code="login_taken", fields={"login": "taken"})
    if role in PARTNER_ROLES:
        if partner_id is None or db.session.get(PartnerOrganisation, partner_id) is None:
            raise BadInput(_("A partner account needs an existing partner."), fields={"partner_id": "required"})
    elif partner_id is not None:
        raise BadInput(_("Only partner accounts belong to a partner."), fields={"partner_id": "not allowed"})
    if role == Role.family and (household_id is None or db.session.get(Household, household_id) is None):
        raise BadInput(_("A family account needs an existing household."), fields={"household_id": "required"})
    if phone is None and MOBILE.match(login):
        phone = login
    if email is None and EMAIL.match(login):
        email = login
    user = User(login=login, password_hash=hash_password(password), role=role, name=name.strip() or login,
                email=email, phone=phone, partner_id=partner_id, household_id=household_id, created_at=now,
                language=language)
    db.session.add(user)
    db.session.flush()
    return user


def create_user(*, by: User | None, now: datetime, **fields) -> User:
    """Create a staff or family account. ``by=None`` is the command line (the operator)."""
    role = Role(fields["role"])
    if by is not None and not by.can_create_account(role, fields.get("partner_id")):
        raise Forbidden(_("You may not create that kind of account."))
    with write_transaction():
        user = new_user(now=now, **fields)
        audit.record("user.created", user, actor=by, now=now, after={"login": user.login, "role": user.role})
        return user


def authenticate(login: str, password: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.login == normalise_login(login)))
    if user is None or not user.active or not check_password_hash(user.password_hash, password):
        raise NotAuthenticated(_("Wrong login or password."), code="bad_credentials")
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, *, now: datetime) -> tuple[str, ApiToken]:
    """A new bearer token; the plain token is returned once and only its hash is kept."""
    token = secrets.token_urlsafe(32)
    with write_transaction():
        row = ApiToken(user_id=user.id, token_hash=_token_hash(token), created_at=now,
                       expires_at=now + timedelta(hours=current_app.config["TOKEN_HOURS"]))
        db.session.add(row)
        db.session.flush()
        audit.record("token.issued", row, actor=user, now=now)
        return token, row


def token_for(token: str, *, now: datetime) -> ApiToken:
    """The live token row behind a bearer token (the API needs the row to revoke the token in use)."""
    # The token's user in the same statement: every API request starts here (so the statement is built once).
    row = db.session.scalar(_token_with_user(), {"token_hash": _token_hash(token)})
    if row is None or not row.is_valid_at(now) or not row.user.active:
        raise NotAuthenticated(_("The token is unknown, expired or revoked."), code="bad_token")
    return row


@cache
def _token_with_user() -> sa.Select:
    return (sa.select(ApiToken).where(ApiToken.token_hash == sa.bindparam("token_hash"))
            .options(sa.orm.joinedload(ApiToken.user, innerjoin=True)))


def user_for_token(token: str, *, now: datetime) -> User:
    return token_for(token, now=now).user


def revoke_token(token_id: int, *, by: User, now: datetime) -> bool:
    """Revoke one of ``by``'s own tokens (another's is 404, as if it did not exist). True if it was live; an
    expired or already revoked token is left as it is (its first revocation time is kept)."""
    with write_transaction():
        row = db.session.get(ApiToken, token_id)
        if row is None or row.user_id != by.id:
            raise NotFound(_("No such token."))
        if not row.is_valid_at(now):
            return False
        row.revoked_at = now
        audit.record("token.revoked", row, actor=by, now=now)
        return True


def revoke_all_tokens(*, by: User, now: datetime) -> int:
    """Revoke every live token of ``by`` (each audited as one revocation); the number revoked."""
    with write_transaction():
        rows = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == by.id, ApiToken.revoked_at.is_(None),
                                                            ApiToken.expires_at > now)).all()
        for row in rows:
            row.revoked_at = now
            audit.record("token.revoked", row, actor=by, now=now)
        return len(rows)


class TokenStatus(str, enum.Enum):
    live = "live"
    expired = "expired"
    revoked = "revoked"


@dataclass(frozen=True)
class TokenView:
    token: ApiToken
    status: TokenStatus


# Ended tokens shown below the live ones (the page is for revoking, so older history is left to the audit log).
ENDED_TOKENS_SHOWN = 20


def token_status(row: ApiToken, now: datetime) -> TokenStatus:
    if row.revoked_at is not None:
        return TokenStatus.revoked
    return TokenStatus.live if now < row.expires_at else TokenStatus.expired


def tokens_of(user: User, now: datetime) -> list[TokenView]:
    """The user's own API tokens, newest first: every live one, then the latest ENDED_TOKENS_SHOWN ended ones."""
    newest = (ApiToken.created_at.desc(), ApiToken.id.desc())
    mine = sa.select(ApiToken).where(ApiToken.user_id == user.id)
    live = sa.and_(ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
    rows = [*db.session.scalars(mine.where(live).order_by(*newest)),
            *db.session.scalars(mine.where(sa.not_(live)).order_by(*newest).limit(ENDED_TOKENS_SHOWN))]
    return [TokenView(row, token_status(row, now)) for row in rows]


def set_language(user_id: int, language: str, *, by: User, now: datetime) -> User:
    """Choose the language of one's own pages and messages: zh_CN or en."""
    from careapp.notifications.models import LANGUAGES

    if language not in LANGUAGES:
        raise BadInput(_("Choose one of %(languages)s.", languages=", ".join(LANGUAGES)),
                       fields={"language": "zh_CN or en"})
    with write_transaction():
        user = db.session.get(User, user_id)
        if user is None:
            raise NotFound(_("No such account."))
        if user.id != by.id:
            raise Forbidden(_("You may only choose the language of your own account."))
        if user.language != language:
            audit.record("user.language_changed", user, actor=by, now=now, before={"language": user.language},
                         after={"language": language})
            user.language = language
        return user
