"""Forms a partner's manager uses for services, service points and slots."""
from __future__ import annotations

from decimal import Decimal

from wtforms import (BooleanField, DateField, DecimalField, EmailField, FloatField, IntegerField, PasswordField,
                     RadioField, SelectField, SelectMultipleField, StringField, SubmitField, TelField, TimeField,
                     widgets)
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional, ValidationError

from careapp.accounts.forms import MAX_PASSWORD, PHONE
from careapp.accounts.models import Role
from careapp.pages import LABELS, WEEKDAYS, IdSelectField, PageForm, options, within_years
from careapp.partners.models import ChildClass, FillPolicy, MealTime, ServiceKind, SessionLength
from careapp.partners.services import MAX_MEAL_PRICE_FEN, SETTINGS_FOR_KINDS

MAX_CAPACITY = 10_000
MAX_CUTOFF_MINUTES = 30 * 24 * 60
MAX_OFFER_HOURS = 14 * 24  # an offer held longer than two weeks helps nobody waiting
CHOOSE_FROM_LIST = "Please choose one from the list."


class CheckboxesField(SelectMultipleField):
    """Several choices as tick boxes (weekdays, ability levels)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def capacity_field(label: str, required: bool = True, description: str = "") -> IntegerField:
    first = InputRequired("Please give the number of places.") if required else Optional()
    return IntegerField(label, [first, NumberRange(0, MAX_CAPACITY, f"Between 0 and {MAX_CAPACITY} places.")],
                        description=description)


def optional_number(label: str, low: int, high: int, description: str = "") -> IntegerField:
    return IntegerField(label, [Optional(), NumberRange(low, high, f"A whole number from {low} to {high}.")],
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
        raise ValidationError(f"Give the price in yuan, 0 to {MAX_MEAL_PRICE_FEN // 100}, e.g. 15.00.")


class ServiceForm(PageForm):
    kind = SelectField("Kind of care", choices=options((kind.value, label) for kind, label in LABELS["service_kind"].items()),
                       validators=[InputRequired("Please choose the kind of care.")])
    name = StringField("Name", [InputRequired("Please give the service a name."), Length(max=120)],
                       description="For example 半日日托 or 午餐.")
    capacity = capacity_field("Places in each slot")
    service_point_id = IdSelectField("Where", placeholder="Choose a service point",
                                     message="Please choose where the service takes place.")
    fill_policy = RadioField("When a place is freed", default=FillPolicy.auto.value,
                             choices=options((policy.value, label) for policy, label in LABELS["fill_policy"].items()))
    offer_hours = IntegerField("Hours an offered place is kept", [InputRequired("Please give the hours."),
                                                                   NumberRange(1, MAX_OFFER_HOURS, f"From 1 to {MAX_OFFER_HOURS} hours.")],
                               default=24)
    booking_cutoff_minutes = optional_number("Booking closes this many minutes before the start", 0,
                                             MAX_CUTOFF_MINUTES, "Leave empty for the usual rule of this kind. "
                                             "Meal help always closes at the meal cutoff (09:00 lunch, 14:00 dinner).")
    cancel_cutoff_minutes = optional_number("Cancelling closes this many minutes before the start", 0,
                                            MAX_CUTOFF_MINUTES, "Leave empty for the usual rule of this kind.")
    min_age_years = optional_number("Youngest age in years (optional)", 0, 150)
    max_age_years = optional_number("Oldest age in years (optional)", 0, 150)
    min_age_months = optional_number("Youngest age in months, for children (optional)", 0, 240)
    max_age_months = optional_number("Oldest age in months, for children (optional)", 0, 240)
    ability_levels = CheckboxesField("Ability levels accepted", coerce=int,
                                     choices=options(sorted(LABELS["ability_level"].items())),
                                     description="Leave all unticked to accept every level.")
    room_id = IdSelectField("Room (optional)", placeholder="No particular room", required=False)
    # Each kind's own settings: the page shows them under the kind they belong to (SETTINGS_FOR_KINDS).
    session_length = SelectField("How long a session is", coerce=_enum_or_none(SessionLength),
                                 choices=_optional_choices("session_length", "Not said"),
                                 invalid_choice_message=CHOOSE_FROM_LIST)
    lunch_included = BooleanField("Lunch is included")
    transport = BooleanField("We fetch people from home and bring them back (接送)")
    meal = SelectField("Which meal", coerce=_enum_or_none(MealTime), choices=_optional_choices("meal", "Choose"),
                       invalid_choice_message=CHOOSE_FROM_LIST)
    price = DecimalField("Price of one meal in yuan, before subsidy (optional)", [Optional(), yuan_amount],
                         places=2, description="Leave empty for the district's usual price.")
    delivery_radius_m = optional_number("Deliver to homes within this many metres (optional)", 0, 10_000,
                                        "Leave empty for the district's usual distance.")
    child_class = SelectField("Class", coerce=_enum_or_none(ChildClass),
                              choices=_optional_choices("child_class", "Not said"),
                              invalid_choice_message=CHOOSE_FROM_LIST)
    class_size = optional_number("Most children in the class (optional)", 1, 60,
                                 "Leave empty for the national standard of the class.")
    children_per_staff = optional_number("Children for each staff member (optional)", 1, 30,
                                         "Leave empty for the national standard of the class.")
    submit = SubmitField("Create the service")

    def validate_max_age_years(self, field: IntegerField) -> None:
        if field.data is not None and self.min_age_years.data is not None and field.data < self.min_age_years.data:
            raise ValidationError("The oldest age must not be below the youngest.")

    def validate_max_age_months(self, field: IntegerField) -> None:
        if field.data is not None and self.min_age_months.data is not None \
                and field.data < self.min_age_months.data:
            raise ValidationError("The oldest age must not be below the youngest.")

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
    name = StringField("Name", [InputRequired("Please give the place a name."), Length(max=120)])
    address = StringField("Address", [InputRequired("Please give the address."), Length(max=200)])
    latitude = FloatField("Latitude", [InputRequired("Please give the latitude."), NumberRange(-90, 90)],
                          description="For the 15-minute service map, e.g. 31.33.")
    longitude = FloatField("Longitude", [InputRequired("Please give the longitude."), NumberRange(-180, 180)],
                           description="For example 118.37.")
    submit = SubmitField("Add the service point")


class SlotForm(PageForm):
    day = DateField("Day", [InputRequired("Please give the day."), within_years()])
    start_time = TimeField("Starts at", [InputRequired("Please give the start time.")])
    end_time = TimeField("Ends at", [InputRequired("Please give the end time.")])
    capacity = capacity_field("Places (optional)", required=False,
                              description="Leave empty for the service's usual number.")
    submit = SubmitField("Add the slot")


class WeeklyPatternForm(PageForm):
    weekdays = CheckboxesField("On these days", coerce=int, choices=options(enumerate(WEEKDAYS)))
    start_time = TimeField("Starts at", [InputRequired("Please give the start time.")])
    end_time = TimeField("Ends at", [InputRequired("Please give the end time.")])
    capacity = capacity_field("Places (optional)", required=False,
                              description="Leave empty for the service's usual number.")
    valid_from = DateField("First day", [InputRequired("Please give the first day."), within_years()])
    valid_until = DateField("Last day (optional)", [Optional(), within_years()])
    submit = SubmitField("Add the weekly slots")

    def validate_weekdays(self, field: CheckboxesField) -> None:
        # Checked here, not by InputRequired, whose "required" flag would make every box compulsory.
        if not field.data:
            raise ValidationError("Please tick at least one day.")


class CapacityForm(PageForm):
    capacity = capacity_field("Places")
    submit = SubmitField("Change places")


class PartnerAccountForm(PageForm):
    role = RadioField("Role", default=Role.partner_staff.value,
                      choices=options((role.value, LABELS["role"][role])
                                      for role in (Role.partner_staff, Role.partner_manager)),
                      validators=[InputRequired("Please choose the role.")],
                      description="Managers also change services, slots and places.")
    name = StringField("Name", [InputRequired("Please give the person's name."), Length(max=100)])
    login = StringField("Mobile number or e-mail", [InputRequired("Please give a mobile number or e-mail."),
                                                    Length(max=120)], description="They will use it to log in.")
    password = PasswordField("First password", [InputRequired("Please give a first password."),
                                                 Length(max=MAX_PASSWORD)],
                             description="At least 8 characters. Tell it to the person in private.",
                             render_kw={"autocomplete": "new-password"})
    email = EmailField("E-mail (optional)", [Optional(), Email("Please check the e-mail address."),
                                             Length(max=120)])
    phone = TelField("Phone (optional)", [Optional(), PHONE, Length(max=20)])
    submit = SubmitField("Create the account")
