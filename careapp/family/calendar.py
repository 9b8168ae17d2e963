"""A household's bookings as a month on a page and as a private iCalendar feed a phone's calendar subscribes to.

The feed link carries a random secret (32 bytes, URL-safe). Only its SHA-256 hash is stored, as for API tokens:
the full link is shown once when it is made, and a copy of the database gives nobody a family's calendar. A
family that lost the link makes a new one, which turns the old one off.
"""
from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from icalendar import Calendar, Event

from careapp.accounts.models import User
from careapp.booking import queries
from careapp.booking.models import Booking, BookingStatus
from careapp.core import audit
from careapp.core.db import db, write_transaction
from careapp.core.i18n import gettext as _
from careapp.core.months import Month
from careapp.core.timefmt import local_date
from careapp.family.models import CalendarFeed
from careapp.households.models import Household

FEED_PAST_DAYS = 30  # past bookings (and recent cancellations) stay in the feed this long
# RFC 5545 STATUS of an event: a place not yet held is TENTATIVE; a cancelled booking is CANCELLED, which makes
# a subscribed phone take it off its calendar.
ICAL_STATUS = {
    BookingStatus.confirmed: "CONFIRMED", BookingStatus.checked_in: "CONFIRMED",
    BookingStatus.checked_out: "CONFIRMED", BookingStatus.no_show: "CONFIRMED",
    BookingStatus.offered: "TENTATIVE", BookingStatus.waitlisted: "TENTATIVE",
    BookingStatus.cancelled: "CANCELLED",
}


@dataclass(frozen=True)
class CalendarDay:
    day: date
    in_month: bool
    is_today: bool
    bookings: tuple[Booking, ...]


@dataclass(frozen=True)
class MonthCalendar:
    month: Month
    weeks: list[list[CalendarDay]]  # Monday first; the days before the 1st and after the last are of other months

    @property
    def booking_count(self) -> int:
        return sum(len(day.bookings) for week in self.weeks for day in week if day.in_month)


def month_calendar(household_id: int, month: Month, *, now: datetime) -> MonthCalendar:
    """The household's bookings (all but cancelled ones) by local day over the weeks that hold ``month``."""
    start, end = month.bounds()
    by_day: dict[date, list[Booking]] = defaultdict(list)
    for booking in queries.household_bookings_starting(household_id, starts_from=start, starts_before=end):
        by_day[local_date(booking.slot.starts_at)].append(booking)
    today = local_date(now)
    first = month.first_day - timedelta(days=month.first_day.weekday())
    last = month.last_day + timedelta(days=6 - month.last_day.weekday())
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    cells = [CalendarDay(day, (day.year, day.month) == (month.year, month.month), day == today,
                         tuple(by_day.get(day, ()))) for day in days]
    return MonthCalendar(month, [cells[i:i + 7] for i in range(0, len(cells), 7)])


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def live_feed(household_id: int) -> CalendarFeed | None:
    return db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.household_id == household_id,
                                                           CalendarFeed.revoked_at.is_(None)))


def _revoke_live_feeds(household_id: int, *, by: User, now: datetime) -> None:
    feeds = db.session.scalars(sa.select(CalendarFeed).where(CalendarFeed.household_id == household_id,
                                                             CalendarFeed.revoked_at.is_(None)))
    for feed in feeds:
        feed.revoked_at = now
        audit.record("calendar_feed.revoked", feed, actor=by, now=now, after={"household_id": household_id})


def make_feed_link(household_id: int, *, by: User, now: datetime) -> str:
    """A new private feed secret for the household (any older link stops working); returned once, kept hashed."""
    token = secrets.token_urlsafe(32)
    with write_transaction():
        _revoke_live_feeds(household_id, by=by, now=now)
        feed = CalendarFeed(household_id=household_id, token_hash=_token_hash(token), created_at=now,
                            created_by_id=by.id)
        db.session.add(feed)
        db.session.flush()
        audit.record("calendar_feed.made", feed, actor=by, now=now, after={"household_id": household_id})
    return token


def stop_feed(household_id: int, *, by: User, now: datetime) -> bool:
    """Turn the household's feed link off; False when there was none."""
    with write_transaction():
        if live_feed(household_id) is None:
            return False
        _revoke_live_feeds(household_id, by=by, now=now)
    return True


def household_for_feed(token: str) -> Household | None:
    """The household a live feed secret belongs to (None for an unknown or revoked one)."""
    feed = db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.token_hash == _token_hash(token),
                                                           CalendarFeed.revoked_at.is_(None)))
    return None if feed is None else db.session.get(Household, feed.household_id)


def feed_ics(household: Household, *, now: datetime, status_words: Mapping[BookingStatus, str]) -> bytes:
    """The household's bookings from ``FEED_PAST_DAYS`` ago on, as an iCalendar file (times in UTC)."""
    since = now - timedelta(days=FEED_PAST_DAYS)
    calendar = Calendar()
    calendar.add("prodid", "-//careapp//family calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{household.name} · careapp")
    for booking in queries.household_bookings_starting(household.id, starts_from=since, cancelled_since=since):
        calendar.add_component(_event(booking, now=now, status_words=status_words))
    return calendar.to_ical()


def _event(booking: Booking, *, now: datetime, status_words: Mapping[BookingStatus, str]) -> Event:
    slot, service = booking.slot, booking.slot.service
    point = service.service_point
    event = Event()
    event.add("uid", f"booking-{booking.id}@careapp")
    event.add("dtstamp", now.astimezone(timezone.utc))
    event.add("last-modified", booking.updated_at.astimezone(timezone.utc))
    event.add("dtstart", slot.starts_at.astimezone(timezone.utc))
    event.add("dtend", slot.ends_at.astimezone(timezone.utc))
    event.add("summary", f"{service.name} · {booking.recipient.name}")
    event.add("location", f"{point.name}, {point.address}")
    event.add("description", _("%(status)s: %(service)s for %(member)s at %(place)s.",
                               status=status_words[booking.status], service=service.name,
                               member=booking.recipient.name, place=point.name))
    event.add("status", ICAL_STATUS[booking.status])
    return event
