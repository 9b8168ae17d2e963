"""One injectable clock.

Business rules never call ``datetime.now()``: they take ``now`` as an argument.
Views and jobs get it from the application's clock, which tests replace with a
:class:`FrozenClock` so that nothing ever sleeps.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import current_app


class Clock:
    """The real clock: aware UTC datetimes."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FrozenClock(Clock):
    """A clock that stands still until a test moves it."""

    def __init__(self, at: datetime):
        self.set(at)

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._at = at.astimezone(timezone.utc)

    def advance(self, **delta: float) -> datetime:
        self._at += timedelta(**delta)
        return self._at

    def now(self) -> datetime:
        return self._at


def current_clock() -> Clock:
    return current_app.extensions["careapp.clock"]


def now() -> datetime:
    """The current time of the running application (for views and jobs, not rules)."""
    return current_clock().now()
