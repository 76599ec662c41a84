"""Forms of the business administration pages: input checks and friendly messages only
(the services enforce the rules again, and who may act)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils import timezone

from portal.money import format_money

from .forms import new_idempotency_key
from .models import Category
from .reports import GroupBy

MAX_MONTHLY_LIMIT = Decimal("1000000.00")
_AMOUNT = re.compile(r"^[0-9]+(\.[0-9]{1,2})?$")
_ZIP = re.compile(r"^[0-9]{5}(-[0-9]{4})?$")
_PHONE = re.compile(r"^\+?[0-9]{10,15}$")


class Radios(forms.RadioSelect):
    """Radios whose field id is the first option's, so the error summary's link lands on
    a real input (as the GOV.UK error summary does)."""

    def __init__(self, attrs=None, choices=()):
        super().__init__({"class": "radios__input", **(attrs or {})}, choices)

    def id_for_label(self, id_, index=None):
        return super().id_for_label(id_, "0" if index is None else index)


class Checkboxes(forms.CheckboxSelectMultiple):
    """Checkboxes whose field id is the first option's (see Radios)."""

    def __init__(self, attrs=None, choices=()):
        super().__init__({"class": "checkbox__input", **(attrs or {})}, choices)

    def id_for_label(self, id_, index=None):
        return super().id_for_label(id_, "0" if index is None else index)


def parse_amount(raw: str, *, what: str) -> Decimal | None:
    """ "$2,500", "2500" or "2500.00" → Decimal("2500.00"); "" → None."""
    text = raw.strip().replace(",", "").replace(" ", "")
    if text.startswith("$"):
        text = text[1:]
    if not text:
        return None
    if not _AMOUNT.match(text):
        if re.match(r"^[0-9]+\.[0-9]{3,}$", text):
            raise ValidationError(f"Enter the {what} in dollars and cents, with at most 2 digits after the point")
        raise ValidationError(f"Enter the {what} as an amount in dollars, like 2500 or 2500.00")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValidationError(f"Enter the {what} as an amount in dollars, like 2500 or 2500.00") from None
    if amount <= 0:
        raise ValidationError(f"The {what} must be more than $0.00")
    if amount > MAX_MONTHLY_LIMIT:
        raise ValidationError(f"The {what} can be at most {format_money(MAX_MONTHLY_LIMIT)}")
    return amount.quantize(Decimal("0.01"))


class AmountField(forms.CharField):
    def __init__(self, *, what: str, **kwargs):
        self.what = what
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "spellcheck": "false"}))
        super().__init__(**kwargs)

    def clean(self, value):
        return parse_amount(super().clean(value) or "", what=self.what)


class MonthlyLimitForm(forms.Form):
    monthly_limit = AmountField(
        what="monthly limit",
        label="Monthly spending limit, in dollars",
        help_text="For example, 2500. Leave it empty for no monthly limit.",
    )


class BlockedCategoriesForm(forms.Form):
    categories = forms.MultipleChoiceField(
        label="Block purchases in these categories",
        choices=Category.choices,
        required=False,
        widget=Checkboxes,
        help_text="Purchases in a ticked category are declined. Untick a category to allow it again.",
        error_messages={"invalid_choice": "Choose categories from the list"},
    )


# --- Dates as three boxes (the GOV.UK date input) --------------------------------------------


def _date_part(label: str, low: int, high: int, *, what: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=low,
        max_value=high,
        error_messages={
            "invalid": f"Enter the {what} using numbers",
            "min_value": f"Enter a real {what}",
            "max_value": f"Enter a real {what}",
        },
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )


class DatePartsMixin:
    """Combines ``<prefix>_day``, ``_month`` and ``_year`` into a date; a problem with
    any part is reported once, on the day box (where the error summary link lands)."""

    def date_from_parts(
        self, prefix: str, *, what: str, example: str, required: bool = True, missing: str = ""
    ) -> dt.date | None:
        parts = [self.cleaned_data.get(f"{prefix}_{name}") for name in ("day", "month", "year")]
        if any(self.has_error(f"{prefix}_{name}") for name in ("day", "month", "year")):
            self._move_errors_to_day(prefix)
            return None
        if parts == [None, None, None]:
            if required:
                self.add_error(f"{prefix}_day", missing or f"Enter the {what}")
            return None
        if None in parts:
            self.add_error(f"{prefix}_day", f"Enter the {what} as day, month and year, for example {example}")
            return None
        day, month, year = parts
        try:
            return dt.date(year, month, day)
        except ValueError:
            self.add_error(f"{prefix}_day", f"Enter a real {what}, for example {example}")
            return None

    def _move_errors_to_day(self, prefix: str) -> None:
        messages = []
        for name in ("month", "year"):
            messages += self.errors.pop(f"{prefix}_{name}", [])
        if messages and not self.has_error(f"{prefix}_day"):
            self.add_error(f"{prefix}_day", messages[0])


class ReportForm(DatePartsMixin, forms.Form):
    """A date range and a grouping. Submitted by GET, so a report has an address."""

    start_day = _date_part("Day", 1, 31, what="start date")
    start_month = _date_part("Month", 1, 12, what="start date")
    start_year = _date_part("Year", 2000, 2100, what="start date")
    end_day = _date_part("Day", 1, 31, what="end date")
    end_month = _date_part("Month", 1, 12, what="end date")
    end_year = _date_part("Year", 2000, 2100, what="end date")
    group_by = forms.ChoiceField(
        label="Group spending by",
        choices=GroupBy.choices,
        widget=Radios,
        error_messages={
            "required": "Choose how to group the report",
            "invalid_choice": "Choose how to group the report",
        },
    )

    def clean(self):
        data = super().clean()
        start = self.date_from_parts("start", what="start date", example="1 3 2025")
        end = self.date_from_parts("end", what="end date", example="31 3 2025")
        if start and end and end < start:
            self.add_error("end_day", "The end date must be the same as or after the start date")
        data["start"], data["end"] = start, end
        return data

    @staticmethod
    def initial_for(start: dt.date, end: dt.date, group_by: str = GroupBy.EMPLOYEE) -> dict[str, str]:
        return {
            "start_day": str(start.day),
            "start_month": str(start.month),
            "start_year": str(start.year),
            "end_day": str(end.day),
            "end_month": str(end.month),
            "end_year": str(end.year),
            "group_by": group_by,
        }


