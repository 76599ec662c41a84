import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import User
from cards import processing, services
from cards.models import Card, CardRequest, ProcessorEvent, TransactionEvent
from tests.cards.conftest import event

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_superuser("staff.admin", password="staff-admin-password-1"))
    return client


def url(model, view="changelist", *args):
    return reverse(f"admin:cards_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", [TransactionEvent, ProcessorEvent], ids=lambda m: m.__name__)
def test_processor_records_are_readable_and_show_no_card_number(staff_client, credit_card, model):
    processing.processor_event_handle(event=processing.event_parse(event(card=credit_card)))
    obj = model.objects.get()
    pages = [staff_client.get(url(model)), staff_client.get(url(model, "change", obj.pk))]
    assert [page.status_code for page in pages] == [200, 200]
    assert all(credit_card.pan not in page.content.decode() for page in pages)
    assert staff_client.post(url(model, "change", obj.pk), {}).status_code == 403


def test_staff_issue_requested_cards_from_the_queue(staff_client, business):
    card_request = services.employee_card_request(
        actor=business["admin"],
        account=business["account"],
        legal_name="Dana Whitfield",
        name_on_card="DANA WHITFIELD",
        date_of_birth=dt.date(1990, 4, 2),
        postal_code="10001",
        email="dana@example.com",
        monthly_limit=Decimal("750.00"),
    )
    response = staff_client.post(
        url(CardRequest), {"action": "issue_cards", "_selected_action": [card_request.pk]}, follow=True
    )
    card_request.refresh_from_db()
    assert card_request.status == CardRequest.Status.ISSUED
    assert card_request.card.status == Card.Status.INACTIVE
    assert f"Issued {card_request.card.masked_number}" in response.content.decode()
