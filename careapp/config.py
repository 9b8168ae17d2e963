"""Settings from CAREAPP_* environment variables, with the defaults DOMAIN.md gives.

Everything is read once in ``create_app``; code reads ``current_app.config``.
Tests pass overrides to ``create_app(config)`` instead of touching the environment.
"""
from __future__ import annotations

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


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {value!r}") from None


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
        # Flask-Limiter: on by default; "off" for load tests and benchmarks.
        "RATELIMIT_ENABLED": _flag(env, "CAREAPP_RATE_LIMITS", True),
        "RATELIMIT_STORAGE_URI": env.get("CAREAPP_RATE_LIMIT_STORAGE", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": env.get("CAREAPP_LOGIN_RATE_LIMIT", "5 per minute"),
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
        # Accounts.
        "TOKEN_HOURS": _int(env, "CAREAPP_TOKEN_HOURS", 24 * 30),
        "PASSWORD_HASH_METHOD": env.get("CAREAPP_PASSWORD_HASH", "scrypt"),
        # The slot lock of the booking engine. Only the concurrency control test turns it off.
        "BOOKING_GUARD": _flag(env, "CAREAPP_BOOKING_GUARD", True),
        # Start the in-process scheduler (only `careapp demo` sets this; web workers never do).
        "RUN_SCHEDULER": False,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "MAX_CONTENT_LENGTH": 5 * 1024 * 1024,
    }
