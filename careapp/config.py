"""Settings from CAREAPP_* environment variables, with the defaults DOMAIN.md gives.

Everything is read once in ``create_app``; code reads ``current_app.config``.
Tests pass overrides to ``create_app(config)`` instead of touching the environment.
"""
from __future__ import annotations

import importlib.util
import os
import secrets
from datetime import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FALSE_WORDS = {"0", "off", "false", "no"}


def database_url(url: str) -> str:
    """Accept the usual ``postgresql://user@host/db`` form and use psycopg 3 for it."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name)
    return default if value is None else value.strip().lower() not in FALSE_WORDS


def _int(env: Mapping[str, str], name: str, default: int, *, low: int | None = None) -> int:
    value = env.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {value!r}") from None
    if low is not None and number < low:
        raise SystemExit(f"{name} must be at least {low}, not {number}")
    return number


def _rate_limit_storage(env: Mapping[str, str], name: str) -> str:
    """Where Flask-Limiter counts (docs/deployment.md): memory:// in each worker, or a shared Redis. The Redis
    client is an extra (pip install -e ".[redis]"); without it, say so instead of limits' traceback."""
    url = env.get(name, "").strip() or "memory://"
    if url.split(":", 1)[0] in ("redis", "rediss", "redis+sentinel", "redis+cluster") \
            and importlib.util.find_spec("redis") is None:
        raise SystemExit(f"{name} is {url.split('://', 1)[0]}://..., but the Redis client is not installed: "
                         'pip install -e ".[redis]" (or pip install redis)')
    return url


def _reminder_leads(env: Mapping[str, str], name: str, default: str) -> tuple:
    from careapp.notifications.reminders import parse_leads

    text = env.get(name) or default
    try:
        return parse_leads(text)
    except ValueError as error:
        raise SystemExit(f"{name}: {error}") from None


