"""The form of a partner's message texts (the rule checks the words: see careapp.notifications.templates)."""
from __future__ import annotations

from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired

from careapp.core.i18n import lazy_gettext as _l
from careapp.notifications.templates import BODY_MAX, SUBJECT_MAX
from careapp.pages import PageForm


class MessageTextForm(PageForm):
    # Lengths are the rule's to check: it counts a line break as one character, as it stores it, where a
    # browser sends two.
    subject = StringField(_l("Subject"), [InputRequired(_l("Please write the subject."))],
                          description=_l("One line, at most %(count)s characters: the e-mail's subject and the "
                                         "SMS's first line.", count=SUBJECT_MAX))
    body = TextAreaField(_l("Message"), [InputRequired(_l("Please write the message."))],
                         description=_l("At most %(count)s characters.", count=BODY_MAX), render_kw={"rows": 8})
    submit = SubmitField(_l("Save"))
