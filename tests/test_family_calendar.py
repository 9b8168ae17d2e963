"""The family month calendar and the private iCalendar feed of a household's bookings."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, time, timezone

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from careapp.booking import engine
from careapp.core.audit import AuditEntry
from careapp.core.db import db
from careapp.family.models import CalendarFeed
from tests.factories import make_slot
from tests.page_helpers import follow, login, text

UTC = timezone.utc
LINK = re.compile(r'value="(http://[^"]+/calendar/([A-Za-z0-9_-]+)\.ics)"')


@pytest.fixture
def bookings(world, clock):
    """The family's elder confirmed (Dec 2), waitlisted (Dec 3) and cancelled (Dec 4); its child offered a place
    (Dec 5); the other family's elder confirmed in the same slots."""
    now = clock.now()
    family, other = world.family, world.other_family
    elder, child = family.add_elder(now), family.add_child(now)
    other_elder, other_child = other.add_elder(now, name="张爷爷"), other.add_child(now, name="小红")
    manager, nursery_manager = world.care_centre.manager, world.nursery.manager
    confirmed_slot = make_slot(world.daycare, manager, now, days_ahead=1, capacity=2)
    full_slot = make_slot(world.daycare, manager, now, days_ahead=2, start=time(13, 0), capacity=1)
    cancelled_slot = make_slot(world.daycare, manager, now, days_ahead=3, capacity=2)
    offer_slot = make_slot(world.nursery.services["托小班"], nursery_manager, now, days_ahead=4, capacity=1)
    confirmed = engine.book(confirmed_slot.id, elder.id, by=family.user, now=now).booking
    engine.book(confirmed_slot.id, other_elder.id, by=other.user, now=now)
    engine.book(full_slot.id, other_elder.id, by=other.user, now=now)
    waitlisted = engine.book(full_slot.id, elder.id, by=family.user, now=now).booking
    cancelled = engine.book(cancelled_slot.id, elder.id, by=family.user, now=now).booking
    engine.cancel(cancelled.id, by=family.user, now=now)
    taken = engine.book(offer_slot.id, other_child.id, by=other.user, now=now).booking
    offered = engine.book(offer_slot.id, child.id, by=family.user, now=now).booking
    engine.cancel(taken.id, by=other.user, now=now)
    return {"confirmed": confirmed.id, "waitlisted": waitlisted.id, "cancelled": cancelled.id,
            "offered": offered.id}


def calendar_url(world, month: str | None = None) -> str:
    url = f"/family/households/{world.family.household.id}/calendar"
    return url + (f"?month={month}" if month else "")


def make_link(client, world) -> tuple[str, str]:
    """POST the household page's button; the full link and its secret, read off the page shown once."""
    response = client.post(f"/family/households/{world.family.household.id}/calendar-link")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    link, token = LINK.search(text(response)).groups()
    return link, token


