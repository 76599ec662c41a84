"""Statements with a real Celery worker on Redis and PostgreSQL (run by .ci/run with
CELERY_BROKER_URL): the beat task fans out, the batches close the cycles and the PDFs are
rendered in the background; a download asked for before its PDF exists waits on
"Preparing your statement…" until the worker has stored it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from statements import services
from statements.models import Statement
from statements.tasks import statements_close_cycles
from tests.factories import UserFactory, issue_card, open_account
from tests.worker import celery_worker, require_worker_stack, wait_for

from .conftest import at, post

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_beat_run_closes_cycles_and_renders_their_pdfs_in_the_worker(settings, tmp_path):
    require_worker_stack()
    accounts = []
    for _ in range(3):
        account = open_account(holder=UserFactory().cardholder, opened_on=dt.date(2025, 1, 2))
        post(account, "42.00", at(dt.date(2025, 3, 10)), card=issue_card(account=account).card)
        accounts.append(account)
    outbox = tmp_path / "outbox"
    outbox.mkdir()

    with celery_worker(outbox=outbox, extra_env={"MEDIA_ROOT": str(settings.MEDIA_ROOT)}):
        statements_close_cycles.delay("2025-04-20", 2)
        rendered = wait_for(
            lambda: Statement.objects.filter(account__in=accounts).exclude(pdf="").count() == 6, timeout=120
        )

    assert rendered
    for statement in Statement.objects.filter(account__in=accounts):
        assert services.statement_pdf_content(statement=statement).startswith(b"%PDF-")


def test_download_before_the_pdf_exists_waits_then_is_served(client, settings, tmp_path):
    require_worker_stack()
    user = UserFactory()
    account = open_account(holder=user.cardholder, opened_on=dt.date(2025, 1, 2))
    post(account, "42.00", at(dt.date(2025, 3, 10)), card=issue_card(account=account).card)
    statement = services.statement_close(account=account, period_end=dt.date(2025, 3, 15))
    client.force_login(user)
    pdf_url = reverse("statements:pdf", args=[statement.pk])
    outbox = tmp_path / "outbox"
    outbox.mkdir()

    with celery_worker(outbox=outbox, extra_env={"MEDIA_ROOT": str(settings.MEDIA_ROOT)}):
        first = client.get(pdf_url)
        waiting = client.get(first["Location"])
        stored = wait_for(lambda: Statement.objects.exclude(pdf="").filter(pk=statement.pk).exists(), timeout=120)
        ready = client.get(first["Location"])
        download = client.get(pdf_url)

    assert (first.status_code, first["Location"]) == (302, reverse("statements:preparing", args=[statement.pk]))
    assert "Preparing your statement…" in waiting.content.decode()
    assert stored
    assert f'content="0; url={pdf_url}"' in ready.content.decode()
    assert (download.status_code, download["Content-Type"]) == (200, "application/pdf")
