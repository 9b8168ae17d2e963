"""Forms for logging in and registering a family."""
from __future__ import annotations

from wtforms import EmailField, HiddenField, PasswordField, StringField, SubmitField, TelField
from wtforms.validators import Email, EqualTo, InputRequired, Length, Optional, Regexp

from careapp.pages import IdSelectField, PageForm

# Long enough for any pass phrase, short enough that hashing it costs nothing unusual.
MAX_PASSWORD = 200
PHONE = Regexp(r"^[0-9+\- ]*$", message="Use digits only, for example 13912345678.")


def login_field(label: str = "Mobile number or e-mail") -> StringField:
    """The login of a new account (each form calls these in its class body, so fields keep their order)."""
    return StringField(label, [InputRequired("Please give a mobile number or e-mail."), Length(max=120)],
                       description="You will use it to log in.", render_kw={"autocomplete": "username"})


def new_password_field() -> PasswordField:
    return PasswordField("Password", [InputRequired("Please choose a password."), Length(max=MAX_PASSWORD)],
                         description="At least 8 characters.", render_kw={"autocomplete": "new-password"})


def confirm_password_field() -> PasswordField:
    return PasswordField("Password again", [InputRequired("Please type the password again."),
                                            EqualTo("password", "The two passwords are not the same.")],
                         render_kw={"autocomplete": "new-password"})


class LoginForm(PageForm):
    login = StringField("Mobile number or e-mail", [InputRequired("Please give your mobile number or e-mail.")],
                        render_kw={"autocomplete": "username"})
    password = PasswordField("Password", [InputRequired("Please give your password.")],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()
    submit = SubmitField("Log in")


class RegisterForm(PageForm):
    name = StringField("Your family's name", [InputRequired("Please give your name."), Length(max=100)],
                       description="For example 李家 or your own name.")
    login = login_field()
    password = new_password_field()
    confirm = confirm_password_field()
    building_id = IdSelectField("Your building", placeholder="Choose your building",
                                message="Please choose your building.")
    unit = StringField("Flat or room (optional)", [Optional(), Length(max=50)])
    email = EmailField("E-mail (optional)", [Optional(), Email("Please check the e-mail address."),
                                             Length(max=120)])
    phone = TelField("Phone (optional)", [Optional(), PHONE, Length(max=20)])
    submit = SubmitField("Register")


class TextSizeForm(PageForm):
    """The larger-text switch in every page's header: ``size`` is ``large`` or ``normal``; ``next`` is the page
    it was pressed on (only a local path is followed, as safe_next says)."""
    size = HiddenField()
    next = HiddenField()


class LanguageForm(PageForm):
    """The language switch in every page's header: ``language`` is zh_CN or en; ``next`` as TextSizeForm's."""
    language = HiddenField()
    next = HiddenField()
