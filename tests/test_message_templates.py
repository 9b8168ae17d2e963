"""A partner's own message texts: which messages each kind sends, saving and resetting the wording, what a real
notification then says, every refusal, and the preview."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from careapp.booking import engine
from careapp.core.audit import AuditEntry
from careapp.core.db import db
from careapp.core.errors import BadInput, Forbidden, NotFound, RuleRefused
from careapp.notifications.models import MessageTemplate, Notification, Topic
from careapp.notifications.outbox import render
from careapp.notifications.templates import partner_templates, preview, reset_template, save_template, topics_for
from careapp.notifications.texts import default_text
from careapp.partners.models import ServiceKind
from tests.factories import make_slot
from tests.page_helpers import count

OWN_SUBJECT = "{partner}通知：{service} {date} 取消"
OWN_BODY = "{member} 您好，{partner}因故取消 {date} {start}–{end} 的「{service}」。给您添麻烦了。"


def audit_actions() -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_type == "message_template")
                                   .order_by(AuditEntry.id)))


def save(world, *, kind=ServiceKind.daycare, topic=Topic.slot_cancelled, language="zh_CN", subject=OWN_SUBJECT,
         body=OWN_BODY, by=None, partner=None):
    partner_id = partner if partner is not None else world.care_centre.partner.id
    return save_template(partner_id, kind, topic, language, subject, body, by=by or world.care_centre.manager,
                         now=world.now)


# --- which messages ---

def test_each_kind_has_the_topics_it_sends():
    everything = list(Topic)
    assert topics_for(ServiceKind.daycare) == [t for t in everything if t != Topic.kitchen_sheet]
    assert topics_for(ServiceKind.childcare) == [t for t in everything if t != Topic.kitchen_sheet]
    assert topics_for(ServiceKind.activity) == [t for t in everything if t != Topic.kitchen_sheet]
    assert topics_for(ServiceKind.meal) == [t for t in everything if t != Topic.reminder]  # meals send no reminders


def test_a_partner_has_every_message_of_the_kinds_it_offers_in_every_language(world):
    wordings = partner_templates(world.care_centre.partner.id)  # day care and lunch
    keys = [(w.service_kind, w.topic, w.language) for w in wordings]
    assert keys == [(kind, topic, language) for kind in (ServiceKind.daycare, ServiceKind.meal)
                    for topic in topics_for(kind) for language in ("zh_CN", "en")]
    assert not any(w.own for w in wordings)
    meal_confirmed = next(w for w in wordings if (w.service_kind, w.topic, w.language)
                          == (ServiceKind.meal, Topic.waitlist_confirmed, "en"))
    assert (meal_confirmed.subject, meal_confirmed.body) == (
        default_text(Topic.waitlist_confirmed, ServiceKind.meal, "en").subject,
        default_text(Topic.waitlist_confirmed, ServiceKind.meal, "en").body)
    assert {w.service_kind for w in partner_templates(world.nursery.partner.id)} == {ServiceKind.childcare}


# --- saving and resetting ---

def test_saving_makes_the_partners_own_wording_and_saving_again_replaces_it(world):
    saved = save(world)
    assert (saved.own, saved.subject, saved.body) == (True, OWN_SUBJECT, OWN_BODY)
    again = save(world, subject="取消通知：{service}", body="  {member}：场次取消了。\r\n请改约。  ")
    assert again.body == "{member}：场次取消了。\n请改约。"  # stripped, one kind of line break
    rows = list(db.session.scalars(sa.select(MessageTemplate)))
    assert len(rows) == 1
    assert (rows[0].subject, rows[0].updated_by_id) == ("取消通知：{service}", world.care_centre.manager.id)
    shown = {(w.service_kind, w.topic, w.language): w for w in partner_templates(world.care_centre.partner.id)}
    assert shown[(ServiceKind.daycare, Topic.slot_cancelled, "zh_CN")].own
    assert not shown[(ServiceKind.daycare, Topic.slot_cancelled, "en")].own
    assert not shown[(ServiceKind.meal, Topic.slot_cancelled, "zh_CN")].own
    assert audit_actions() == ["message_template.saved", "message_template.saved"]
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.object_type == "message_template")
                              .order_by(AuditEntry.id.desc()))
    assert entry.before["subject"] == OWN_SUBJECT and entry.after["subject"] == "取消通知：{service}"


def test_resetting_brings_back_careapps_wording_and_nothing_to_reset_is_fine(world):
    save(world)
    default = reset_template(world.care_centre.partner.id, ServiceKind.daycare, Topic.slot_cancelled, "zh_CN",
                             by=world.care_centre.manager, now=world.now)
    expected = default_text(Topic.slot_cancelled, ServiceKind.daycare, "zh_CN")
    assert (default.own, default.subject, default.body) == (False, expected.subject, expected.body)
    assert count(MessageTemplate) == 0
    again = reset_template(world.care_centre.partner.id, "daycare", "slot_cancelled", "zh_CN",
                           by=world.care_centre.manager, now=world.now)
    assert again == default
    assert audit_actions() == ["message_template.saved", "message_template.reset"]


def test_an_admin_may_reword_any_partners_messages(world):
    assert save(world, by=world.admin, partner=world.nursery.partner.id, kind=ServiceKind.childcare).own


# --- what families are sent ---

def cancelled_notice(world, service=None) -> Notification:
    """The partner cancels a slot with 李家's elder booked: the engine writes a slot_cancelled notice."""
    service = service or world.daycare
    slot = make_slot(service, world.care_centre.manager, world.now, capacity=5)
    elder = world.family.add_elder(world.now, name="李奶奶")
    engine.book(slot.id, elder.id, by=world.family.user, now=world.now)
    engine.cancel_slot(slot.id, by=world.care_centre.manager, now=world.now)
    db.session.rollback()
    return db.session.scalar(sa.select(Notification).where(Notification.slot_id == slot.id,
                                                           Notification.topic == Topic.slot_cancelled))


