import itertools
import random
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cards import ledger, simulation
from cards.models import Card, ProcessorEvent, Transaction
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("simulate_activity", *args, "--interval", "0", "--seed", "7", stdout=out)
    return out.getvalue()


def test_simulation_drives_the_webhook_and_shows_progress(credit_card, charge_card):
    output = run("--events", "40")
    assert len(re.findall(r"^\[\s*\d+/40\] ", output, flags=re.MULTILINE)) == 40
    assert "Sent 40 events" in output
    assert ProcessorEvent.objects.count() == 40
    statuses = set(Transaction.objects.values_list("status", flat=True))
    assert {"pending", "posted"} <= statuses
    assert ledger.ledger_verify() == (2, [])
    for issued in (credit_card, charge_card):
        assert issued.pan not in output
        assert issued.card.processor_token not in output


def test_a_frozen_card_declines_in_the_simulation(charge_card):
    Card.objects.filter(pk=charge_card.card.pk).update(status=Card.Status.FROZEN)
    output = run("--events", "5")
    assert "declined (card_frozen)" in output
    assert "→ approved" not in output


def test_simulation_stops_at_the_time_limit():
    ticks = itertools.count()
    simulator = simulation.Simulator(
        cards=[simulation.SimCard(1, "ctk_x", "•••• 0000", "USD")],
        transport=lambda body: (200, {"approved": True}),
        rng=random.Random(1),
    )
    summary = simulator.run(events=1000, seconds=5, interval=1, clock=lambda: next(ticks), sleep=lambda s: None)
    assert 0 < summary.sent < 5


def test_simulation_only_on_the_cards_a_user_can_see(credit_card, charge_card):
    run("--events", "10", "--user", charge_card.card.holder.user.username)
    assert set(Transaction.objects.values_list("card_id", flat=True)) == {charge_card.card.pk}


def test_simulation_needs_cards(db):
    with pytest.raises(CommandError, match="seed_demo"):
        run("--events", "3")


def test_simulation_refuses_an_unknown_user(credit_card):
    with pytest.raises(CommandError, match="No user"):
        run("--user", "nobody-here")


def test_simulation_skips_cards_that_cannot_be_used(credit_card):
    Card.objects.filter(pk=credit_card.card.pk).update(status=Card.Status.LOST_STOLEN)
    UserFactory()
    with pytest.raises(CommandError):
        run("--events", "3")


@pytest.mark.django_db(transaction=True)
def test_simulation_over_http_to_a_running_server(live_server, settings, credit_card):
    settings.ROOT_URLCONF = "tests.cards.urls_webhook"
    output = run("--events", "6", "--url", f"{live_server.url}/cards/processor/webhook/")
    assert "Sent 6 events" in output
    assert "refused" not in output
    assert ProcessorEvent.objects.count() == 6
