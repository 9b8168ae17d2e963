"""What every server-rendered page view shares: the acting user, access refusals, rule refusals shown
on the form, safe redirects, id selects, and the plain-word labels of the domain's codes."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Mapping
from urllib.parse import urlsplit

from flask import flash, has_request_context, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel.speaklater import LazyString
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation, ValidationError

from careapp.accounts.models import Role, User
from careapp.booking.models import BookingStatus, EnrolmentStatus
from careapp.core.db import db
from careapp.core.errors import CareappError, Forbidden
from careapp.core.i18n import gettext as _, lazy_gettext as _l, ngettext, weekday_name
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


def _text(value: Any) -> Any:
    """A lazy text as plain text in the page's language while a request runs; as it is otherwise.

    Translated once per request and label: a roster or table shows the same few labels on every row, and each
    translation looks up the request's language and catalogue again (a popular slot's roster: 800 of them)."""
    if not isinstance(value, LazyString) or not has_request_context():
        return value
    translated = request.environ.setdefault("careapp.labels", {})
    kept = translated.get(id(value))
    if kept is None:  # kept with the text it names, so that its id is no other's while the request runs
        kept = translated[id(value)] = (value, str(value))
    return kept[1]


def age_words(member: Any, day: date) -> str:
    """A member's age on ``day`` in words: "3 years", or "18 months" for a child under three (a nursery's
    classes go by months). A function, not a template macro: rosters show one per person, and a macro call
    costs several times as much."""
    years = member.age_on(day)
    if member.kind == RecipientKind.child and years < 3:
        months = member.age_in_months_on(day)
        return ngettext("%(num)d month", "%(num)d months", months)
    return ngettext("%(num)d year", "%(num)d years", years)


class Labels(dict):
    """One table of LABELS (a code -> its words). Read while a request runs, it answers plain text in the page's
    language, so a label joins, lowercases and goes into a spreadsheet like any str; read outside a request
    (form choices built at import time) it answers the lazy text, which is looked up when it is shown."""

    def __getitem__(self, key: Any) -> Any:
        return _text(super().__getitem__(key))

    def get(self, key: Any, default: Any = None) -> Any:
        return _text(super().get(key, default))

    def items(self):  # type: ignore[override]
        return [(key, _text(value)) for key, value in super().items()]

    def values(self):  # type: ignore[override]
        return [_text(value) for value in super().values()]


LABELS: dict[str, Labels] = {
    "service_kind": Labels({
        ServiceKind.daycare: _l("Day care"), ServiceKind.meal: _l("Meal help"),
        ServiceKind.childcare: _l("Childcare"), ServiceKind.activity: _l("Activity or reading room")}),
    "recipient_kind": Labels({RecipientKind.elder: _l("Elder"), RecipientKind.child: _l("Child")}),
    "booking_status": Labels({
        BookingStatus.confirmed: _l("Confirmed"), BookingStatus.waitlisted: _l("On the waiting list"),
        BookingStatus.offered: _l("Place offered"), BookingStatus.cancelled: _l("Cancelled"),
        BookingStatus.checked_in: _l("Checked in"), BookingStatus.checked_out: _l("Checked out"),
        BookingStatus.no_show: _l("Did not come")}),
    "slot_status": Labels({SlotStatus.open: _l("Open"), SlotStatus.closed: _l("Closed"),
                           SlotStatus.cancelled: _l("Cancelled")}),
    "fill_policy": Labels({FillPolicy.auto: _l("Give a freed place to the next in line at once"),
                           FillPolicy.offer: _l("Offer a freed place to the next in line for some hours")}),
    "partner_kind": Labels({
        PartnerKind.elderly_care_centre: _l("Elderly care centre"), PartnerKind.nursery: _l("Nursery"),
        PartnerKind.canteen: _l("Canteen"), PartnerKind.social_organisation: _l("Social organisation"),
        PartnerKind.academy: _l("Academy or reading room")}),
    "role": Labels({
        Role.family: _l("Family"), Role.partner_staff: _l("Partner staff"),
        Role.partner_manager: _l("Partner manager"), Role.community_staff: _l("Community staff"),
        Role.admin: _l("Administrator")}),
    # GB/T 42195-2022 ability levels, in plain words.
    "ability_level": Labels({0: _l("0 - fully able"), 1: _l("1 - mildly impaired"), 2: _l("2 - moderately impaired"),
                             3: _l("3 - severely impaired"), 4: _l("4 - fully dependent")}),
    "session_length": Labels({
        SessionLength.half_day: _l("Half day"), SessionLength.full_day: _l("Full day"),
        SessionLength.occasional: _l("Occasional care (临时托)"), SessionLength.after_school: _l("After school")}),
    "meal": Labels({MealTime.lunch: _l("Lunch"), MealTime.dinner: _l("Dinner")}),
    "meal_mode": Labels({MealMode.dine_in: _l("Eat at the canteen"), MealMode.pick_up: _l("Pick up"),
                         MealMode.delivery: _l("Delivered home")}),
    "diet_tag": Labels({
        DietTag.low_salt: _l("Low salt"), DietTag.low_sugar: _l("Low sugar"), DietTag.soft: _l("Soft or minced"),
        DietTag.vegetarian: _l("Vegetarian"), DietTag.halal: _l("Halal")}),
    "special_group": Labels({SpecialGroup.dibao: _l("Minimum living allowance (低保)"),
                             SpecialGroup.tekun: _l("Extreme poverty support (特困)"),
                             SpecialGroup.shineng: _l("Lost abilities (失能)")}),
    "child_class": Labels({ChildClass.infant: _l("Infant class (乳儿班), 6-12 months"),
                           ChildClass.toddler: _l("Toddler class (托小班), 12-24 months"),
                           ChildClass.preschool: _l("Older class (托大班), 24-36 months"),
                           ChildClass.mixed: _l("Mixed class, 18 months or more"),
                           ChildClass.after_school: _l("After-school care")}),
    "shift_role": Labels({ShiftRole.staff: _l("Staff"), ShiftRole.volunteer: _l("Volunteer")}),
    "enrolment_status": Labels({EnrolmentStatus.active: _l("Active"), EnrolmentStatus.paused: _l("Paused"),
                                EnrolmentStatus.ended: _l("Ended")}),
    "need": Labels({"diet": _l("Diet"), "allergies": _l("Allergies"), "mobility": _l("Mobility"),
                    "medication_notes": _l("Medication"), "emergency_contact_name": _l("Emergency contact"),
                    "emergency_contact_phone": _l("Emergency phone")}),
}

class _Weekdays(tuple):
    """The names of the weekdays, Monday first: in the page's language while a request runs (星期一 / Monday)."""

    def __getitem__(self, index):  # type: ignore[override]
        if not isinstance(index, int):
            return super().__getitem__(index)
        if has_request_context():
            return weekday_name(range(7)[index])
        # Outside a request (form choices made when a module is imported): looked up when shown.
        return LazyString(weekday_name, range(7)[index])

    def __iter__(self):
        return (self[day] for day in range(len(self)))


