"""Forms community staff use: adding partners."""
from __future__ import annotations

from wtforms import SelectField, StringField, SubmitField, TelField
from wtforms.validators import InputRequired, Length, Optional

from careapp.accounts.forms import PHONE
from careapp.core.i18n import lazy_gettext as _l
from careapp.pages import LABELS, PageForm, options


class PartnerForm(PageForm):
    name = StringField(_l("Name of the organisation"), [InputRequired(_l("Please give the name.")), Length(max=120)])
    kind = SelectField(_l("Kind of organisation"),
                       choices=options((kind.value, label) for kind, label in LABELS["partner_kind"].items()),
                       validators=[InputRequired(_l("Please choose the kind."))])
    phone = TelField(_l("Phone (optional)"), [Optional(), PHONE, Length(max=20)])
    submit = SubmitField(_l("Add the partner"))
