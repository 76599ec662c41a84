"""Forms for disputes: the reason, what happened, and optional files. The file checks
(type by content, size, count) are in cards.disputes, so the admin and any other caller
get the same rules."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from . import payments
from .forms_payments import Radios
from .models import Dispute


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name (Django's documented pattern)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


ATTACHMENT_HINT = "Optional. A receipt, a screenshot or a letter: PDF, PNG or JPEG, up to 5 MB each, 5 files at most."


class DisputeForm(forms.Form):
    reason = forms.ChoiceField(
        label="Why are you disputing this charge?",
        widget=Radios,
        choices=Dispute.Reason.choices,
        error_messages={"required": "Choose the reason that fits best", "invalid_choice": "Choose a reason"},
    )
    description = forms.CharField(
        label="Tell us what happened",
        max_length=2000,
        help_text="For example: when you ordered, what you received, and what the merchant said. "
        "Don't include card numbers or passwords.",
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={
            "required": "Tell us what happened, in a sentence or two",
            "max_length": "Keep it under 2,000 characters",
        },
    )
    amount = forms.CharField(
        label="Amount you are disputing (optional)",
        required=False,
        max_length=20,
        help_text="Leave empty to dispute the whole charge.",
    )
    attachments = MultipleFileField(label="Attach files", required=False, help_text=ATTACHMENT_HINT)

    def __init__(self, *args, charge: Decimal, **kwargs):
        super().__init__(*args, **kwargs)
        self.charge = charge

    def clean_description(self) -> str:
        text = self.cleaned_data["description"].strip()
        if len(text) < 10:
            raise ValidationError("Tell us what happened, in a sentence or two", code="short")
        return text

    def clean_amount(self) -> Decimal | None:
        raw = self.cleaned_data.get("amount", "").strip()
        if not raw:
            return None
        try:
            value = payments.amount_parse(raw)
        except payments.PaymentError as error:
            raise ValidationError(error.message.replace("pay", "dispute"), code="amount") from None
        if value > self.charge:
            raise ValidationError("The amount can't be more than the charge", code="too_much")
        return value


class DisputeInfoForm(forms.Form):
    note = forms.CharField(
        label="What do you want to add?",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"max_length": "Keep it under 2,000 characters"},
    )
    attachments = MultipleFileField(label="Attach files", required=False, help_text=ATTACHMENT_HINT)

    def clean(self):
        data = super().clean()
        if not self.errors and not (data.get("note") or "").strip() and not data.get("attachments"):
            self.add_error("note", "Write what you want to add, or attach a file")
        return data
