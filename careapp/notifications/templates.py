"""Partner managers reword careapp's messages: per service kind the partner offers, topic and language.

A partner's own wording (a ``MessageTemplate`` row) replaces careapp's default for that service kind,
topic and language; resetting it deletes the row, and the default applies again. Wording is checked
when it is saved (length, one-line subject, known placeholders only), so what
:func:`careapp.notifications.outbox.render` later fills in is always something a family can read.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from careapp.accounts.models import User
from careapp.booking.policies import policy_for
from careapp.core import audit
from careapp.core.db import db, write_transaction
from careapp.core.errors import BadInput, Forbidden, RuleRefused
from careapp.core.i18n import gettext as _, lazy_gettext as _l
from careapp.core.timefmt import from_local, local_date
from careapp.core.validation import CONTROL_CHARACTERS
from careapp.households.models import RecipientKind
from careapp.partners.admin_services import existing_partner
from careapp.notifications.models import LANGUAGES, MessageTemplate, Topic
from careapp.notifications.texts import PLACEHOLDERS, Text, default_text, fill, unknown_placeholders, values_for
from careapp.partners.models import PartnerOrganisation, Service, ServiceKind, ServicePoint

SUBJECT_MAX, BODY_MAX = 200, 2000
# The refusal of a missing subject or message (as the page calls the body).
REQUIRED = {"subject": _l("Please write the subject."), "body": _l("Please write the message.")}

# The facts a preview is filled with (what a real notification carries, made up).
SAMPLE_ELDER, SAMPLE_CHILD = "王秀英", "小明"
SAMPLE_START, SAMPLE_END, SAMPLE_OFFER_EXPIRES = time(9, 0), time(11, 30), time(8, 0)
SAMPLE_MEAL_MODE = "dine_in"
SAMPLE_SHEET: dict[str, Any] = {
    "total": 12,
    "by_dish": [["番茄炒蛋", 7], ["清蒸鱼", 5]],
    "by_mode": [["dine_in", 8], ["delivery", 4]],
    "by_diet": [["low_salt", 3], ["soft", 2]],
    "attention": [["王秀英", "low_salt, allergy: 花生"]],
    "waiting": 1,
}


@dataclass(frozen=True)
class Wording:
    """The words in force for one service kind, topic and language, and whose they are."""

    service_kind: ServiceKind
    topic: Topic
    language: str
    subject: str
    body: str
    own: bool  # True: the partner's own wording; False: careapp's default


def topics_for(kind: ServiceKind) -> list[Topic]:
    """The messages a service kind sends: the kitchen sheet only for meals, reminders only for kinds that
    send them (meals do not)."""
    return [topic for topic in Topic
            if not (topic == Topic.kitchen_sheet and kind != ServiceKind.meal)
            and not (topic == Topic.reminder and not policy_for(kind).sends_reminders)]


def offered_kinds(partner_id: int) -> list[ServiceKind]:
    """The kinds of the partner's services, in ServiceKind order."""
    kinds = set(db.session.scalars(sa.select(Service.kind).where(Service.partner_id == partner_id).distinct()))
    return [kind for kind in ServiceKind if kind in kinds]


def partner_templates(partner_id: int) -> list[Wording]:
    """Every message of the partner: kind it offers x topic of that kind x language, own wording or default."""
    existing_partner(partner_id)
    own = {(row.service_kind, row.topic, row.language): row for row in db.session.scalars(
        sa.select(MessageTemplate).where(MessageTemplate.partner_id == partner_id))}
    return [_wording(kind, topic, language, own.get((kind, topic, language)))
            for kind in offered_kinds(partner_id) for topic in topics_for(kind) for language in LANGUAGES]


def wording_in_force(partner_id: int, service_kind: ServiceKind, topic: Topic, language: str) -> Wording:
    row = db.session.scalar(sa.select(MessageTemplate).where(
        MessageTemplate.partner_id == partner_id, MessageTemplate.service_kind == service_kind,
        MessageTemplate.topic == topic, MessageTemplate.language == language))
    return _wording(service_kind, topic, language, row)


