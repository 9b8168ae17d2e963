"""The administrator's page of the scheduler and the notification outbox: is a scheduler running, how each job
last went, and what could not be sent."""
from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue
from flask_login import login_required

from careapp.accounts.models import Role
from careapp.core.clock import now
from careapp.notifications.models import Channel, DeliveryStatus, Topic
from careapp.pages import acting_user, render, require
from careapp.scheduler.queries import scheduler_overview

bp = Blueprint("scheduler_admin", __name__, url_prefix="/admin")

OUTBOX_LABELS = {
    "channel": {Channel.email: "E-mail", Channel.sms: "SMS"},
    "delivery_status": {DeliveryStatus.pending: "Pending", DeliveryStatus.sent: "Sent",
                        DeliveryStatus.failed: "Failed", DeliveryStatus.skipped: "Skipped"},
    "topic": {Topic.reminder: "Reminder", Topic.place_offered: "Place offered",
              Topic.waitlist_confirmed: "Place from the waiting list", Topic.slot_cancelled: "Slot cancelled",
              Topic.waitlist_closed: "Waiting list closed", Topic.kitchen_sheet: "Kitchen sheet"},
}


def every(seconds: int) -> str:
    """How often a job runs, in words: "every hour", "every 15 minutes", "every 30 seconds"."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"every {unit}" if count == 1 else f"every {count} {unit}s"
    return "every second" if seconds == 1 else f"every {seconds} seconds"


@bp.get("/scheduler")
@login_required
def overview() -> ResponseReturnValue:
    require(acting_user().role == Role.admin, "Only administrators see the scheduler and the outbox.")
    return render("scheduler/overview.html", overview=scheduler_overview(now()), every=every,
                  outbox_labels=OUTBOX_LABELS)
