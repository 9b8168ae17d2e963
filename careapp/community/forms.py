"""Forms community staff use: adding partners."""
from __future__ import annotations

from wtforms import SelectField, StringField, SubmitField, TelField
from wtforms.validators import InputRequired, Length, Optional

from careapp.accounts.forms import PHONE
from careapp.pages import LABELS, PageForm, options


class PartnerForm(PageForm):
    name = StringField("Name of the organisation", [InputRequired("Please give the name."), Length(max=120)])
    kind = SelectField("Kind of organisation", choices=options((kind.value, label) for kind, label in LABELS["partner_kind"].items()),
                       validators=[InputRequired("Please choose the kind.")])
    phone = TelField("Phone (optional)", [Optional(), PHONE, Length(max=20)])
    submit = SubmitField("Add the partner")
