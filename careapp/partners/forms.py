"""Forms a partner's manager uses for services, service points and slots."""
from __future__ import annotations

from decimal import Decimal

from wtforms import (BooleanField, DateField, DecimalField, EmailField, FloatField, IntegerField, PasswordField,
                     RadioField, SelectField, SelectMultipleField, StringField, SubmitField, TelField, TimeField,
                     widgets)
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional, ValidationError

from careapp.accounts.forms import MAX_PASSWORD, PHONE
from careapp.accounts.models import Role
from careapp.core.i18n import gettext as _
from careapp.core.i18n import lazy_gettext as _l
from careapp.pages import LABELS, WEEKDAYS, IdSelectField, PageForm, options, within_years
from careapp.partners.models import ChildClass, FillPolicy, MealTime, ServiceKind, SessionLength
from careapp.partners.services import MAX_MEAL_PRICE_FEN, SETTINGS_FOR_KINDS

MAX_CAPACITY = 10_000
MAX_CUTOFF_MINUTES = 30 * 24 * 60
MAX_OFFER_HOURS = 14 * 24  # an offer held longer than two weeks helps nobody waiting
CHOOSE_FROM_LIST = _l("Please choose one from the list.")


class CheckboxesField(SelectMultipleField):
    """Several choices as tick boxes (weekdays, ability levels)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def capacity_field(label: str, required: bool = True, description: str = "") -> IntegerField:
    first = InputRequired(_l("Please give the number of places.")) if required else Optional()
    return IntegerField(label, [first, NumberRange(0, MAX_CAPACITY, _l("Between %(min)s and %(max)s places."))],
                        description=description)


def optional_number(label: str, low: int, high: int, description: str = "") -> IntegerField:
    return IntegerField(label, [Optional(), NumberRange(low, high, _l("A whole number from %(min)s to %(max)s."))],
                        description=description)


def _enum_or_none(cls):
    """Coerce a choice to the enum ("" is none); an unknown one stays as sent, for the choice check to refuse."""
    def coerce(value):
        if value is None or value == "":
            return None
        try:
            return cls(value)
        except ValueError:
            return value
    return coerce


def _optional_choices(label_set: str, empty: str):
    return options([("", empty)] + [(value.value, label) for value, label in LABELS[label_set].items()])


def yuan_amount(form, field: DecimalField) -> None:
    """A price in yuan with at most 2 decimals (NaN and infinity are not prices)."""
    value = field.data
    if value is None:
        return
    if not value.is_finite() or not 0 <= value <= MAX_MEAL_PRICE_FEN / 100 or value != value.quantize(Decimal("0.01")):
        raise ValidationError(_("Give the price in yuan, 0 to %(most)s, e.g. 15.00.", most=MAX_MEAL_PRICE_FEN // 100))


class ServiceForm(PageForm):
    kind = SelectField(_l("Kind of care"),
                       choices=options((kind.value, label) for kind, label in LABELS["service_kind"].items()),
                       validators=[InputRequired(_l("Please choose the kind of care."))])
    name = StringField(_l("Name of the service"), [InputRequired(_l("Please give the service a name.")),
                                                   Length(max=120)],
                       description=_l("For example 半日日托 or 午餐."))
    capacity = capacity_field(_l("Places in each slot"))
    service_point_id = IdSelectField(_l("Where"), placeholder=_l("Choose a service point"),
                                     message=_l("Please choose where the service takes place."))
    fill_policy = RadioField(_l("When a place is freed"), default=FillPolicy.auto.value,
                             choices=options((policy.value, label) for policy, label in LABELS["fill_policy"].items()))
    offer_hours = IntegerField(_l("Hours an offered place is kept"),
                               [InputRequired(_l("Please give the hours.")),
                                NumberRange(1, MAX_OFFER_HOURS, _l("From %(min)s to %(max)s hours."))],
                               default=24)
    booking_cutoff_minutes = optional_number(_l("Booking closes this many minutes before the start"), 0,
                                             MAX_CUTOFF_MINUTES, _l("Leave empty for the usual rule of this kind. "
                                                                    "Meal help always closes at the meal cutoff "
                                                                    "(09:00 lunch, 14:00 dinner)."))
    cancel_cutoff_minutes = optional_number(_l("Cancelling closes this many minutes before the start"), 0,
                                            MAX_CUTOFF_MINUTES, _l("Leave empty for the usual rule of this kind."))
    min_age_years = optional_number(_l("Youngest age in years (optional)"), 0, 150)
    max_age_years = optional_number(_l("Oldest age in years (optional)"), 0, 150)
    min_age_months = optional_number(_l("Youngest age in months, for children (optional)"), 0, 240)
    max_age_months = optional_number(_l("Oldest age in months, for children (optional)"), 0, 240)
    ability_levels = CheckboxesField(_l("Ability levels accepted"), coerce=int,
                                     choices=options(sorted(LABELS["ability_level"].items())),
                                     description=_l("Leave all unticked to accept every level."))
    room_id = IdSelectField(_l("Room (optional)"), placeholder=_l("No particular room"), required=False)
    # Each kind's own settings: the page shows them under the kind they belong to (SETTINGS_FOR_KINDS).
    session_length = SelectField(_l("How long a session is"), coerce=_enum_or_none(SessionLength),
                                 choices=_optional_choices("session_length", _l("Not said")),
                                 invalid_choice_message=CHOOSE_FROM_LIST)
    lunch_included = BooleanField(_l("Lunch is included"))
    transport = BooleanField(_l("We fetch people from home and bring them back (接送)"))
    meal = SelectField(_l("Which meal"), coerce=_enum_or_none(MealTime),
                       choices=_optional_choices("meal", _l("Choose")), invalid_choice_message=CHOOSE_FROM_LIST)
    price = DecimalField(_l("Price of one meal in yuan, before subsidy (optional)"), [Optional(), yuan_amount],
                         places=2, description=_l("Leave empty for the district's usual price."))
    delivery_radius_m = optional_number(_l("Deliver to homes within this many metres (optional)"), 0, 10_000,
                                        _l("Leave empty for the district's usual distance."))
    child_class = SelectField(_l("Class"), coerce=_enum_or_none(ChildClass),
                              choices=_optional_choices("child_class", _l("Not said")),
                              invalid_choice_message=CHOOSE_FROM_LIST)
    class_size = optional_number(_l("Most children in the class (optional)"), 1, 60,
                                 _l("Leave empty for the national standard of the class."))
    children_per_staff = optional_number(_l("Children for each staff member (optional)"), 1, 30,
                                         _l("Leave empty for the national standard of the class."))
    submit = SubmitField(_l("Create the service"))

    def validate_max_age_years(self, field: IntegerField) -> None:
        if field.data is not None and self.min_age_years.data is not None and field.data < self.min_age_years.data:
            raise ValidationError(_("The oldest age must not be below the youngest."))

    def validate_max_age_months(self, field: IntegerField) -> None:
        if field.data is not None and self.min_age_months.data is not None \
                and field.data < self.min_age_months.data:
            raise ValidationError(_("The oldest age must not be below the youngest."))

    def settings(self) -> dict:
        """The kind's policy settings as the rule takes them. Settings of other kinds are left out: the page
        hides them, so a value typed there before the kind was changed is not what the manager sees."""
        levels = "".join(str(level) for level in sorted(set(self.ability_levels.data or [])))
        price = self.price.data
        kind_settings = {"session_length": self.session_length.data, "lunch_included": self.lunch_included.data,
                         "transport": self.transport.data, "meal": self.meal.data,
                         "price_fen": None if price is None else int(price * 100),
                         "delivery_radius_m": self.delivery_radius_m.data, "child_class": self.child_class.data,
                         "class_size": self.class_size.data, "children_per_staff": self.children_per_staff.data}
        return {"fill_policy": FillPolicy(self.fill_policy.data), "offer_hours": self.offer_hours.data,
                "booking_cutoff_minutes": self.booking_cutoff_minutes.data,
                "cancel_cutoff_minutes": self.cancel_cutoff_minutes.data,
                "min_age_years": self.min_age_years.data, "max_age_years": self.max_age_years.data,
                "min_age_months": self.min_age_months.data, "max_age_months": self.max_age_months.data,
                "ability_levels": levels or None, "room_id": self.room_id.data,
                **{name: value for name, value in kind_settings.items()
                   if self.service_kind in SETTINGS_FOR_KINDS[name]}}

    def kinds_of(self, name: str) -> str:
        """CSS classes naming the kinds a setting belongs to (the page shows it only for those)."""
        return " ".join(f"for-{kind.value}" for kind in sorted(SETTINGS_FOR_KINDS[name], key=lambda k: k.value))

    @property
    def service_kind(self) -> ServiceKind:
        return ServiceKind(self.kind.data)


class ServicePointForm(PageForm):
    name = StringField(_l("Name of the service point"), [InputRequired(_l("Please give the place a name.")),
                                                         Length(max=120)])
    address = StringField(_l("Address"), [InputRequired(_l("Please give the address.")), Length(max=200)])
    latitude = FloatField(_l("Latitude"), [InputRequired(_l("Please give the latitude.")), NumberRange(-90, 90)],
                          description=_l("For the 15-minute service map, e.g. 31.33."))
    longitude = FloatField(_l("Longitude"), [InputRequired(_l("Please give the longitude.")),
                                             NumberRange(-180, 180)],
                           description=_l("For example 118.37."))
    submit = SubmitField(_l("Add the service point"))


class SlotForm(PageForm):
    day = DateField(_l("Day"), [InputRequired(_l("Please give the day.")), within_years()])
    start_time = TimeField(_l("Starts at"), [InputRequired(_l("Please give the start time."))])
    end_time = TimeField(_l("Ends at"), [InputRequired(_l("Please give the end time."))])
    capacity = capacity_field(_l("Places (optional)"), required=False,
                              description=_l("Leave empty for the service's usual number."))
    submit = SubmitField(_l("Add the slot"))


class WeeklyPatternForm(PageForm):
    weekdays = CheckboxesField(_l("On these days"), coerce=int, choices=options(enumerate(WEEKDAYS)))
    start_time = TimeField(_l("Starts at"), [InputRequired(_l("Please give the start time."))])
    end_time = TimeField(_l("Ends at"), [InputRequired(_l("Please give the end time."))])
    capacity = capacity_field(_l("Places (optional)"), required=False,
                              description=_l("Leave empty for the service's usual number."))
    valid_from = DateField(_l("First day"), [InputRequired(_l("Please give the first day.")), within_years()])
    valid_until = DateField(_l("Last day (optional)"), [Optional(), within_years()])
    submit = SubmitField(_l("Add the weekly slots"))

    def validate_weekdays(self, field: CheckboxesField) -> None:
        # Checked here, not by InputRequired, whose "required" flag would make every box compulsory.
        if not field.data:
            raise ValidationError(_("Please tick at least one day."))


class CapacityForm(PageForm):
    capacity = capacity_field(_l("Places"))
    submit = SubmitField(_l("Change places"))


class PartnerAccountForm(PageForm):
    role = RadioField(_l("Role"), default=Role.partner_staff.value,
                      choices=options((role.value, LABELS["role"][role])
                                      for role in (Role.partner_staff, Role.partner_manager)),
                      validators=[InputRequired(_l("Please choose the role."))],
                      description=_l("Managers also change services, slots and places."))
    name = StringField(_l("Name"), [InputRequired(_l("Please give the person's name.")), Length(max=100)])
    login = StringField(_l("Mobile number or e-mail"),
                        [InputRequired(_l("Please give a mobile number or e-mail.")), Length(max=120)],
                        description=_l("They will use it to log in."))
    password = PasswordField(_l("First password"), [InputRequired(_l("Please give a first password.")),
                                                     Length(max=MAX_PASSWORD)],
                             description=_l("At least 8 characters. Tell it to the person in private."),
                             render_kw={"autocomplete": "new-password"})
    email = EmailField(_l("E-mail (optional)"), [Optional(), Email(_l("Please check the e-mail address.")),
                                                 Length(max=120)])
    phone = TelField(_l("Phone (optional)"), [Optional(), PHONE, Length(max=20)])
    submit = SubmitField(_l("Create the account"))
