"""Freeze and unfreeze on the cardholder site: who is offered the Unfreeze button, and
what a person is told when a freeze is not theirs to lift."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from cards import services
from cards.models import Card
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FRAUD_FREEZE = "Our fraud team froze this card. Call the number on the back of your card"


def text(html: str) -> str:
    """The page's words, without tags, on one line."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace("&#x27;", "'")


def fraud_team_freeze(card: Card) -> None:
    analyst = UserFactory(cardholder=None, is_staff=True)
    analyst.user_permissions.add(Permission.objects.get(codename="freeze_card"))
    analyst = UserFactory._meta.model.objects.get(pk=analyst.pk)  # a fresh permission cache
    services.card_freeze(actor=analyst, card=card, reason="suspected fraud")


def test_basic_member_whose_card_the_fraud_team_froze_is_told_to_call_and_offered_no_unfreeze(
    client, charge_card, settings
):
    card = charge_card.card
    fraud_team_freeze(card)
    client.force_login(card.holder.user)

    dashboard = client.get(reverse("cards:dashboard")).content.decode()
    assert reverse("cards:unfreeze", args=[card.pk]) not in dashboard
    assert FRAUD_FREEZE in text(dashboard)
    assert settings.SUPPORT_PHONE in dashboard
    assert "ask them to unfreeze it" not in text(dashboard)

    response = client.post(reverse("cards:unfreeze", args=[card.pk]), follow=True)
    words = text(response.content.decode())
    assert FRAUD_FREEZE in words
    assert "frozen by the basic card member" not in words
    assert Card.objects.get(pk=card.pk).status == Card.Status.FROZEN


def test_basic_member_is_offered_no_unfreeze_for_a_supplementary_card_the_fraud_team_froze(client, roles):
    supp = roles.cards["supp"]
    fraud_team_freeze(supp)
    client.force_login(roles.users["owner"])

    dashboard = client.get(reverse("cards:dashboard"), {"card": supp.pk}).content.decode()
    assert reverse("cards:unfreeze", args=[supp.pk]) not in dashboard
    assert FRAUD_FREEZE in text(dashboard)


def test_basic_member_freezing_a_supplementary_card_its_holder_froze_takes_the_freeze_over(client, roles):
    supp = roles.cards["supp"]
    services.card_freeze(actor=roles.users["supplementary"], card=supp)
    client.force_login(roles.users["owner"])
    client.post(reverse("cards:freeze", args=[supp.pk]))

    client.force_login(roles.users["supplementary"])
    dashboard = text(client.get(reverse("cards:dashboard")).content.decode())
    assert "Unfreeze card" not in dashboard
    assert "It was frozen by the basic card member: ask them to unfreeze it." in dashboard
    client.post(reverse("cards:unfreeze", args=[supp.pk]))
    assert Card.objects.get(pk=supp.pk).status == Card.Status.FROZEN


def declined_purchase_page(client, card: Card) -> str:
    """The words of the holder's page for a purchase declined because the card was frozen."""
    from decimal import Decimal

    from cards.models import DeclineReason, Transaction
    from tests.factories import TransactionFactory

    declined = TransactionFactory(
        card=card, amount=Decimal("25.00"), status=Transaction.Status.DECLINED, decline_reason=DeclineReason.CARD_FROZEN
    )
    client.force_login(card.holder.user)
    return text(client.get(reverse("cards:transaction", args=[declined.pk])).content.decode())


def test_a_purchase_declined_on_a_card_the_fraud_team_froze_says_call_not_unfreeze(client, charge_card, settings):
    card = charge_card.card
    fraud_team_freeze(card)
    words = declined_purchase_page(client, card)
    assert "Our fraud team froze this card. Call us on" in words
    assert "Unfreeze the card" not in words


def test_a_purchase_declined_on_a_card_the_holder_froze_says_unfreeze(client, charge_card):
    card = charge_card.card
    services.card_freeze(actor=card.holder.user, card=card)
    words = declined_purchase_page(client, card)
    assert "Unfreeze the card on your cards page" in words
    assert "fraud team" not in words
