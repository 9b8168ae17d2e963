"""The coverage pages' choice of area, kind of care and week: one GET form for the dashboard, map and exports."""
from __future__ import annotations

from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import Optional, Regexp

from careapp.pages import LABELS, IdSelectField, PageForm, options
from careapp.partners.models import ServiceKind


class CoverageForm(PageForm):
    class Meta:
        csrf = False  # a GET form: it only chooses what to show

    community_id = IdSelectField("Community", placeholder="The whole sub-district", required=False)
    grid_id = IdSelectField("Grid", placeholder="Every grid", required=False)
    kind = SelectField("Kind of care", choices=options([("", "Every kind"), *((kind.value, label) for kind, label
                                                                               in LABELS["service_kind"].items())]),
                       default="")  # "" (every kind) is one of the choices, so anything else is refused
    week = StringField("Week", [Optional(), Regexp(r"^\d{4}-W\d{2}$", message="Give the week like 2026-W49.")],
                       description="Year and week number, like 2026-W49. Empty: this week.")
    submit = SubmitField("Show")

    @property
    def chosen_kind(self) -> ServiceKind | None:
        return ServiceKind(self.kind.data) if self.kind.data else None
