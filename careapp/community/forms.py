"""Forms community staff use: adding partners and their staff accounts."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, SelectField, StringField, SubmitField, TelField
from wtforms.validators import Email, InputRequired, Length, Optional

from careapp.accounts.forms import MAX_PASSWORD, PHONE
from careapp.accounts.models import Role
from careapp.pages import LABELS, options


class PartnerForm(FlaskForm):
    name = StringField("Name of the organisation", [InputRequired("Please give the name."), Length(max=120)])
    kind = SelectField("Kind of organisation", choices=options((kind.value, label) for kind, label in LABELS["partner_kind"].items()),
                       validators=[InputRequired("Please choose the kind.")])
    phone = TelField("Phone (optional)", [Optional(), PHONE, Length(max=20)])
    submit = SubmitField("Add the partner")


class PartnerAccountForm(FlaskForm):
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
