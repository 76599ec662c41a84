"""Input validation and the messages people see. Rules live in services."""

from __future__ import annotations

import datetime as dt

import phonenumbers
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.passwords import new_password_clean
from cards import cardnumbers
from portal.digits import digits_in, is_digits

from .models import User
from .validators import validate_user_id


class UnechoedTextInput(forms.TextInput):
    """A text input that never sends a submitted value back in the page: a card number or
    card ID typed into a form that failed validation must not come back in the HTML
    (PCI DSS: no full number or card ID in pages)."""

    def format_value(self, value):
        return None


class CardNumberField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", "Card number")
        kwargs.setdefault("max_length", 23)
        kwargs.setdefault("help_text", "The 15-digit number on the front of your card. You can include spaces.")
        kwargs.setdefault("error_messages", {"required": "Enter your card number"})
        kwargs.setdefault(
            "widget",
            UnechoedTextInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric", "spellcheck": "false"}),
        )
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        digits = cardnumbers.normalize_pan(value)
        if not is_digits(digits):
            raise ValidationError("Enter your card number using numbers only", code="invalid")
        if not 15 <= len(digits) <= 16:
            raise ValidationError("Enter the card number exactly as it appears on your card: 15 digits", code="length")
        if not cardnumbers.luhn_checksum_ok(digits):
            raise ValidationError("That card number isn't valid. Check each digit and try again", code="luhn")
        return digits


class CardIdField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", "Card ID")
        kwargs.setdefault("max_length", 4)
        kwargs.setdefault("min_length", 4)
        kwargs.setdefault("help_text", "The 4-digit number printed on the front of your card, above the card number.")
        kwargs.setdefault(
            "error_messages",
            {
                "required": "Enter the 4-digit card ID",
                "min_length": "The card ID is 4 digits",
                "max_length": "The card ID is 4 digits",
            },
        )
        kwargs.setdefault(
            "widget",
            UnechoedTextInput(attrs={"autocomplete": "off", "inputmode": "numeric", "pattern": "[0-9]*"}),
        )
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean((value or "").strip())
        if not is_digits(value):
            raise ValidationError("The card ID is 4 digits, numbers only", code="invalid")
        return value


class DateOfBirthMixin:
    """Day, month and year in three boxes (the GOV.UK date input), combined here."""

    def clean_date_of_birth(self, required: bool) -> dt.date | None:
        day, month, year = (self.cleaned_data.get(f"dob_{p}") for p in ("day", "month", "year"))
        if day is None and month is None and year is None:
            if required:
                self.add_error("dob_day", "Enter your date of birth")
            return None
        if None in (day, month, year):
            self.add_error("dob_day", "Enter your date of birth as day, month and year")
            return None
        try:
            value = dt.date(year, month, day)
        except ValueError:
            self.add_error("dob_day", "Enter a real date of birth, for example 27 3 1985")
            return None
        if value > timezone.localdate() or year < 1900:
            self.add_error("dob_day", "Enter a real date of birth, for example 27 3 1985")
            return None
        return value


def _dob_part(label: str, low: int, high: int, size: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=low,
        max_value=high,
        error_messages={
            "invalid": "Enter your date of birth using numbers",
            "min_value": "Enter a real date of birth",
            "max_value": "Enter a real date of birth",
        },
        widget=forms.TextInput(attrs={"inputmode": "numeric", "data-width": size}),
    )


class EnrollCardForm(DateOfBirthMixin, forms.Form):
    """Step 1: prove you hold the card."""

    VERIFY_CHOICES = (("dob", "Date of birth"), ("postal", "ZIP code"))

    card_number = CardNumberField()
    card_id = CardIdField()
    name = forms.CharField(
        label="Name as it appears on your card",
        max_length=60,
        error_messages={"required": "Enter your name as it appears on your card"},
        widget=forms.TextInput(attrs={"autocomplete": "cc-name", "spellcheck": "false"}),
    )
    verify_with = forms.ChoiceField(
        label="Confirm your identity with",
        choices=VERIFY_CHOICES,
        initial="dob",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how to confirm your identity"},
    )
    dob_day = _dob_part("Day", 1, 31, "2")
    dob_month = _dob_part("Month", 1, 12, "2")
    dob_year = _dob_part("Year", 1900, 2100, "4")
    postal_code = forms.CharField(
        label="ZIP code",
        max_length=10,
        required=False,
        help_text="The ZIP code of your billing address.",
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
    )

    def clean(self):
        data = super().clean()
        data["date_of_birth"] = None
        if data.get("verify_with") == "dob":
            data["date_of_birth"] = self.clean_date_of_birth(required=True)
            data["postal_code"] = None
        elif data.get("verify_with") == "postal" and not (data.get("postal_code") or "").strip():
            self.add_error("postal_code", "Enter your ZIP code")
        return data


