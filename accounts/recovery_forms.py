"""Forms for account recovery (forgot password, forgot User ID): input validation and
the messages people see. The rules live in accounts.recovery."""

from __future__ import annotations

import datetime as dt

from django import forms

from accounts.passwords import new_password_clean
from security.models import Notification

from .forms import CardIdField, CardNumberField, DateOfBirthMixin, _dob_part
from .models import User


class Radios(forms.RadioSelect):
    """Radio buttons whose field id is the first option's, so an error summary link
    (``#id_field``) lands on a real input, as the GOV.UK error summary does."""

    def id_for_label(self, id_, index=None):
        return super().id_for_label(id_, "0" if index is None else index)


class NoEchoTextInput(forms.TextInput):
    """A text box that never writes back what was typed: card numbers and card IDs
    must not appear in a page, even the page that says they were wrong."""

    def format_value(self, value):
        return None


def _date_of_birth(form: DateOfBirthMixin) -> dt.date | None:
    """The date from its three boxes; a box already in error ("Enter your date of birth
    using numbers") is not reported twice."""
    if any(name in form.errors for name in ("dob_day", "dob_month", "dob_year")):
        return None
    return form.clean_date_of_birth(required=True)


def _radio_field(label: str, choices, required_message: str, **kwargs) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=choices,
        widget=Radios(attrs={"class": "radios__input"}),
        error_messages={"required": required_message, "invalid_choice": required_message},
        **kwargs,
    )


def _postal_field(*, required: bool) -> forms.CharField:
    return forms.CharField(
        label="ZIP code",
        max_length=10,
        required=required,
        help_text="The ZIP code of your billing address.",
        error_messages={"required": "Enter your ZIP code", "max_length": "Enter a ZIP code like 10001 or 10001-2345"},
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
    )


class RecoveryChoiceForm(forms.Form):
    CHOICES = (("password", "I forgot my password"), ("user_id", "I forgot my User ID"))

    need = _radio_field("What do you need help with?", CHOICES, "Choose what you need help with")


class PasswordResetStartForm(DateOfBirthMixin, forms.Form):
    """Forgot password, step 1: the User ID, one fact we hold, where to send the code."""

    VERIFY_CHOICES = (("dob", "Date of birth"), ("postal", "ZIP code"))
    CHANNEL_CHOICES = ((Notification.Channel.EMAIL, "Email"), (Notification.Channel.SMS, "Text message"))

    user_id = forms.CharField(
        label="User ID",
        max_length=20,
        error_messages={
            "required": "Enter your User ID",
            "max_length": "Your User ID is 20 characters or fewer. Check it and try again",
        },
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}),
    )
    verify_with = _radio_field(
        "Confirm your identity with", VERIFY_CHOICES, "Choose how to confirm your identity", initial="dob"
    )
    dob_day = _dob_part("Day", 1, 31, "2")
    dob_month = _dob_part("Month", 1, 12, "2")
    dob_year = _dob_part("Year", 1900, 2100, "4")
    postal_code = _postal_field(required=False)
    channel = _radio_field("Where should we send a code?", CHANNEL_CHOICES, "Choose where to send your code")

    def clean_user_id(self) -> str:
        return self.cleaned_data["user_id"].strip()

    def clean(self):
        data = super().clean()
        data["date_of_birth"] = None
        if data.get("verify_with") == "dob":
            data["date_of_birth"] = _date_of_birth(self)
            data["postal_code"] = None
        elif data.get("verify_with") == "postal":
            data["postal_code"] = (data.get("postal_code") or "").strip()
            if not data["postal_code"] and "postal_code" not in self.errors:
                self.add_error("postal_code", "Enter your ZIP code")
        return data


class NewPasswordForm(forms.Form):
    """Forgot password, step 3: the new password, checked against the whole policy for
    this user (history included)."""

    password1 = forms.CharField(
        label="New password",
        strip=False,
        max_length=200,
        error_messages={"required": "Enter a new password"},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Confirm your new password",
        strip=False,
        max_length=200,
        error_messages={"required": "Enter your new password again"},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, user: User, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        new_password_clean(self, new="password1", confirm="password2", user=self.user)
        return data


class UserIdMethodForm(forms.Form):
    CHOICES = (
        ("card", "With my card number and card ID"),
        ("details", "With my name, date of birth and ZIP code"),
    )

    method = _radio_field("How would you like to find your User ID?", CHOICES, "Choose how to find your User ID")


class UserIdByCardForm(forms.Form):
    card_number = CardNumberField(
        widget=NoEchoTextInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric", "spellcheck": "false"})
    )
    card_id = CardIdField(
        widget=NoEchoTextInput(attrs={"autocomplete": "off", "inputmode": "numeric", "pattern": "[0-9]*"})
    )


class UserIdByDetailsForm(DateOfBirthMixin, forms.Form):
    name = forms.CharField(
        label="Full name",
        max_length=120,
        help_text="As it appears on your card or your statements.",
        error_messages={"required": "Enter your full name", "max_length": "Enter your name in 120 characters or fewer"},
        widget=forms.TextInput(attrs={"autocomplete": "name", "spellcheck": "false"}),
    )
    dob_day = _dob_part("Day", 1, 31, "2")
    dob_month = _dob_part("Month", 1, 12, "2")
    dob_year = _dob_part("Year", 1900, 2100, "4")
    postal_code = _postal_field(required=True)

    def clean(self):
        data = super().clean()
        data["date_of_birth"] = _date_of_birth(self)
        return data
