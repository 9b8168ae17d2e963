"""Logging in and out, registering a family, and the start page of each role."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_limiter.util import get_remote_address
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from careapp.accounts.forms import LanguageForm, LoginForm, RegisterForm, TextSizeForm, TokenActionForm
from careapp.accounts.models import PARTNER_ROLES, Role, User
from careapp.accounts.services import (authenticate, normalise_login, revoke_all_tokens, revoke_token, set_language,
                                       tokens_of)
from careapp.core.clock import now
from careapp.core.errors import CareappError
from careapp.core.i18n import (LANGUAGE_COOKIE, LANGUAGE_COOKIE_SECONDS, LANGUAGES, current_language, gettext as _,
                               ngettext)
from careapp.district.queries import buildings_by_place
from careapp.extensions import limiter
from careapp.households.services import register_family
from careapp.pages import acting_user, flash_form_errors, render, safe_next, show_refusal
from careapp.web import secure_cookies

bp = Blueprint("accounts", __name__)

FAILED_LOGIN = 401


def start_page(user: User) -> str:
    if user.role == Role.family:
        return url_for("family.home")
    if user.role in PARTNER_ROLES:
        return url_for("partners.dashboard", partner_id=user.partner_id)
    return url_for("community.overview")


@bp.get("/")
def start() -> Response:
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    return redirect(start_page(current_user))


def _login_attempt_key() -> str:
    # Per login and address: one person's typos never lock out a whole shared office or family network.
    return f"{get_remote_address()}|{normalise_login(request.form.get('login', ''))}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=_login_attempt_key, methods=["POST"],
               deduct_when=lambda response: response.status_code == FAILED_LOGIN)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(request.args.get("next")) or start_page(current_user))
    form = LoginForm(next=request.args.get("next"))
    if not form.validate_on_submit():
        return render("accounts/login.html", 400 if form.errors else 200, form=form)
    try:
        user = authenticate(form.login.data, form.password.data)
    except CareappError as error:
        form.password.errors = [error.message]
        return render("accounts/login.html", FAILED_LOGIN, form=form)
    login_user(user)
    return redirect(safe_next(form.next.data) or start_page(user))


@bp.post("/logout")
@login_required
def logout() -> Response:
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("accounts.login"))


TEXT_SIZE_COOKIE = "text_size"
TEXT_SIZE_SECONDS = 2 * 365 * 24 * 3600  # a phone keeps the choice for two years
TEXT_SIZES = ("large", "normal")


@bp.post("/text-size")
def text_size() -> Response:
    """The larger-text switch on every page (no JavaScript): remember the choice in a cookie, then go back to
    the page it was pressed on. Works logged out too (the login page), so it is not stored with the user."""
    form = TextSizeForm()
    back = safe_next(form.next.data) or url_for("accounts.start")
    if not form.validate_on_submit() or form.size.data not in TEXT_SIZES:
        flash(_("Please choose larger or normal text."), "error")
        return redirect(back)
    response = redirect(back)
    if form.size.data == "large":
        response.set_cookie(TEXT_SIZE_COOKIE, "large", max_age=TEXT_SIZE_SECONDS, path="/", httponly=True,
                            samesite="Lax", secure=secure_cookies())
    else:
        response.delete_cookie(TEXT_SIZE_COOKIE, path="/", httponly=True, samesite="Lax", secure=secure_cookies())
    return response


@bp.post("/language")
def language() -> Response:
    """The language switch on every page (no JavaScript): remember the choice in a cookie (it works logged
    out, on the login page) and, for a logged-in user, with the account, so every device and every message
    follows it. Then go back to the page it was pressed on."""
    form = LanguageForm()
    back = safe_next(form.next.data) or url_for("accounts.start")
    if not form.validate_on_submit() or form.language.data not in LANGUAGES:
        flash(_("Please choose 中文 or English."), "error")
        return redirect(back)
    if current_user.is_authenticated:
        set_language(current_user.id, form.language.data, by=current_user, now=now())
    response = redirect(back)
    response.set_cookie(LANGUAGE_COOKIE, form.language.data, max_age=LANGUAGE_COOKIE_SECONDS, path="/",
                        httponly=True, samesite="Lax", secure=secure_cookies())
    return response


def _building_options() -> list[SelectChoice]:
    return [SelectChoice(str(building.id), f"{building.name} ({building.address})",
                         optgroup=f"{community.name} · {grid.name}")
            for building, grid, community in buildings_by_place()]


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["REGISTER_RATE_LIMIT"], methods=["POST"])
def register() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(start_page(current_user))
    form = RegisterForm()
    form.building_id.set_options(_building_options())
    if not form.validate_on_submit():
        return render("accounts/register.html", 400 if form.errors else 200, form=form)
    try:
        user = register_family(login=form.login.data, password=form.password.data, name=form.name.data,
                               building_id=form.building_id.data, now=now(), unit=form.unit.data or None,
                               email=form.email.data or None, phone=form.phone.data or None,
                               language=current_language())
    except CareappError as error:
        status = show_refusal(error, form)
        return render("accounts/register.html", status, form=form)
    login_user(user)
    flash(_("Welcome! Your family is registered. Now add the people you book care for."), "success")
    return redirect(url_for("family.home"))


@bp.get("/account/tokens")
@login_required
def tokens() -> ResponseReturnValue:
    """The logged-in user's own API tokens (only their hashes are kept, so each is shown by number) to revoke."""
    return render("accounts/tokens.html", tokens=tokens_of(acting_user(), now()), form=TokenActionForm())


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_one_token(token_id: int) -> Response:
    form = TokenActionForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("accounts.tokens"))
    try:
        revoked = revoke_token(token_id, by=acting_user(), now=now())
    except CareappError as error:
        show_refusal(error)  # another's token or none: the 404 page
        return redirect(url_for("accounts.tokens"))
    if revoked:
        flash(_("Token %(number)s is revoked: it no longer works.", number=token_id), "success")
    else:
        flash(_("Token %(number)s had already expired or been revoked.", number=token_id), "info")
    return redirect(url_for("accounts.tokens"))


@bp.post("/account/tokens/revoke-all")
@login_required
def revoke_every_token() -> Response:
    form = TokenActionForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("accounts.tokens"))
    revoked = revoke_all_tokens(by=acting_user(), now=now())
    if revoked:
        flash(ngettext("%(num)d token is revoked.", "%(num)d tokens are revoked.", revoked), "success")
    else:
        flash(_("You had no live tokens."), "info")
    return redirect(url_for("accounts.tokens"))
