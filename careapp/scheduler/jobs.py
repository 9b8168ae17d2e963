"""Scheduled jobs: plain functions of ``now``.

Each job is one sweep through the rules and returns how many things it changed. The runner calls it
inside an app context with the app clock's time; a test calls it directly with a frozen time, so nothing
ever sleeps. Every job is safe to run twice at once (two schedulers by mistake): what it writes is
unique in the database (a slot per service and start, a booking per person and slot, a notification
per booking and kind) and what it sends is claimed first (careapp.notifications.delivery).
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app

from careapp.booking import engine
from careapp.core.audit import purge_expired
from careapp.coverage.snapshot import refresh_coming_weeks
from careapp.meals.notices import send_kitchen_sheets
from careapp.notifications.delivery import send_due
from careapp.notifications.reminders import send_due_reminders
from careapp.partners.services import open_coming_slots

# Seconds between runs; each is a setting, CAREAPP_JOB_<ID>_SECONDS (see careapp.config).
DEFAULT_INTERVALS: dict[str, int] = {
    "open_slots": 3600,
    "fill_places": 60,
    "reminders": 60,
    "kitchen_sheets": 60,
    "send_notifications": 30,
    "no_shows": 900,
    "audit_retention": 86400,
    # Set in minutes, as CAREAPP_COVERAGE_SNAPSHOT_MINUTES (careapp.config): it is also how old a snapshot may be.
    "coverage_snapshot": 600,
}


def open_slots_job(now: datetime) -> int:
    """Keep each weekly pattern open OPEN_DAYS_AHEAD days ahead; standing enrolments take their places."""
    return len(open_coming_slots(now=now, days=current_app.config["OPEN_DAYS_AHEAD"]))


def fill_places_job(now: datetime) -> int:
    """Offers not accepted in time pass on; free places go to the waitlist head; at the booking cutoff the
    waitlist closes and those still waiting are told."""
    return engine.expire_offers(now=now) + engine.fill_free_places(now=now) + engine.close_waitlists(now=now)


def reminders_job(now: datetime) -> int:
    """Write the reminders due now (CAREAPP_REMINDERS lead times); stale ones are marked skipped."""
    return send_due_reminders(now=now)


def kitchen_sheets_job(now: datetime) -> int:
    """At each meal's cutoff, the kitchen sheet to the canteen's staff."""
    return send_kitchen_sheets(now=now)


def send_notifications_job(now: datetime) -> int:
    """Deliver pending e-mails and SMS, each once; retry those that failed for a while."""
    return send_due(now=now)


def no_shows_job(now: datetime) -> int:
    """After a slot ends, bookings never checked in become no-shows (not meals: see MealPolicy)."""
    return engine.mark_no_shows(now=now)


def audit_retention_job(now: datetime) -> int:
    """Delete audit entries older than CAREAPP_AUDIT_RETENTION_DAYS, in batches (see docs/privacy.md)."""
    return purge_expired(now=now, retention_days=current_app.config["AUDIT_RETENTION_DAYS"])


def coverage_snapshot_job(now: datetime) -> int:
    """Work out each grid's coverage figures for this week and the next: the whole area's dashboard sums them
    (CAREAPP_COVERAGE_SNAPSHOT_MINUTES)."""
    return refresh_coming_weeks(now)


JOBS = {
    "open_slots": open_slots_job,
    "fill_places": fill_places_job,
    "reminders": reminders_job,
    "kitchen_sheets": kitchen_sheets_job,
    "send_notifications": send_notifications_job,
    "no_shows": no_shows_job,
    "audit_retention": audit_retention_job,
    "coverage_snapshot": coverage_snapshot_job,
}
