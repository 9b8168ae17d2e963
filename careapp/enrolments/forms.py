"""Forms for enrolling a member in a service every week, and for pausing an enrolment."""
from __future__ import annotations

from datetime import date, time

from wtforms import BooleanField, DateField, HiddenField, RadioField, SubmitField
from wtforms.validators import InputRequired, Optional, ValidationError

from careapp.core.i18n import gettext as _
from careapp.core.i18n import lazy_gettext as _l
from careapp.core.i18n import weekday_name
from careapp.enrolments.queries import Sessions
from careapp.pages import (
    LABELS,
    IdSelectField,
    PageForm,
    options,
    within_years,
)
from careapp.partners.forms import CheckboxesField
from careapp.partners.models import Service, ServiceKind

# Ticked at first (of the days the service runs), so "every weekday" is no click at all; the family unticks
# the days it does not want. A weekend-only service starts with its own days ticked.
WORKING_DAYS = range(5)
FROM_THE_LIST = _l("Please choose from the list.")


class ChooseForm(PageForm):
    """Step one, a GET form: who is enrolled, and in which service."""

    class Meta:
        csrf = False

    member = IdSelectField(_l("Who is it for?"), placeholder=_l("Choose a person"),
                           message=_l("Please choose a person."))
    service = IdSelectField(_l("Which service?"), placeholder=_l("Choose a service"),
                            message=_l("Please choose a service."))
    submit = SubmitField(_l("Next"))


def _time_or_none(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None


class EnrolForm(PageForm):
    member = HiddenField()
    service = HiddenField()
    weekdays = CheckboxesField(_l("On these days every week"), coerce=int, invalid_value_message=FROM_THE_LIST,
                               invalid_choice_message=FROM_THE_LIST)
    start_time = RadioField(_l("Which session"), coerce=_time_or_none, validators=[Optional()],
                            invalid_value_message=FROM_THE_LIST, invalid_choice_message=FROM_THE_LIST)
    starts_on = DateField(_l("From"), [InputRequired(_l("Please give the first day.")), within_years()])
    ends_on = DateField(_l("Until (optional)"), [Optional(), within_years()],
                        description=_l("Leave empty to keep going until you end it."))
    needs_transport = BooleanField(_l("Fetch and bring home (接送)"))
    meal_mode = RadioField(_l("How the meal comes"),
                           choices=options((mode.value, label) for mode, label in LABELS["meal_mode"].items()),
                           validators=[InputRequired(_l("Please choose how the meal comes."))],
                           validate_choice=False)  # the rule names the modes if a wrong one is sent
    submit = SubmitField(_l("Enrol"))

    @classmethod
    def for_service(cls, service: Service, sessions: Sessions, *, member_id: int, today: date) -> EnrolForm:
        """The form with only what this service asks: its weekdays and session times, and its options."""
        days = sorted(sessions.weekdays) if sessions.weekdays else list(range(7))
        ticked = [day for day in days if day in WORKING_DAYS] or days
        form = cls(member=str(member_id), service=str(service.id), starts_on=today, weekdays=ticked)
        form.weekdays.choices = options((day, weekday_name(day)) for day in days)
        if len(sessions.start_times) > 1:
            form.start_time.choices = options([("", _("Every session of the day"))] +
                                              [(start.isoformat(), _("The one starting at %(time)s",
                                                                     time=start.strftime("%H:%M")))
                                               for start in sessions.start_times])
        else:
            del form.start_time
        if not (service.kind == ServiceKind.daycare and service.transport):
            del form.needs_transport
        if service.kind != ServiceKind.meal:
            del form.meal_mode
        return form

    def validate_weekdays(self, field: CheckboxesField) -> None:
        if not field.data:
            raise ValidationError(_("Please tick at least one day."))

    def validate_ends_on(self, field: DateField) -> None:
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_("The last day cannot be before the first day."))

    def options(self) -> dict:
        """The booking options as the rule takes them."""
        chosen = {}
        if "needs_transport" in self:
            chosen["needs_transport"] = bool(self.needs_transport.data)
        if "meal_mode" in self:
            chosen["mode"] = self.meal_mode.data
        return chosen

    def session_time(self) -> time | None:
        return self.start_time.data if "start_time" in self else None


class PauseForm(PageForm):
    resumes_on = DateField(_l("Back on"), [InputRequired(_l("Please give the day to start again.")), within_years()])
    submit = SubmitField(_l("Pause"))


class ActionForm(PageForm):
    """A button-only POST (resume, end): just the CSRF check."""