WEEKDAYS = _Weekdays(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"))


def acting_user() -> User:
    """The logged-in user as the model object the rules take (not Flask-Login's proxy)."""
    return current_user._get_current_object()


def require(allowed: bool, message: str = _l("You may not see or change this.")) -> None:
    """Object-level access: refuse with the 403 page (answers come from User's permission methods)."""
    if not allowed:
        raise Forbidden(message)


def managed_partner(partner_id: int,
                    message: str = _l("Only this partner's manager may do that.")) -> PartnerOrganisation:
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
    return render_template(template, labels=LABELS, weekdays=WEEKDAYS, age_words=age_words, **context), status


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
            raise ValidationError(_("Please give a date between %(first)s and %(last)s.", first=first, last=last))

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

    CONTROL_MESSAGE = _l("Please remove the control characters (such as NUL) from this.")

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

    def __init__(self, label: str, *, placeholder: str = _l("Choose one"), required: bool = True,
                 message: str = _l("Please choose one."), **kwargs: Any):
        super().__init__(label, coerce=optional_int, invalid_choice_message=_l("Please choose one from the list."),
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
                raise ValueError(_("Please choose one from the list.")) from None

    def pre_validate(self, form: FlaskForm) -> None:
        if self.data is None and not self.process_errors:
            if self.required:
                raise StopValidation(self.message)
            return
        super().pre_validate(form)
