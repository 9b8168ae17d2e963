"""The inbox page: a household's (or a partner's) messages, newest first, in the reader's language; marking
them read; the unread count in the nav; and nobody else's messages, ever.

Notifications are made the real way: a family cancels a one-place slot and the engine tells the family
waiting for it; the kitchen sheet is written by the meal job at the cutoff.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time

import pytest
import sqlalchemy as sa

from careapp.accounts.models import User
from careapp.booking import engine
from careapp.booking.models import Booking
from careapp.core.db import db, write_transaction
from careapp.meals.notices import send_kitchen_sheets
from careapp.notifications import outbox
from careapp.notifications.models import Notification, Topic
from careapp.notifications.views import PAGE_SIZE
from careapp.partners.models import Slot
from tests.factories import World, make_slot
from tests.page_helpers import follow, login, text

INBOX = "/notifications/"
CONFIRMED_ZH = "候补成功：张爷爷 2026年12月2日 星期三 08:30 日间照料"
CONFIRMED_EN = "Booked from the waiting list: 张爷爷, 日间照料, Wednesday 2 December 2026 08:30"


@dataclass
class Promotion:
    """A one-place slot that 李家 gave up, so 张家, who was waiting, got it (and was told)."""

    slot: Slot
    given_up: Booking
    promoted: Booking
    notification: Notification


def promoted_from_waitlist(world: World, now: datetime, *, offer: bool = False) -> Promotion:
    """李家 books the only place, 张家 waits, 李家 cancels: the engine writes 张家's notice (a place
    confirmed from the waiting list, or with ``offer`` the nursery's offer of the place)."""
    if offer:
        slot = make_slot(world.nursery.services["托小班"], world.nursery.manager, now, capacity=1)
        first, second = world.family.add_child(now, name="小明"), world.other_family.add_child(now, name="小红")
    else:
        slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=1)
        first, second = world.family.add_elder(now, name="王奶奶"), world.other_family.add_elder(now, name="张爷爷")
    given_up = engine.book(slot.id, first.id, by=world.family.user, now=now).booking
    waiting = engine.book(slot.id, second.id, by=world.other_family.user, now=now).booking
    engine.cancel(given_up.id, by=world.family.user, now=now)
    notification = db.session.scalars(sa.select(Notification).where(Notification.booking_id == waiting.id)).one()
    return Promotion(slot, given_up, waiting, notification)


def reminders(booking: Booking, now: datetime, how_many: int) -> list[int]:
    """``how_many`` more notifications of a booking (reminders of different lead times), oldest first."""
    with write_transaction():
        booking = db.session.get(Booking, booking.id)
        written = [outbox.add_once(outbox.booking_notification(booking, Topic.reminder, f"reminder:{minutes}m",
                                                               now=now))
                   for minutes in range(1, how_many + 1)]
        return [notification.id for notification in written]


def kitchen_sheet(world: World, now: datetime) -> Notification:
    """Today's lunch at the care centre, whose ordering closed at 09:00: the meal job sends its sheet."""
    make_slot(world.care_centre.services["午餐"], world.care_centre.manager, now, days_ahead=0, start=time(11, 30),
              hours=1)
    assert send_kitchen_sheets(now=now) == 1
    return db.session.scalars(sa.select(Notification).where(Notification.topic == Topic.kitchen_sheet)).one()


def set_language(user: User, language: str) -> None:
    with write_transaction():
        db.session.get(User, user.id).language = language


def message_ids(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'<li class="card message[^"]*" id="message-(\d+)"', page)]


def nav(page: str) -> str:
    return page.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]


@pytest.fixture
def promotion(world, clock) -> Promotion:
    return promoted_from_waitlist(world, clock.now())


# --- what the family sees ---

def test_the_waiting_family_sees_its_place_confirmed_in_chinese(client, world, promotion):
    login(client, world.other_family.user)
    page = text(client.get(INBOX))
    assert message_ids(page) == [promotion.notification.id]
    assert f'lang="zh-CN">{CONFIRMED_ZH}</h2>' in page
    assert "好消息！张爷爷 已从候补名单转为正式预约：普康养老服务中心「日间照料」" in page
    assert "2026年12月2日 星期三 08:30–11:30" in page
    assert '<strong class="badge">Unread</strong>' in page
    assert 'Received <time datetime="2026-12-01T01:00:00+00:00">2026-12-01 09:00</time>' in page
    assert f'<a href="/booking/slots/{promotion.slot.id}">See the slot this is about</a>' in page
    assert f'action="/notifications/{promotion.notification.id}/read"' in page
    assert "1 unread" in page and 'action="/notifications/read-all"' in page


