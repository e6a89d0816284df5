"""The pages' forms; the rules are the API's (app.validation), not a second copy."""

from __future__ import annotations

from collections.abc import Callable

from flask_wtf import FlaskForm
from wtforms import Field, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.hosts import is_own_host
from app.ownership import MAX_TOKEN_LENGTH
from app.validation import RAW_URL_MAX_LENGTH, check_code, check_url


def _rule(check: Callable[[str], str]) -> Callable[[FlaskForm, Field], None]:
    """A form validator from a rule of app.validation; the field keeps the rule's result."""

    def validate(_form: FlaskForm, field: Field) -> None:
        try:
            field.data = check(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    return validate


class NewLinkForm(FlaskForm):
    url = StringField(
        "Long URL",
        validators=[
            DataRequired(),
            Length(max=RAW_URL_MAX_LENGTH),
            _rule(lambda url: check_url(url, is_own_host)),
        ],
    )
    code = StringField(
        "Custom code (optional)",
        validators=[Optional(), _rule(check_code)],
        filters=[lambda value: value or None],
    )


class DeleteLinkForm(FlaskForm):
    token = StringField(
        "Manage token (or the admin token)",
        validators=[DataRequired(), Length(max=MAX_TOKEN_LENGTH)],
    )
