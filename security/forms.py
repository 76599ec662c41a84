from django import forms
from django.core.exceptions import ValidationError

from accounts.passwords import new_password_clean


class PasswordChangeForm(forms.Form):
    current_password = forms.CharField(
        label="Current password",
        strip=False,
        max_length=200,
        error_messages={"required": "Enter your current password"},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password1 = forms.CharField(
        label="New password",
        strip=False,
        max_length=200,
        error_messages={"required": "Enter a new password"},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label="Confirm your new password",
        strip=False,
        max_length=200,
        error_messages={"required": "Enter your new password again"},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_current_password(self) -> str:
        password = self.cleaned_data["current_password"]
        if not self.user.check_password(password):
            raise ValidationError("That is not your current password", code="wrong_password")
        return password

    def clean(self):
        data = super().clean()
        new_password_clean(self, new="new_password1", confirm="new_password2", user=self.user)
        return data


class PasskeyRenameForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=64,
        help_text="So you can tell them apart, for example \u201cWork laptop\u201d or \u201cLee's iPhone\u201d.",
        error_messages={
            "required": "Enter a name for this passkey",
            "max_length": "Name must be 64 characters or fewer",
        },
    )

    def clean_name(self) -> str:
        from .passkeys import RESERVED_NAMES

        name = self.cleaned_data["name"]
        if name.strip().lower() in RESERVED_NAMES:
            raise ValidationError("Choose a different name", code="reserved")
        return name
