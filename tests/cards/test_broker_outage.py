"""With the Celery broker down (Redis stopped), a write that queues a task after its
commit still succeeds: the row is the record, and a beat task or the page asks again
later. load/faults/redis_stop.sh shows the same on a running stack."""

from decimal import Decimal

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from cards import payments
from cards import tasks as card_tasks
from cards.models import CardAccount, Payment
from statements import services as statement_services
from statements import tasks as statement_tasks
from tests.cards.payments_helpers import StatementFactory, bank_account, commits, key, spend

pytestmark = pytest.mark.django_db


def broker_down(monkeypatch, task) -> None:
    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(task, "delay", refuse)


@pytest.fixture
def account(charge_card):
    spend(charge_card, "300.00")
    return CardAccount.objects.get(pk=charge_card.card.account_id)


def test_pay_now_is_made_while_the_broker_is_down_and_posted_by_the_beat_task(monkeypatch, charge_card, account):
    owner = charge_card.card.holder.user
    method = bank_account(owner)
    broker_down(monkeypatch, card_tasks.payment_post)

    with commits():
        payment, created = payments.payment_schedule(
            account=account,
            method=method,
            amount=Decimal("100.00"),
            scheduled_for=timezone.localdate(),
            idempotency_key=key(1),
            actor=owner,
        )

    assert created
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.SCHEDULED
    assert payments.payments_post_due() == 1
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.POSTED


def test_statement_pdf_request_answers_while_the_broker_is_down(monkeypatch, account):
    statement = StatementFactory(account=account)
    broker_down(monkeypatch, statement_tasks.statement_pdf_render)

    with commits():
        asked = statement_services.statement_pdf_request(statement=statement)

    assert asked is True
    statement.refresh_from_db()
    assert statement.pdf_requested_at is not None
    assert not statement.pdf