def test_a_reader_who_chose_english_reads_it_in_english(client, world, promotion):
    set_language(world.other_family.user, "en")
    login(client, world.other_family.user)
    page = text(client.get(INBOX))
    assert f'<h2 id="message-{promotion.notification.id}-subject" lang="en">{CONFIRMED_EN}</h2>' in page
    assert "Good news: 张爷爷 now has a place in 日间照料 at 普康养老服务中心 on Wednesday 2 December 2026" in page
    assert CONFIRMED_ZH not in page


def test_an_offered_place_says_until_when_it_is_held(client, world, clock):
    promotion = promoted_from_waitlist(world, clock.now(), offer=True)
    assert promotion.notification.topic == Topic.place_offered
    login(client, world.other_family.user)
    page = text(client.get(INBOX))
    assert "有空位了：托小班 2026年12月2日 星期三 08:30" in page
    assert "小红 候补的「托小班」" in page and "为您保留到 2026年12月1日 星期二 21:00" in page


def test_the_family_that_cancelled_hears_nothing_and_cannot_touch_the_other_households_message(
        client, world, promotion):
    login(client, world.family.user)
    page = text(client.get(INBOX))
    assert message_ids(page) == [] and "张爷爷" not in page
    assert "No messages yet. Reminders of bookings coming up will appear here" in page
    assert "Messages</a>" in nav(page) and "new)" not in nav(page)
    refused = client.post(f"/notifications/{promotion.notification.id}/read")
    assert refused.status_code == 403
    assert "Sorry" in text(refused) and "This notification is not yours." in text(refused)
    assert db.session.get(Notification, promotion.notification.id).read_at is None
    follow(client, client.post("/notifications/read-all"))
    assert db.session.get(Notification, promotion.notification.id).read_at is None


def test_an_unknown_message_is_404(client, world, promotion):
    login(client, world.other_family.user)
    response = client.post("/notifications/999999/read")
    assert response.status_code == 404
    assert "No such notification." in text(response)


# --- reading ---

def test_marking_one_read_flashes_goes_back_and_clears_the_nav_count(client, world, clock, promotion):
    login(client, world.other_family.user)
    assert "Messages (1 new)</a>" in nav(text(client.get("/family/")))
    clock.advance(minutes=5)
    response = client.post(f"/notifications/{promotion.notification.id}/read")
    assert response.headers["Location"] == f"/notifications/#message-{promotion.notification.id}"
    page = follow(client, response)
    assert "The message is marked as read." in page
    assert '<span class="muted">Read</span>' in page and "Unread" not in page
    assert f'/notifications/{promotion.notification.id}/read"' not in page
    assert "All your messages are read." in page and 'action="/notifications/read-all"' not in page
    assert "Messages</a>" in nav(page) and "new)" not in nav(page)
    read_at = clock.now()
    assert db.session.get(Notification, promotion.notification.id).read_at == read_at
    # Again: nothing changes (the first reading time stays).
    clock.advance(minutes=5)
    follow(client, client.post(f"/notifications/{promotion.notification.id}/read"))
    assert db.session.get(Notification, promotion.notification.id).read_at == read_at


def test_mark_all_read_marks_every_unread_one_and_says_how_many(client, world, clock, promotion):
    reminders(promotion.promoted, clock.now(), 2)
    login(client, world.other_family.user)
    page = text(client.get(INBOX))
    assert "Messages (3 new)</a>" in nav(page) and "3 unread" in page
    page = follow(client, client.post("/notifications/read-all"))
    assert "3 messages are marked as read." in page
    assert "Unread" not in page and "new)" not in nav(page)
    assert follow(client, client.post("/notifications/read-all")).count("There were no unread messages.") == 1


def test_newest_first_fifty_a_page_and_older_messages_by_link(client, world, clock, promotion):
    ids = [promotion.notification.id, *reminders(promotion.promoted, clock.now(), PAGE_SIZE + 1)]
    newest_first = sorted(ids, reverse=True)
    login(client, world.other_family.user)
    first = text(client.get(INBOX))
    assert message_ids(first) == newest_first[:PAGE_SIZE]
    older = f'<a href="/notifications/?before={newest_first[PAGE_SIZE - 1]}">Older messages</a>'
    assert older in first and "Back to the newest messages" not in first
    second = text(client.get(f"{INBOX}?before={newest_first[PAGE_SIZE - 1]}"))
    assert message_ids(second) == newest_first[PAGE_SIZE:]
    assert "Older messages" not in second and "Back to the newest messages" in second
    # Marking one read on the second page goes back to that page.
    response = client.post(f"/notifications/{ids[0]}/read?before={newest_first[PAGE_SIZE - 1]}")
    assert response.headers["Location"] == f"/notifications/?before={newest_first[PAGE_SIZE - 1]}#message-{ids[0]}"
    assert message_ids(text(client.get(f"{INBOX}?before={min(ids)}"))) == []
    assert "No older messages." in text(client.get(f"{INBOX}?before={min(ids)}"))


