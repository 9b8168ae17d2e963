"""The administrator's page of the scheduler and the notification outbox: is a scheduler running, how each job
last went, and what could not be sent."""
from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue
from flask_login import login_required

from careapp.accounts.models import Role
from careapp.core.clock import now
from careapp.core.i18n import gettext as _, lazy_gettext as _l
from careapp.notifications.models import Channel, DeliveryStatus, Topic
from careapp.pages import acting_user, render, require
from careapp.scheduler.queries import scheduler_overview

bp = Blueprint("scheduler_admin", __name__, url_prefix="/admin")

OUTBOX_LABELS = {
    "channel": {Channel.email: _l("E-mail"), Channel.sms: _l("SMS")},
    "delivery_status": {DeliveryStatus.pending: _l("Pending"), DeliveryStatus.sent: _l("Sent"),
                        DeliveryStatus.failed: _l("Failed"), DeliveryStatus.skipped: _l("Skipped")},
    "topic": {Topic.reminder: _l("Reminder"), Topic.place_offered: _l("Place offered"),
              Topic.waitlist_confirmed: _l("Place from the waiting list"), Topic.slot_cancelled: _l("Slot cancelled"),
              Topic.waitlist_closed: _l("Waiting list closed"), Topic.kitchen_sheet: _l("Kitchen sheet")},
}

# What each job does, as the page says it: the first paragraph of the job's docstring (careapp.scheduler.jobs), which
# the API gives as it is; tests/test_i18n_community.py checks the two still say the same.
JOB_DESCRIPTIONS = {
    "open_slots": _l("Keep each weekly pattern open OPEN_DAYS_AHEAD days ahead; standing enrolments take their "
                     "places."),
    "fill_places": _l("Offers not accepted in time pass on; free places go to the waitlist head; at the booking cutoff "
                      "the waitlist closes and those still waiting are told."),
    "reminders": _l("Write the reminders due now (CAREAPP_REMINDERS lead times); stale ones are marked skipped."),
    "kitchen_sheets": _l("At each meal's cutoff, the kitchen sheet to the canteen's staff."),
    "send_notifications": _l("Deliver pending e-mails and SMS, each once; retry those that failed for a while."),
    "no_shows": _l("After a slot ends, bookings never checked in become no-shows (not meals: see MealPolicy)."),
    "audit_retention": _l("Delete audit entries older than CAREAPP_AUDIT_RETENTION_DAYS, in batches (see "
                          "docs/privacy.md)."),
    "coverage_snapshot": _l("Work out each grid's coverage figures for this week and the next: the whole area's "
                            "dashboard sums them (CAREAPP_COVERAGE_SNAPSHOT_MINUTES)."),
}

# Why a notification was skipped, as the rules that skip one write it (careapp.notifications.reminders,
# careapp.meals.notices): stored in English, shown in the page's language.
SKIP_REASONS = {
    "the slot had already started": _l("the slot had already started"),
    "booked after this reminder was due": _l("booked after this reminder was due"),
    "a later reminder replaces it": _l("a later reminder replaces it"),
    "the meal had already started": _l("the meal had already started"),
}


def every(seconds: int) -> str:
    """How often a job runs, in words: "every hour", "every 15 minutes", "every 30 seconds"."""
    if seconds >= 3600 and seconds % 3600 == 0:
        count = seconds // 3600
        return _("every hour") if count == 1 else _("every %(count)s hours", count=count)
    if seconds >= 60 and seconds % 60 == 0:
        count = seconds // 60
        return _("every minute") if count == 1 else _("every %(count)s minutes", count=count)
    return _("every second") if seconds == 1 else _("every %(count)s seconds", count=seconds)


def skip_reason(reason: str) -> str:
    """A stored skip reason in the page's language (as stored when it is not one careapp writes)."""
    return str(SKIP_REASONS.get(reason, reason))


def job_description(job) -> str:
    """A job's description in the page's language (its docstring's words when the job has no translation)."""
    return str(JOB_DESCRIPTIONS.get(job.job_id, job.description))


@bp.get("/scheduler")
@login_required
def overview() -> ResponseReturnValue:
    require(acting_user().role == Role.admin, _("Only administrators see the scheduler and the outbox."))
    return render("scheduler/overview.html", overview=scheduler_overview(now()), every=every,
                  outbox_labels=OUTBOX_LABELS, job_description=job_description,
                  skip_reason=skip_reason)
