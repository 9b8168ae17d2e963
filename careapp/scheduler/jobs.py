"""Scheduled jobs: plain functions of ``now``.

Each job is one sweep through the rules and returns how many things it
changed. The runner calls it inside an app context with the app clock's time;
a test calls it directly with a frozen time, so nothing ever sleeps.
"""
from __future__ import annotations

from datetime import datetime

from careapp.booking import engine


def expire_offers_job(now: datetime) -> int:
    """Offered places not accepted in time pass on to the next on the waitlist."""
    return engine.expire_offers(now=now)