@pytest.mark.parametrize("before", ["abc", "0", "-1", "1.5", str(2**31), "9" * 5000, "a\x00b"])
def test_a_bad_older_messages_link_is_a_clear_400(client, world, promotion, before):
    login(client, world.other_family.user)
    response = client.get(INBOX, query_string={"before": before})
    assert response.status_code == 400
    assert "This link to older messages is not valid." in text(response)


def test_an_empty_before_is_the_newest_page(client, world, promotion):
    login(client, world.other_family.user)
    response = client.get(f"{INBOX}?before=")
    assert response.status_code == 200
    assert message_ids(text(response)) == [promotion.notification.id]


# --- partners and district staff ---

def test_partner_staff_read_their_kitchen_sheet_without_a_slot_link(client, other_client, world, clock):
    sheet = kitchen_sheet(world, clock.now())
    login(client, world.care_centre.staff)
    page = text(client.get(INBOX))
    assert message_ids(page) == [sheet.id]
    assert "备餐单：午餐 2026年12月1日 星期二 11:30" in page
    assert '<p class="message-body" lang="zh-CN">普康养老服务中心「午餐」2026年12月1日 星期二 11:30 的订餐已截止，以下是备餐单：\n\n总份数: 0' in page
    assert "/static/pages/inbox.css" in page  # .message-body keeps its line breaks (a static file, as the CSP asks)
    assert "See the slot this is about" not in page
    assert "Messages (1 new)</a>" in nav(page)
    login(other_client, world.care_centre.manager)
    assert "Messages (1 new)</a>" in nav(text(other_client.get(f"/partners/{world.care_centre.partner.id}")))
    # The nursery's staff and the families read none of it.
    for user in (world.nursery.staff, world.family.user):
        other_client.post("/logout")
        login(other_client, user)
        assert message_ids(text(other_client.get(INBOX))) == []
        assert other_client.post(f"/notifications/{sheet.id}/read").status_code == 403


def test_community_staff_are_told_who_gets_messages(client, world, promotion):
    login(client, world.community_staff)
    page = text(client.get(INBOX))
    assert "Messages go to families and to partner organisations" in page
    assert message_ids(page) == [] and "Messages" not in nav(page)
    assert client.post(f"/notifications/{promotion.notification.id}/read").status_code == 403
    assert "There were no unread messages." in follow(client, client.post("/notifications/read-all"))


# --- the nav's count ---

@pytest.fixture
def notification_queries(app):
    """The SQL statements that read the notification table, while the test runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if re.search(r"\bFROM notification\b", statement):
            seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(db.engine, "before_cursor_execute", record)


def test_the_nav_count_is_one_query_and_only_for_families_and_partners(client, other_client, world, promotion,
                                                                      notification_queries):
    login(client, world.other_family.user)
    notification_queries.clear()
    assert "Messages (1 new)</a>" in nav(text(client.get("/family/")))
    assert len(notification_queries) == 1
    login(other_client, world.community_staff)
    notification_queries.clear()
    assert other_client.get("/community/").status_code == 200
    assert notification_queries == []
    anonymous = text(client.application.test_client().get("/login"))
    assert "Messages" not in nav(anonymous) and notification_queries == []


# --- the language of one's messages ---

def test_a_family_chooses_english_on_the_inbox_and_reads_its_messages_in_english(client, world, promotion):
    login(client, world.other_family.user)
    page = text(client.get(INBOX))
    assert '<option selected value="zh_CN">中文</option>' in page
    after = follow(client, client.post("/notifications/language", data={"language": "en"}))
    assert "Your messages will be in English." in after and CONFIRMED_EN in after
    assert '<option selected value="en">English</option>' in after
    db.session.rollback()
    assert db.session.get(User, world.other_family.user.id).language == "en"
    back = follow(client, client.post("/notifications/language", data={"language": "zh_CN"}))
    assert "您的消息将使用中文。" in back and CONFIRMED_ZH in back


@pytest.mark.parametrize("language", ["fr", "", "zh"])
def test_a_language_careapp_does_not_speak_is_refused_and_nothing_changes(client, world, promotion, language):
    login(client, world.other_family.user)
    page = follow(client, client.post("/notifications/language", data={"language": language}))
    assert "Not a valid choice" in page or "This field is required" in page
    db.session.rollback()
    assert db.session.get(User, world.other_family.user.id).language == "zh_CN"


def test_the_inbox_page_costs_the_same_few_statements_for_three_messages_or_forty(client, world, clock, promotion):
    from tests.statements import count_statements

    login(client, world.other_family.user)
    with count_statements(selects_only=True) as few:
        client.get(INBOX)
    booking = db.session.get(Booking, promotion.promoted.id)
    with write_transaction():
        for i in range(40):
            outbox.add_once(outbox.booking_notification(booking, Topic.reminder, f"reminder:{i}m", now=clock.now()))
    with count_statements(selects_only=True) as many:
        assert len(message_ids(text(client.get(INBOX)))) == 41
    assert len(many) == len(few)
