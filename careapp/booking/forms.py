"""Finding slots and booking a place."""
from __future__ import annotations

from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional, ValidationError

from careapp.core.i18n import gettext as _
from careapp.core.i18n import lazy_gettext as _l
from careapp.pages import LABELS, IdSelectField, PageForm, optional_int, options, within_years
from careapp.partners.models import ServiceKind

MAX_SEARCH_DAYS = 92


def _kind_or_none(value: str | None) -> ServiceKind | None:
    return ServiceKind(value) if value else None


class FindSlotsForm(PageForm):
    """A GET search form: nothing is written, so no CSRF token (links to results can be shared)."""

    class Meta:
        csrf = False

    kind = SelectField(_l("Kind of care"), coerce=_kind_or_none, validators=[Optional()],
                       choices=options([("", _l("Any kind"))] + [(kind.value, label)
                                                             for kind, label in LABELS["service_kind"].items()]))
    date_from = DateField(_l("From"), [Optional(), within_years()])
    date_to = DateField(_l("To"), [Optional(), within_years()])
    partner_id = IdSelectField(_l("Partner"), placeholder=_l("Any partner"), required=False)
    submit = SubmitField(_l("Find"))

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data:
            if field.data < self.date_from.data:
                raise ValidationError(_("The last day must be on or after the first day."))
            if (field.data - self.date_from.data).days > MAX_SEARCH_DAYS:
                raise ValidationError(_("Please search at most %(days)s days at once.", days=MAX_SEARCH_DAYS))


class ResidentSearchForm(PageForm):
    class Meta:
        csrf = False

    q = StringField(_l("Resident's family name, building or flat"), [Optional(), Length(max=100)])
    submit = SubmitField(_l("Search"))


class BookForm(PageForm):
    """Who the place is for, and what the service asks of a booking (day care: transport)."""

    recipient_id = IdSelectField(_l("Who is the place for?"), placeholder=_l("Choose a person"),
                                 message=_l("Please choose who the place is for."))
    # Day care with transport only (the slot page removes it elsewhere).
    needs_transport = BooleanField(_l("Fetch and bring home (接送)"))
    next = HiddenField()
    submit = SubmitField(_l("Book"))


def member_option_id(value: str | None) -> int | None:
    """Ids arrive as text from links (``?household=12``); anything else is no choice."""
    try:
        return optional_int(value)
    except ValueError:
        return None
