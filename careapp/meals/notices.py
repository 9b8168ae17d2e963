"""The kitchen sheet goes to the canteen's staff when ordering closes (the meal cutoff).

The sheet in the message is the one the kitchen page prints at that moment: portions by dish and by
mode, diets, and the names the kitchen must not miss. A sheet whose meal has already started (the
scheduler was down) is recorded as skipped, never sent late.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from careapp.booking.policies import policy_for
from careapp.core.db import db, write_transaction
from careapp.meals.queries import KitchenSheet, kitchen_sheet
from careapp.notifications.models import Notification, NotificationStatus, Topic
from careapp.notifications.outbox import add_once, slot_facts
from careapp.partners.models import Service, ServiceKind, Slot, SlotStatus

KIND = Topic.kitchen_sheet.value
# Meal cutoffs fall on the meal's own day, so a meal whose sheet is due starts within a day; and a
# sheet that fell due while the scheduler was down is looked for up to a day back.
WINDOW = timedelta(days=1)


def send_kitchen_sheets(*, now: datetime) -> int:
    """Write the kitchen sheet of every meal slot whose ordering has closed; returns how many go out."""
    written = sa.select(Notification.id).where(
        Notification.slot_id == Slot.id, Notification.booking_id.is_(None), Notification.kind == KIND)
    slot_ids = list(db.session.scalars(
        sa.select(Slot.id).join(Service, Service.id == Slot.service_id)
        .where(Service.kind == ServiceKind.meal, Slot.status == SlotStatus.open,
               Slot.starts_at > now - WINDOW, Slot.starts_at <= now + WINDOW, ~written.exists())
        .order_by(Slot.starts_at, Slot.id)))
    db.session.rollback()
    sent = 0
    for slot_id in slot_ids:
        with write_transaction():
            slot = db.session.scalar(sa.select(Slot).where(Slot.id == slot_id)
                                     .options(joinedload(Slot.service).joinedload(Service.partner)))
            if now < policy_for(ServiceKind.meal).booking_closes_at(slot):
                continue
            late = "the meal had already started" if now >= slot.starts_at else None
            notification = add_once(Notification(
                topic=Topic.kitchen_sheet, kind=KIND, slot_id=slot.id, service_id=slot.service_id,
                partner_id=slot.service.partner_id, created_at=now,
                params={**slot_facts(slot), "sheet": sheet_facts(kitchen_sheet(slot.id))},
                status=NotificationStatus.skipped if late else NotificationStatus.active, skip_reason=late))
            sent += notification is not None and late is None
    return sent


def sheet_facts(sheet: KitchenSheet) -> dict[str, Any]:
    """The kitchen sheet as plain data, kept with the notification (texts.py words it per language)."""
    return {
        "total": sheet.total,
        "by_dish": [[name, count] for name, count in sheet.by_dish],
        "by_mode": [[mode.value, count] for mode, count in sheet.by_mode if count],
        "by_diet": [[tag.value, count] for tag, count in sheet.by_diet_tag],
        "attention": [[line.recipient.name, _attention_note(line)] for line in sheet.attention],
        "waiting": sheet.waitlisted + sheet.offered,
    }


def _attention_note(line) -> str:
    parts = [tag.value for tag in line.diet_tags] + [f"allergy: {word}" for word in line.allergies]
    if (line.recipient.diet or "").strip():
        parts.append(line.recipient.diet.strip())
    return ", ".join(parts)
