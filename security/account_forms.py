"""Forms for confirming it's you, two-step verification and contact details: input
and friendly messages only (the rules are in reauth, two_step and contact)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from accounts.forms import normalize_phone
from portal.digits import digits_in

from . import two_step


class ConfirmPasswordForm(forms.Form):
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=200,
        error_messages={"required": "Enter your password"},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError("That is not your password. Check it and try again", code="wrong_password")
        return password


class AppCodeForm(forms.Form):
    code = forms.CharField(
        label="Code from your app",
        max_length=12,
        help_text="The 6-digit code your authenticator app shows for this account.",
        error_messages={"required": "Enter the 6-digit code from your authenticator app"},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}),
    )

    def clean_code(self) -> str:
        digits = digits_in(self.cleaned_data["code"])
        if len(digits) != two_step.DIGITS:
            raise ValidationError("The code is 6 digits. Check your app and try again", code="format")
        return digits


class TwoStepOffForm(forms.Form):
    """Turning two-step verification off: the password, or a current code from the app."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        required=False,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label="Or a code from your authenticator app",
        required=False,
        max_length=12,
        help_text="If you'd rather not type your password: the 6-digit code the app shows now.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}),
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        password, code = data.get("password"), digits_in(data.get("code"))
        if not password and not code:
            self.add_error("password", "Enter your password, or a code from your authenticator app")
        elif password:
            if not self.user.check_password(password):
                self.add_error(
                    "password",
                    ValidationError("That is not your password. Check it and try again", code="wrong_password"),
                )
        elif not two_step.app_token_matches(user=self.user, token=code):
            self.add_error("code", "That code is not right, or it was used already. Wait for a new code in the app")
        return data


class EmailChangeForm(forms.Form):
    email = forms.EmailField(
        label="New email address",
        max_length=254,
        help_text="We'll send a code to this address to check it's yours.",
        error_messages={
            "required": "Enter your new email address",
            "invalid": "Enter an email address like name@example.com",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )

    def clean_email(self) -> str:
        local, _, domain = self.cleaned_data["email"].strip().rpartition("@")
        return f"{local}@{domain.lower()}"


class PhoneChangeForm(forms.Form):
    phone = forms.CharField(
        label="New mobile number",
        max_length=20,
        help_text="We'll text a code to this number to check it's yours. For example 202 555 0123.",
        error_messages={"required": "Enter your new mobile number"},
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def clean_phone(self) -> str:
        return normalize_phone(self.cleaned_data["phone"])
