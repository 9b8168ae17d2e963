"""The caller's own notifications (a family's household's, partner staff's partner's), and marking them read.

Subject and body come worded in the caller's language (``User.language``: zh_CN unless they chose en).
Community staff and admins have none: their list is empty and marking one read is refused.
"""
from __future__ import annotations

from pydantic import Field

from careapp.accounts.models import User
from careapp.api.registry import api
from careapp.api.schemas import Id, Out, Query, UtcTimestamp
from careapp.core.clock import now
from careapp.notifications import outbox
from careapp.notifications.texts import Text
from careapp.notifications.models import Notification, NotificationStatus, Topic


class NotificationQuery(Query):
    unread_only: bool = Field(False, description="Only the notifications not read yet.")
    limit: int = Field(50, ge=1, le=100, description="At most this many (1..100).")
    before_id: Id | None = Field(None, description="Only those older than this one: for the next page, the last "
                                                   "id of the page before.")


class NotificationOut(Out):
    id: int
    topic: Topic
    kind: str = Field(description="The topic, made unique per booking (a reminder's names its lead time: "
                                  "\"reminder:60m\").")
    subject: str = Field(description="In the caller's language.")
    body: str = Field(description="In the caller's language; may hold line breaks (a kitchen sheet is a list).")
    status: NotificationStatus = Field(description="skipped: no longer worth sending by e-mail or SMS (e.g. the "
                                                   "slot had started); still the caller's to read.")
    read: bool
    read_at: UtcTimestamp | None
    created_at: UtcTimestamp
    booking_id: int | None = Field(description="The booking it is about; none for a partner's slot-wide notice.")
    slot_id: int

    @classmethod
    def of(cls, notification: Notification, language: str | None, text: Text | None = None) -> NotificationOut:
        text = text or outbox.render(notification, language)
        return cls(id=notification.id, topic=notification.topic, kind=notification.kind, subject=text.subject,
                   body=text.body, status=notification.status, read=notification.read_at is not None,
                   read_at=notification.read_at, created_at=notification.created_at,
                   booking_id=notification.booking_id, slot_id=notification.slot_id)


class MarkedOut(Out):
    marked: int = Field(description="How many were unread and are read now.")


@api.route("GET", "/notifications", summary="The caller's own notifications, newest first", query=NotificationQuery,
           response=list[NotificationOut])
def notifications(user: User, query: NotificationQuery) -> list[NotificationOut]:
    rows = outbox.inbox(user, limit=query.limit, before_id=query.before_id, unread_only=query.unread_only)
    return [NotificationOut.of(row, user.language, text) for row, text in outbox.worded(rows, user.language)]


@api.route("POST", "/notifications/{notification_id}/read", response=NotificationOut, errors=(403,),
           summary="Mark one of the caller's notifications read (again: no change)")
def mark_notification_read(user: User, notification_id: int) -> NotificationOut:
    return NotificationOut.of(outbox.mark_read(notification_id, by=user, now=now()), user.language)


@api.route("POST", "/notifications/read-all", response=MarkedOut,
           summary="Mark every unread notification of the caller read")
def mark_all_notifications_read(user: User) -> MarkedOut:
    return MarkedOut(marked=outbox.mark_all_read(by=user, now=now()))
