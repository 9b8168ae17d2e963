"""Showing UTC times in the sub-district's zone (CAREAPP_TIMEZONE)."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from flask import current_app


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def to_local(moment: datetime) -> datetime:
    return moment.astimezone(zone())


def local_date(moment: datetime) -> date:
    return to_local(moment).date()


def from_local(day: date, at: time, in_zone: ZoneInfo | None = None) -> datetime:
    """A local wall-clock time on a day (in ``in_zone``, by default the sub-district's), as an aware UTC datetime."""
    return datetime.combine(day, at, tzinfo=in_zone or zone()).astimezone(timezone.utc)


def format_local(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return "" if moment is None else to_local(moment).strftime(fmt)
