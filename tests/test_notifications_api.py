"""The notification routes of the JSON API: the caller's own notifications, newest first, paged by id;
marking one or all read; nobody else's, ever; bad query input named field by field."""
from __future__ import annotations

import pytest

from careapp.core.db import db
from careapp.notifications.models import Notification
from tests.api_helpers import bad_fields, bearer, call, error_of  # noqa: F401 (bearer is a fixture)
from tests.test_notifications_pages import (CONFIRMED_EN, CONFIRMED_ZH, kitchen_sheet, promoted_from_waitlist,
                                            reminders, set_language)


@pytest.fixture
def promotion(world, clock):
    return promoted_from_waitlist(world, clock.now())


def listed(client, headers, query: str = "") -> list[dict]:
    response = call(client, "GET", "/notifications" + (f"?{query}" if query else ""), headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_waiting_family_reads_its_confirmation_in_chinese(client, world, bearer, promotion):
    [notice] = listed(client, bearer(world.other_family.user))
    assert notice == {
        "id": promotion.notification.id, "topic": "waitlist_confirmed", "kind": "waitlist_confirmed",
        "subject": CONFIRMED_ZH, "body": notice["body"], "status": "active", "read": False, "read_at": None,
        "created_at": "2026-12-01T01:00:00+00:00", "booking_id": promotion.promoted.id,
        "slot_id": promotion.slot.id}
    assert notice["body"].startswith("好消息！张爷爷 已从候补名单转为正式预约")


def test_in_english_for_a_reader_who_chose_it(client, world, bearer, promotion):
    set_language(world.other_family.user, "en")
    [notice] = listed(client, bearer(world.other_family.user))
    assert notice["subject"] == CONFIRMED_EN
    assert notice["body"].startswith("Good news: 张爷爷 now has a place in 日间照料")


def test_an_offered_place(client, world, clock, bearer):
    promotion = promoted_from_waitlist(world, clock.now(), offer=True)
    [notice] = listed(client, bearer(world.other_family.user))
    assert (notice["topic"], notice["booking_id"]) == ("place_offered", promotion.promoted.id)
    assert "小红" in notice["body"] and "2026年12月1日 星期二 21:00" in notice["body"]


def test_another_household_sees_none_of_it_and_may_not_mark_it(client, world, bearer, promotion):
    headers = bearer(world.family.user)
    assert listed(client, headers) == []
    error_of(call(client, "POST", f"/notifications/{promotion.notification.id}/read", headers), 403, "forbidden")
    assert call(client, "POST", "/notifications/read-all", headers).get_json() == {"marked": 0}
    assert db.session.get(Notification, promotion.notification.id).read_at is None


def test_an_unknown_notification_is_404(client, world, bearer, promotion):
    error_of(call(client, "POST", "/notifications/999999/read", bearer(world.other_family.user)), 404, "not_found")


def test_newest_first_paged_by_before_id_and_limit(client, world, clock, bearer, promotion):
    ids = [promotion.notification.id, *reminders(promotion.promoted, clock.now(), 4)]
    newest_first = sorted(ids, reverse=True)
    headers = bearer(world.other_family.user)
    assert [n["id"] for n in listed(client, headers)] == newest_first
    first = [n["id"] for n in listed(client, headers, "limit=2")]
    second = [n["id"] for n in listed(client, headers, f"limit=2&before_id={first[-1]}")]
    third = [n["id"] for n in listed(client, headers, f"limit=2&before_id={second[-1]}")]
    assert (first, second, third) == (newest_first[:2], newest_first[2:4], newest_first[4:])
    assert listed(client, headers, f"before_id={min(ids)}") == []


def test_mark_one_read_then_all(client, world, clock, bearer, promotion):
    reminders(promotion.promoted, clock.now(), 2)
    headers = bearer(world.other_family.user)
    clock.advance(minutes=5)
    marked = call(client, "POST", f"/notifications/{promotion.notification.id}/read", headers)
    assert marked.status_code == 200
    answer = marked.get_json()
    assert (answer["id"], answer["read"], answer["read_at"]) == (promotion.notification.id, True,
                                                                 "2026-12-01T01:05:00+00:00")
    assert answer["subject"] == CONFIRMED_ZH
    # Reading it again changes nothing.
    clock.advance(minutes=5)
    again = call(client, "POST", f"/notifications/{promotion.notification.id}/read", headers).get_json()
    assert again["read_at"] == "2026-12-01T01:05:00+00:00"

    unread = listed(client, headers, "unread_only=true")
    assert len(unread) == 2 and not any(n["read"] for n in unread)
    assert call(client, "POST", "/notifications/read-all", headers).get_json() == {"marked": 2}
    assert listed(client, headers, "unread_only=true") == []
    assert all(n["read"] for n in listed(client, headers, "unread_only=false"))
    assert call(client, "POST", "/notifications/read-all", headers).get_json() == {"marked": 0}


def test_partner_staff_read_their_partners_kitchen_sheet(client, world, clock, bearer):
    sheet = kitchen_sheet(world, clock.now())
    for user in (world.care_centre.staff, world.care_centre.manager):
        [notice] = listed(client, bearer(user))
        assert (notice["id"], notice["topic"], notice["booking_id"]) == (sheet.id, "kitchen_sheet", None)
        assert notice["subject"] == "备餐单：午餐 2026年12月1日 星期二 11:30"
        assert "\n\n总份数: 0" in notice["body"]
    for user in (world.nursery.staff, world.family.user, world.community_staff, world.admin):
        headers = bearer(user)
        assert listed(client, headers) == []
        error_of(call(client, "POST", f"/notifications/{sheet.id}/read", headers), 403, "forbidden")
    marked = call(client, "POST", f"/notifications/{sheet.id}/read", bearer(world.care_centre.staff)).get_json()
    assert marked["read"] is True
    # Read for the partner: its manager sees it read too.
    assert listed(client, bearer(world.care_centre.manager), "unread_only=1") == []


def test_a_token_is_needed(client, promotion):
    error_of(call(client, "GET", "/notifications"), 401, "not_authenticated")
    error_of(call(client, "POST", "/notifications/read-all"), 401, "not_authenticated")


@pytest.mark.parametrize("query, field", [
    ("limit=0", "limit"), ("limit=101", "limit"), ("limit=-1", "limit"), ("limit=abc", "limit"),
    ("limit=1.5", "limit"), ("limit=1&limit=2", "limit"), ("limit=" + "9" * 5000, "limit"),
    ("before_id=0", "before_id"), ("before_id=-5", "before_id"), ("before_id=abc", "before_id"),
    ("before_id=2147483648", "before_id"), ("before_id=a%00b", "before_id"),
    ("unread_only=maybe", "unread_only"), ("unread_only=2", "unread_only"),
    ("surprise=1", "surprise"),
])
def test_bad_query_input_is_a_400_naming_the_field(client, world, bearer, query, field):
    fields = bad_fields(call(client, "GET", f"/notifications?{query}", bearer(world.family.user)))
    assert list(fields) == [field]


def test_the_routes_are_in_the_openapi_document(client):
    paths = call(client, "GET", "/openapi.json").get_json()["paths"]
    listing = paths["/api/v1/notifications"]["get"]
    assert listing["summary"] == "The caller's own notifications, newest first"
    assert {p["name"] for p in listing["parameters"]} == {"unread_only", "limit", "before_id"}
    assert set(paths["/api/v1/notifications/{notification_id}/read"]["post"]["responses"]) >= {"200", "401", "403",
                                                                                             "404"}
    assert "post" in paths["/api/v1/notifications/read-all"]


def test_the_caller_chooses_the_language_of_their_messages(client, world, bearer, promotion):
    headers = bearer(world.other_family.user)
    assert call(client, "GET", "/me", headers).get_json()["language"] == "zh_CN"
    response = call(client, "POST", "/me/language", headers, json={"language": "en"})
    assert response.status_code == 200 and response.get_json()["language"] == "en"
    [notice] = listed(client, headers)
    assert notice["subject"] == CONFIRMED_EN


@pytest.mark.parametrize("language", ["fr", "", None, 1, "zh-CN"])
def test_an_unknown_language_is_a_400_naming_the_field(client, world, bearer, language):
    headers = bearer(world.other_family.user)
    response = call(client, "POST", "/me/language", headers, json={"language": language})
    assert response.status_code == 400 and "language" in bad_fields(response)
    db.session.rollback()
    assert call(client, "GET", "/me", headers).get_json()["language"] == "zh_CN"