def test_a_real_notification_is_rendered_with_the_saved_wording_until_it_is_reset(world):
    save(world)
    notice = cancelled_notice(world)
    text = render(notice, "zh_CN")
    assert text.subject == "普康养老服务中心通知：日间照料 2026年12月2日 星期三 取消"
    assert text.body == ("李奶奶 您好，普康养老服务中心因故取消 2026年12月2日 星期三 08:30–11:30 的「日间照料」。"
                         "给您添麻烦了。")
    # Another language of the same message is still careapp's.
    assert render(notice, "en").subject == "Cancelled: 日间照料, Wednesday 2 December 2026 08:30"
    reset_template(world.care_centre.partner.id, ServiceKind.daycare, Topic.slot_cancelled, "zh_CN",
                   by=world.care_centre.manager, now=world.now)
    assert render(notice, "zh_CN").subject == "已取消：日间照料 2026年12月2日 星期三 08:30"


def test_the_wording_of_another_kind_or_partner_is_not_used(world):
    save(world, kind=ServiceKind.meal)  # the care centre's lunch, not its day care
    save(world, by=world.nursery.manager, partner=world.nursery.partner.id, kind=ServiceKind.childcare)
    assert render(cancelled_notice(world), "zh_CN").subject == "已取消：日间照料 2026年12月2日 星期三 08:30"


# --- refusals ---

@pytest.mark.parametrize("changes, field, message", [
    ({"subject": ""}, "subject", "Please write the subject."),
    ({"subject": "   "}, "subject", "Please write the subject."),
    ({"body": " \r\n "}, "body", "Please write the message."),
    ({"subject": "字" * 201}, "subject", "Please keep the subject to 200 characters (it has 201)."),
    ({"body": "字" * 2001}, "body", "Please keep the message to 2000 characters (it has 2001)."),
    ({"subject": "取消\n通知"}, "subject", "The subject is one line; please remove the line break."),
    ({"subject": "a\x00b"}, "subject", "Please remove the control characters"),
    ({"body": "{member} {name} at {place} {time}"}, "body",
     "careapp cannot fill in {name}, {time}. The placeholders you may use are {member}, {service}, {partner}, "
     "{place}, {date}, {start}, {end}, {offer_expires}, {details}, {sheet}."),
    ({"subject": "{Member}"}, "subject", "careapp cannot fill in {Member}."),
    ({"language": "fr"}, "language", "Messages are written in zh_CN or en."),
    ({"language": "zh"}, "language", "Messages are written in zh_CN or en."),
    ({"topic": Topic.kitchen_sheet}, "topic", "daycare services send no kitchen_sheet message"),
    ({"kind": ServiceKind.meal, "topic": Topic.reminder}, "topic", "meal services send no reminder message"),
    ({"topic": "birthday"}, "topic", "There is no message topic 'birthday'."),
    ({"kind": "bank"}, "service_kind", "There is no service kind 'bank'."),
])
def test_bad_wording_is_refused_naming_the_field_and_writes_nothing(world, changes, field, message):
    with pytest.raises(BadInput) as refused:
        save(world, **changes)
    assert message in refused.value.message
    assert field in refused.value.fields
    assert count(MessageTemplate) == 0 and audit_actions() == []