def normalize_phone(value: str) -> str:
    try:
        number = phonenumbers.parse(value, "US")
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            "Enter a mobile number, like 202 555 0123 or +44 7700 900123", code="invalid_phone"
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("Enter a mobile number, like 202 555 0123 or +44 7700 900123", code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class LoginDetailsForm(forms.Form):
    """Step 2: choose a User ID and password, give contact details."""

    username = forms.CharField(
        label="Create a User ID",
        max_length=20,
        help_text="6 to 20 characters: letters, numbers, dots (.), hyphens (-) or underscores (_).",
        error_messages={"required": "Enter a User ID"},
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}),
    )
    password1 = forms.CharField(
        label="Create a password",
        strip=False,
        max_length=200,
        error_messages={"required": "Enter a password"},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "data-password-rules": "true"}),
    )
    password2 = forms.CharField(
        label="Confirm your password",
        strip=False,
        max_length=200,
        error_messages={"required": "Enter your password again"},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        error_messages={
            "required": "Enter your email address",
            "invalid": "Enter an email address like name@example.com",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    phone = forms.CharField(
        label="Mobile number",
        max_length=20,
        help_text="For security codes and alerts by text message.",
        error_messages={"required": "Enter your mobile number"},
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def __init__(self, *args, cardholder=None, **kwargs):
        self.cardholder = cardholder
        super().__init__(*args, **kwargs)

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        validate_user_id(username)
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError("That User ID is taken. Try adding numbers or a dot, like ann.smith82", code="taken")
        return username

    def clean_phone(self) -> str:
        return normalize_phone(self.cleaned_data["phone"])

    def clean(self):
        data = super().clean()
        candidate = User(username=data.get("username") or "", cardholder=self.cardholder)
        new_password_clean(self, new="password1", confirm="password2", user=candidate)
        return data


class ContactChoiceForm(forms.Form):
    channel = forms.ChoiceField(
        label="Where should we send your code?",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose where to send your code"},
    )

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = choices


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Security code",
        max_length=12,
        help_text="The 6-digit code we sent you. It expires after 10 minutes.",
        error_messages={"required": "Enter the 6-digit code we sent you"},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}),
    )

    def clean_code(self) -> str:
        digits = digits_in(self.cleaned_data["code"])
        if len(digits) != 6:
            raise ValidationError("The code is 6 digits. Check the message we sent and try again", code="format")
        return digits


class UserIdChangeForm(forms.Form):
    new_username = forms.CharField(
        label="New User ID",
        max_length=20,
        help_text="6 to 20 characters: letters, numbers, dots (.), hyphens (-) or underscores (_).",
        error_messages={"required": "Enter the new User ID you want"},
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label="Your current password",
        strip=False,
        max_length=200,
        error_messages={"required": "Enter your current password"},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user=None, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_new_username(self) -> str:
        value = self.cleaned_data["new_username"].strip()
        validate_user_id(value)
        if value.lower() == self.user.username.lower():
            raise ValidationError("That is already your User ID", code="same")
        if User.objects.filter(username__iexact=value).exclude(pk=self.user.pk).exists():
            raise ValidationError("That User ID is taken. Try adding numbers or a dot", code="taken")
        return value

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError("That password is not right", code="wrong_password")
        return password


class StaffReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=200,
        help_text="How you verified the caller, and why. Recorded in the audit trail.",
        widget=forms.TextInput(attrs={"size": 60}),
    )


class StaffUserIdChangeForm(StaffReasonForm):
    new_username = forms.CharField(label="New User ID", max_length=20, validators=[validate_user_id])


class StaffIdentityVerificationForm(forms.Form):
    """How a staff member checked who the cardholder is: the facts' names, never their
    values."""

    method = forms.ChoiceField(
        label="How",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how you verified the cardholder"},
    )
    checks = forms.MultipleChoiceField(
        label="What the person answered correctly",
        widget=forms.CheckboxSelectMultiple,
        help_text="Tick every fact they gave correctly: at least two. Never write the answers down.",
        error_messages={"required": "Tick the facts the person answered correctly"},
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=1000,
        help_text="Anything an investigator should know (no dates of birth, card numbers or answers).",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )

    def __init__(self, *args, **kwargs):
        from security.models import IdentityVerification

        super().__init__(*args, **kwargs)
        self.fields["method"].choices = IdentityVerification.Method.choices
        self.fields["checks"].choices = IdentityVerification.Check.choices

    def clean_checks(self) -> list[str]:
        checks = self.cleaned_data["checks"]
        if len(checks) < 2:
            raise ValidationError("Check at least two facts before any account recovery action", code="too_few")
        return checks


class StaffContactReplaceForm(StaffReasonForm):
    kind = forms.ChoiceField(
        label="Replace",
        choices=(("email", "Email address"), ("phone", "Mobile number")),
        widget=forms.RadioSelect,
    )
    value = forms.CharField(
        label="New email address or mobile number",
        max_length=254,
        help_text="As the cardholder gave it to you. It is marked verified by you.",
        widget=forms.TextInput(attrs={"size": 40}),
    )

    def clean(self):
        from django.core.validators import validate_email

        data = super().clean()
        kind, value = data.get("kind"), (data.get("value") or "").strip()
        if kind == "email" and value:
            try:
                validate_email(value)
            except ValidationError:
                self.add_error("value", "Enter an email address like name@example.com")
            else:
                local, _, domain = value.rpartition("@")
                data["value"] = f"{local}@{domain.lower()}"
        elif kind == "phone" and value:
            try:
                data["value"] = normalize_phone(value)
            except ValidationError as error:
                self.add_error("value", error)
        return data


class StaffRecoveryLinkForm(StaffReasonForm):
    """Where to send the link: one of the contacts on file (shown masked)."""

    needs_subject = True
    channel = forms.ChoiceField(label="Send the link to", widget=forms.RadioSelect)

    def __init__(self, *args, subject, **kwargs):
        from security.masking import mask_contact
        from security.staff import contacts_on_file

        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [
            (channel, f"{'Email' if channel == 'email' else 'Text'} to {mask_contact(to)}")
            for channel, to in contacts_on_file(subject)
        ]
