"""The audit trail: every state change writes one entry in the same transaction."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from careapp.core.db import UTCDateTime, db


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # None when the system itself acted (a scheduler job).
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(sa.String(60))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[int | None]
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    __table_args__ = (sa.Index("ix_audit_entry_object", "object_type", "object_id"),)


def record(action: str, obj: Any, *, actor: Any, now: datetime,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> AuditEntry:
    """Add an audit entry for ``obj`` (flushed so it has an id) to the open transaction."""
    if obj.id is None:
        db.session.flush()
    entry = AuditEntry(
        at=now,
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=type(obj).__tablename__,
        object_id=obj.id,
        before=_jsonable(before),
        after=_jsonable(after),
    )
    db.session.add(entry)
    return entry


def _jsonable(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    out = {}
    for key, value in values.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif hasattr(value, "value"):  # enums
            value = value.value
        elif not isinstance(value, (str, int, float, bool, type(None), list, dict)):
            value = str(value)
        out[key] = value
    return out
