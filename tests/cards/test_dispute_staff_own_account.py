"""A dispute agent who is also a cardholder works their own dispute: grants themselves a
temporary credit and resolves it in their own favour. Account actions refuse "your own
login" (accounts.admin.staff_may_act); the money actions have no such check."""

import pytest
from django.urls import reverse

from cards import disputes
from cards.models import CardAccount, Dispute, Transaction
from tests.cards.payments_helpers import commits, spend
from tests.factories import CardholderFactory, issue_card, open_account, staff_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_with_own_dispute():
    holder = CardholderFactory()
    agent = staff_member("disputes.agent", groups=("Disputes",), cardholder=holder)
    issued = issue_card(account=open_account(holder=holder))
    spend(issued, "80.00", merchant={"name": "Gadget Store", "mcc": "5732", "city": "Austin", "country": "US"})
    charge = Transaction.objects.get(kind="purchase", account=issued.card.account)
    with commits():
        dispute = disputes.dispute_open(
            actor=agent, transaction_obj=charge, reason="not_received", description="It never arrived at all."
        )
    return agent, dispute


def test_dispute_agent_cannot_credit_or_resolve_their_own_dispute(client, agent_with_own_dispute):
    agent, dispute = agent_with_own_dispute
    account = CardAccount.objects.get(pk=dispute.transaction.account_id)
    before = account.posted_balance
    client.force_login(agent)

    credit = client.post(reverse("admin:cards_dispute_credit", args=[dispute.pk]), {"note": ""})
    resolve = client.post(reverse("admin:cards_dispute_resolve", args=[dispute.pk]), {"note": "Looks fine to me."})

    account.refresh_from_db()
    dispute.refresh_from_db()
    assert (credit.status_code, resolve.status_code) == (403, 403)
    assert dispute.status == Dispute.Status.SUBMITTED
    assert account.posted_balance == before


def test_the_service_refuses_the_agents_own_dispute_too(agent_with_own_dispute):
    from django.core.exceptions import PermissionDenied

    agent, dispute = agent_with_own_dispute
    with pytest.raises(PermissionDenied):
        disputes.dispute_resolve(staff=agent, dispute=dispute, note="Mine, resolved by me.")
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.SUBMITTED


def test_another_agent_can_work_the_same_dispute(client, agent_with_own_dispute):
    _, dispute = agent_with_own_dispute
    colleague = staff_member("disputes.colleague", groups=("Disputes",))
    client.force_login(colleague)
    response = client.post(reverse("admin:cards_dispute_resolve", args=[dispute.pk]), {"note": "Never delivered."})
    dispute.refresh_from_db()
    assert response.status_code == 302
    assert dispute.status == Dispute.Status.RESOLVED
