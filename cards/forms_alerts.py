"""The alerts form: for each alert, email and/or text, plus the amount for "over an
amount" and the days for the due reminder."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms

from portal.money import format_money

from . import payments
from .alert_rules import DAYS_BEFORE_CHOICES, GROUPS, Kind, Preference


def field_names(kind: str) -> tuple[str, str]:
    return f"{kind}_email", f"{kind}_sms"


def _too_large(raw: str) -> bool:
    """A number, but more than any amount we hold (the payment parser would call it
    "more than your balance", which means nothing for an alert)."""
    try:
        value = Decimal(raw.replace("$", "").replace(",", "").replace(" ", ""))
    except InvalidOperation:
        return False
    return value.is_finite() and value.copy_abs() > payments.MAX_AMOUNT


class AlertPreferencesForm(forms.Form):
    purchase_over_threshold = forms.CharField(
        label="Alert me about purchases over",
        required=False,
        max_length=20,
        help_text="In dollars, for example 50.00.",
    )
    payment_due_days = forms.TypedChoiceField(
        label="Remind me",
        coerce=int,
        choices=[(days, f"{days} day{'s' if days != 1 else ''} before the due date") for days in DAYS_BEFORE_CHOICES],
    )

    def __init__(self, *args, preferences: dict[str, Preference], can_text: bool, **kwargs):
        initial = {}
        for kind, preference in preferences.items():
            email, sms = field_names(kind)
            initial[email], initial[sms] = preference.email, preference.sms
        over = preferences[Kind.PURCHASE_OVER]
        initial["purchase_over_threshold"] = f"{over.threshold:.2f}" if over.threshold is not None else ""
        initial["payment_due_days"] = preferences[Kind.PAYMENT_DUE].days_before
        super().__init__(*args, initial=initial, **kwargs)
        self.preferences, self.can_text = preferences, can_text
        for kind, preference in preferences.items():
            email, sms = field_names(kind)
            self.fields[email] = forms.BooleanField(label="Email", required=False, disabled=preference.email_locked)
            self.fields[sms] = forms.BooleanField(label="Text message", required=False, disabled=not can_text)

    def clean_purchase_over_threshold(self) -> Decimal | None:
        raw = self.cleaned_data.get("purchase_over_threshold", "").strip()
        if not raw:
            return None
        if _too_large(raw):
            raise forms.ValidationError(
                f"Enter an amount up to {format_money(payments.MAX_AMOUNT)} for the alert", code="amount"
            )
        try:
            return payments.amount_parse(raw)
        except payments.PaymentError as error:
            raise forms.ValidationError(
                error.message.replace("you want to pay", "for the alert"), code="amount"
            ) from None

    def clean(self):
        data = super().clean()
        email, sms = field_names(Kind.PURCHASE_OVER)
        wanted = data.get(email) or data.get(sms)
        if wanted and not data.get("purchase_over_threshold") and "purchase_over_threshold" not in self.errors:
            self.add_error("purchase_over_threshold", "Enter the amount for this alert, for example 50.00")
        return data

    def rows(self):
        """(group key, title, [(preference, email field, sms field)]) for the template."""
        for key, title, kinds in GROUPS:
            yield (
                key,
                title,
                [(self.preferences[kind], self[field_names(kind)[0]], self[field_names(kind)[1]]) for kind in kinds],
            )

    def chosen(self) -> list[Preference]:
        data = self.cleaned_data
        result = []
        for kind in self.preferences:
            email, sms = field_names(kind)
            result.append(
                Preference(
                    kind=kind,
                    email=bool(data.get(email)) or self.preferences[kind].email_locked,
                    sms=bool(data.get(sms)) and self.can_text,
                    threshold=data.get("purchase_over_threshold") if kind == Kind.PURCHASE_OVER else None,
                    days_before=data.get("payment_due_days") if kind == Kind.PAYMENT_DUE else None,
                )
            )
        return result
