"""Reads for cards. Who may see which card is decided here and only here."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.shortcuts import get_object_or_404

from accounts.models import User
from portal.money import quantize

from .models import BusinessProgram, Card, CardAccount, Transaction


def card_visible_to(user: User) -> Q:
    """Cards a user may see:

    * their own card, whatever its role;
    * every card on an account where they hold the basic card (supplementary cards);
    * every card on the accounts of a business program they administer.
    """
    if not user.is_authenticated:
        return Q(pk__in=[])
    visible = Q(pk__in=[])
    if user.cardholder_id:
        basic_accounts = Card.objects.filter(holder_id=user.cardholder_id, role=Card.Role.BASIC).values("account_id")
        visible |= Q(holder_id=user.cardholder_id) | Q(account_id__in=basic_accounts)
    programs = BusinessProgram.objects.filter(administrators=user).values("id")
    visible |= Q(account__business_program_id__in=programs)
    return visible


def card_list_for_user(*, user: User) -> QuerySet[Card]:
    return (
        Card.objects.filter(card_visible_to(user))
        .select_related("account__product", "holder")
        .order_by("account__product__segment", "account_id", "role", "id")
    )


def card_get_for_user(*, user: User, card_id: int) -> Card:
    # The same 404 whether the card does not exist or is not theirs.
    return get_object_or_404(card_list_for_user(user=user), pk=card_id)


def account_balance(*, account: CardAccount) -> Decimal:
    """Posted balance: the sum of posted movements. Positive means the cardholder owes."""
    total = account.transactions.filter(status=Transaction.Status.POSTED).aggregate(total=Sum("amount"))["total"]
    # SQLite sums decimals as floats; money is always quantized to cents here.
    return quantize(total or 0)
