"""Forms a family (or community staff on its behalf) fills in about its members."""
from __future__ import annotations

from wtforms import DateField, RadioField, SelectField, StringField, SubmitField, TelField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from careapp.accounts.forms import PHONE
from careapp.core.i18n import lazy_gettext as _l
from careapp.households.models import NEED_FIELDS, RecipientKind, SpecialGroup
from careapp.meals.forms import DIET_TAG_CHOICES, MOBILE_FIELD
from careapp.pages import LABELS, IdSelectField, PageForm, options, within_years
from careapp.partners.forms import CheckboxesField


class MemberForm(PageForm):
    kind = RadioField(_l("Who is this?"),
                      choices=options((kind.value, LABELS["recipient_kind"][kind]) for kind in RecipientKind),
                      validators=[InputRequired(_l("Please choose elder or child."))])
    name = StringField(_l("Name"), [InputRequired(_l("Please give the name.")), Length(max=100)])
    birth_date = DateField(_l("Birth date"),
                           [InputRequired(_l("Please give the birth date.")), within_years(1800, 9999)],
                           description=_l("Year, month and day. We do not need an ID card number."))
    ability_level = IdSelectField(_l("Ability level (elders only)"), placeholder=_l("Not assessed"), required=False,
                                  description=_l("From the national assessment GB/T 42195-2022."))
    diet_tags = CheckboxesField(_l("Dietary needs (optional)"), choices=DIET_TAG_CHOICES,
                                description=_l("The canteen's kitchen sees these on every meal order."))
    diet = StringField(_l("Other diet notes (optional)"), [Optional(), Length(max=200)],
                       description=_l("Anything else the kitchen should know."))
    allergies = StringField(_l("Allergies (optional)"), [Optional(), Length(max=200)])
    mobility = StringField(_l("Mobility (optional)"), [Optional(), Length(max=200)],
                           description=_l("For example walking stick, wheelchair."))
    medication_notes = TextAreaField(_l("Medication (optional)"), [Optional(), Length(max=500)])
    emergency_contact_name = StringField(_l("Emergency contact name (optional)"), [Optional(), Length(max=100)])
    emergency_contact_phone = TelField(_l("Emergency contact phone (optional)"), [Optional(), PHONE, Length(max=20)])
    phone = TelField(_l("Their own mobile phone (optional)"), [Optional(), MOBILE_FIELD],
                     description=_l("For volunteers who deliver meals (they see it partly hidden)."))
    special_group = SelectField(_l("Extra meal subsidy group (elders, optional)"), validators=[Optional()],
                                choices=options([("", _l("None"))] + [(group.value, LABELS["special_group"][group])
                                                                       for group in SpecialGroup]),
                                description=_l("Only if the community has confirmed it."))
    submit = SubmitField(_l("Add this person"))

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
    name = StringField(_l("Name"), [InputRequired(_l("Please give the adult's name.")), Length(max=100)])
    relation = StringField(_l("Relation to the child"), [InputRequired(_l("Please say how they are related.")),
                                                         Length(max=50)],
                           description=_l("For example grandmother, aunt, neighbour."))
    phone = TelField(_l("Phone (optional)"), [Optional(), PHONE, Length(max=20)])
    submit = SubmitField(_l("Add this adult"))
