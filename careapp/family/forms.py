"""Forms a family (or community staff on its behalf) fills in about its members."""
from __future__ import annotations

from wtforms import DateField, RadioField, StringField, SubmitField, TelField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from careapp.accounts.forms import PHONE
from careapp.households.models import NEED_FIELDS, RecipientKind
from careapp.pages import LABELS, IdSelectField, PageForm, options, within_years


class MemberForm(PageForm):
    kind = RadioField("Who is this?", choices=options((kind.value, LABELS["recipient_kind"][kind]) for kind in RecipientKind),
                      validators=[InputRequired("Please choose elder or child.")])
    name = StringField("Name", [InputRequired("Please give the name."), Length(max=100)])
    birth_date = DateField("Birth date", [InputRequired("Please give the birth date."), within_years(1800, 9999)],
                           description="Year, month and day. We do not need an ID card number.")
    ability_level = IdSelectField("Ability level (elders only)", placeholder="Not assessed", required=False,
                                  description="From the national assessment GB/T 42195-2022.")
    diet = StringField("Diet (optional)", [Optional(), Length(max=200)],
                       description="For example low-salt, soft food, vegetarian, halal.")
    allergies = StringField("Allergies (optional)", [Optional(), Length(max=200)])
    mobility = StringField("Mobility (optional)", [Optional(), Length(max=200)],
                           description="For example walking stick, wheelchair.")
    medication_notes = TextAreaField("Medication (optional)", [Optional(), Length(max=500)])
    emergency_contact_name = StringField("Emergency contact name (optional)", [Optional(), Length(max=100)])
    emergency_contact_phone = TelField("Emergency contact phone (optional)", [Optional(), PHONE, Length(max=20)])
    submit = SubmitField("Add this person")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ability_level.set_options(sorted(LABELS["ability_level"].items()))

    def needs(self) -> dict[str, str]:
        """The needs that were filled in (empty ones are not stored)."""
        return {name: self[name].data.strip() for name in NEED_FIELDS if (self[name].data or "").strip()}


class AuthorisedAdultForm(PageForm):
    name = StringField("Name", [InputRequired("Please give the adult's name."), Length(max=100)])
    relation = StringField("Relation to the child", [InputRequired("Please say how they are related."),
                                                     Length(max=50)],
                           description="For example grandmother, aunt, neighbour.")
    phone = TelField("Phone (optional)", [Optional(), PHONE, Length(max=20)])
    submit = SubmitField("Add this adult")