def feed(client, token: str) -> Calendar:
    response = client.get(f"/calendar/{token}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    return Calendar.from_ical(response.get_data())


def plain(response) -> str:
    """The page with its whitespace collapsed and the <time> tags left out, to read as one sees it."""
    return re.sub(r"\s+", " ", re.sub(r"</?time[^>]*>", "", text(response)))


def events(calendar: Calendar) -> dict[str, object]:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


# The month page

def test_month_lists_each_days_bookings_with_status_in_words(client, world, bookings):
    login(client, world.family.user)
    response = client.get(calendar_url(world, "2026-12"))
    page, words = text(response), plain(response)
    assert "<h1>李家: December 2026</h1>" in page
    assert '08:30–11:30 日间照料 · 王奶奶 <span class="booking-status">(Confirmed)</span>' in words
    assert '13:00–16:00 日间照料 · 王奶奶 <span class="booking-status">(On the waiting list)</span>' in words
    assert '托小班 · 小明 <span class="booking-status">(Place offered)</span>' in words
    assert "Cancelled" not in page          # a cancelled booking is not on the calendar
    assert "张爷爷" not in page and "小红" not in page  # nor another household's
    # Monday first: the grid of December 2026 runs from Monday 30 November to Sunday 3 January.
    days = re.findall(r'<time datetime="(\d{4}-\d\d-\d\d)">', page)
    assert (days[0], days[-1], len(days)) == ("2026-11-30", "2027-01-03", 35)
    today = re.search(r'<li class="day[^"]*"\s+aria-current="date">\s*<h2 class="day-name"><time datetime="([^"]+)">'
                      r'.*?</time>\s*<strong class="badge">Today</strong>', page)
    assert today.group(1) == "2026-12-01"
    assert '?month=2026-11" rel="prev">‹ November 2026' in page
    assert '?month=2027-01" rel="next">January 2027 ›' in page


def test_this_month_by_default_and_the_household_page_links_to_it(client, world, bookings):
    login(client, world.family.user)
    assert "<h1>李家: December 2026</h1>" in text(client.get(calendar_url(world)))
    assert f'href="{calendar_url(world)}"' in text(client.get("/family/"))


def test_months_end_at_local_midnight(client, world, clock):
    """A slot at 00:30 on 1 January in Shanghai is 16:30 UTC on 31 December: it belongs to January."""
    now = clock.now()
    elder = world.family.add_elder(now)
    late = make_slot(world.daycare, world.care_centre.manager, now, days_ahead=30, start=time(22, 0), hours=1)
    early = make_slot(world.daycare, world.care_centre.manager, now, days_ahead=31, start=time(0, 30), hours=1)
    assert early.starts_at.astimezone(UTC) == datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
    for slot in (late, early):
        engine.book(slot.id, elder.id, by=world.family.user, now=now)
    login(client, world.family.user)
    december = plain(client.get(calendar_url(world, "2026-12")))
    january = plain(client.get(calendar_url(world, "2027-01")))
    assert "22:00–23:00" in december and "00:30–01:30" not in december
    assert "00:30–01:30" in january and "22:00–23:00" not in january


def test_an_empty_month_says_so_and_points_to_find_care(client, world, bookings):
    login(client, world.family.user)
    page = text(client.get(calendar_url(world, "2027-03")))
    assert "No bookings in March 2027." in page
    assert 'href="/booking/slots">Find care</a>' in page
    assert 'class="month-grid"' not in page


@pytest.mark.parametrize("month", ["2026-13", "december", "1999-12"])
def test_a_bad_month_is_refused_plainly(client, world, month):
    login(client, world.family.user)
    response = client.get(calendar_url(world, month))
    assert response.status_code == 400
    assert "for example 2026-11" in text(response)


def test_another_family_may_not_see_the_calendar_but_community_staff_may(client, world, bookings):
    login(client, world.other_family.user)
    assert client.get(calendar_url(world)).status_code == 403
    assert client.post(f"/family/households/{world.family.household.id}/calendar-link").status_code == 403
    assert client.post(f"/family/households/{world.family.household.id}/calendar-link/stop").status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarFeed)) == 0
    login(client, world.community_staff)
    assert "王奶奶" in text(client.get(calendar_url(world)))


# The feed

