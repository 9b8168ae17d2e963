"""What every server-rendered page view shares: the acting user, access refusals, rule refusals shown
on the form, safe redirects, id selects, and the plain-word labels of the domain's codes."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Mapping
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation, ValidationError

from careapp.accounts.models import Role, User
from careapp.booking.models import BookingStatus, EnrolmentStatus
from careapp.core.db import db
from careapp.core.errors import CareappError, Forbidden
from careapp.core.validation import CONTROL_CHARACTERS, MAX_ID
from careapp.households.models import DietTag, RecipientKind, SpecialGroup
from careapp.meals.models import MealMode
from careapp.partners.models import (
    ChildClass,
    FillPolicy,
    MealTime,
    PartnerKind,
    PartnerOrganisation,
    ServiceKind,
    SessionLength,
    ShiftRole,
    SlotStatus,
)

# Refusals that are not the user's input to fix: they get the error page with their status.
PAGE_STATUSES = frozenset({401, 403, 404, 503})

LABELS: dict[str, dict[Any, str]] = {
    "service_kind": {ServiceKind.daycare: "Day care", ServiceKind.meal: "Meal help",
                     ServiceKind.childcare: "Childcare", ServiceKind.activity: "Activity or reading room"},
    "recipient_kind": {RecipientKind.elder: "Elder", RecipientKind.child: "Child"},
    "booking_status": {BookingStatus.confirmed: "Confirmed", BookingStatus.waitlisted: "On the waiting list",
                       BookingStatus.offered: "Place offered", BookingStatus.cancelled: "Cancelled",
                       BookingStatus.checked_in: "Checked in", BookingStatus.checked_out: "Checked out",
                       BookingStatus.no_show: "Did not come"},
    "slot_status": {SlotStatus.open: "Open", SlotStatus.closed: "Closed", SlotStatus.cancelled: "Cancelled"},
    "fill_policy": {FillPolicy.auto: "Give a freed place to the next in line at once",
                    FillPolicy.offer: "Offer a freed place to the next in line for some hours"},
    "partner_kind": {PartnerKind.elderly_care_centre: "Elderly care centre", PartnerKind.nursery: "Nursery",
                     PartnerKind.canteen: "Canteen", PartnerKind.social_organisation: "Social organisation",
                     PartnerKind.academy: "Academy or reading room"},
    "role": {Role.family: "Family", Role.partner_staff: "Partner staff", Role.partner_manager: "Partner manager",
             Role.community_staff: "Community staff", Role.admin: "Administrator"},
    # GB/T 42195-2022 ability levels, in plain words.
    "ability_level": {0: "0 - fully able", 1: "1 - mildly impaired", 2: "2 - moderately impaired",
                      3: "3 - severely impaired", 4: "4 - fully dependent"},
    "session_length": {SessionLength.half_day: "Half day", SessionLength.full_day: "Full day",
                       SessionLength.occasional: "Occasional care (临时托)",
                       SessionLength.after_school: "After school"},
    "meal": {MealTime.lunch: "Lunch", MealTime.dinner: "Dinner"},
    "meal_mode": {MealMode.dine_in: "Eat at the canteen", MealMode.pick_up: "Pick up",
                  MealMode.delivery: "Delivered home"},
    "diet_tag": {DietTag.low_salt: "Low salt", DietTag.low_sugar: "Low sugar", DietTag.soft: "Soft or minced",
                 DietTag.vegetarian: "Vegetarian", DietTag.halal: "Halal"},
    "special_group": {SpecialGroup.dibao: "Minimum living allowance (低保)",
                      SpecialGroup.tekun: "Extreme poverty support (特困)",
                      SpecialGroup.shineng: "Lost abilities (失能)"},
    "child_class": {ChildClass.infant: "Infant class (乳儿班), 6-12 months",
                    ChildClass.toddler: "Toddler class (托小班), 12-24 months",
                    ChildClass.preschool: "Older class (托大班), 24-36 months",
                    ChildClass.mixed: "Mixed class, 18 months or more",
                    ChildClass.after_school: "After-school care"},
    "shift_role": {ShiftRole.staff: "Staff", ShiftRole.volunteer: "Volunteer"},
    "enrolment_status": {EnrolmentStatus.active: "Active", EnrolmentStatus.paused: "Paused",
                         EnrolmentStatus.ended: "Ended"},
    "need": {"diet": "Diet", "allergies": "Allergies", "mobility": "Mobility",
             "medication_notes": "Medication", "emergency_contact_name": "Emergency contact",
             "emergency_contact_phone": "Emergency phone"},
}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def acting_user() -> User:
    """The logged-in user as the model object the rules take (not Flask-Login's proxy)."""
    return current_user._get_current_object()


def require(allowed: bool, message: str = "You may not see or change this.") -> None:
    """Object-level access: refuse with the 403 page (answers come from User's permission methods)."""
    if not allowed:
        raise Forbidden(message)


def managed_partner(partner_id: int, message: str = "Only this partner's manager may do that.") -> PartnerOrganisation:
    """Load a partner for one of its manager's pages (404 when there is none, 403 for anyone else)."""
    partner = db.get_or_404(PartnerOrganisation, partner_id)
    require(acting_user().manages_partner(partner.id), message)
    return partner


def household_page(user: User, household_id: int) -> str:
    """Where a household's bookings are shown: a family's home, or the household page for district staff."""
    if user.role == Role.family:
        return url_for("family.home")
    return url_for("family.household", household_id=household_id)


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, labels=LABELS, weekdays=WEEKDAYS, **context), status


