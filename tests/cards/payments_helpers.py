"""Helpers for the payments, disputes and alerts tests: balances made through the real
processor path, statements, bank accounts added through the service."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.test import TestCase
from django.utils import timezone

from cards import payments, processing
from statements.models import Statement
from tests.cards.conftest import event

ROUTING = "021000021"  # a real routing number (JPMorgan Chase, New York): the checksum holds


def handle(payload: dict) -> processing.Answer:
    return processing.processor_event_handle(event=processing.event_parse(payload))


def spend(issued, amount: str, **fields) -> processing.Answer:
    """A purchase that posts at once (a clearing with no authorization before it)."""
    return handle(event("clearing", card=issued, amount=amount, **fields))


def commits():
    """Run what the code under test queued with transaction.on_commit (tasks, deliveries)
    when the block ends, as a real commit would, inside a test's rolled-back transaction."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def bank_account(user, *, number: str = "000123456789", nickname: str = "Checking"):
    with commits():
        return payments.payment_method_add(user=user, nickname=nickname, routing_number=ROUTING, account_number=number)


class StatementFactory(factory.django.DjangoModelFactory):
    """A closed cycle. The statements app will bring its own service; until then the row
    is written directly, with the figures the tests name."""

    class Meta:
        model = Statement

    period_end = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=5))
    period_start = factory.LazyAttribute(lambda o: o.period_end - dt.timedelta(days=30))
    due_date = factory.LazyAttribute(lambda o: o.period_end + dt.timedelta(days=25))
    opening_balance = Decimal("0.00")
    closing_balance = Decimal("500.00")
    minimum_due = Decimal("35.00")
    currency = "USD"


def key(n: int | str = 1) -> str:
    return f"test-key-{n}-" + "x" * 16


def staff_console_login(client, user=None):
    """Sign a staff member in to the staff console (the admin needs a session confirmed
    with their own second factor): an authenticator app, marked verified in the session
    as django-otp's login does. Returns the user."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import User

    user = user or User.objects.create_superuser("money.staff", password="staff-password-long-enough-1")
    device = TOTPDevice.objects.create(user=user, name="default", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return user
