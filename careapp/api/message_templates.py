"""A partner's message texts: its own wording of each message per service kind and language, or careapp's."""
from __future__ import annotations

from pydantic import Field

from careapp.accounts.models import User
from careapp.api.registry import api
from careapp.api.schemas import Body, Language, Out
from careapp.core.clock import now
from careapp.core.db import db
from careapp.core.errors import Forbidden, NotFound
from careapp.core.i18n import gettext as _
from careapp.notifications.models import Topic
from careapp.notifications.templates import (BODY_MAX, SUBJECT_MAX, Wording, partner_templates,
                                             reset_template, save_template)
from careapp.partners.models import PartnerOrganisation, ServiceKind


class MessageKeyIn(Body):
    service_kind: ServiceKind = Field(description="One the partner offers.")
    topic: Topic = Field(description="kitchen_sheet only for meal; no reminder for meal.")
    language: Language


class MessageTemplateIn(MessageKeyIn):
    subject: str = Field(max_length=SUBJECT_MAX, description="One line.")
    body: str = Field(max_length=BODY_MAX, description="Placeholders in braces, e.g. {member}; unknown ones are "
                                                       "refused.")


class MessageTemplateOut(Out):
    service_kind: ServiceKind
    topic: Topic
    language: Language
    subject: str
    body: str
    own: bool = Field(description="True: the partner's own wording; false: careapp's.")

    @classmethod
    def of(cls, wording: Wording) -> MessageTemplateOut:
        return cls(service_kind=wording.service_kind, topic=wording.topic, language=wording.language,
                   subject=wording.subject, body=wording.body, own=wording.own)


@api.route("GET", "/partners/{partner_id}/message-templates", response=list[MessageTemplateOut], errors=(403,),
           summary="Every message a partner sends, per service kind it offers, topic and language, in force now")
def message_templates(user: User, partner_id: int) -> list[MessageTemplateOut]:
    partner = db.session.get(PartnerOrganisation, partner_id)
    if partner is None:
        raise NotFound(_("No such partner."))
    if not user.manages_partner(partner.id):
        raise Forbidden(_("Only this partner's manager sees its message texts."))
    return [MessageTemplateOut.of(wording) for wording in partner_templates(partner.id)]


@api.route("POST", "/partners/{partner_id}/message-templates", body=MessageTemplateIn,
           response=MessageTemplateOut, errors=(403, 422),
           summary="Save the partner's own wording of one message (replacing any it had)")
def save_message_template(user: User, partner_id: int, body: MessageTemplateIn) -> MessageTemplateOut:
    return MessageTemplateOut.of(save_template(partner_id, body.service_kind, body.topic, body.language, body.subject,
                                               body.body, by=user, now=now()))


@api.route("POST", "/partners/{partner_id}/message-templates/reset", body=MessageKeyIn,
           response=MessageTemplateOut, errors=(403, 422),
           summary="Back to careapp's wording of one message; answers the wording now in force")
def reset_message_template(user: User, partner_id: int, body: MessageKeyIn) -> MessageTemplateOut:
    return MessageTemplateOut.of(reset_template(partner_id, body.service_kind, body.topic, body.language, by=user,
                                                now=now()))
