"""Languages of the pages: Simplified Chinese (the default) and English, with Flask-Babel.

Every text a person reads is written in English in the code and templates and translated in
``careapp/translations/zh_Hans_CN/LC_MESSAGES/messages.po`` (how to add or change a text: docs/i18n.md).

Which language a page is in, first match wins:

1. ``FIXED_LANGUAGE`` in the settings (the test suite pins English, which most tests are written against);
2. the logged-in user's choice (``User.language``, remembered across devices);
3. the ``language`` cookie, set by the switch on every page before logging in;
4. the browser's Accept-Language;
5. ``DEFAULT_LANGUAGE`` (zh_CN).

Dates, times and money are shown the local way by the filters registered here; e-mails and notifications
are worded per recipient by careapp.notifications.texts, in the recipient's own language.
"""
from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from babel.dates import format_date
from flask import Flask, current_app, request
from flask_babel import Babel, get_locale
from flask_babel import gettext, lazy_gettext, ngettext  # noqa: F401  (re-exported: one import for the app)
from flask_login import current_user

from careapp.core import timefmt

LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"
# How each language names itself on the switch, and its BCP 47 tag for <html lang>.
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}
LANGUAGE_COOKIE = "language"
LANGUAGE_COOKIE_SECONDS = 2 * 365 * 24 * 3600

# Babel patterns (CLDR): the long date with its weekday, and the short date of tables.
LONG_DATE = {"zh_CN": "y年M月d日 EEEE", "en": "EEEE d MMMM y"}
SHORT_DATE = {"zh_CN": "y年M月d日", "en": "yyyy-MM-dd"}
WEEKDAY = "EEEE"

babel = Babel()


def supported(language: str | None) -> str | None:
    return language if language in LANGUAGES else None


def select_language() -> str:
    """The language of this request (see the module's docstring for the order)."""
    fixed = current_app.config.get("FIXED_LANGUAGE")
    if fixed:
        return fixed
    if not request:
        return current_app.config.get("DEFAULT_LANGUAGE", DEFAULT_LANGUAGE)
    if current_user and current_user.is_authenticated and supported(current_user.language):
        return current_user.language
    chosen = supported(request.cookies.get(LANGUAGE_COOKIE))
    if chosen:
        return chosen
    # Browsers say zh-CN, zh-Hans, zh or zh-TW; all read Simplified Chinese better than English here.
    best = request.accept_languages.best_match(["zh-CN", "zh", "zh-Hans", "zh-TW", "zh-HK", "en"])
    if best:
        return "en" if best == "en" else "zh_CN"
    return current_app.config.get("DEFAULT_LANGUAGE", DEFAULT_LANGUAGE)


def current_language() -> str:
    """zh_CN or en (Babel names the first zh_Hans_CN, as does the catalogue's folder)."""
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else DEFAULT_LANGUAGE


def _pattern(patterns: dict[str, str]) -> str:
    return patterns.get(current_language(), patterns[DEFAULT_LANGUAGE])


def _as_local_day(value: date | datetime) -> date:
    return timefmt.local_date(value) if isinstance(value, datetime) else value


@lru_cache(maxsize=4096)
def _format_day(day: date, pattern: str, language: str) -> str:
    """Babel's format_date, remembered: a page of slots formats the same few days hundreds of times, at ~0.2 ms
    a call (parsing the pattern and loading the locale each time). Pure, so safe to share across requests."""
    return format_date(day, pattern, locale=language)


def long_date(value: date | datetime | None) -> str:
    """2026年11月25日 星期三 / Wednesday 25 November 2026."""
    if value is None:
        return ""
    return _format_day(_as_local_day(value), _pattern(LONG_DATE), current_language())


def short_date(value: date | datetime | None) -> str:
    """2026年11月25日 / 2026-11-25 (English keeps the unambiguous ISO form in tables)."""
    if value is None:
        return ""
    return _format_day(_as_local_day(value), _pattern(SHORT_DATE), current_language())


def weekday_name(value: date | datetime | int) -> str:
    """星期三 / Wednesday, of a date or of a weekday number (Monday 0)."""
    if isinstance(value, int):
        value = date(2026, 11, 23 + value)  # a Monday, plus the weekday
    return _format_day(_as_local_day(value), WEEKDAY, current_language())


def local_time(moment: datetime | None, clock: str = "%H:%M") -> str:
    """A moment as the local date and clock: 2026年11月25日 09:00 / 2026-11-25 09:00 (``clock`` may add seconds)."""
    if moment is None:
        return ""
    return f"{short_date(moment)} {timefmt.format_local(moment, clock)}"


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(app.root_path + "/translations"))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", app.config.get("DEFAULT_LANGUAGE", DEFAULT_LANGUAGE))
    babel.init_app(app, locale_selector=select_language, timezone_selector=lambda: app.config["TIMEZONE"])
    app.jinja_env.filters.update(longdate=long_date, localdate=short_date, weekday=weekday_name,
                                 localtime=local_time)
    app.jinja_env.globals.update(current_language=current_language, LANGUAGE_NAMES=LANGUAGE_NAMES,
                                 HTML_LANG=HTML_LANG, LANGUAGES=LANGUAGES)