def test_the_feed_has_the_households_bookings_in_utc_with_their_status(client, world, bookings, other_client):
    login(client, world.family.user)
    link, token = make_link(client, world)
    assert link == f"http://localhost/calendar/{token}.ics"
    assert len(token) >= 43  # 32 random bytes
    found = events(feed(other_client, token))  # a phone: nobody logged in
    assert set(found) == {f"booking-{bookings[name]}@careapp"
                          for name in ("confirmed", "waitlisted", "cancelled", "offered")}
    confirmed = found[f"booking-{bookings['confirmed']}@careapp"]
    assert str(confirmed["SUMMARY"]) == "日间照料 · 王奶奶"
    assert str(confirmed["LOCATION"]) == "普康养老服务中心服务点, 赭麓街道"
    assert "Confirmed" in str(confirmed["DESCRIPTION"])
    # 08:30-11:30 in Shanghai on 2 December is 00:30-03:30 UTC, written in UTC (…Z).
    assert confirmed["DTSTART"].dt == datetime(2026, 12, 2, 0, 30, tzinfo=UTC)
    assert confirmed["DTEND"].dt == datetime(2026, 12, 2, 3, 30, tzinfo=UTC)
    assert "DTSTART:20261202T003000Z" in other_client.get(f"/calendar/{token}.ics").get_data(as_text=True)
    statuses = {name: str(found[f"booking-{bookings[name]}@careapp"]["STATUS"]) for name in bookings}
    assert statuses == {"confirmed": "CONFIRMED", "waitlisted": "TENTATIVE", "cancelled": "CANCELLED",
                        "offered": "TENTATIVE"}
    everything = other_client.get(f"/calendar/{token}.ics").get_data(as_text=True)
    assert "张爷爷" not in everything and "小红" not in everything  # only this household


def test_past_bookings_stay_thirty_days_and_so_do_cancellations(client, world, bookings, clock):
    login(client, world.family.user)
    _, token = make_link(client, world)
    clock.advance(days=20)  # the bookings of 2-5 December are now past, the cancellation 20 days old
    assert f"booking-{bookings['confirmed']}@careapp" in events(feed(client, token))
    assert f"booking-{bookings['cancelled']}@careapp" in events(feed(client, token))
    clock.advance(days=15)  # 35 days on: the bookings started more than 30 days ago
    assert events(feed(client, token)) == {}


def test_the_secret_is_stored_hashed_and_making_a_new_link_revokes_the_old(client, world, bookings, other_client):
    login(client, world.family.user)
    _, first = make_link(client, world)
    feed_row = db.session.scalars(sa.select(CalendarFeed)).one()
    assert feed_row.token_hash == hashlib.sha256(first.encode()).hexdigest()
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM calendar_feed").all()
    assert first not in repr(rows)
    page = text(client.get("/family/"))
    assert "Make a new link" in page and first not in page  # the link is shown once only
    _, second = make_link(client, world)
    assert other_client.get(f"/calendar/{first}.ics").status_code == 404
    assert other_client.get(f"/calendar/{second}.ics").status_code == 200
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_type == "calendar_feed")
                                 .order_by(AuditEntry.id)).all()
    assert actions == ["calendar_feed.made", "calendar_feed.revoked", "calendar_feed.made"]


def test_turning_the_link_off(client, world, bookings, other_client):
    login(client, world.family.user)
    _, token = make_link(client, world)
    response = client.post(f"/family/households/{world.family.household.id}/calendar-link/stop")
    assert "The calendar link is turned off." in follow(client, response)
    assert other_client.get(f"/calendar/{token}.ics").status_code == 404
    response = client.post(f"/family/households/{world.family.household.id}/calendar-link/stop")
    assert "There was no calendar link to turn off." in follow(client, response)


@pytest.mark.parametrize("token", ["nope", "x" * 43, "x" * 5000])
def test_an_unknown_link_is_404(client, world, token):
    assert client.get(f"/calendar/{token}.ics").status_code == 404


def test_the_feed_link_opens_nothing_else(client, world, bookings, other_client):
    """The secret is for the feed only: it logs nobody in."""
    login(client, world.family.user)
    _, token = make_link(client, world)
    other_client.get(f"/calendar/{token}.ics")
    assert other_client.get("/family/").headers["Location"].startswith("/login")
    assert other_client.get(calendar_url(world)).headers["Location"].startswith("/login")


def test_community_staff_make_a_link_for_a_household(client, world, bookings):
    login(client, world.community_staff)
    _, token = make_link(client, world)
    assert db.session.scalars(sa.select(CalendarFeed)).one().household_id == world.family.household.id
    assert f"booking-{bookings['confirmed']}@careapp" in events(feed(client, token))
