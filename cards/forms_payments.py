"""Forms for payments, bank accounts and autopay: input checks and plain messages. The
rules themselves (balance, dates, ownership) are enforced again by cards.payments."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.digits import is_digits
from portal.money import format_money

from . import payments
from .models import Autopay, PaymentMethod
from .payment_selectors import PaymentOptions

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{20,48}$")


class Radios(forms.RadioSelect):
    """Radios whose field id is the first option's, so an error summary link lands on
    a real input (the GOV.UK error summary pattern)."""

    def id_for_label(self, id_, index=None):
        return super().id_for_label(id_, "0" if index is None else index)


class NoEchoTextInput(forms.TextInput):
    """A bank account number is never written back into a page."""

    def format_value(self, value):
        return None


def new_idempotency_key() -> str:
    return secrets.token_urlsafe(24)


def method_label(method: PaymentMethod) -> str:
    return f"{method.nickname} (bank account ending {method.account_last4})"


def _digits(value: str) -> str:
    return "".join(value.split()).replace("-", "")


class PaymentMethodForm(forms.Form):
    nickname = forms.CharField(
        label="Nickname (optional)",
        required=False,
        max_length=40,
        help_text="So you can tell your bank accounts apart, for example Joint checking.",
    )
    routing_number = forms.CharField(
        label="Routing number",
        max_length=20,
        help_text="9 digits. It's the first number along the bottom of a check.",
        error_messages={"required": "Enter the 9-digit routing number"},
    )
    account_number = forms.CharField(
        label="Account number",
        max_length=30,
        help_text="4 to 17 digits. We keep only the last 4 to show you.",
        error_messages={"required": "Enter the account number"},
        widget=NoEchoTextInput(attrs={"autocomplete": "off"}),
    )
    account_number_confirm = forms.CharField(
        label="Account number again",
        max_length=30,
        error_messages={"required": "Enter the account number again"},
        widget=NoEchoTextInput(attrs={"autocomplete": "off"}),
    )

    def clean_routing_number(self) -> str:
        value = _digits(self.cleaned_data["routing_number"])
        if not is_digits(value) or len(value) != 9:
            raise ValidationError("The routing number is 9 digits", code="format")
        if not payments.routing_number_valid(value):
            raise ValidationError(
                "This is not a valid routing number. Check it on a check or with your bank", code="checksum"
            )
        return value

    def clean_account_number(self) -> str:
        value = _digits(self.cleaned_data["account_number"])
        if not is_digits(value) or not 4 <= len(value) <= 17:
            raise ValidationError("The account number is 4 to 17 digits, with no letters", code="format")
        return value

    def clean(self):
        data = super().clean()
        first, second = data.get("account_number"), data.get("account_number_confirm")
        if first and second is not None and _digits(second) != first:
            self.add_error("account_number_confirm", "The account numbers don't match. Enter the same number twice")
        return data


# --- A payment ---------------------------------------------------------------------------


class PaymentForm(forms.Form):
    """One payment: from which bank account, how much, when. The idempotency key rides
    in a hidden field from the first page to the confirmation, so the same submission
    sent twice makes one payment."""

    AMOUNT_MINIMUM = "minimum"
    AMOUNT_STATEMENT = "statement"
    AMOUNT_CURRENT = "current"
    AMOUNT_OTHER = "other"
    WHEN_NOW = "now"
    WHEN_LATER = "later"

    method = forms.TypedChoiceField(
        label="Pay from",
        coerce=int,
        widget=Radios,
        error_messages={"required": "Choose the bank account to pay from", "invalid_choice": "Choose a bank account"},
    )
    amount_choice = forms.ChoiceField(
        label="How much do you want to pay?",
        widget=Radios,
        error_messages={"required": "Choose how much to pay", "invalid_choice": "Choose how much to pay"},
    )
    other_amount = forms.CharField(
        label="Other amount",
        required=False,
        max_length=20,
        help_text="In dollars and cents, for example 125.50.",
    )
    when = forms.ChoiceField(
        label="When?",
        widget=Radios,
        choices=[(WHEN_NOW, "Today"), (WHEN_LATER, "On a later date")],
        error_messages={"required": "Choose when to pay", "invalid_choice": "Choose when to pay"},
    )
    pay_day = forms.CharField(label="Day", required=False, max_length=2)
    pay_month = forms.CharField(label="Month", required=False, max_length=2)
    pay_year = forms.CharField(label="Year", required=False, max_length=4)
    # Checked in clean(): an error on a hidden field would not show in the error summary.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, methods, options: PaymentOptions, **kwargs):
        super().__init__(*args, **kwargs)
        self.options = options
        self.methods = {method.pk: method for method in methods}
        self.fields["method"].choices = [(method.pk, method_label(method)) for method in methods]
        self.fields["amount_choice"].choices = self.amount_choices()

    def amount_choices(self) -> list[tuple[str, str]]:
        """Only the figures we can state honestly: the statement's only when there is a
        statement and something of it is left to pay."""
        options, currency = self.options, self.options.currency
        choices = []
        if options.minimum_due is not None and options.minimum_due > 0:
            choices.append((self.AMOUNT_MINIMUM, f"Minimum payment due: {format_money(options.minimum_due, currency)}"))
        if options.statement_balance is not None and options.statement_balance > 0:
            choices.append(
                (self.AMOUNT_STATEMENT, f"Statement balance: {format_money(options.statement_balance, currency)}")
            )
        if options.current_balance > 0:
            choices.append((self.AMOUNT_CURRENT, f"Current balance: {format_money(options.current_balance, currency)}"))
        choices.append((self.AMOUNT_OTHER, "Another amount"))
        return choices

    def _amount(self, choice: str) -> Decimal | None:
        options = self.options
        if choice == self.AMOUNT_MINIMUM:
            return options.minimum_due
        if choice == self.AMOUNT_STATEMENT:
            return options.statement_balance
        if choice == self.AMOUNT_CURRENT:
            return options.current_balance
        raw = self.cleaned_data.get("other_amount", "")
        try:
            return payments.amount_parse(raw)
        except payments.PaymentError as error:
            self.add_error("other_amount", error.message)
            return None

    def _date(self) -> dt.date | None:
        parts = [self.cleaned_data.get(name, "").strip() for name in ("pay_day", "pay_month", "pay_year")]
        if not all(parts):
            self.add_error("pay_day", "Enter the date for the payment, with day, month and year")
            return None
        if not all(is_digits(part) for part in parts):
            self.add_error("pay_day", "Enter the date in numbers, for example 27 3 2026")
            return None
        day, month, year = (int(part) for part in parts)
        try:
            value = dt.date(year, month, day)
        except ValueError:
            self.add_error("pay_day", "Enter a real date, for example 27 3 2026")
            return None
        return value

    def clean(self):
        data = super().clean()
        if not KEY_PATTERN.match(data.get("idempotency_key") or ""):
            self.add_error(None, "This payment form has expired. Check the details and continue again")
            # The page shown again carries a fresh key, so continuing works.
            self.data = self.data.copy()
            self.data[self.add_prefix("idempotency_key")] = new_idempotency_key()
        choice = data.get("amount_choice")
        if choice:
            amount = self._amount(choice)
            if amount is not None:
                if amount > self.options.max_payable:
                    self.add_error(
                        "other_amount" if choice == self.AMOUNT_OTHER else "amount_choice", self.too_much_message()
                    )
                data["amount"] = amount
        when = data.get("when")
        if when == self.WHEN_NOW:
            data["scheduled_for"] = timezone.localdate()
        elif when == self.WHEN_LATER:
            day = self._date()
            if day is not None:
                try:
                    payments.check_date(day)
                except payments.PaymentError as error:
                    self.add_error("pay_day", error.message)
                else:
                    data["scheduled_for"] = day
        return data

    def too_much_message(self) -> str:
        options, currency = self.options, self.options.currency
        if options.max_payable <= 0:
            return "There is nothing left to pay: payments already scheduled cover your current balance."
        already = f" and {format_money(options.scheduled, currency)} is already scheduled" if options.scheduled else ""
        return (
            f"You can pay up to {format_money(options.max_payable, currency)}. Your current balance is "
            f"{format_money(options.current_balance, currency)}{already}."
        )

    @property
    def method_obj(self) -> PaymentMethod | None:
        return self.methods.get(self.cleaned_data.get("method"))


class AutopayForm(forms.Form):
    method = forms.TypedChoiceField(
        label="Pay from",
        coerce=int,
        widget=Radios,
        error_messages={"required": "Choose the bank account to pay from", "invalid_choice": "Choose a bank account"},
    )
    amount_kind = forms.ChoiceField(
        label="How much should autopay pay on each due date?",
        widget=Radios,
        choices=Autopay.AmountKind.choices,
        error_messages={"required": "Choose how much autopay pays", "invalid_choice": "Choose how much autopay pays"},
    )
    fixed_amount = forms.CharField(
        label="Fixed amount",
        required=False,
        max_length=20,
        help_text="If you chose a fixed amount: in dollars and cents, for example 200.00. "
        "Autopay never pays more than you owe.",
    )

    def __init__(self, *args, methods, **kwargs):
        super().__init__(*args, **kwargs)
        self.methods = {method.pk: method for method in methods}
        self.fields["method"].choices = [(method.pk, method_label(method)) for method in methods]

    def clean(self):
        data = super().clean()
        if data.get("amount_kind") == Autopay.AmountKind.FIXED:
            try:
                data["fixed"] = payments.amount_parse(data.get("fixed_amount", ""))
            except payments.PaymentError as error:
                self.add_error("fixed_amount", error.message)
        else:
            data["fixed"] = None
        return data

    @property
    def method_obj(self) -> PaymentMethod | None:
        return self.methods.get(self.cleaned_data.get("method"))
