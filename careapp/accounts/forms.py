"""Forms for logging in and registering a family."""
from __future__ import annotations

from wtforms import EmailField, HiddenField, PasswordField, StringField, SubmitField, TelField
from wtforms.validators import Email, EqualTo, InputRequired, Length, Optional, Regexp

from careapp.core.i18n import lazy_gettext as _l
from careapp.pages import IdSelectField, PageForm

# Long enough for any pass phrase, short enough that hashing it costs nothing unusual.
MAX_PASSWORD = 200
PHONE = Regexp(regex=r"^[0-9+\- ]*$", message=_l("Use digits only, for example 13912345678."))


def login_field(label: str = _l("Mobile number or e-mail")) -> StringField:
    """The login of a new account (each form calls these in its class body, so fields keep their order)."""
    return StringField(label, [InputRequired(_l("Please give a mobile number or e-mail.")), Length(max=120)],
                       description=_l("You will use it to log in."), render_kw={"autocomplete": "username"})


def new_password_field() -> PasswordField:
    return PasswordField(_l("Password"), [InputRequired(_l("Please choose a password.")), Length(max=MAX_PASSWORD)],
                         description=_l("At least 8 characters."), render_kw={"autocomplete": "new-password"})


def confirm_password_field() -> PasswordField:
    return PasswordField(_l("Password again"),
                         [InputRequired(_l("Please type the password again.")),
                          EqualTo(fieldname="password", message=_l("The two passwords are not the same."))],
                         render_kw={"autocomplete": "new-password"})


class LoginForm(PageForm):
    login = StringField(_l("Mobile number or e-mail"),
                        [InputRequired(_l("Please give your mobile number or e-mail."))],
                        render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), [InputRequired(_l("Please give your password."))],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()
    submit = SubmitField(_l("Log in"))


class RegisterForm(PageForm):
    name = StringField(_l("Your family's name"), [InputRequired(_l("Please give your name.")), Length(max=100)],
                       description=_l("For example 李家 or your own name."))
    login = login_field()
    password = new_password_field()
    confirm = confirm_password_field()
    building_id = IdSelectField(_l("Your building"), placeholder=_l("Choose your building"),
                                message=_l("Please choose your building."))
    unit = StringField(_l("Flat or room (optional)"), [Optional(), Length(max=50)])
    email = EmailField(_l("E-mail (optional)"), [Optional(), Email(_l("Please check the e-mail address.")),
                                                 Length(max=120)])
    phone = TelField(_l("Phone (optional)"), [Optional(), PHONE, Length(max=20)])
    submit = SubmitField(_l("Register"))


class TextSizeForm(PageForm):
    """The larger-text switch in every page's header: ``size`` is ``large`` or ``normal``; ``next`` is the page
    it was pressed on (only a local path is followed, as safe_next says)."""
    size = HiddenField()
    next = HiddenField()


class LanguageForm(PageForm):
    """The language switch in every page's header: ``language`` is zh_CN or en; ``next`` as TextSizeForm's."""
    language = HiddenField()
    next = HiddenField()


class TokenActionForm(PageForm):
    """A button-only POST on the API tokens page (revoke one, revoke all): just the CSRF check."""
