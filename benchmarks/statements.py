"""Statement PDF benchmarks, as ratios measured in one run:

(e) rendering a statement of N lines (its queries, template and WeasyPrint) vs
    WeasyPrint rendering a bare ``<table>`` of the same N rows: goal ≤ 1.3×;
(f) a statement of 2N lines vs one of N lines: goal ≤ 2.2× (rendering grows with the
    lines, not faster: no layout cost that grows with the number of pages);
(g) a repeat download of a stored statement (access check, storage read, SHA-256
    check) vs a trivial signed-in page: goal ≤ 2×.

Rendering is CPU-bound Python in this one process (SQLite too), so (e) and (f) time it
with the process's CPU clock: on a busy machine the wall clock mostly measures waiting
for a core. (g) uses the wall clock, like the page benchmarks.

``run()`` is the hook for ``python -m benchmarks``: call it once the benchmark database
is set up; it builds its own accounts and returns results shaped like the runner's
``Result`` (label, target, baseline, goal, target_ms, baseline_ms, ratio, queries, note,
todo). Standalone: ``DEBUG=true .venv/bin/python -m benchmarks.statements [--quick]``
builds a throwaway database the same way and prints the three lines.
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

ROWS = 300
MERCHANTS = (
    ("Blue Bottle Coffee", "New York", "US", "dining"),
    ("Shell Oil", "Columbus", "US", "fuel"),
    ("Hilton Hotels", "Chicago", "US", "travel"),
    ("Whole Foods Market", "Austin", "US", "groceries"),
    ("Uber Trip", "Seattle", "US", "transport"),
)
ABROAD = ("Café de Flore", "Paris", "FR", "dining")
ABROAD_EVERY = 40  # 2.5% of lines in a foreign currency (the demo world has about 1%)


@dataclass
class StatementBenchResult:
    label: str
    target: str
    baseline: str
    goal: float | None
    target_ms: float = 0.0
    baseline_ms: float = 0.0
    queries: int | None = None
    slowest: list[tuple[float, str]] | None = None
    note: str = ""
    todo: str = ""

    @property
    def ratio(self) -> float:
        return self.target_ms / self.baseline_ms


def _compare(
    target: Callable[[], object],
    baseline: Callable[[], object],
    *,
    runs: int,
    warmup: int,
    clock: Callable[[], float] = time.perf_counter,
):
    """Medians in ms of interleaved runs (alternating which goes first)."""
    for _ in range(warmup):
        target()
        baseline()
    gc.collect()
    target_times: list[float] = []
    baseline_times: list[float] = []
    for run in range(runs):
        pair = ((target, target_times), (baseline, baseline_times))
        for call, times in pair if run % 2 == 0 else reversed(pair):
            started = clock()
            call()
            times.append(clock() - started)
    return statistics.median(target_times) * 1000, statistics.median(baseline_times) * 1000


# --- Data --------------------------------------------------------------------------------------


_sequence = itertools.count(1)


def _statement_with(rows: int, *, cards: int = 4):
    """A charge account whose one closed cycle holds ``rows`` purchases spread over
    ``cards`` cards (a few abroad), and its statement. Returns (statement, user)."""
    from django.utils import timezone

    from accounts.models import Cardholder, User
    from cards import ledger, services
    from cards.models import Card, CardProduct, Transaction
    from statements import cycles
    from statements.services import statement_close

    number = next(_sequence)
    product, _ = CardProduct.objects.get_or_create(
        code="bench-statement-gold",
        defaults={
            "name": "Gold Card",
            "kind": CardProduct.Kind.CHARGE,
            "segment": CardProduct.Segment.PERSONAL,
            "rewards_kind": CardProduct.RewardsKind.POINTS,
            "base_earn_rate": Decimal("1.0000"),
        },
    )
    holders = [
        Cardholder.objects.create(
            legal_name=f"Statement Bench {number}-{index}",
            name_on_card=f"STATEMENT BENCH {number}",
            date_of_birth=dt.date(1980, 1, 1),
            postal_code="10001",
            email=f"statement.bench.{number}.{index}@bench.example",
        )
        for index in range(cards)
    ]
    today = timezone.localdate()
    period_end = cycles.last_close_before(15, today)
    account = services.account_open(
        product=product,
        primary_cardholder=holders[0],
        statement_day=15,
        opened_on=cycles.add_months(period_end, -2),
    )
    issued = [
        services.card_issue(
            account=account,
            holder=holder,
            role=Card.Role.BASIC if index == 0 else Card.Role.SUPPLEMENTARY,
            expiry_month=12,
            expiry_year=today.year + 3,
            active=True,
        ).card
        for index, holder in enumerate(holders)
    ]
    start = cycles.add_months(period_end, -1) + dt.timedelta(days=1)
    days = (period_end - start).days + 1
    transactions = []
    for index in range(rows):
        name, city, country, category = ABROAD if index % ABROAD_EVERY == 7 else MERCHANTS[index % len(MERCHANTS)]
        when = timezone.make_aware(
            dt.datetime.combine(start + dt.timedelta(days=index % days), dt.time(9 + index % 12, index % 60))
        )
        foreign = country != "US"
        transactions.append(
            Transaction(
                account=account,
                card=issued[index % cards],
                kind=Transaction.Kind.PURCHASE,
                status=Transaction.Status.POSTED,
                amount=Decimal("12.34") + index,
                currency="USD",
                original_amount=(Decimal("11.40") + index) if foreign else None,
                original_currency="EUR" if foreign else "",
                merchant_name=name,
                merchant_city=city,
                merchant_country=country,
                category=category,
                network_id=f"bench-statement-{number}-{index}",
                transacted_at=when,
                posted_at=when,
            )
        )
    Transaction.objects.bulk_create(transactions, batch_size=1000)
    ledger.ledger_rebuild(account_ids=[account.pk])
    statement = statement_close(account=account, period_end=period_end, post_charges=False)
    user = User.objects.create_user(f"statement.bench{number}", None, cardholder=holders[0])
    return statement, user


def _bare_table_html(statement) -> str:
    from django.utils.html import escape

    rows = "".join(
        f"<tr><td>{line.transacted_on:%m/%d}</td><td>{escape(line.description)} {escape(line.location)}</td>"
        f"<td>{line.amount}</td></tr>"
        for line in statement.lines.order_by("posted_on", "id")
    )
    return f"<!doctype html><html><body><table>{rows}</table></body></html>"


# --- The three comparisons ------------------------------------------------------------------------


def _render_vs_table(statement, *, runs: int, warmup: int) -> StatementBenchResult:
    from weasyprint import HTML

    from statements.models import Statement
    from statements.pdf import statement_pdf_bytes

    rows = statement.lines.count()
    result = StatementBenchResult(
        f"(e) statement PDF, {rows} lines", "statement PDF", f"bare WeasyPrint <table>, {rows} rows", goal=1.3
    )
    bare = _bare_table_html(statement)

    def render():
        # Fetched afresh, as the render task does: its queries are part of the cost.
        statement_pdf_bytes(Statement.objects.select_related("account__product").get(pk=statement.pk))

    result.target_ms, result.baseline_ms = _compare(
        render, lambda: HTML(string=bare).write_pdf(), runs=runs, warmup=warmup, clock=time.process_time
    )
    pages = statement_pdf_bytes(statement).count(b"/Type /Page\n")
    result.note = f"header, summary, rewards and card sections included; {pages or 'several'} pages"
    return result


def _twice_the_lines(small, large, *, runs: int, warmup: int) -> StatementBenchResult:
    from statements.models import Statement
    from statements.pdf import statement_pdf_bytes

    n, n2 = small.lines.count(), large.lines.count()
    result = StatementBenchResult(f"(f) statement PDF, {n2} vs {n} lines", f"{n2} lines", f"{n} lines", goal=2.2)
    result.target_ms, result.baseline_ms = _compare(
        lambda: statement_pdf_bytes(Statement.objects.get(pk=large.pk)),
        lambda: statement_pdf_bytes(Statement.objects.get(pk=small.pk)),
        runs=runs,
        warmup=warmup,
        clock=time.process_time,
    )
    return result


def _repeat_download(statement, user, *, runs: int, warmup: int) -> StatementBenchResult:
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    result = StatementBenchResult(
        "(g) statement repeat download", "stored PDF download", "trivial signed-in page", goal=2.0
    )
    try:
        url = reverse("statements:pdf", args=[statement.pk])
        trivial_url = reverse("bench_trivial")
    except NoReverseMatch:
        result.todo = "TODO: statements.urls (or bench_trivial) is not mounted in the URLs; not measured."
        return result
    client = Client()
    client.force_login(user)
    first = client.get(url)  # renders and stores it once
    if first.status_code != 200 or first["Content-Type"] != "application/pdf":
        result.todo = f"TODO: {url} answered {first.status_code} {first.get('Content-Type')}; not measured."
        return result

    def download():
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")

    def trivial():
        response = client.get(trivial_url)
        if response.status_code != 200:
            raise RuntimeError(f"{trivial_url} answered {response.status_code}")

    result.target_ms, result.baseline_ms = _compare(download, trivial, runs=runs, warmup=warmup)
    result.note = f"{len(first.content) // 1024} KB read from storage and checked against its SHA-256 each time"
    return result


def run(*, runs: int = 15, warmup: int = 3, rows: int = ROWS) -> list[StatementBenchResult]:
    """The hook for ``python -m benchmarks`` (inside its benchmark database). Stored PDFs
    go to a temporary folder, removed afterwards."""
    import shutil

    from django.conf import settings

    from statements.pdf import print_setup

    media_root = settings.MEDIA_ROOT
    settings.MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="bench-statements-"))
    try:
        print_setup()  # once per process, as in a worker: not part of any one render
        small, user = _statement_with(rows)
        large, _ = _statement_with(rows * 2)
        pdf_runs = max(3, min(runs, 9))
        pdf_warmup = min(warmup, 1)
        return [
            _render_vs_table(small, runs=pdf_runs, warmup=pdf_warmup),
            _twice_the_lines(small, large, runs=pdf_runs, warmup=pdf_warmup),
            _repeat_download(small, user, runs=runs, warmup=warmup),
        ]
    finally:
        shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)
        settings.MEDIA_ROOT = media_root


# --- Standalone ---------------------------------------------------------------------------------


def _print(results: list[StatementBenchResult]) -> None:
    header = f"{'benchmark':<38} {'target':>11} {'baseline':>11} {'ratio':>7}  {'goal':<7}"
    print(header)
    print("-" * len(header))
    for result in results:
        if result.todo:
            print(f"{result.label:<38} {result.todo}")
            continue
        verdict = "met" if result.ratio <= result.goal else "MISSED"
        print(
            f"{result.label:<38} {result.target_ms:>9.1f}ms {result.baseline_ms:>9.1f}ms "
            f"{result.ratio:>6.2f}×  ≤ {result.goal:g}×  {verdict}"
        )
        print(f"{'':<38} {result.target} vs {result.baseline}" + (f"; {result.note}" if result.note else ""))


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.statements", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    parser.add_argument("--rows", type=int, default=ROWS, help=f"lines on the smaller statement (default {ROWS})")
    args = parser.parse_args(argv)

    from . import database

    bench = database.configure()
    import django

    django.setup()
    from django.conf import settings
    from django.urls import clear_url_caches

    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.SECURE_SSL_REDIRECT = False
    settings.ROOT_URLCONF = "benchmarks.urls"
    clear_url_caches()
    try:
        database.create(bench)
        runs, warmup = (5, 1) if args.quick else (15, 3)
        print(f"Statement PDFs, {bench.vendor}; medians of interleaved runs")
        _print(run(runs=runs, warmup=warmup, rows=args.rows))
    finally:
        database.destroy(bench)
    return 0


if __name__ == "__main__":
    sys.exit(main())
