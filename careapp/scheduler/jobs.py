"""Scheduled jobs: plain functions of ``now``.

Each job is one sweep through the rules and returns how many things it
changed. The runner calls it inside an app context with the app clock's time;
a test calls it directly with a frozen time, so nothing ever sleeps.
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app

from careapp.booking import engine
from careapp.partners.services import open_coming_slots


def expire_offers_job(now: datetime) -> int:
    """Offered places not accepted in time pass on to the next on the waitlist."""
    return engine.expire_offers(now=now)


def open_slots_job(now: datetime) -> int:
    """Keep each weekly pattern open OPEN_DAYS_AHEAD days ahead; standing enrolments take their places."""
    return len(open_coming_slots(now=now, days=current_app.config["OPEN_DAYS_AHEAD"]))


def no_shows_job(now: datetime) -> int:
    """After a slot ends, bookings never checked in become no-shows (not meals: see MealPolicy)."""
    return engine.mark_no_shows(now=now)
