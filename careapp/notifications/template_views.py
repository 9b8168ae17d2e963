"""A partner manager's pages for the partner's message texts: the list, and one message's wording."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from werkzeug.wrappers import Response

from careapp.core.clock import now
from careapp.core.errors import CareappError
from careapp.core.i18n import gettext as _, lazy_gettext as _l
from careapp.notifications.models import LANGUAGES, Topic
from careapp.notifications.template_forms import MessageTextForm
from careapp.notifications.templates import (Wording, offered_kinds, partner_templates, preview, reset_template,
                                             save_template, topics_for, wording_in_force)
from careapp.notifications.texts import PLACEHOLDERS
from careapp.pages import acting_user, form_page, managed_partner, render, show_refusal
from careapp.partners.models import PartnerOrganisation, ServiceKind

bp = Blueprint("messages", __name__)

MANAGERS_ONLY = _l("Only this partner's manager may change its message texts.")
TOPICS = {
    Topic.reminder: _l("Reminder before a booked slot"),
    Topic.place_offered: _l("A place is offered to someone waiting"),
    Topic.waitlist_confirmed: _l("Booked from the waiting list"),
    Topic.slot_cancelled: _l("You cancelled a slot"),
    Topic.waitlist_closed: _l("The waiting list ended without a place"),
    Topic.kitchen_sheet: _l("Kitchen sheet to your staff when ordering closes"),
}
LANGUAGE_NAMES = {"zh_CN": _l("Chinese (简体中文)"), "en": "English"}
# What each placeholder becomes, in the manager's words (careapp.notifications.texts.PLACEHOLDERS names them).
PLACEHOLDER_DESCRIPTIONS = {
    "member": _l("the household member the booking is for"),
    "service": _l("the service's name"),
    "partner": _l("your organisation's name"),
    "place": _l("the service point and its address"),
    "date": _l("the day, in the reader's language (2026年12月2日 星期三 / Wednesday 2 December 2026)"),
    "start": _l("the local start time (09:00)"),
    "end": _l("the local end time (11:30)"),
    "offer_expires": _l("when an offered place must be accepted by (day and time)"),
    "details": _l("what the booking asks for: the meal's mode, transport"),
    "sheet": _l("the kitchen sheet: portions by dish and by mode, diets, and who must not be missed"),
}


def _key(partner: PartnerOrganisation) -> tuple[ServiceKind, Topic, str]:
    """The message the query names (?kind=&topic=&language=): one the partner sends, else the 404 page."""
    try:
        kind, topic = ServiceKind(request.args.get("kind", "")), Topic(request.args.get("topic", ""))
    except ValueError:
        abort(404)
    language = request.args.get("language", "")
    if kind not in offered_kinds(partner.id) or topic not in topics_for(kind) or language not in LANGUAGES:
        abort(404)
    return kind, topic, language


def _page_context(partner: PartnerOrganisation, wording: Wording) -> dict:
    shown = preview(partner.id, wording.service_kind, wording.topic, wording.language, wording.subject,
                    wording.body, now=now())
    placeholders = {name: PLACEHOLDER_DESCRIPTIONS.get(name, description) for name, description in PLACEHOLDERS.items()}
    return {"partner": partner, "wording": wording, "preview": shown, "placeholders": placeholders,
            "topics": TOPICS, "language_names": LANGUAGE_NAMES}


@bp.get("/partners/<int:partner_id>/messages")
@login_required
def index(partner_id: int) -> ResponseReturnValue:
    partner = managed_partner(partner_id, MANAGERS_ONLY)
    by_kind: dict[ServiceKind, list[Wording]] = {}
    for wording in partner_templates(partner.id):
        by_kind.setdefault(wording.service_kind, []).append(wording)
    return render("messages/index.html", partner=partner, by_kind=by_kind, topics=TOPICS,
                  language_names=LANGUAGE_NAMES)


@bp.route("/partners/<int:partner_id>/messages/edit", methods=["GET", "POST"])
@login_required
def edit(partner_id: int) -> ResponseReturnValue:
    partner = managed_partner(partner_id, MANAGERS_ONLY)
    kind, topic, language = _key(partner)
    wording = wording_in_force(partner.id, kind, topic, language)
    form = MessageTextForm(obj=wording)

    def save() -> tuple[str, str]:
        save_template(partner.id, kind, topic, language, form.subject.data, form.body.data, by=acting_user(),
                      now=now())
        return (_("Your wording of “%(topic)s” (%(language)s) is saved.", topic=TOPICS[topic],
                  language=LANGUAGE_NAMES[language]),
                url_for("messages.edit", partner_id=partner.id, kind=kind.value, topic=topic.value,
                        language=language))

    return form_page(form, "messages/edit.html", save, **_page_context(partner, wording))


@bp.post("/partners/<int:partner_id>/messages/reset")
@login_required
def reset(partner_id: int) -> Response:
    partner = managed_partner(partner_id, MANAGERS_ONLY)
    kind, topic, language = _key(partner)
    target = url_for("messages.edit", partner_id=partner.id, kind=kind.value, topic=topic.value, language=language)
    try:
        reset_template(partner.id, kind, topic, language, by=acting_user(), now=now())
    except CareappError as error:
        show_refusal(error)
    else:
        flash(_("“%(topic)s” (%(language)s) is back to careapp's wording.", topic=TOPICS[topic],
                language=LANGUAGE_NAMES[language]), "success")
    return redirect(target)