def show_refusal(error: CareappError, form: FlaskForm | None = None,
                 aliases: Mapping[str, str] | None = None) -> int:
    """Show a rule's refusal beside the field it names (else as a flash message); return the status to answer.

    ``aliases`` maps the rule's field names to the form's (e.g. a rule's ``starts_at`` is the form's
    ``start_time``). Access and existence refusals go on to the error page instead.
    """
    if error.status in PAGE_STATUSES:
        raise error
    for name in error.fields:
        field = form._fields.get((aliases or {}).get(name, name)) if form is not None else None
        if field is not None:
            field.errors = [*field.errors, error.message]
            return error.status
    flash(error.message, "error")
    return error.status


def form_page(form: FlaskForm, template: str, act: Callable[[], tuple[str, str]], *,
              aliases: Mapping[str, str] | None = None, **context: Any) -> ResponseReturnValue:
    """The form page every create view shares: show the form; on a valid POST call ``act``, which runs the
    rule and returns (success message, where to go next); a rule's refusal goes beside its field."""
    if not form.validate_on_submit():
        return render(template, 400 if form.errors else 200, form=form, **context)
    try:
        message, target = act()
    except CareappError as error:
        return render(template, show_refusal(error, form, aliases), form=form, **context)
    flash(message, "success")
    return redirect(target)


def flash_form_errors(form: FlaskForm) -> None:
    """For button-only forms, which have no field to show an error beside."""
    for errors in form.errors.values():
        for message in errors:
            flash(message, "error")


def safe_next(target: str | None) -> str | None:
    """A same-site relative path to go on to after logging in, or None (never an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None  # browsers read "/\evil" as "//evil"; control characters hide a scheme
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices (tuples are deprecated in WTForms 3.3)."""
    return [SelectChoice(str(value), label) for value, label in pairs]


def within_years(first: int = 1900, last: int = 2100):
    """A date in a sensible range (a far-off year would overflow the date arithmetic of the rules)."""

    def check(form: FlaskForm, field) -> None:
        if field.data is not None and not first <= field.data.year <= last:
            raise ValidationError(f"Please give a date between {first} and {last}.")

    return check


def optional_int(value: Any) -> int | None:
    """An id (or a small code such as an ability level) from a form or link: empty is None; anything but a
    whole number in 0..MAX_ID is a ValueError (no row has it, and a huge one overflows the database driver)."""
    if value in (None, ""):
        return None
    number = int(value)
    if not 0 <= number <= MAX_ID:
        raise ValueError(f"no id is {value}")
    return number


class PageForm(FlaskForm):
    """The base of every page form: text with control characters (NUL, escapes; tab and line breaks are fine)
    is refused beside its field before any rule or query sees it. PostgreSQL cannot even compare NUL.
    Hidden fields are left to their own checks (a bad ``next`` is ignored, as safe_next says)."""

    CONTROL_MESSAGE = "Please remove the control characters (such as NUL) from this."

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field, HiddenField):
                continue  # never stored: ``next`` is checked by safe_next, a bad one is ignored, not refused
            if any(isinstance(value, str) and CONTROL_CHARACTERS.search(value) for value in field.raw_data or ()):
                field.errors = [*field.errors, self.CONTROL_MESSAGE]
                valid = False
        return valid


class IdSelectField(SelectField):
    """A select of database ids with a "Choose ..." first option; the rule decides if the id is acceptable."""

    def __init__(self, label: str, *, placeholder: str = "Choose one", required: bool = True,
                 message: str = "Please choose one.", **kwargs: Any):
        super().__init__(label, coerce=optional_int, invalid_choice_message="Please choose one from the list.",
                         **kwargs)
        self.placeholder, self.required, self.message = placeholder, required, message

    def set_options(self, options: list[tuple[int, str]] | list[SelectChoice]) -> None:
        """Options as (id, label) pairs, or SelectChoice with an ``optgroup`` to group them."""
        self.choices = [SelectChoice("", self.placeholder),
                        *(option if isinstance(option, SelectChoice) else SelectChoice(str(option[0]), option[1])
                          for option in options)]

    def process_formdata(self, valuelist: list[str]) -> None:
        if valuelist:
            try:
                self.data = self.coerce(valuelist[0])
            except (ValueError, TypeError):
                self.data = None
                raise ValueError(self.gettext("Please choose one from the list.")) from None

    def pre_validate(self, form: FlaskForm) -> None:
        if self.data is None and not self.process_errors:
            if self.required:
                raise StopValidation(self.message)
            return
        super().pre_validate(form)
