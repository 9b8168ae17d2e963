"""What every page and API response shares: login loading, error answers, template filters."""
from __future__ import annotations

import re

from flask import Flask, current_app, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from careapp.accounts.models import User
from careapp.core import timefmt
from careapp.core.db import db
from careapp.core.errors import Busy, CareappError, NotAuthenticated, Throttled
from careapp.core.i18n import gettext as _, lazy_gettext as _l
from careapp.core.validation import MAX_ID
from careapp.extensions import login_manager

RETRY_AFTER_SECONDS = 5
# Every page's scripts and styles come from careapp's own static files: no inline <script>, no on*= handler, no
# <style> or style= (docs/security.md). Pico's icons are data: images in its CSS.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
    "connect-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'",
))
DOWNLOAD_COOKIE = "careapp_download"
DOWNLOAD_TOKEN = re.compile(r"[0-9]{1,32}")

# HTTP errors that reach the client without a domain error, by status: (code, message).
HTTP_CODES = {
    400: ("bad_input", _l("The request could not be understood.")),
    401: ("not_authenticated", _l("Please log in.")),
    403: ("forbidden", _l("You may not do that.")),
    404: ("not_found", _l("Nothing is here.")),
    405: ("method_not_allowed", _l("That method is not allowed here.")),
    413: ("too_large", _l("The upload is too large.")),
    429: ("throttled", _l("Too many attempts; please wait a minute and try again.")),
}


def _digits_up_to(limit: int) -> str:
    """A regular expression for the whole numbers 1..limit, without leading zeros."""
    text = str(limit)
    options = [r"[1-9]\d{0,%d}" % (len(text) - 2)] if len(text) > 1 else []
    for i, digit in enumerate(text):
        low = 1 if i == 0 else 0
        if int(digit) > low:
            rest = len(text) - i - 1
            options.append(text[:i] + f"[{low}-{int(digit) - 1}]" + (r"\d{%d}" % rest if rest else ""))
    options.append(text)
    return "(?:" + "|".join(options) + ")"


class IdConverter(IntegerConverter):
    """``<int:...>`` bounded to the ids a row can have (1..MAX_ID): a larger number in a URL is a 404 from
    routing, never an overflow when the database is asked for it.

    The bound is in the converter's pattern, not only in ``to_python``: Werkzeug decides between rules of
    one path by method before it converts, so an id refused only at conversion would turn into a 405 on a
    path that other methods share.
    """

    regex = _digits_up_to(MAX_ID)

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 1, max: int | None = MAX_ID,  # noqa: A002
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def secure_cookies() -> bool:
    """Cookies carry the Secure flag when the request came over HTTPS (as the proxy says, with
    CAREAPP_PROXY_COUNT), or always with CAREAPP_SECURE_COOKIES=on."""
    return bool(current_app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, Secure over HTTPS even when SESSION_COOKIE_SECURE is off."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (bool(request) and request.is_secure)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(error: CareappError):
    if wants_json():
        response = jsonify(error.as_dict())
    else:
        response = make_response(render_template("errors/error.html", error=error))
    response.status_code = error.status
    if isinstance(error, Busy):
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    hops = app.config.get("PROXY_COUNT", 0)
    if hops:
        # Behind nginx or another reverse proxy: believe its X-Forwarded-For (the client's address, which the rate
        # limits count by) and X-Forwarded-Proto (https, for Secure cookies), from that many proxies, no more; never
        # X-Forwarded-Host, which a proxy that does not set it would pass on from the client.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to see that page.")

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return db.session.get(User, int(user_id)) if user_id.isdigit() else None

    @login_manager.unauthorized_handler
    def unauthorized():
        if wants_json():
            return error_response(NotAuthenticated(_("Send 'Authorization: Bearer TOKEN' (POST /api/v1/tokens).")))
        flash(str(login_manager.login_message), "info")
        return redirect(url_for("accounts.login", next=request.full_path if request.query_string else request.path))

    @app.errorhandler(CareappError)
    def on_domain_error(error: CareappError):
        return error_response(error)

    @app.errorhandler(CSRFError)
    def on_csrf_error(error: CSRFError):
        return error_response(CareappError(_("This form has expired or was not sent from careapp; "
                                             "please go back, reload the page and try again."), code="csrf_failed"))

    @app.errorhandler(OperationalError)
    def on_database_unavailable(error: OperationalError):
        db.session.rollback()
        app.logger.warning("database unavailable or contended: %s", error.orig)
        return error_response(Busy(_("careapp is busy for a moment; please try again in a few seconds.")))

    @app.errorhandler(DBAPIError)
    def on_database_disconnect(error: DBAPIError):
        if not error.connection_invalidated:
            raise error
        db.session.rollback()
        return error_response(Busy(_("careapp lost its database connection; please try again in a few seconds.")))

    @app.errorhandler(HTTPException)
    def on_http_error(error: HTTPException):
        code, message = HTTP_CODES.get(error.code, ("error", error.description or _("Error")))
        message = str(message)  # the page's (or the API caller's) language, now
        if error.code == 413 and request.max_content_length:
            message = _("The upload is too large: careapp takes at most %(size)s MB at a time.",
                        size=max(1, request.max_content_length // (1024 * 1024)))
        if error.code == 429:
            return error_response(Throttled(message))
        if not wants_json() and error.code not in (404, 405, 413):
            return error
        domain = CareappError(message, code=code)
        domain.status = error.code
        response = error_response(domain)
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(500)
    def on_internal_error(error):
        db.session.rollback()
        domain = CareappError(_("Something went wrong on our side; nothing was changed. Please try again."),
                              code="internal_error")
        domain.status = 500
        return error_response(domain)

    # localdate, longdate, localtime and weekday depend on the language: careapp.core.i18n registers them.
    app.jinja_env.filters["localclock"] = lambda moment: timefmt.format_local(moment, "%H:%M")

    @app.after_request
    def download_finished(response):
        """A file answered to a link with a download_token (static/js/busy.js) carries that token back in a
        short-lived cookie, so the page can stop its "preparing the file" spinner when the download starts."""
        token = request.args.get("download_token", "")
        if DOWNLOAD_TOKEN.fullmatch(token) and "attachment" in response.headers.get("Content-Disposition", ""):
            response.set_cookie(DOWNLOAD_COOKIE, token, max_age=120, path="/", samesite="Lax",
                                secure=secure_cookies())
        return response

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors, for browsers without CSP 2
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