def _wording(kind: ServiceKind, topic: Topic, language: str, row: MessageTemplate | None) -> Wording:
    if row is not None:
        return Wording(kind, topic, language, row.subject, row.body, own=True)
    text = default_text(topic, kind, language)
    return Wording(kind, topic, language, text.subject, text.body, own=False)


# --- checks ---

def checked_key(service_kind: ServiceKind | str, topic: Topic | str,
                language: str) -> tuple[ServiceKind, Topic, str]:
    """The service kind, topic and language as careapp knows them, or BadInput naming the one at fault."""
    try:
        kind = ServiceKind(service_kind)
    except ValueError:
        raise BadInput(_("There is no service kind %(kind)s.", kind=repr(str(service_kind)[:40])),
                       fields={"service_kind": "unknown"}) from None
    try:
        topic = Topic(topic)
    except ValueError:
        raise BadInput(_("There is no message topic %(topic)s.", topic=repr(str(topic)[:40])),
                       fields={"topic": "unknown"}) from None
    if topic not in topics_for(kind):
        allowed = ", ".join(t.value for t in topics_for(kind))
        raise BadInput(_("%(kind)s services send no %(topic)s message; their messages are %(allowed)s.",
                         kind=kind.value, topic=topic.value, allowed=allowed),
                       fields={"topic": "not sent by this kind"})
    if language not in LANGUAGES:
        raise BadInput(_("Messages are written in %(languages)s.", languages=" or ".join(LANGUAGES)),
                       fields={"language": "unknown"})
    return kind, topic, language


def _checked_text(value: str | None, field: str, longest: int) -> str:
    """Stripped, with one kind of line break (browsers send CRLF); counted as it is stored."""
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise BadInput(str(REQUIRED[field]), fields={field: "required"})
    if len(text) > longest:
        message = (_("Please keep the subject to %(longest)s characters (it has %(length)s).", longest=longest,
                     length=len(text)) if field == "subject" else
                   _("Please keep the message to %(longest)s characters (it has %(length)s).", longest=longest,
                     length=len(text)))
        raise BadInput(message, fields={field: f"at most {longest}"})
    if CONTROL_CHARACTERS.search(text):
        raise BadInput(_("Please remove the control characters (such as NUL) from this."),
                       fields={field: "control characters"})
    return text


def checked_wording(subject: str | None, body: str | None) -> Text:
    """The subject and body stripped, or BadInput naming the field at fault."""
    subject = _checked_text(subject, "subject", SUBJECT_MAX)
    if "\n" in subject:
        raise BadInput(_("The subject is one line; please remove the line break."), fields={"subject": "one line"})
    body = _checked_text(body, "body", BODY_MAX)
    unknown = {field: unknown_placeholders(text) for field, text in (("subject", subject), ("body", body))}
    unknown = {field: names for field, names in unknown.items() if names}
    if unknown:
        named = sorted({name for names in unknown.values() for name in names})
        raise BadInput(_("careapp cannot fill in %(unknown)s. The placeholders you may use are %(known)s.",
                         unknown=", ".join("{" + name + "}" for name in named),
                         known=", ".join("{" + name + "}" for name in PLACEHOLDERS)),
                       fields={field: "unknown placeholders: " + ", ".join(names) for field, names in unknown.items()})
    return Text(subject, body)


def _check_offered(partner: PartnerOrganisation, kind: ServiceKind) -> None:
    if kind not in offered_kinds(partner.id):
        raise RuleRefused(_("%(partner)s offers no %(kind)s service, so it sends no %(kind)s messages.",
                            partner=partner.name, kind=kind.value),
                          code="kind_not_offered", fields={"service_kind": "not offered"})


def _partner_to_edit(partner_id: int, by: User, kind: ServiceKind) -> PartnerOrganisation:
    # The partner's row is the one lock of its message texts: two managers saving at once take turns.
    partner = existing_partner(partner_id, lock=True)
    if not by.manages_partner(partner.id):
        raise Forbidden(_("Only this partner's manager may change its message texts."))
    _check_offered(partner, kind)
    return partner


def _own_row(partner_id: int, kind: ServiceKind, topic: Topic, language: str) -> MessageTemplate | None:
    return db.session.scalar(sa.select(MessageTemplate).where(
        MessageTemplate.partner_id == partner_id, MessageTemplate.service_kind == kind,
        MessageTemplate.topic == topic, MessageTemplate.language == language))


