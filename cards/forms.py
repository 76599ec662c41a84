import datetime as dt
import secrets
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.forms import CardIdField, CardNumberField
from portal.digits import is_digits
from portal.money import format_money

from .models import Card, Category, Transaction
from .selectors import HISTORY_DAYS, RewardsSummary, TransactionFilters


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
        if len(parts) != 2 or not all(is_digits(p) for p in parts) or len(parts[1]) not in (2, 4):
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


# --- Transactions -------------------------------------------------------------------------

DATE_FORMAT_HINT = "For example, 2025-03-27"


class DateField(forms.DateField):
    """A browser date picker, with a typed ISO date accepted as well."""

    def __init__(self, *, label: str, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("input_formats", ["%Y-%m-%d", "%m/%d/%Y"])
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
        kwargs.setdefault(
            "error_messages",
            {"invalid": f"Enter a real date for “{label.lower()}”, like 2025-03-27"},
        )
        super().__init__(label=label, **kwargs)


class AmountField(forms.CharField):
    """An amount in dollars and cents; "$1,250.50" and "1250.5" both work."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 16)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "spellcheck": "false"}))
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        amount = parse_amount(value)
        if amount is None:
            raise ValidationError(f"Enter {self.label.lower()} as an amount, like 25.00", code="invalid")
        if amount < 0:
            raise ValidationError(f"Enter {self.label.lower()} without a minus sign", code="negative")
        if amount != amount.quantize(Decimal("0.01")):
            raise ValidationError(f"Enter {self.label.lower()} in dollars and cents, like 25.00", code="cents")
        return amount.quantize(Decimal("0.01"))


MAX_AMOUNT = Decimal("999999999.99")


def parse_amount(raw: str) -> Decimal | None:
    """A finite decimal of sensible size from what a person typed ("$1,250.50"), or None."""
    try:
        amount = Decimal(raw.replace("$", "").replace(",", "").strip())
    except InvalidOperation:
        return None
    # copy_abs, not abs(): abs() applies the decimal context, and "1e999999999" overflows it.
    if not amount.is_finite() or amount.copy_abs() > MAX_AMOUNT:
        return None
    return amount


def card_label(card: Card, *, with_holder: bool) -> str:
    label = f"{card.account.product.name} •••• {card.last4}"
    if with_holder:
        label += f" ({card.holder.legal_name})"
    return label


class TransactionFilterForm(forms.Form):
    """The transactions page's search and filters (a GET form: every field optional)."""

    q = forms.CharField(
        label="Merchant",
        required=False,
        max_length=100,
        help_text="All or part of the merchant's name",
        widget=forms.TextInput(attrs={"type": "search", "spellcheck": "false"}),
    )
    date_from = DateField(label="From")
    date_to = DateField(label="To")
    card = forms.TypedChoiceField(label="Card", required=False, coerce=int, empty_value=None)
    category = forms.ChoiceField(label="Category", required=False, choices=[("", "All categories"), *Category.choices])
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *Transaction.Status.choices]
    )
    amount_min = AmountField(label="Smallest amount")
    amount_max = AmountField(label="Largest amount")

    def __init__(self, *args, cards: list[Card], today: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()
        self.oldest = self.today - dt.timedelta(days=HISTORY_DAYS)
        holders = {card.holder_id for card in cards}
        self.fields["card"].choices = [("", "All cards")] + [
            (card.pk, card_label(card, with_holder=len(holders) > 1)) for card in cards
        ]
        self.fields["card"].error_messages["invalid_choice"] = "Choose a card from the list"
        self.fields["category"].error_messages["invalid_choice"] = "Choose a category from the list"
        self.fields["status"].error_messages["invalid_choice"] = "Choose a status from the list"
        self.fields["date_from"].help_text = f"Up to {HISTORY_DAYS} days back"

    def clean_date_from(self) -> dt.date | None:
        value = self.cleaned_data["date_from"]
        if value is not None and value < self.oldest:
            raise ValidationError(
                f"You can search the last {HISTORY_DAYS} days here. "
                "For older transactions, see your statements or download them.",
                code="too_old",
            )
        return value

    def clean(self):
        data = super().clean()
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", "The “to” date must be the same as or after the “from” date")
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", "The largest amount must be the same as or more than the smallest")
        return data

    def filters(self) -> TransactionFilters:
        data = self.cleaned_data
        date_to = data["date_to"]
        return TransactionFilters(
            merchant=data["q"].strip(),
            date_from=data["date_from"] or self.oldest,
            # Nothing happens after today: a later "to" date (up to 9999-12-31, which the
            # day after would overflow) means "up to now".
            date_to=min(date_to, self.today) if date_to else None,
            card_id=data["card"],
            category=data["category"],
            status=data["status"],
            amount_min=data["amount_min"],
            amount_max=data["amount_max"],
        )

    @property
    def has_filters(self) -> bool:
        return self.is_bound and any(self.data.get(name) for name in self.fields)

    @property
    def has_more_filters(self) -> bool:
        """Anything set (or wrong) beyond the merchant search: the filters stay open."""
        more = [name for name in self.fields if name != "q"]
        return self.is_bound and (
            any(self.data.get(name) for name in more) or any(name in self.errors for name in more)
        )


class ExportForm(forms.Form):
    MAX_DAYS = 366

    date_from = DateField(label="From", required=True)
    date_to = DateField(label="To", required=True)
    file_format = forms.ChoiceField(
        label="File type",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose a file type", "invalid_choice": "Choose a file type from the list"},
    )

    def __init__(self, *args, ofx: bool, today: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()
        choices = [("csv", "CSV, for spreadsheets")]
        if ofx:
            choices.append(("ofx", "OFX, for money-management and accounting software"))
        self.fields["file_format"].choices = choices
        self.fields["date_from"].error_messages["required"] = "Enter the first date to include"
        self.fields["date_to"].error_messages["required"] = "Enter the last date to include"

    def clean(self):
        data = super().clean()
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_from > self.today:
            self.add_error("date_from", "The “from” date can't be in the future")
        elif date_from and date_to:
            if date_from > date_to:
                self.add_error("date_to", "The “to” date must be the same as or after the “from” date")
            elif (date_to - date_from).days >= self.MAX_DAYS:
                self.add_error("date_to", f"Choose dates no more than {self.MAX_DAYS} days apart")
        return data


# --- Rewards ------------------------------------------------------------------------------


def new_idempotency_key() -> str:
    return secrets.token_hex(16)


class RedeemForm(forms.Form):
    """Redeem as a statement credit. The key is minted when the form is drawn, so a
    double submit or a replayed POST redeems once (see services.rewards_redeem)."""

    quantity = forms.CharField(max_length=16, widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=48)
    card = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, rewards: RewardsSummary, **kwargs):
        super().__init__(*args, **kwargs)
        self.rewards = rewards
        field = self.fields["quantity"]
        if rewards.points:
            field.label = "Points to redeem"
            field.help_text = (
                f"In steps of {rewards.step:,.0f} points. Each {rewards.step:,.0f} points "
                f"is a {format_money(rewards.step_value)} statement credit."
            )
        else:
            field.label = "Cash back to redeem"
            field.widget.attrs["inputmode"] = "decimal"
            field.help_text = (
                f"In steps of {format_money(rewards.step)}. Each step is a "
                f"{format_money(rewards.step_value)} statement credit."
            )
        field.error_messages["required"] = (
            "Enter how many points to redeem" if rewards.points else "Enter how much cash back to redeem"
        )

    def _text(self, value: Decimal) -> str:
        return f"{value:,.0f} points" if self.rewards.points else format_money(value)

    def clean_quantity(self) -> Decimal:
        value = parse_amount(self.cleaned_data["quantity"])
        what = "a number of points, like 1000" if self.rewards.points else "an amount, like 25.00"
        if value is None or value != value.quantize(Decimal("0.01")):
            raise ValidationError(f"Enter {what}", code="invalid")
        if value <= 0:
            raise ValidationError(f"Enter {what}, more than zero", code="zero")
        step = self.rewards.step
        if value % step:
            raise ValidationError(
                f"Redeem in steps of {self._text(step)}, for example {self._text(step)} or {self._text(step * 2)}",
                code="step",
            )
        # The balance is checked by the service under the account's lock, after it has
        # recognised a repeated submission (which must not fail for want of balance).
        return value
