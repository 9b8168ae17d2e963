"""The day chooser of the day-care lists."""
from __future__ import annotations

from wtforms import DateField, SubmitField
from wtforms.validators import Optional

from careapp.core.i18n import lazy_gettext as _l
from careapp.pages import PageForm, within_years


class DayForm(PageForm):
    """A GET form (links to a day's list can be shared and bookmarked): no CSRF token."""

    class Meta:
        csrf = False

    day = DateField(_l("Day"), [Optional(), within_years()])
    submit = SubmitField(_l("Show"))
