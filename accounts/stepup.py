"""The second step of sign-in: forms and helpers for device recognition and 2FA."""

from __future__ import annotations

from django import forms
from django.utils.translation import ngettext_lazy
from django_otp.forms import OTPAuthenticationFormMixin
from two_factor.forms import AuthenticationTokenForm, BackupTokenForm

CODE_MESSAGES = dict(
    OTPAuthenticationFormMixin.otp_error_messages,
    token_required="Enter the 6-digit code we sent you",
    invalid_token="That code is not right. Check it and try again, or ask for a new code.",
    n_failed_attempts=ngettext_lazy(
        "Wait a few seconds before trying again (%(failure_count)d wrong code).",
        "Wait a few seconds before trying again (%(failure_count)d wrong codes).",
        "failure_count",
    ),
    verification_not_allowed="Ask for a new code: this one can no longer be used.",
)


class SignInCodeForm(AuthenticationTokenForm):
    """A code from a text, an email or an authenticator app, and the choice to remember
    this browser."""

    otp_error_messages = CODE_MESSAGES
    otp_token = forms.RegexField(
        label="Security code",
        regex=r"^[0-9]{6,8}$",
        max_length=8,
        error_messages={
            "invalid": "The code is 6 digits, numbers only",
            "required": "Enter the 6-digit code we sent you",
        },
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]*"}),
    )
    remember_device = forms.BooleanField(
        label="Remember this device",
        help_text="We won't ask for a code on this browser next time. Don't choose this on a shared computer.",
        required=False,
    )

    def __init__(self, user, initial_device, *, can_remember: bool = True, **kwargs):
        super().__init__(user, initial_device, **kwargs)
        if not can_remember:
            del self.fields["remember_device"]

    def clean_otp_token(self) -> str:
        return self.cleaned_data["otp_token"].strip()

    def clean(self):
        # A missing or malformed code already has its message on the field; checking it
        # against the device too would say "Enter the 6-digit code" a second time.
        if "otp_token" in self.errors:
            return self.cleaned_data
        return super().clean()


class SignInBackupCodeForm(BackupTokenForm):
    otp_error_messages = dict(CODE_MESSAGES, invalid_token="That backup code is not right, or it was used before.")
    otp_token = forms.CharField(
        label="Backup code",
        max_length=16,
        error_messages={"required": "Enter one of your backup codes"},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "none"}
        ),
    )

    def __init__(self, user, initial_device, **kwargs):
        super().__init__(user, initial_device, **kwargs)
