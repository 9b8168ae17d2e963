"""Everything careapp holds about one household, as one JSON document (PIPL art. 45: a person may have a copy).

What goes in: the household and its address, its members and who may collect its children, its accounts (never a
password hash or a token value), its bookings with the history of each one's status, its standing enrolments, its
meal orders, the notifications sent to it and their deliveries, its calendar links (never the secret), and the
audit entries about any of these or made by its accounts. Nothing of another household: every list is selected by
this household's own ids. careapp keeps no separate consent records, so there are none to give (docs/privacy.md).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from careapp.accounts.models import ApiToken, User
from careapp.booking.models import Booking, Enrolment
from careapp.core.audit import AuditEntry
from careapp.core.db import db
from careapp.core.errors import NotFound
from careapp.core.i18n import gettext as _
from careapp.family.models import CalendarFeed
from careapp.households.models import AuthorisedAdult, CareRecipient, Household
from careapp.meals.models import MealOrder
from careapp.notifications.models import Notification
from careapp.partners.models import Slot

FORMAT_VERSION = 1
# Secrets are never exported, not even as hashes.
SECRET_COLUMNS = frozenset({"password_hash", "token_hash", "claim_token"})


def export_filename(household_id: int) -> str:
    return f"careapp-household-{household_id}.json"


def _value(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _row(obj: Any, *, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every column of a row, by column name, as JSON values (secrets and ``leave_out`` left out)."""
    return {column.key: _value(getattr(obj, column.key)) for column in sa.inspect(type(obj)).column_attrs
            if column.key not in SECRET_COLUMNS and column.key not in leave_out}


def household_data(household_id: int, *, now: datetime) -> dict[str, Any]:
    """The whole document for one household (a dict of JSON values); NotFound if there is no such household."""
    household = db.session.scalar(sa.select(Household).where(Household.id == household_id)
                                  .options(selectinload(Household.building)))
    if household is None:
        raise NotFound(_("No such household."))
    building = household.building
    members = list(db.session.scalars(sa.select(CareRecipient).where(CareRecipient.household_id == household.id)
                                      .order_by(CareRecipient.id)))
    member_ids = [member.id for member in members]
    adults = list(db.session.scalars(sa.select(AuthorisedAdult).where(AuthorisedAdult.child_id.in_(member_ids))
                                     .order_by(AuthorisedAdult.id))) if member_ids else []
    users = list(db.session.scalars(sa.select(User).where(User.household_id == household.id).order_by(User.id)))
    user_ids = [user.id for user in users]
    tokens = list(db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id.in_(user_ids))
                                     .order_by(ApiToken.id))) if user_ids else []
    bookings = list(db.session.scalars(
        sa.select(Booking).where(Booking.recipient_id.in_(member_ids)).order_by(Booking.id)
        .options(selectinload(Booking.slot).selectinload(Slot.service)))) if member_ids else []
    booking_ids = [booking.id for booking in bookings]
    enrolments = list(db.session.scalars(sa.select(Enrolment).where(Enrolment.recipient_id.in_(member_ids))
                                         .order_by(Enrolment.id))) if member_ids else []
    meal_orders = list(db.session.scalars(sa.select(MealOrder).where(MealOrder.booking_id.in_(booking_ids))
                                          .order_by(MealOrder.booking_id)
                                          .options(selectinload(MealOrder.dishes)))) if booking_ids else []
    notifications = list(db.session.scalars(
        sa.select(Notification).where(Notification.household_id == household.id).order_by(Notification.id)
        .options(selectinload(Notification.deliveries))))
    feeds = list(db.session.scalars(sa.select(CalendarFeed).where(CalendarFeed.household_id == household.id)
                                    .order_by(CalendarFeed.id)))
    objects = {"household": [household.id], "care_recipient": member_ids,
               "authorised_adult": [adult.id for adult in adults], "booking": booking_ids,
               "enrolment": [enrolment.id for enrolment in enrolments], "calendar_feed": [feed.id for feed in feeds],
               "user": user_ids}
    entries = audit_entries_about(objects, actor_ids=user_ids)
    history: dict[int, list[dict[str, Any]]] = {}
    for entry in entries:
        if entry.object_type == "booking":
            history.setdefault(entry.object_id, []).append(
                {"at": _value(entry.at), "action": entry.action,
                 "from": (entry.before or {}).get("status"), "to": (entry.after or {}).get("status")})
    return {
        "format": "careapp-household-export", "version": FORMAT_VERSION, "exported_at": _value(now),
        "household": _row(household),
        "addresses": [{"building_id": building.id, "building": building.name, "address": building.address,
                       "unit": household.unit, "latitude": building.latitude, "longitude": building.longitude}],
        "members": [_row(member) for member in members],
        "authorised_adults": [_row(adult) for adult in adults],
        "accounts": [_row(user) for user in users],
        "api_tokens": [_row(token) for token in tokens],
        "bookings": [{**_row(booking), "service_id": booking.slot.service_id, "service": booking.slot.service.name,
                      "kind": _value(booking.slot.service.kind), "starts_at": _value(booking.slot.starts_at),
                      "ends_at": _value(booking.slot.ends_at), "status_history": history.get(booking.id, [])}
                     for booking in bookings],
        "enrolments": [_row(enrolment) for enrolment in enrolments],
        "meal_orders": [{**_row(order), "dish_ids": [dish.dish_id for dish in order.dishes]}
                        for order in meal_orders],
        "notifications": [{**_row(notification),
                           "deliveries": [_row(delivery) for delivery in notification.deliveries]}
                          for notification in notifications],
        "calendar_feeds": [_row(feed) for feed in feeds],
        "audit_entries": [_row(entry) for entry in entries],
    }


def audit_entries_about(objects: dict[str, list[int]], *, actor_ids: list[int]) -> list[AuditEntry]:
    """The audit entries about any of ``objects`` (table name -> ids) or made by one of ``actor_ids``."""
    about = [sa.and_(AuditEntry.object_type == kind, AuditEntry.object_id.in_(ids))
             for kind, ids in objects.items() if ids]
    if actor_ids:
        about.append(AuditEntry.actor_id.in_(actor_ids))
    if not about:
        return []
    return list(db.session.scalars(sa.select(AuditEntry).where(sa.or_(*about)).order_by(AuditEntry.id)))


def json_chunks(data: dict[str, Any]) -> Iterator[str]:
    """The document as JSON text in pieces, for a streamed download (Chinese kept readable, not \\u-escaped)."""
    yield from json.JSONEncoder(ensure_ascii=False, indent=1).iterencode(data)
