"""Forms of partner administration: registering a partner, its profile, rooms, and declining a registration."""
from __future__ import annotations

from wtforms import IntegerField, SelectField, StringField, SubmitField, TelField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from careapp.accounts.forms import PHONE, confirm_password_field, login_field, new_password_field
from careapp.core.i18n import lazy_gettext as _l
from careapp.pages import LABELS, PageForm, options
from careapp.partners.admin_services import (DESCRIPTION_MAX, MAX_SEATS, NAME_MAX, PHONE_MAX, REASON_MAX,
                                             ROOM_NAME_MAX, ROOM_PURPOSE_MAX)


def kind_field() -> SelectField:
    return SelectField(_l("Kind of organisation"),
                       choices=options((kind.value, label) for kind, label in LABELS["partner_kind"].items()),
                       validators=[InputRequired(_l("Please choose the kind."))])


class PartnerRegistrationForm(PageForm):
    name = StringField(_l("Name of the organisation"), [InputRequired(_l("Please give the organisation's name.")),
                                                        Length(max=NAME_MAX)],
                       description=_l("The full registered name, for example 普康养老服务中心."))
    kind = kind_field()
    phone = TelField(_l("Phone"), [InputRequired(_l("Please give a phone number families and staff can call.")),
                                   PHONE, Length(max=PHONE_MAX)])
    description = TextAreaField(_l("What you offer (optional)"), [Optional(), Length(max=DESCRIPTION_MAX)])
    manager_name = StringField(_l("Your name"), [InputRequired(_l("Please give your name.")), Length(max=100)],
                               description=_l("You will manage the organisation's services and staff in careapp."))
    login = login_field(_l("Your mobile number or e-mail"))
    password = new_password_field()
    confirm = confirm_password_field()
    submit = SubmitField(_l("Register the organisation"))


class PartnerProfileForm(PageForm):
    name = StringField(_l("Name of the organisation"), [InputRequired(_l("Please give the organisation's name.")),
                                                        Length(max=NAME_MAX)])
    phone = TelField(_l("Phone (optional)"), [Optional(), PHONE, Length(max=PHONE_MAX)])
    description = TextAreaField(_l("What you offer (optional)"), [Optional(), Length(max=DESCRIPTION_MAX)])
    submit = SubmitField(_l("Save the profile"))


class DeclineForm(PageForm):
    reason = TextAreaField(_l("Why is it declined?"), [InputRequired(_l("Please say why, so the partner knows what to "
                                                                       "put right.")), Length(max=REASON_MAX)],
                           description=_l("The partner's manager sees this."))
    submit = SubmitField(_l("Decline the registration"))


class RoomForm(PageForm):
    name = StringField(_l("Name of the room"), [InputRequired(_l("Please give the room a name.")),
                                                Length(max=ROOM_NAME_MAX)],
                       description=_l("For example 餐厅 (dining area) or 阅览室 (reading area)."))
    purpose = StringField(_l("Used for (optional)"), [Optional(), Length(max=ROOM_PURPOSE_MAX)])
    seats = IntegerField(_l("Seats (optional)"),
                         [Optional(), NumberRange(0, MAX_SEATS, _l("A whole number from %(min)s to %(max)s."))])
    submit = SubmitField(_l("Save the room"))

