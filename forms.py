"""Dashboard forms, with the validation and messages people see next to each field."""

import re

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, Email, Length, ValidationError

from accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from token_service import KIND_LABELS, LIFETIMES

# C0 and C1 control characters other than tab and newline; they have no place in a name.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_whitespace(value):
    return value.strip() if isinstance(value, str) else value


def no_control_characters(form, field):
    if field.data and CONTROL_CHARACTERS.search(field.data):
        raise ValidationError(f"{field.label.text} cannot contain control characters.")


class SignUpForm(FlaskForm):
    name = StringField("Name", filters=[strip_whitespace],
                       validators=[DataRequired("Enter your name."), Length(max=100), no_control_characters])
    email = EmailField("Email", filters=[strip_whitespace],
                       validators=[DataRequired("Enter your email."), Length(max=254),
                                   Email("Enter a valid email address.", check_deliverability=False)])
    password = PasswordField(
        "Password",
        validators=[
            DataRequired("Choose a password."),
            Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
                   message=f"Use {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters."),
        ],
    )


class SignInForm(FlaskForm):
    email = EmailField("Email", filters=[strip_whitespace], validators=[DataRequired("Enter your email.")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])


class CreateTokenForm(FlaskForm):
    # The id of the token that this one replaces, set by "Create similar".
    replaces = HiddenField()
    name = StringField(
        "Name",
        filters=[strip_whitespace],
        validators=[
            DataRequired("Enter a name, such as \u201cFireflies Webhook\u201d."),
            Length(max=100, message="Use at most 100 characters."),
            no_control_characters,
        ],
    )
    kind = RadioField(
        "Type",
        choices=[SelectChoice(key, label) for key, label in KIND_LABELS.items()],
        default="hex",
        validate_choice=False,
        validators=[AnyOf(list(KIND_LABELS), message="Choose Hex Key or JWT Token.")],
    )
    expires_in = SelectField(
        "Expires In",
        choices=[SelectChoice(key, label) for key, (label, _) in LIFETIMES.items()],
        default="30d",
        validate_choice=False,
        validators=[AnyOf(list(LIFETIMES), message="Choose 1 hour, 24 hours, 7 days, 30 days or 90 days.")],
    )
    description = TextAreaField(
        "Description",
        filters=[strip_whitespace],
        validators=[Length(max=500, message="Use at most 500 characters."), no_control_characters],
    )
