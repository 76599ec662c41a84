"""The statements page's filter: which account, which year."""

from __future__ import annotations

from django import forms

from cards.models import CardAccount


def account_label(account: CardAccount) -> str:
    return f"{account.product.name}, account ending {account.reference[-5:]}"


class StatementFilterForm(forms.Form):
    account = forms.TypedChoiceField(label="Account", coerce=int, required=False, empty_value=None)
    year = forms.TypedChoiceField(label="Year", coerce=int, required=False, empty_value=None)

    def __init__(self, data, *, accounts: list[CardAccount], years: list[int]):
        super().__init__(data)
        self.fields["account"].choices = [("", "All accounts")] + [(a.pk, account_label(a)) for a in accounts]
        self.fields["year"].choices = [(year, str(year)) for year in years]