def test_the_longest_wording_is_accepted_counting_a_line_break_once(world):
    body = ("字" * 99 + "\r\n") * 20  # 2000 characters as stored, 2020 as a browser sends them
    saved = save(world, subject="字" * 200, body=body)
    assert len(saved.subject) == 200 and len(saved.body) == 2000 - 1  # the last line break is stripped


def test_a_kind_the_partner_does_not_offer_is_refused(world):
    with pytest.raises(RuleRefused) as refused:
        save(world, kind=ServiceKind.childcare)
    assert (refused.value.code, refused.value.fields) == ("kind_not_offered", {"service_kind": "not offered"})
    with pytest.raises(RuleRefused):
        reset_template(world.care_centre.partner.id, ServiceKind.childcare, Topic.reminder, "en",
                       by=world.care_centre.manager, now=world.now)
    assert count(MessageTemplate) == 0


@pytest.mark.parametrize("who", ["nursery_manager", "own_staff", "community_staff", "family"])
def test_only_the_partners_manager_may_reword_or_reset(world, who):
    user = {"nursery_manager": world.nursery.manager, "own_staff": world.care_centre.staff,
            "community_staff": world.community_staff, "family": world.family.user}[who]
    with pytest.raises(Forbidden):
        save(world, by=user)
    save(world)
    with pytest.raises(Forbidden):
        reset_template(world.care_centre.partner.id, ServiceKind.daycare, Topic.slot_cancelled, "zh_CN", by=user,
                       now=world.now)
    assert count(MessageTemplate) == 1


def test_an_unknown_partner_is_not_found(world):
    with pytest.raises(NotFound):
        save(world, by=world.admin, partner=999999)
    with pytest.raises(NotFound):
        partner_templates(999999)


# --- preview ---

def test_the_preview_fills_in_sample_facts_of_the_partner(world):
    text = preview(world.care_centre.partner.id, ServiceKind.meal, Topic.waitlist_confirmed, "en",
                   "For {member}: {service} {date}", "{partner}, {place}, {start}-{end}. {details} {unknown}",
                   now=world.now)
    assert text.subject == "For 王秀英: 午餐 Wednesday 2 December 2026"
    assert text.body == ("普康养老服务中心, 普康养老服务中心服务点（赭麓街道）, 09:00-11:30. The meal: eat at the canteen. "
                         "{unknown}")


def test_the_preview_of_each_topic_has_its_own_facts(world):
    partner = world.care_centre.partner.id
    offered = preview(partner, ServiceKind.daycare, Topic.place_offered, "zh_CN", "s", "{offer_expires}",
                      now=world.now)
    assert offered.body == "2026年12月2日 星期三 08:00"
    sheet = preview(partner, ServiceKind.meal, Topic.kitchen_sheet, "en", "s", "{sheet}", now=world.now).body
    assert "Meals in all: 12" in sheet and "番茄炒蛋 × 7" in sheet and "low salt × 3" in sheet
    child = preview(world.nursery.partner.id, ServiceKind.childcare, Topic.reminder, "zh_CN", "{member}", "b",
                    now=world.now)
    assert child.subject == "小明"
    default = default_text(Topic.reminder, ServiceKind.daycare, "zh_CN")
    shown = preview(partner, ServiceKind.daycare, Topic.reminder, "zh_CN", default.subject, default.body,
                    now=world.now)
    assert shown.subject == "提醒：王秀英 2026年12月2日 星期三 09:00 日间照料"
    assert "{" not in shown.body
