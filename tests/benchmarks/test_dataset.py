"""The benchmark's data set still loads after the models change (a small one: speed is
measured by `make bench`, never in tests)."""

import datetime as dt

import pytest
from django.db.models import Sum
from django.utils import timezone

from benchmarks import dataset
from cards import ledger, selectors
from cards.models import Card, RewardEntry, Transaction

pytestmark = pytest.mark.django_db


def test_the_data_set_loads_and_the_ledger_agrees_with_it():
    world = dataset.build(transactions=3_000, progress=lambda message: None)
    assert Transaction.objects.count() == world.transactions == 3_000
    assert RewardEntry.objects.count() == world.reward_entries > 2_000
    assert len(selectors.card_list_for_user(user=world.user)) == 50
    assert Card.objects.filter(account__business_program=world.program).count() == 40
    checked, mismatches = ledger.ledger_verify()
    assert (checked, mismatches) == (2, [])
    # Amounts are exact cents whichever way the rows were written.
    total = Transaction.objects.filter(kind="purchase", status="posted").aggregate(total=Sum("amount"))["total"]
    assert total == total.quantize(total.__class__("0.01"))
    # Times are written as the ORM reads them: the history ends now, the pending tail last.
    newest = Transaction.objects.order_by("-transacted_at").first()
    step = dt.timedelta(days=365 * dataset.YEARS) / 3_000  # one transaction per step
    assert timezone.now() - step < newest.transacted_at <= timezone.now()
    assert newest.status == "pending"
