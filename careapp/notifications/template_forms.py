"""The form of a partner's message texts (the rule checks the words: see careapp.notifications.templates)."""
from __future__ import annotations

from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired

from careapp.notifications.templates import BODY_MAX, SUBJECT_MAX
from careapp.pages import PageForm


class MessageTextForm(PageForm):
    # Lengths are the rule's to check: it counts a line break as one character, as it stores it, where a
    # browser sends two.
    subject = StringField("Subject", [InputRequired("Please write the subject.")],
                          description=f"One line, at most {SUBJECT_MAX} characters: the e-mail's subject and the "
                                      "SMS's first line.")
    body = TextAreaField("Message", [InputRequired("Please write the message.")],
                         description=f"At most {BODY_MAX} characters.", render_kw={"rows": 8})
    submit = SubmitField("Save")
