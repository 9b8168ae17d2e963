"""The coverage pages' choice of area, kind of care and week: one GET form for the dashboard, map and exports."""
from __future__ import annotations

from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import Optional, Regexp

from careapp.core.i18n import lazy_gettext as _l
from careapp.pages import LABELS, IdSelectField, PageForm, options
from careapp.partners.models import ServiceKind

WEEK_PATTERN = r"^\d{4}-W\d{2}$"  # an ISO week: 2026-W49


class CoverageForm(PageForm):
    class Meta:
        csrf = False  # a GET form: it only chooses what to show

    community_id = IdSelectField(_l("Community"), placeholder=_l("The whole sub-district"), required=False)
    grid_id = IdSelectField(_l("Grid"), placeholder=_l("Every grid"), required=False)
    kind = SelectField(_l("Kind of care"), choices=options([("", _l("Every kind")), *((kind.value, label) for kind, label
                                                                                     in LABELS["service_kind"].items())]),
                       default="")  # "" (every kind) is one of the choices, so anything else is refused
    week = StringField(_l("Week"), [Optional(), Regexp(WEEK_PATTERN, message=_l("Give the week like 2026-W49."))],
                       description=_l("Year and week number, like 2026-W49. Empty: this week."))
    submit = SubmitField(_l("Show"))

    @property
    def chosen_kind(self) -> ServiceKind | None:
        return ServiceKind(self.kind.data) if self.kind.data else None
