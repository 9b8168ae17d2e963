"""Finding slots and booking a place."""
from __future__ import annotations

from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional, ValidationError

from careapp.pages import LABELS, IdSelectField, PageForm, optional_int, options, within_years
from careapp.partners.models import ServiceKind

MAX_SEARCH_DAYS = 92


def _kind_or_none(value: str | None) -> ServiceKind | None:
    return ServiceKind(value) if value else None


class FindSlotsForm(PageForm):
    """A GET search form: nothing is written, so no CSRF token (links to results can be shared)."""

    class Meta:
        csrf = False

    kind = SelectField("Kind of care", coerce=_kind_or_none, validators=[Optional()],
                       choices=options([("", "Any kind")] + [(kind.value, label)
                                                             for kind, label in LABELS["service_kind"].items()]))
    date_from = DateField("From", [Optional(), within_years()])
    date_to = DateField("To", [Optional(), within_years()])
    partner_id = IdSelectField("Partner", placeholder="Any partner", required=False)
    submit = SubmitField("Find")

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data:
            if field.data < self.date_from.data:
                raise ValidationError("The last day must be on or after the first day.")
            if (field.data - self.date_from.data).days > MAX_SEARCH_DAYS:
                raise ValidationError(f"Please search at most {MAX_SEARCH_DAYS} days at once.")


class ResidentSearchForm(PageForm):
    class Meta:
        csrf = False

    q = StringField("Resident's family name, building or flat", [Optional(), Length(max=100)])
    submit = SubmitField("Search")


class BookForm(PageForm):
    """Who the place is for, and what the service asks of a booking (day care: transport)."""

    recipient_id = IdSelectField("Who is the place for?", placeholder="Choose a person",
                                 message="Please choose who the place is for.")
    # Day care with transport only (the slot page removes it elsewhere).
    needs_transport = BooleanField("Fetch and bring home (接送)")
    next = HiddenField()
    submit = SubmitField("Book")


def member_option_id(value: str | None) -> int | None:
    """Ids arrive as text from links (``?household=12``); anything else is no choice."""
    try:
        return optional_int(value)
    except ValueError:
        return None
