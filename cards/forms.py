from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.forms import CardIdField, CardNumberField


class ActivateCardForm(forms.Form):
    card_number = CardNumberField()
    card_id = CardIdField()
    expiry = forms.CharField(
        label="Expiry date",
        max_length=7,
        help_text="As printed on the card, for example 08/29.",
        error_messages={"required": "Enter the expiry date printed on your card"},
        widget=forms.TextInput(attrs={"autocomplete": "cc-exp", "inputmode": "numeric"}),
    )

    def clean_expiry(self) -> tuple[int, int]:
        raw = self.cleaned_data["expiry"].replace(" ", "")
        parts = raw.split("/") if "/" in raw else [raw[:2], raw[2:]]
        if len(parts) != 2 or not all(p.isdigit() for p in parts) or len(parts[1]) not in (2, 4):
            raise ValidationError("Enter the expiry date as month and year, like 08/29", code="format")
        month, year = int(parts[0]), int(parts[1])
        if len(parts[1]) == 2:
            year += 2000
        if not 1 <= month <= 12:
            raise ValidationError("Enter a real month, from 01 to 12", code="month")
        today = timezone.localdate()
        if (year, month) < (today.year, today.month):
            raise ValidationError("This card has expired. Use the newer card we sent you", code="expired")
        return month, year