def _job_intervals(env: Mapping[str, str]) -> dict[str, int]:
    """Seconds between runs of each scheduled job: CAREAPP_JOB_<ID>_SECONDS, e.g. CAREAPP_JOB_REMINDERS_SECONDS."""
    from careapp.scheduler.jobs import DEFAULT_INTERVALS

    # The coverage snapshot's interval is also how old a snapshot the whole area's dashboard shows (two of them,
    # careapp.coverage.snapshot): one setting, in minutes, CAREAPP_COVERAGE_SNAPSHOT_MINUTES.
    snapshot = "coverage_snapshot"
    intervals = {job: _int(env, f"CAREAPP_JOB_{job.upper()}_SECONDS", seconds, low=1)
                 for job, seconds in DEFAULT_INTERVALS.items() if job != snapshot}
    intervals[snapshot] = 60 * _int(env, "CAREAPP_COVERAGE_SNAPSHOT_MINUTES", DEFAULT_INTERVALS[snapshot] // 60, low=1)
    return intervals


def _coverage_radii(env: Mapping[str, str]) -> dict[str, int]:
    """Metres within which a service point of a kind covers a building: CAREAPP_COVERAGE_RADIUS_<KIND>_M,
    e.g. CAREAPP_COVERAGE_RADIUS_MEAL_M=500. The default, 1,000 m, is the 15-minute walk (DOMAIN.md)."""
    from careapp.partners.models import ServiceKind

    return {kind.value: _int(env, f"CAREAPP_COVERAGE_RADIUS_{kind.value.upper()}_M", 1000, low=1)
            for kind in ServiceKind}


def _clock_time(env: Mapping[str, str], name: str, default: str) -> time:
    value = env.get(name) or default
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise SystemExit(f"{name} must be a time of day like 09:00, not {value!r}") from None


def _yuan_to_fen(name: str, text: str) -> int:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise SystemExit(f"{name}: {text!r} is not an amount in yuan") from None
    if amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise SystemExit(f"{name}: {text!r} must be a non-negative amount in yuan with at most 2 decimals")
    return int(amount * 100)


def _amounts(env: Mapping[str, str], name: str, default: str) -> dict[str, int]:
    """``"60:1,70:2,80:3"`` (yuan) -> {"60": 100, "70": 200, "80": 300} (fen)."""
    text = env.get(name) or default
    amounts = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        key, sep, value = part.partition(":")
        if not sep or not key.strip():
            raise SystemExit(f"{name} is a list like 60:1,70:2,80:3, not {text!r}")
        amounts[key.strip()] = _yuan_to_fen(name, value.strip())
    return amounts


def _age_tiers(env: Mapping[str, str], name: str, default: str) -> dict[str, int]:
    """Subsidy tiers keyed by the lowest age of each tier, in whole years: ``"60:1,70:2,80:3"``."""
    tiers = _amounts(env, name, default)
    for key in tiers:
        if not (key.isdigit() and 0 <= int(key) <= 150):
            raise SystemExit(f"{name}: {key!r} is not an age; give the lowest age of each tier, like 60:1,70:2,80:3")
    return {str(int(key)): amount for key, amount in tiers.items()}


def _special_groups(env: Mapping[str, str], name: str, default: str) -> dict[str, int]:
    """Extra subsidy per special group, keyed by the group's code: ``"dibao:2,tekun:3,shineng:2"``."""
    from careapp.households.models import SpecialGroup

    extras = _amounts(env, name, default)
    known = [group.value for group in SpecialGroup]
    for key in extras:
        if key not in known:
            raise SystemExit(f"{name}: {key!r} is not a special group; use {', '.join(known)}")
    return extras


def _language(text: str) -> str:
    if text not in ("zh_CN", "en"):
        raise SystemExit(f"CAREAPP_DEFAULT_LANGUAGE {text!r} is not zh_CN or en")
    return text


def secret_key(instance_path: str) -> str:
    """Generated once and kept in the instance folder, so sessions survive restarts and workers agree."""
    path = Path(instance_path) / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def from_environment(instance_path: str, env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    timezone = env.get("CAREAPP_TIMEZONE", "Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SystemExit(f"CAREAPP_TIMEZONE {timezone!r} is not a known time zone") from None
    default_db = "sqlite:///" + str(Path(instance_path) / "careapp.db")
    return {
        "SQLALCHEMY_DATABASE_URI": database_url(env.get("CAREAPP_DATABASE_URL") or default_db),
        "SECRET_KEY": env.get("CAREAPP_SECRET_KEY") or secret_key(instance_path),
        "TIMEZONE": timezone,
        # The sub-district's name, on every page and on the reports it sends up (e.g. subsidy claims).
        "SUB_DISTRICT": env.get("CAREAPP_SUB_DISTRICT") or "赭麓街道",
        # The language of pages for visitors whose browser asks for neither Chinese nor English (zh_CN or en);
        # FIXED_LANGUAGE, when set, pins every page to one language (the test suite pins English).
        "DEFAULT_LANGUAGE": _language(env.get("CAREAPP_DEFAULT_LANGUAGE") or "zh_CN"),
        "FIXED_LANGUAGE": None,
        # Flask-Limiter: on by default; "off" for load tests and benchmarks.
        "RATELIMIT_ENABLED": _flag(env, "CAREAPP_RATE_LIMITS", True),
        "RATELIMIT_STORAGE_URI": _rate_limit_storage(env, "CAREAPP_RATE_LIMIT_STORAGE"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": env.get("CAREAPP_LOGIN_RATE_LIMIT", "5 per minute"),
        # Bearer tokens issued (POST /api/v1/tokens, successful or not) per client address.
        "TOKEN_RATE_LIMIT": env.get("CAREAPP_TOKEN_RATE_LIMIT", "30 per hour"),
        "REGISTER_RATE_LIMIT": env.get("CAREAPP_REGISTER_RATE_LIMIT", "10 per hour"),
        # Care rules (DOMAIN.md settings).
        "DAYCARE_MIN_AGE": _int(env, "CAREAPP_DAYCARE_MIN_AGE", 60),
        # How many days ahead the scheduler keeps every weekly pattern's slots open.
        "OPEN_DAYS_AHEAD": _int(env, "CAREAPP_OPEN_DAYS_AHEAD", 14),
        # Meal help: no order, change or cancellation after these local times on the meal's day.
        "MEAL_LUNCH_CUTOFF": _clock_time(env, "CAREAPP_MEAL_LUNCH_CUTOFF", "09:00"),
        "MEAL_DINNER_CUTOFF": _clock_time(env, "CAREAPP_MEAL_DINNER_CUTOFF", "14:00"),
        # How far (metres) a canteen delivers, unless its meal service sets its own radius.
        "MEAL_DELIVERY_RADIUS": _int(env, "CAREAPP_MEAL_DELIVERY_RADIUS", 1000),
        # A meal's price before subsidy (fen), unless the meal service sets its own.
        "MEAL_PRICE": _yuan_to_fen("CAREAPP_MEAL_PRICE", env.get("CAREAPP_MEAL_PRICE") or "15"),
        # Subsidy per meal by age tier (lowest age of the tier: yuan), and the extra for special groups.
        "MEAL_SUBSIDY_TIERS": _age_tiers(env, "CAREAPP_MEAL_SUBSIDY_TIERS", "60:1,70:2,80:3"),
        "MEAL_SPECIAL_SUBSIDY": _special_groups(env, "CAREAPP_MEAL_SPECIAL_SUBSIDY", "dibao:2,tekun:3,shineng:2"),
        # Coverage (careapp/coverage): the service circle of each kind, in metres.
        "COVERAGE_RADIUS_M": _coverage_radii(env),
        # The scheduler (see careapp/scheduler): reminder lead times, how often each job runs, the
        # active scheduler's lease on SQLite, and how long a failing message keeps being retried.
        "REMINDERS": _reminder_leads(env, "CAREAPP_REMINDERS", "eve@18:00,1h"),
        "JOB_INTERVALS": _job_intervals(env),
        "SCHEDULER_LEASE_SECONDS": _int(env, "CAREAPP_SCHEDULER_LEASE_SECONDS", 30, low=3),
        "MAIL_GIVE_UP_HOURS": _int(env, "CAREAPP_MAIL_GIVE_UP_HOURS", 24, low=1),
        # Channels: e-mail over SMTP (off while CAREAPP_MAIL_SERVER is unset), SMS through a backend.
        "MAIL_SERVER": env.get("CAREAPP_MAIL_SERVER", "").strip(),
        "MAIL_PORT": _int(env, "CAREAPP_MAIL_PORT", 25, low=1),
        "MAIL_USERNAME": env.get("CAREAPP_MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("CAREAPP_MAIL_PASSWORD") or None,
        "MAIL_SENDER": env.get("CAREAPP_MAIL_SENDER") or "careapp@localhost",
        "MAIL_USE_TLS": _flag(env, "CAREAPP_MAIL_USE_TLS", False),
        "MAIL_TIMEOUT": _int(env, "CAREAPP_MAIL_TIMEOUT", 20, low=1),
        # SMTP connections the sender keeps open to send side by side (channels.py); lower it for a relay that
        # allows fewer per client (the sender also makes do with as many as the server accepts).
        "MAIL_CONNECTIONS": _int(env, "CAREAPP_MAIL_CONNECTIONS", 25, low=1),
        "SMS_BACKEND": (env.get("CAREAPP_SMS_BACKEND") or "log").strip(),
        # Accounts.
        "TOKEN_HOURS": _int(env, "CAREAPP_TOKEN_HOURS", 24 * 30),
        "PASSWORD_HASH_METHOD": env.get("CAREAPP_PASSWORD_HASH", "scrypt"),
        # Privacy (docs/privacy.md): audit entries older than this many days are purged daily. At least 180: the
        # Cybersecurity Law asks for six months of logs; the default, three years, covers PIPL's record keeping.
        "AUDIT_RETENTION_DAYS": _int(env, "CAREAPP_AUDIT_RETENTION_DAYS", 1095, low=180),
        # The slot lock of the booking engine. Only the concurrency control test turns it off.
        "BOOKING_GUARD": _flag(env, "CAREAPP_BOOKING_GUARD", True),
        # Start the in-process scheduler (only `careapp demo` sets this; web workers never do).
        "RUN_SCHEDULER": False,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "WTF_CSRF_TIME_LIMIT": None,
        # Cookies (docs/security.md): never readable by scripts, not sent on other sites' posts, and Secure on every
        # request that came over HTTPS (careapp.web.secure_cookies), or always with CAREAPP_SECURE_COOKIES=on.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _flag(env, "CAREAPP_SECURE_COOKIES", False),
        # Flask-Login's remember-me cookie: careapp never sets it (no "remember me"); were it ever used, this
        # long-lived credential would travel over HTTPS only.
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": True,
        # How many reverse proxies in front of careapp set X-Forwarded-For and X-Forwarded-Proto (0: none; the
        # headers are then ignored, as a client could forge them).
        "PROXY_COUNT": _int(env, "CAREAPP_PROXY_COUNT", 0, low=0),
        # The largest request body (a form, an upload, an API call); a larger one gets a clear 413.
        "MAX_CONTENT_LENGTH": _int(env, "CAREAPP_MAX_REQUEST_MB", 5, low=1) * 1024 * 1024,
        # The largest grid ledger community staff may import (the import page alone takes more than the above).
        "IMPORT_MAX_BYTES": _int(env, "CAREAPP_IMPORT_MAX_MB", 10, low=1) * 1024 * 1024,
    }
