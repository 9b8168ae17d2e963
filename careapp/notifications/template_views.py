"""A partner manager's pages for the partner's message texts: the list, and one message's wording."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from werkzeug.wrappers import Response

from careapp.core.clock import now
from careapp.core.errors import CareappError
from careapp.notifications.models import LANGUAGES, Topic
from careapp.notifications.template_forms import MessageTextForm
from careapp.notifications.templates import (Wording, offered_kinds, partner_templates, preview, reset_template,
                                             save_template, topics_for, wording_in_force)
from careapp.notifications.texts import PLACEHOLDERS
from careapp.pages import acting_user, form_page, managed_partner, render, show_refusal
from careapp.partners.models import PartnerOrganisation, ServiceKind

bp = Blueprint("messages", __name__)

MANAGERS_ONLY = "Only this partner's manager may change its message texts."
TOPICS = {
    Topic.reminder: "Reminder before a booked slot",
    Topic.place_offered: "A place is offered to someone waiting",
    Topic.waitlist_confirmed: "Booked from the waiting list",
    Topic.slot_cancelled: "You cancelled a slot",
    Topic.waitlist_closed: "The waiting list ended without a place",
    Topic.kitchen_sheet: "Kitchen sheet to your staff when ordering closes",
}
LANGUAGE_NAMES = {"zh_CN": "Chinese (简体中文)", "en": "English"}


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
    return {"partner": partner, "wording": wording, "preview": shown, "placeholders": PLACEHOLDERS,
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
        return (f"Your wording of “{TOPICS[topic]}” ({LANGUAGE_NAMES[language]}) is saved.",
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
        flash(f"“{TOPICS[topic]}” ({LANGUAGE_NAMES[language]}) is back to careapp's wording.", "success")
    return redirect(target)
