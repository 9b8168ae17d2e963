"""What a meal costs and how much of it the city's subsidy pays (money in integer fen).

Settings (see careapp/config.py): MEAL_PRICE, MEAL_SUBSIDY_TIERS ({"60": 100, "70": 200, "80": 300}: the
lowest age of each tier -> subsidy per meal) and MEAL_SPECIAL_SUBSIDY ({"dibao": 200, ...}: the extra per
meal for a special group). A meal service may set its own price (``Service.price_fen``).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, NamedTuple

from careapp.households.models import CareRecipient


class Subsidy(NamedTuple):
    fen: int
    tier: str | None           # the age tier's key, e.g. "70"; None: too young for any tier
    special_group: str | None  # the special group whose extra was added; None: none


def meal_price_fen(service, settings: Mapping[str, Any]) -> int:
    """The meal's price before subsidy: the service's own, else the MEAL_PRICE setting."""
    return service.price_fen if service.price_fen is not None else int(settings["MEAL_PRICE"])


def age_tier(age: int, tiers: Mapping[str, int]) -> str | None:
    """The tier whose lowest age is the highest one at or below ``age`` ("70" for 79 with 60/70/80 tiers)."""
    reached = [key for key in tiers if _years(key) is not None and _years(key) <= age]
    return max(reached, key=_years) if reached else None


def _years(key: str) -> int | None:
    try:
        return int(key)
    except (TypeError, ValueError):
        return None


def subsidy_for(recipient: CareRecipient, day: date, price_fen: int,
                settings: Mapping[str, Any]) -> Subsidy:
    """The subsidy for one meal on ``day`` (the meal's local date): the age tier's amount plus the special
    group's extra, never more than the price: (subsidy_fen, tier, special_group)."""
    tiers = settings["MEAL_SUBSIDY_TIERS"]
    tier = age_tier(recipient.age_on(day), tiers)
    amount = tiers[tier] if tier is not None else 0
    group = recipient.special_group.value if recipient.special_group is not None else None
    extras = settings["MEAL_SPECIAL_SUBSIDY"]
    if group is not None and group in extras:
        amount += extras[group]
    else:
        group = None
    return Subsidy(min(amount, price_fen), tier, group)


def yuan(fen: int | None) -> str:
    """An amount in fen as shown to people: 300 -> "¥3.00"."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole}.{cents:02d}"
