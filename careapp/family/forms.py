"""Forms a family (or community staff on its behalf) fills in about its members."""
from __future__ import annotations

from wtforms import DateField, RadioField, SelectField, StringField, SubmitField, TelField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from careapp.accounts.forms import PHONE
from careapp.households.models import NEED_FIELDS, RecipientKind, SpecialGroup
from careapp.meals.forms import DIET_TAG_CHOICES, MOBILE_FIELD
from careapp.pages import LABELS, IdSelectField, PageForm, options, within_years
from careapp.partners.forms import CheckboxesField


class MemberForm(PageForm):
    kind = RadioField("Who is this?", choices=options((kind.value, LABELS["recipient_kind"][kind]) for kind in RecipientKind),
                      validators=[InputRequired("Please choose elder or child.")])
    name = StringField("Name", [InputRequired("Please give the name."), Length(max=100)])
    birth_date = DateField("Birth date", [InputRequired("Please give the birth date."), within_years(1800, 9999)],
                           description="Year, month and day. We do not need an ID card number.")
    ability_level = IdSelectField("Ability level (elders only)", placeholder="Not assessed", required=False,
                                  description="From the national assessment GB/T 42195-2022.")
    diet_tags = CheckboxesField("Dietary needs (optional)", choices=DIET_TAG_CHOICES,
                                description="The canteen's kitchen sees these on every meal order.")
    diet = StringField("Other diet notes (optional)", [Optional(), Length(max=200)],
                       description="Anything else the kitchen should know.")
    allergies = StringField("Allergies (optional)", [Optional(), Length(max=200)])
    mobility = StringField("Mobility (optional)", [Optional(), Length(max=200)],
                           description="For example walking stick, wheelchair.")
    medication_notes = TextAreaField("Medication (optional)", [Optional(), Length(max=500)])
    emergency_contact_name = StringField("Emergency contact name (optional)", [Optional(), Length(max=100)])
    emergency_contact_phone = TelField("Emergency contact phone (optional)", [Optional(), PHONE, Length(max=20)])
    phone = TelField("Their own mobile phone (optional)", [Optional(), MOBILE_FIELD],
                     description="For volunteers who deliver meals (they see it partly hidden).")
    special_group = SelectField("Extra meal subsidy group (elders, optional)", validators=[Optional()],
                                choices=options([("", "None")] + [(group.value, LABELS["special_group"][group])
                                                                   for group in SpecialGroup]),
                                description="Only if the community has confirmed it.")
    submit = SubmitField("Add this person")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ability_level.set_options(sorted(LABELS["ability_level"].items()))

    def needs(self) -> dict[str, str | list[str]]:
        """The needs that were filled in (empty ones are not stored), with the meal profile: dietary needs,
        special group and own phone (checked again by the rule)."""
        needs = {name: self[name].data.strip() for name in NEED_FIELDS if (self[name].data or "").strip()}
        profile = {"diet_tags": self.diet_tags.data or None, "special_group": self.special_group.data or None,
                   "phone": (self.phone.data or "").strip() or None}
        return {**needs, **{name: value for name, value in profile.items() if value}}


class AuthorisedAdultForm(PageForm):
    name = StringField("Name", [InputRequired("Please give the adult's name."), Length(max=100)])
    relation = StringField("Relation to the child", [InputRequired("Please say how they are related."),
                                                     Length(max=50)],
                           description="For example grandmother, aunt, neighbour.")
    phone = TelField("Phone (optional)", [Optional(), PHONE, Length(max=20)])
    submit = SubmitField("Add this adult")