NAME_ON_CARD_MAX = 26
_KEY = re.compile(r"^[0-9a-f]{32}$")


class CardRequestForm(DatePartsMixin, forms.Form):
    """A new employee card, queued for staff to issue. The idempotency key is minted
    when the form is drawn, so a double submit or a replayed POST queues one card (see
    services.employee_card_request)."""

    account = forms.TypedChoiceField(
        label="Account",
        coerce=int,
        help_text="The business account the card will be billed to.",
        error_messages={"required": "Choose the account", "invalid_choice": "Choose an account from the list"},
    )
    legal_name = forms.CharField(
        label="Employee's full legal name",
        max_length=120,
        error_messages={"required": "Enter the employee's full name"},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    name_on_card = forms.CharField(
        label="Name to print on the card",
        max_length=NAME_ON_CARD_MAX,
        help_text="Up to 26 letters and spaces, for example J CARTER.",
        error_messages={
            "required": "Enter the name to print on the card",
            "max_length": "The name on the card can be at most 26 characters",
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}),
    )
    dob_day = _date_part("Day", 1, 31, what="date of birth")
    dob_month = _date_part("Month", 1, 12, what="date of birth")
    dob_year = _date_part("Year", 1900, 2100, what="date of birth")
    postal_code = forms.CharField(
        label="Employee's home ZIP code",
        max_length=10,
        help_text="5 digits, for example 43215.",
        error_messages={"required": "Enter the employee's ZIP code"},
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    email = forms.CharField(
        label="Employee's work email address",
        max_length=254,
        help_text="We send the activation instructions here.",
        error_messages={"required": "Enter the employee's email address"},
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"}),
    )
    phone = forms.CharField(
        label="Employee's mobile number (optional)",
        max_length=20,
        required=False,
        help_text="For security codes and card alerts, for example +1 614 555 0123.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )
    monthly_limit = AmountField(
        what="monthly limit",
        label="Monthly spending limit, in dollars (optional)",
        help_text="For example, 2500. Leave it empty for no monthly limit.",
    )
    blocked_categories = forms.MultipleChoiceField(
        label="Block purchases in these categories (optional)",
        choices=Category.choices,
        required=False,
        widget=Checkboxes,
        error_messages={"invalid_choice": "Choose categories from the list"},
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, accounts, **kwargs):
        kwargs["initial"] = {"idempotency_key": new_idempotency_key(), **(kwargs.get("initial") or {})}
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = [
            (account.pk, f"{account.product.name}, account {account.reference}") for account in accounts
        ]
        if len(self.fields["account"].choices) == 1:
            self.fields["account"].initial = self.fields["account"].choices[0][0]

    def clean_legal_name(self) -> str:
        name = " ".join(self.cleaned_data["legal_name"].split())
        if not name:
            raise ValidationError("Enter the employee's full name")
        return name

    def clean_name_on_card(self) -> str:
        name = " ".join(self.cleaned_data["name_on_card"].split()).upper()
        if not re.match(r"^[A-Z][A-Z .'-]*$", name):
            raise ValidationError("The name on the card can have letters, spaces, hyphens, apostrophes and full stops")
        # Counted as printed: capitals can be longer than what was typed ("ß" is "SS").
        if len(name) > NAME_ON_CARD_MAX:
            raise ValidationError(self.fields["name_on_card"].error_messages["max_length"])
        return name

    def clean_postal_code(self) -> str:
        code = self.cleaned_data["postal_code"].strip()
        if not _ZIP.match(code):
            raise ValidationError("Enter a ZIP code of 5 digits, like 43215, or 9 digits, like 43215-1234")
        return code

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        try:
            EmailValidator()(email)
        except ValidationError:
            raise ValidationError("Enter an email address in the right format, like name@example.com") from None
        return email

    def clean_phone(self) -> str:
        raw = self.cleaned_data["phone"]
        digits = re.sub(r"[\s().-]", "", raw)
        if not digits:
            return ""
        if not _PHONE.match(digits):
            raise ValidationError("Enter a phone number with 10 to 15 digits, like +1 614 555 0123")
        if digits.startswith("+"):
            return digits
        return ("+1" + digits) if len(digits) == 10 else ("+" + digits)

    def clean(self):
        data = super().clean()
        if not _KEY.match(data.get("idempotency_key") or ""):
            self.add_error(None, "This form has expired. Check the details and send the request again")
            # The page shown again carries a fresh key, so sending it again works.
            self.data = self.data.copy()
            self.data[self.add_prefix("idempotency_key")] = new_idempotency_key()
        born = self.date_from_parts(
            "dob", what="date of birth", example="27 3 1985", missing="Enter the employee's date of birth"
        )
        if born is not None:
            today = timezone.localdate()
            age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
            if born > today or born.year < 1900:
                self.add_error("dob_day", "Enter a real date of birth, for example 27 3 1985")
                born = None
            elif age < 18:
                self.add_error("dob_day", "The employee must be 18 or older to hold a card")
                born = None
        data["date_of_birth"] = born
        return data
