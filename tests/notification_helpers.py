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


def rows(model, **where) -> list:
    """Fresh rows of a table (a new read: what other transactions committed), filtered by column values."""
    db.session.rollback()
    query = sa.select(model).order_by(model.id)
    for field, value in where.items():
        query = query.where(getattr(model, field) == value)
    return list(db.session.scalars(query))


def notifications(**where) -> list[Notification]:
    return rows(Notification, **where)


def deliveries(**where) -> list[Delivery]:
    return rows(Delivery, **where)
