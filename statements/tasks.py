"""Celery tasks for statements: thin, idempotent, taking ids.

The beat runs ``statements_close_cycles`` once a day (and again if a run was missed:
every ended cycle without a statement is closed, oldest first). It does not build one
huge group: it walks the due accounts by id and enqueues a ``statements_close_batch``
task per batch. Progress lives in the database: a closed cycle has its statement (one
per account and period, enforced by a unique constraint), so a batch that runs twice,
or a beat that fires while batches are still queued, closes nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.utils import timezone

from cards.models import CardAccount

from . import selectors, services
from .models import Statement

logger = logging.getLogger(__name__)

BATCH_SIZE = 200


@shared_task(acks_late=True)
def statements_close_cycles(today: str | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Beat: enqueue the accounts with an ended cycle to close, in batches of ids.
    Returns how many batches were enqueued."""
    day = dt.date.fromisoformat(today) if today else timezone.localdate()
    batches = 0
    due = selectors.accounts_due_for_close(today=day)
    for account_ids in selectors.account_id_batches(accounts=due, size=batch_size):
        statements_close_batch.delay(account_ids, day.isoformat())
        batches += 1
    if batches:
        logger.info("Statement close: %d batch(es) enqueued for %s", batches, day)
    return batches


@shared_task(acks_late=True)
def statements_close_batch(account_ids: list[int], today: str) -> int:
    """Close the due cycles of these accounts. One account's failure is logged and does
    not stop the others: its cycle stays due and the next beat run tries again."""
    day = dt.date.fromisoformat(today)
    closed = 0
    for account in CardAccount.objects.filter(pk__in=account_ids).select_related("product").order_by("pk"):
        try:
            closed += len(services.statements_close_due(account=account, today=day))
        except Exception:
            logger.exception("Statement close failed for account %s", account.pk)
    return closed


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def statement_pdf_render(statement_id: int) -> None:
    """Render and store one statement's PDF (a no-op once stored)."""
    statement = (
        Statement.objects.select_related("account__product", "account__primary_cardholder", "account__business_program")
        .filter(pk=statement_id)
        .first()
    )
    if statement is not None:
        services.statement_pdf_render(statement=statement)