def _as_dict(row: MessageTemplate) -> dict:
    return {"service_kind": row.service_kind, "topic": row.topic, "language": row.language, "subject": row.subject,
            "body": row.body}


# --- writing ---

def save_template(partner_id: int, service_kind: ServiceKind | str, topic: Topic | str, language: str,
                  subject: str | None, body: str | None, *, by: User, now: datetime) -> Wording:
    """Save the partner's own wording of one message (replacing any it had); from now on it is what the
    partner's families (or staff) are sent."""
    kind, topic, language = checked_key(service_kind, topic, language)
    text = checked_wording(subject, body)
    with write_transaction():
        partner = _partner_to_edit(partner_id, by, kind)
        row = _own_row(partner.id, kind, topic, language)
        before = _as_dict(row) if row is not None else None
        if row is None:
            row = MessageTemplate(partner_id=partner.id, service_kind=kind, topic=topic, language=language)
            db.session.add(row)
        row.subject, row.body, row.updated_at, row.updated_by_id = text.subject, text.body, now, by.id
        db.session.flush()
        audit.record("message_template.saved", row, actor=by, now=now, before=before, after=_as_dict(row))
        return _wording(kind, topic, language, row)


def reset_template(partner_id: int, service_kind: ServiceKind | str, topic: Topic | str, language: str, *,
                   by: User, now: datetime) -> Wording:
    """Delete the partner's own wording of one message: careapp's default applies again. Returns the
    default. Nothing to reset is not an error."""
    kind, topic, language = checked_key(service_kind, topic, language)
    with write_transaction():
        partner = _partner_to_edit(partner_id, by, kind)
        row = _own_row(partner.id, kind, topic, language)
        if row is not None:
            audit.record("message_template.reset", row, actor=by, now=now, before=_as_dict(row))
            db.session.delete(row)
        return _wording(kind, topic, language, None)


# --- preview ---

def preview(partner_id: int, service_kind: ServiceKind | str, topic: Topic | str, language: str,
            subject: str, body: str, *, now: datetime) -> Text:
    """The words filled in with made-up facts of this partner (a sample member, its service of that kind,
    tomorrow 09:00-11:30), as a family or the partner's staff would read them."""
    kind, topic, language = checked_key(service_kind, topic, language)
    values = values_for(sample_facts(existing_partner(partner_id), kind, topic, now=now), language)
    return Text(fill(subject, values).replace("\n", " ").strip(), fill(body, values).strip())


def sample_facts(partner: PartnerOrganisation, kind: ServiceKind, topic: Topic, *, now: datetime) -> dict[str, Any]:
    """Facts shaped like the ``params`` of a real notification of this topic (see outbox.booking_notification
    and meals.notices): an offer's deadline only in an offer, the sheet only in the kitchen sheet."""
    service = db.session.scalar(sa.select(Service).where(Service.partner_id == partner.id, Service.kind == kind)
                                .order_by(Service.id).limit(1))
    point = service.service_point if service is not None else db.session.scalar(
        sa.select(ServicePoint).where(ServicePoint.partner_id == partner.id).order_by(ServicePoint.id).limit(1))
    tomorrow = local_date(now) + timedelta(days=1)
    serves_elders = policy_for(kind).serves(RecipientKind.elder)
    facts: dict[str, Any] = {
        "member": SAMPLE_ELDER if serves_elders else SAMPLE_CHILD,
        "service": service.name if service is not None else kind.value,
        "partner": partner.name,
        "place": f"{point.name}（{point.address}）" if point is not None else "",
        "starts_at": from_local(tomorrow, SAMPLE_START).isoformat(),
        "ends_at": from_local(tomorrow, SAMPLE_END).isoformat(),
    }
    if topic == Topic.place_offered:
        facts["offer_expires_at"] = from_local(tomorrow, SAMPLE_OFFER_EXPIRES).isoformat()
    if topic == Topic.kitchen_sheet:  # to the canteen's staff, about the whole meal: no member
        facts.update(member="", sheet=SAMPLE_SHEET)
    elif kind == ServiceKind.meal:
        facts["meal_mode"] = SAMPLE_MEAL_MODE
    return facts
