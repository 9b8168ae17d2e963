"""Forms for shifts, volunteers, the day roster's day, and attendance (check-in with the health check, check-out)."""
from __future__ import annotations

import re

from wtforms import (DateField, IntegerField, RadioField, SelectField, StringField, SubmitField, TelField,
                     TextAreaField, TimeField)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from careapp.accounts.forms import PHONE
from careapp.accounts.models import User
from careapp.core.i18n import gettext as _
from careapp.core.i18n import lazy_gettext as _l
from careapp.pages import LABELS, IdSelectField, PageForm, options, within_years
from careapp.partners.models import Service, ShiftRole, Volunteer
from careapp.partners.shifts import MAX_PEOPLE, NAME_LENGTH, TITLE_LENGTH

PERSON = re.compile(r"^(user|volunteer):(\d{1,10})$")


class ShiftForm(PageForm):
    day = DateField(_l("Day"), [InputRequired(_l("Please give the day.")), within_years()])
    start_time = TimeField(_l("Starts at"), [InputRequired(_l("Please give the start time."))])
    end_time = TimeField(_l("Ends at"), [InputRequired(_l("Please give the end time."))])
    role = RadioField(_l("Who works it"), default=ShiftRole.staff.value,
                      choices=options((role.value, label) for role, label in LABELS["shift_role"].items()),
                      validators=[InputRequired(_l("Please choose staff or volunteers."))],
                      description=_l("Only staff count towards a childcare class's staff : child ratio."))
    title = StringField(_l("Title"), [InputRequired(_l("Please give the shift a title.")), Length(max=TITLE_LENGTH)],
                        description=_l("For example 早班保育 or Lunch helpers."))
    # NumberRange fills in %(min)s and %(max)s itself.
    min_people = IntegerField(_l("Fewest people needed"), [InputRequired(_l("Please give a number.")),
                                                          NumberRange(0, MAX_PEOPLE, _l("From %(min)s to %(max)s."))],
                              default=1)
    max_people = IntegerField(_l("Most people"), [InputRequired(_l("Please give a number.")),
                                                  NumberRange(1, MAX_PEOPLE, _l("From %(min)s to %(max)s."))],
                              default=1)
    service_id = IdSelectField(_l("Class or service it staffs (optional)"), required=False,
                               placeholder=_l("The service point in general"),
                               description=_l("Choose the class for childcare staff: their number sets the places."))
    submit = SubmitField(_l("Save the shift"))

    def validate_max_people(self, field: IntegerField) -> None:
        if field.data is not None and self.min_people.data is not None and field.data < self.min_people.data:
            raise ValidationError(_("The most people cannot be fewer than the fewest needed."))

    def set_services(self, services: list[Service]) -> None:
        self.service_id.set_options([(service.id, service.name) for service in services])

    def values(self) -> dict:
        return {"day": self.day.data, "start_time": self.start_time.data, "end_time": self.end_time.data,
                "role": ShiftRole(self.role.data), "title": self.title.data, "min_people": self.min_people.data,
                "max_people": self.max_people.data, "service_id": self.service_id.data}


class AssignForm(PageForm):
    person = SelectField(_l("Add a person"), validators=[InputRequired(_l("Please choose who works this shift."))])
    submit = SubmitField(_l("Add to the shift"))

    def set_people(self, role: ShiftRole, staff: list[User], volunteers: list[Volunteer]) -> None:
        people = [(f"user:{u.id}", u.name) for u in staff] if role == ShiftRole.staff else \
            [(f"volunteer:{v.id}", v.name) for v in volunteers]
        self.person.choices = options([("", _("Choose someone")), *people])

    def person_ids(self) -> dict[str, int]:
        """{"user_id": 5} or {"volunteer_id": 3}, as the rule takes them."""
        kind, ident = PERSON.fullmatch(self.person.data).groups()
        return {f"{kind}_id": int(ident)}

    def validate_person(self, field: SelectField) -> None:
        if not PERSON.fullmatch(field.data or ""):
            raise ValidationError(_("Please choose who works this shift."))


class VolunteerForm(PageForm):
    name = StringField(_l("Name"), [InputRequired(_l("Please give the volunteer's name.")), Length(max=NAME_LENGTH)])
    phone = TelField(_l("Phone (optional)"), [Optional(), PHONE, Length(max=20)])
    submit = SubmitField(_l("Add the volunteer"))


class DayForm(PageForm):
    """The day a roster shows (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    day = DateField(_l("Day"), [Optional(), within_years()])
    submit = SubmitField(_l("Show"))


class CheckInForm(PageForm):
    temperature = StringField(_l("Temperature °C (optional)"), [Optional(), Length(max=10)],
                              render_kw={"inputmode": "decimal", "autocomplete": "off"})
    health_notes = TextAreaField(_l("Health notes (optional)"), [Optional(), Length(max=500)])


class CheckOutForm(PageForm):
    # Any id is passed on: the rule decides (and logs) whether that adult may collect the child.
    collected_by = IdSelectField(_l("Collected by"), required=False, validate_choice=False)
