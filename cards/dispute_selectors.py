"""Reads for disputes. Whoever can see a card (its holder, the basic card member, the
business program's administrators) can see and dispute its charges, and see the
disputes on them; anything else is 404, whether it exists or not."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import User

from .models import Card, Dispute, DisputeAttachment, DisputeEvent, Transaction
from .selectors import card_visible_to

DISPUTE_WINDOW_DAYS = 120


def _visible_cards(user: User) -> Q:
    return Q(card_id__in=Card.objects.filter(card_visible_to(user)).values("pk"))


def transactions_disputable_by(*, user: User) -> QuerySet[Transaction]:
    return Transaction.objects.filter(_visible_cards(user)).select_related("card", "account__product")


def transaction_get_for_dispute(*, user: User, transaction_id: int) -> Transaction:
    return get_object_or_404(transactions_disputable_by(user=user), pk=transaction_id)


def disputes_for_user(*, user: User) -> QuerySet[Dispute]:
    transactions = Transaction.objects.filter(_visible_cards(user)).values("pk")
    return (
        Dispute.objects.filter(transaction_id__in=transactions)
        .select_related("transaction__card", "transaction__account__product", "temporary_credit")
        .order_by("-created_at", "-pk")
    )


def dispute_get_for_user(*, user: User, dispute_id: int) -> Dispute:
    return get_object_or_404(disputes_for_user(user=user), pk=dispute_id)


def dispute_attachment_get_for_user(*, user: User, dispute_id: int, attachment_id: int) -> DisputeAttachment:
    dispute = dispute_get_for_user(user=user, dispute_id=dispute_id)
    return get_object_or_404(DisputeAttachment.objects.filter(dispute=dispute), pk=attachment_id)


def dispute_timeline(*, dispute: Dispute) -> QuerySet[DisputeEvent]:
    return DisputeEvent.objects.filter(dispute=dispute).order_by("at", "pk")


def dispute_attachments(*, dispute: Dispute) -> QuerySet[DisputeAttachment]:
    return DisputeAttachment.objects.filter(dispute=dispute).order_by("created_at", "pk")


def dispute_for_transaction(*, transaction: Transaction) -> Dispute | None:
    """The open dispute on this charge, else the latest one (fetch the transaction
    through a ``*_for_user`` selector first)."""
    disputes = Dispute.objects.filter(transaction=transaction)
    return disputes.filter(status__in=Dispute.OPEN_STATUSES).first() or disputes.order_by("-created_at", "-pk").first()


def dispute_refusal(*, transaction: Transaction, today: dt.date | None = None) -> str:
    """Why this charge cannot be disputed online now, or "" when it can."""
    today = today or timezone.localdate()
    if transaction.kind != Transaction.Kind.PURCHASE or transaction.card_id is None:
        return "Only purchases can be disputed. For a payment, fee or credit, call us."
    if transaction.status == Transaction.Status.PENDING:
        return "This charge is still pending and may change or drop off. You can dispute it once it has posted."
    if transaction.status != Transaction.Status.POSTED:
        return "This charge did not go through, so there is nothing to dispute."
    age = (today - timezone.localdate(transaction.transacted_at)).days
    if age > DISPUTE_WINDOW_DAYS:
        return (
            f"You can dispute a charge online within {DISPUTE_WINDOW_DAYS} days of its date. "
            f"For older charges, call us on {settings.SUPPORT_PHONE}."
        )
    statuses = set(Dispute.objects.filter(transaction=transaction).values_list("status", flat=True))
    if statuses & set(Dispute.OPEN_STATUSES):
        return "This charge already has an open dispute. You can follow it on your disputes page."
    if Dispute.Status.RESOLVED in statuses:
        return "A dispute about this charge was already resolved in your favour."
    return ""
