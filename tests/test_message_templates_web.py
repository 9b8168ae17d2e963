"""A partner's message texts on its pages and through the API: the list, editing, previewing, resetting,
refusals beside their fields, and who may."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from careapp.core.db import db
from careapp.notifications.models import MessageTemplate, Topic
from careapp.notifications.templates import save_template
from careapp.notifications.texts import default_text
from careapp.partners.models import ServiceKind
from tests.api_helpers import bearer, call, error_of  # noqa: F401  (bearer: a fixture)
from tests.page_helpers import follow, login, text

DAYCARE_CANCELLED = "kind=daycare&topic=slot_cancelled&language=zh_CN"
WORDING = {"subject": "取消通知：{service} {date}", "body": "{member} 您好：{partner}取消了 {start} 的场次。"}


def edit_url(world, query=DAYCARE_CANCELLED) -> str:
    return f"/partners/{world.care_centre.partner.id}/messages/edit?{query}"


def own_row() -> MessageTemplate | None:
    db.session.rollback()
    return db.session.scalar(sa.select(MessageTemplate))


# --- pages ---

def test_the_dashboard_links_managers_to_their_message_texts(client, world):
    link = f'href="/partners/{world.care_centre.partner.id}/messages"'
    login(client, world.care_centre.manager)
    assert link in text(client.get(f"/partners/{world.care_centre.partner.id}"))
    client.post("/logout")
    login(client, world.care_centre.staff)
    assert link not in text(client.get(f"/partners/{world.care_centre.partner.id}"))


def test_the_list_has_a_table_per_kind_saying_whose_wording_each_message_is(client, world):
    save_template(world.care_centre.partner.id, ServiceKind.meal, Topic.kitchen_sheet, "en", "Sheet {date}",
                  "{sheet}", by=world.care_centre.manager, now=world.now)
    login(client, world.care_centre.manager)
    response = client.get(f"/partners/{world.care_centre.partner.id}/messages")
    assert response.status_code == 200
    page = text(response)
    assert page.index("<h2 id=\"kind-daycare\">Day care</h2>") < page.index("<h2 id=\"kind-meal\">Meal help</h2>")
    assert "childcare" not in page
    assert "Reminder before a booked slot" in page and "Kitchen sheet to your staff when ordering closes" in page
    assert page.count("<strong>Your own wording</strong>") == 1 and page.count("<td>careapp's wording</td>") == 19
    assert "Sheet {date}" in page
    assert (f"/partners/{world.care_centre.partner.id}/messages/edit?kind=meal&amp;topic=kitchen_sheet&amp;"
            "language=en") in response.get_data(as_text=True)


def test_the_edit_page_shows_the_wording_the_placeholders_and_a_preview(client, world):
    login(client, world.care_centre.manager)
    response = client.get(edit_url(world))
    assert response.status_code == 200
    page = text(response)
    default = default_text(Topic.slot_cancelled, ServiceKind.daycare, "zh_CN")
    assert f'value="{default.subject}"' in page and default.body in page
    assert "{offer_expires}" in page and "when an offered place must be accepted by" in page
    assert "很抱歉，普康养老服务中心取消了「日间照料」2026年12月2日 星期三 09:00–11:30 的场次，王秀英 的预约随之取消。" in page
    assert "Back to careapp's wording" not in page  # nothing of its own to reset yet


def test_saving_on_the_page_then_resetting(client, world):
    login(client, world.care_centre.manager)
    response = client.post(edit_url(world), data=WORDING)
    assert response.headers["Location"] == edit_url(world)
    page = follow(client, response)
    assert "is saved." in page and "your own wording" in page
    assert "王秀英 您好：普康养老服务中心取消了 09:00 的场次。" in page  # the preview of the saved words
    assert (own_row().subject, own_row().body) == (WORDING["subject"], WORDING["body"])
    reset = client.post(f"/partners/{world.care_centre.partner.id}/messages/reset?{DAYCARE_CANCELLED}")
    assert reset.headers["Location"] == edit_url(world)
    assert "is back to careapp's wording." in follow(client, reset)
    assert own_row() is None


@pytest.mark.parametrize("changes, field, message", [
    ({"subject": ""}, "subject", "Please write the subject."),
    ({"body": "   "}, "body", "Please write the message."),
    ({"subject": "取消\r\n通知"}, "subject", "The subject is one line; please remove the line break."),
    ({"body": "{member} {name}"}, "body", "careapp cannot fill in {name}. The placeholders you may use are {member}"),
    ({"body": "x" * 2001}, "body", "Please keep the message to 2000 characters (it has 2001)."),
    ({"subject": "a\x00b"}, "subject", "Please remove the control characters"),
])
def test_a_refused_save_shows_the_error_beside_the_field_and_writes_nothing(client, world, changes, field, message):
    login(client, world.care_centre.manager)
    response = client.post(edit_url(world), data={**WORDING, **changes})
    assert response.status_code == 400
    assert f'id="{field}-error">{message}' in text(response)
    assert own_row() is None


@pytest.mark.parametrize("query", [
    "", "kind=daycare&topic=slot_cancelled", "kind=bank&topic=slot_cancelled&language=en",
    "kind=daycare&topic=kitchen_sheet&language=en", "kind=meal&topic=reminder&language=en",
    "kind=daycare&topic=birthday&language=en", "kind=daycare&topic=reminder&language=fr",
    "kind=childcare&topic=reminder&language=en",  # the care centre offers no childcare
])
def test_a_message_the_partner_does_not_send_is_the_404_page(client, world, query):
    login(client, world.care_centre.manager)
    for response in (client.get(edit_url(world, query)), client.post(edit_url(world, query), data=WORDING),
                     client.post(f"/partners/{world.care_centre.partner.id}/messages/reset?{query}")):
        assert response.status_code == 404
        assert "Nothing is here" in text(response)
    assert own_row() is None


@pytest.mark.parametrize("who, status", [("nursery_manager", 403), ("own_staff", 403), ("community_staff", 403),
                                         ("family", 403), ("admin", 200)])
def test_only_the_partners_manager_and_admins_may_open_or_change_its_messages(client, world, who, status):
    user = {"nursery_manager": world.nursery.manager, "own_staff": world.care_centre.staff,
            "community_staff": world.community_staff, "family": world.family.user, "admin": world.admin}[who]
    login(client, user)
    partner_id = world.care_centre.partner.id
    assert client.get(f"/partners/{partner_id}/messages").status_code == status
    assert client.get(edit_url(world)).status_code == status
    saved = client.post(edit_url(world), data=WORDING)
    assert saved.status_code == (302 if status == 200 else 403)
    assert (own_row() is not None) == (status == 200)
    assert client.post(f"/partners/{partner_id}/messages/reset?{DAYCARE_CANCELLED}").status_code == (
        302 if status == 200 else 403)


def test_an_unknown_partner_is_404(client, world):
    login(client, world.admin)
    assert client.get("/partners/999999/messages").status_code == 404
    assert client.get(f"/partners/999999/messages/edit?{DAYCARE_CANCELLED}").status_code == 404


# --- API ---

def test_the_api_lists_saves_and_resets(client, world, bearer):
    headers = bearer(world.care_centre.manager)
    path = f"/partners/{world.care_centre.partner.id}/message-templates"
    listed = call(client, "GET", path, headers)
    assert listed.status_code == 200
    items = listed.get_json()
    assert len(items) == 2 * 5 * 2 and not any(item["own"] for item in items)
    assert set(items[0]) == {"service_kind", "topic", "language", "subject", "body", "own"}
    key = {"service_kind": "meal", "topic": "waitlist_closed", "language": "en"}
    saved = call(client, "POST", path, headers, json={**key, "subject": "No place: {service}",
                                                      "body": "Sorry, {member}."})
    assert saved.status_code == 200
    assert saved.get_json() == {**key, "subject": "No place: {service}", "body": "Sorry, {member}.", "own": True}
    mine = [item for item in call(client, "GET", path, headers).get_json() if item["own"]]
    assert [(item["service_kind"], item["topic"], item["language"]) for item in mine] == [
        ("meal", "waitlist_closed", "en")]
    reset = call(client, "POST", path + "/reset", headers, json=key)
    default = default_text(Topic.waitlist_closed, ServiceKind.meal, "en")
    assert reset.status_code == 200
    assert reset.get_json() == {**key, "subject": default.subject, "body": default.body, "own": False}
    assert own_row() is None


@pytest.mark.parametrize("changes, status, field", [
    ({"body": "{member} {nom}"}, 400, "body"),
    ({"subject": "a\nb"}, 400, "subject"),
    ({"subject": ""}, 400, "subject"),
    ({"body": "x" * 2001}, 400, "body"),
    ({"language": "fr"}, 400, "language"),
    ({"topic": "kitchen_sheet"}, 400, "topic"),
    ({"topic": "birthday"}, 400, "topic"),
    ({"service_kind": "childcare"}, 422, "service_kind"),
])
def test_the_api_refuses_bad_wording_naming_the_field(client, world, bearer, changes, status, field):
    body = {"service_kind": "daycare", "topic": "reminder", "language": "en", **WORDING, **changes}
    response = call(client, "POST", f"/partners/{world.care_centre.partner.id}/message-templates",
                    bearer(world.care_centre.manager), json=body)
    assert field in error_of(response, status)["fields"]
    assert own_row() is None


def test_the_api_names_unknown_placeholders_and_the_allowed_ones(client, world, bearer):
    body = {"service_kind": "daycare", "topic": "reminder", "language": "en", "subject": "Hi",
            "body": "{member} {nom}"}
    error = error_of(call(client, "POST", f"/partners/{world.care_centre.partner.id}/message-templates",
                          bearer(world.care_centre.manager), json=body), 400, "bad_input")
    assert "{nom}" in error["message"] and "{offer_expires}" in error["message"]


@pytest.mark.parametrize("who", ["nursery_manager", "own_staff", "community_staff"])
def test_the_api_refuses_anyone_but_the_partners_manager(client, world, bearer, who):
    user = {"nursery_manager": world.nursery.manager, "own_staff": world.care_centre.staff,
            "community_staff": world.community_staff}[who]
    headers, path = bearer(user), f"/partners/{world.care_centre.partner.id}/message-templates"
    key = {"service_kind": "daycare", "topic": "reminder", "language": "en"}
    error_of(call(client, "GET", path, headers), 403, "forbidden")
    error_of(call(client, "POST", path, headers, json={**key, **WORDING}), 403, "forbidden")
    error_of(call(client, "POST", path + "/reset", headers, json=key), 403, "forbidden")
    assert own_row() is None
