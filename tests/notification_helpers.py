"""Shared set-ups for the notification and scheduler tests."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from careapp.core.db import db, write_transaction
from careapp.notifications.models import Delivery, Notification
from tests.factories import Family, make_family


def family_with_email(building, now: datetime, name: str, email: str) -> Family:
    """A family whose account has an e-mail address (demo-style logins are mobile numbers)."""
    family = make_family(building, now, name)
    with write_transaction():
        family.user.email = email
    return family


def notifications(**where) -> list[Notification]:
    db.session.rollback()
    query = sa.select(Notification).order_by(Notification.id)
    for field, value in where.items():
        query = query.where(getattr(Notification, field) == value)
    return list(db.session.scalars(query))


def deliveries(**where) -> list[Delivery]:
    db.session.rollback()
    query = sa.select(Delivery).order_by(Delivery.id)
    for field, value in where.items():
        query = query.where(getattr(Delivery, field) == value)
    return list(db.session.scalars(query))
