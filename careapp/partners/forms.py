"""Forms a partner's manager uses for services, service points and slots."""
from __future__ import annotations

from wtforms import (DateField, EmailField, FloatField, IntegerField, PasswordField, RadioField, SelectField,
                     SelectMultipleField, StringField, SubmitField, TelField, TimeField, widgets)
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional, ValidationError

from careapp.accounts.forms import MAX_PASSWORD, PHONE
from careapp.accounts.models import Role
from careapp.pages import LABELS, WEEKDAYS, IdSelectField, PageForm, options, within_years
from careapp.partners.models import FillPolicy, ServiceKind

MAX_CAPACITY = 10_000
MAX_CUTOFF_MINUTES = 30 * 24 * 60
MAX_OFFER_HOURS = 14 * 24  # an offer held longer than two weeks helps nobody waiting


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
                                             MAX_CUTOFF_MINUTES, "Leave empty for the usual rule of this kind.")
    cancel_cutoff_minutes = optional_number("Cancelling closes this many minutes before the start", 0,
                                            MAX_CUTOFF_MINUTES, "Leave empty for the usual rule of this kind.")
    min_age_years = optional_number("Youngest age in years (optional)", 0, 150)
    max_age_years = optional_number("Oldest age in years (optional)", 0, 150)
    min_age_months = optional_number("Youngest age in months, for children (optional)", 0, 240)
    max_age_months = optional_number("Oldest age in months, for children (optional)", 0, 240)
    ability_levels = CheckboxesField("Ability levels accepted", coerce=int,
                                     choices=options(sorted(LABELS["ability_level"].items())),
                                     description="Leave all unticked to accept every level.")
    submit = SubmitField("Create the service")

    def validate_max_age_years(self, field: IntegerField) -> None:
        if field.data is not None and self.min_age_years.data is not None and field.data < self.min_age_years.data:
            raise ValidationError("The oldest age must not be below the youngest.")

    def validate_max_age_months(self, field: IntegerField) -> None:
        if field.data is not None and self.min_age_months.data is not None \
                and field.data < self.min_age_months.data:
            raise ValidationError("The oldest age must not be below the youngest.")

    def settings(self) -> dict:
        """The kind's policy settings as the rule takes them."""
        levels = "".join(str(level) for level in sorted(set(self.ability_levels.data or [])))
        return {"fill_policy": FillPolicy(self.fill_policy.data), "offer_hours": self.offer_hours.data,
                "booking_cutoff_minutes": self.booking_cutoff_minutes.data,
                "cancel_cutoff_minutes": self.cancel_cutoff_minutes.data,
                "min_age_years": self.min_age_years.data, "max_age_years": self.max_age_years.data,
                "min_age_months": self.min_age_months.data, "max_age_months": self.max_age_months.data,
                "ability_levels": levels or None}

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
