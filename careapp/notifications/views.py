"""The in-app inbox: a family's (or a partner's) notifications, newest first, and marking them read.

What a user reads, and the marking itself, are rules of :mod:`careapp.notifications.outbox`; these views
only page through them, word each one in the reader's language and say what happened.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, flash, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from wtforms import SelectField
from wtforms.validators import InputRequired
from werkzeug.wrappers import Response

from careapp.accounts.models import PARTNER_ROLES, Role, User
from careapp.core.clock import now
from careapp.core.errors import BadInput, CareappError
from careapp.core.i18n import gettext as _, lazy_gettext as _l, ngettext
from careapp.notifications import outbox
from careapp.notifications.models import Notification
from careapp.notifications.texts import Text, language_of
from careapp.accounts.services import set_language
from careapp.pages import PageForm, acting_user, flash_form_errors, optional_int, options, render, show_refusal

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

PAGE_SIZE = 50
BAD_BEFORE = _l("This link to older messages is not valid. Open Messages again to see the newest ones.")
# Why a message was not sent by e-mail or SMS, as careapp.notifications.outbox, reminders and meals.notices
# record it (in English, like a code), in the reader's words.
SKIP_REASONS = {
    "the slot had already started": _l("the slot had already started"),
    "the meal had already started": _l("the meal had already started"),
    "the offer is no longer open": _l("the offer is no longer open"),
    "booked after this reminder was due": _l("booked after this reminder was due"),
    "a later reminder replaces it": _l("a later reminder replaces it"),
    "the booking is waitlisted": _l("the booking is waitlisted"),
    "the booking is offered": _l("the booking is offered"),
    "the booking is confirmed": _l("the booking is confirmed"),
    "the booking is cancelled": _l("the booking is cancelled"),
    "the booking is checked_in": _l("the booking is checked_in"),
    "the booking is checked_out": _l("the booking is checked_out"),
    "the booking is no_show": _l("the booking is no_show"),
}


def skip_reason_text(reason: str | None) -> str:
    """A recorded skip reason in the reader's language (one careapp does not know stays as it was written)."""
    return str(SKIP_REASONS.get(reason or "", reason or ""))


class ReadForm(PageForm):
    """A button-only POST (mark one read, mark all read): just the CSRF check."""


class LanguageForm(PageForm):
    language = SelectField(_l("Messages in"), choices=options([("zh_CN", "中文"), ("en", "English")]),
                           validators=[InputRequired()])


def reads_messages(user: User) -> bool:
    """Families read their household's messages and partner staff their partner's; district staff have none."""
    return user.role == Role.family or user.role in PARTNER_ROLES


# --- the nav's "Messages (3 new)" ---

@bp.app_context_processor
def inbox_helpers() -> dict:
    """Nothing runs unless a template calls it: base.html does, in the nav of families and partner staff."""
    return {"unread_messages": unread_messages}


def unread_messages() -> int:
    """How many of the logged-in user's messages are unread: one query, once per request, and none for
    anonymous visitors or district staff."""
    if not current_user.is_authenticated:
        return 0
    user = acting_user()
    if not reads_messages(user):
        return 0
    if "unread_messages" not in g:
        g.unread_messages = outbox.unread_count(user)
    return g.unread_messages


# --- the inbox ---

@dataclass(frozen=True)
class Message:
    """One notification as the inbox shows it: worded for the reader, with the slot it is about."""

    notification: Notification
    text: Text
    slot_url: str | None  # a family's notice links to its slot; a partner's (a kitchen sheet) has its own pages

    @classmethod
    def of(cls, notification: Notification, text: Text) -> Message:
        slot_url = (url_for("booking.slot", slot_id=notification.slot_id)
                    if notification.household_id is not None else None)
        return cls(notification, text, slot_url)


@bp.get("/")
@login_required
def inbox() -> ResponseReturnValue:
    user = acting_user()
    before = older_than(request.args.get("before"))
    # One more than a page: whether there is an older page, without counting them.
    rows = outbox.inbox(user, limit=PAGE_SIZE + 1, before_id=before)
    language = language_of(user.language)
    return render("notifications/inbox.html", messages=[Message.of(row, text) for row, text in outbox.worded(rows[:PAGE_SIZE], language)],
                  older=rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None, before=before,
                  reads_messages=reads_messages(user), language_form=LanguageForm(language=user.language),
                  text_lang="zh-CN" if language == "zh_CN" else "en", skip_reason_text=skip_reason_text)


def older_than(raw: str | None) -> int | None:
    """The ``?before=`` of an "Older messages" link: a message id (only older ones are shown), else None."""
    try:
        before = optional_int(raw)
    except ValueError:
        before = 0
    if before == 0:
        raise BadInput(BAD_BEFORE, fields={"before": "a message id"})
    return before


# --- marking read ---

@bp.post("/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int) -> Response:
    if not _submitted(ReadForm()):
        return _back_to_inbox()
    try:
        outbox.mark_read(notification_id, by=acting_user(), now=now())
    except CareappError as error:
        show_refusal(error)  # another's (403) or none (404): the error page
    else:
        flash(_("The message is marked as read."), "success")
    return _back_to_inbox(notification_id)


@bp.post("/read-all")
@login_required
def mark_all_read() -> Response:
    if not _submitted(ReadForm()):
        return _back_to_inbox()
    marked = outbox.mark_all_read(by=acting_user(), now=now())
    if marked:
        flash(ngettext("%(num)d message is marked as read.", "%(num)d messages are marked as read.", marked), "success")
    else:
        flash(_("There were no unread messages."), "info")
    return _back_to_inbox()


@bp.post("/language")
@login_required
def choose_language() -> Response:
    """The language of this account's messages (e-mail, SMS and this page)."""
    form = LanguageForm()
    if not _submitted(form):
        return _back_to_inbox()
    user = set_language(acting_user().id, form.language.data, by=acting_user(), now=now())
    flash("Your messages will be in English." if user.language == "en" else "您的消息将使用中文。", "success")
    return _back_to_inbox()


def _submitted(form: PageForm) -> bool:
    """A button or choice posted with its CSRF token and a valid value; else its errors are flashed."""
    if form.validate_on_submit():
        return True
    flash_form_errors(form)
    return False


def _back_to_inbox(notification_id: int | None = None) -> Response:
    """Back to the page of the inbox the button was on (its ``?before=``, when it is a good one)."""
    try:
        before = optional_int(request.args.get("before")) or None
    except ValueError:
        before = None
    anchor = f"message-{notification_id}" if notification_id is not None else None
    return redirect(url_for("notifications.inbox", before=before, _anchor=anchor))
