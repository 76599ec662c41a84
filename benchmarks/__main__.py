"""`make bench`: how much the heavy pages cost next to a trivial request, in one run.

    DEBUG=true .venv/bin/python -m benchmarks            # 1,000,000 transactions
    DEBUG=true .venv/bin/python -m benchmarks --quick    # 50,000, for a quick look

It builds its own data set in its own database (a fresh SQLite file under var/bench/,
or ``<name>_bench_<pid>`` on the PostgreSQL server that DATABASE_URL names; never the
development database), then serves each page through Django's test Client in this
process, the full middleware stack included, and compares it with a trivial request
served the same way. Each figure is the median of N timed requests after warm-up, the
target and its baseline interleaved so that drift affects both. Ratios, not
milliseconds, are the result: they cancel out the machine.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import database

FULL_TRANSACTIONS = 1_000_000
QUICK_TRANSACTIONS = 50_000


class BenchError(Exception):
    """A page did not answer as expected: the benchmark cannot measure it."""


@dataclass
class Result:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_TRANSACTIONS:,} transactions, fewer runs")
    parser.add_argument("--transactions", type=int, help="how many transactions to generate")
    parser.add_argument("--runs", type=int, help="timed requests per figure (median taken)")
    parser.add_argument("--queries", action="store_true", help="also list each target's slowest queries")
    args = parser.parse_args(argv)
    count = args.transactions or (QUICK_TRANSACTIONS if args.quick else FULL_TRANSACTIONS)
    runs = args.runs or (15 if args.quick else 40)
    warmup = 3 if args.quick else 8

    bench = database.configure()
    import warnings

    import django

    # WhiteNoise warns that collectstatic has not run; pages are measured without it.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    django.setup()
    _settings_for_measuring()
    try:
        print(f"Building the data set in a {bench.description}")
        database.create(bench)
        from . import dataset

        started = time.perf_counter()
        world = dataset.build(transactions=count, progress=print)
        built = time.perf_counter() - started
        print(
            f"Built in {built:.1f} s: {world.transactions:,} transactions and {world.reward_entries:,} rewards "
            f"entries on {len(world.cards)} cards ({world.transactions / built:,.0f} transactions a second)."
        )
        print()
        results = [
            _dashboard(world, runs=runs, warmup=warmup),
            _transactions_at_depth(world, runs=runs, warmup=warmup),
            *_authorization(world, runs=runs, warmup=warmup),
            _business_overview(world, runs=runs, warmup=warmup),
            *_statements(runs=runs, warmup=warmup),
        ]
        _report(results, bench=bench, runs=runs, warmup=warmup, count=count)
        if args.queries:
            _report_queries(results)
    finally:
        database.destroy(bench)
    return 0


def _settings_for_measuring() -> None:
    from django.conf import settings
    from django.urls import clear_url_caches

    # Measured as production serves pages: DEBUG off (no query log, no debug templates).
    # The settings module was read with DEBUG=true only for its development secrets.
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.SECURE_SSL_REDIRECT = False
    settings.ROOT_URLCONF = "benchmarks.urls"
    clear_url_caches()


# --- Measuring -----------------------------------------------------------------------------


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _compare(target: Callable[[], object], baseline: Callable[[], object], *, runs: int, warmup: int):
    """Median milliseconds of ``target`` and of ``baseline``, interleaved so that drift
    affects both. The garbage collector runs before each timed request, outside the
    timing: otherwise a heavy page's garbage is collected during the next request and
    the baseline pays for it."""
    for _ in range(warmup):
        target()
        baseline()
    target_times, baseline_times = [], []
    for run in range(runs):
        # Alternate which goes first, so neither always follows the other.
        pair = ((target, target_times), (baseline, baseline_times))
        for call, times in pair if run % 2 == 0 else reversed(pair):
            gc.collect()
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
    return _median_ms(target_times), _median_ms(baseline_times)


def _expect(response, status: int, what: str):
    if response.status_code != status:
        raise BenchError(f"{what} answered {response.status_code}, not {status}")
    return response


def _queries(call: Callable[[], object]) -> tuple[int, list[tuple[float, str]]]:
    """How many queries one call makes, and each one's time (slowest first)."""
    from django.db import connection

    timed: list[tuple[float, str]] = []

    def timer(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timed.append(((time.perf_counter() - started) * 1000, sql))

    with connection.execute_wrapper(timer):
        call()
    return len(timed), sorted(timed, reverse=True)


def _signed_in_client(world):
    from django.test import Client

    client = Client()
    client.force_login(world.user)
    return client


def _probe(client, url: str):
    """One request whose template context is kept (response.context), for finding what
    to measure. Timed requests run without this instrumentation."""
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment(debug=False)
    try:
        return client.get(url)
    finally:
        teardown_test_environment()


def _get(client, url: str, what: str, status: int = 200):
    return lambda: _expect(client.get(url), status, what)


# --- (a) dashboard --------------------------------------------------------------------------


def _dashboard(world, *, runs: int, warmup: int) -> Result:
    from django.urls import reverse

    result = Result("(a) dashboard, 50 cards", "dashboard", "trivial signed-in page", goal=1.5)
    client = _signed_in_client(world)
    trivial = _get(client, reverse("bench_trivial"), "the trivial page")
    home = _probe(client, reverse("portal:home"))
    url = reverse("portal:home")
    if home.status_code == 302:
        url = home["Location"]
        home = _probe(client, url)
    templates = {template.name for template in getattr(home, "templates", [])}
    if home.status_code != 200 or "cards/dashboard.html" not in templates:
        url = reverse("cards:list")
        result.note = "portal:home does not lead to the dashboard yet: measured cards:list instead"
    result.target = f"dashboard ({url})"
    page = _get(client, url, url)
    result.target_ms, result.baseline_ms = _compare(page, trivial, runs=runs, warmup=warmup)
    result.queries, result.slowest = _queries(page)
    scope = (home.context or {}).get("scope") if not result.note else None
    if scope is not None:
        shown = scope.transactions().count()
        cards = len(home.context["cards"])
        result.note = f"{cards} cards in the selector; the chosen card's view has {shown:,} transactions"
    return result


# --- (b) transactions at depth --------------------------------------------------------------


def _transactions_at_depth(world, *, runs: int, warmup: int) -> Result:
    from django.urls import NoReverseMatch, reverse

    result = Result("(b) transactions, deep page", "deep page", "first page", goal=1.2)
    try:
        url = reverse("cards:transactions")
        from cards.selectors import Cursor
    except (NoReverseMatch, ImportError):
        result.todo = "TODO: cards:transactions with keyset pagination (a Cursor) is not there yet; not measured."
        return result
    client = _signed_in_client(world)
    first = _probe(client, url)
    context = first.context or {}
    if first.status_code != 200 or "scope" not in context or "page" not in context:
        result.todo = f"TODO: {url} answered {first.status_code} without a page of transactions; not measured."
        return result
    from cards import selectors

    listed = context["scope"].transactions()
    if "filters" in context and hasattr(selectors, "transactions_filter"):
        listed = selectors.transactions_filter(transactions=listed, filters=context["filters"])
    total = listed.count()
    page_size = len(context["page"].rows) or 50
    depth = max(0, int(total * 0.9))
    row = listed.order_by("-transacted_at", "-id").values_list("transacted_at", "id")[depth]
    cursor = Cursor(at=row[0], id=row[1]).encode()
    deep_url = f"{url}?before={cursor}"
    deep = _probe(client, deep_url)
    if deep.status_code != 200 or not deep.context["page"].rows:
        result.todo = f"TODO: the page at depth ({deep_url}) came back empty or {deep.status_code}; not measured."
        return result
    result.target = f"page {depth // page_size + 2:,} ({depth:,} rows in)"
    result.baseline = "page 1"
    result.note = f"{total:,} transactions listed, {page_size} a page"
    result.target_ms, result.baseline_ms = _compare(
        _get(client, deep_url, "the deep page"), _get(client, url, "the first page"), runs=runs, warmup=warmup
    )
    result.queries, result.slowest = _queries(_get(client, deep_url, "the deep page"))
    return result


# --- (c) authorization decision -------------------------------------------------------------


def _authorization(world, *, runs: int, warmup: int) -> list[Result]:
    from django.test import Client
    from django.urls import reverse

    from cards.webhook import signed_headers

    client = Client()
    numbers = itertools.count(1)

    def event() -> bytes:
        n = next(numbers)
        return json.dumps(
            {
                "event_id": f"bench-auth-{n:07d}",
                "type": "authorization",
                "network_id": f"bench-auth-{n:07d}",
                "card_number": world.authorization_card.pan,
                "amount": "12.34",
                "currency": "USD",
                "merchant": {"name": "QuickFuel", "mcc": "5541", "city": "Columbus", "country": "US"},
                "card_present": True,
            }
        ).encode()

    def post(name: str, check: Callable[[dict], bool]) -> Callable[[], object]:
        url = reverse(name)

        def call():
            body = event()
            response = client.post(url, data=body, content_type="application/json", headers=signed_headers(body=body))
            _expect(response, 200, url)
            if not check(response.json()):
                raise BenchError(f"{url} answered {response.json()}")

        return call

    decision = post("cards:processor_webhook", lambda body: body.get("approved") is True)
    received = lambda body: "received" in body  # noqa: E731
    committing = Result("(c) authorization decision", "signed webhook POST", "POST committing 1 row", goal=2.0)
    committing.target_ms, committing.baseline_ms = _compare(
        decision, post("bench_trivial_post_commit", received), runs=runs, warmup=warmup
    )
    committing.queries, committing.slowest = _queries(decision)
    committing.note = "approved, on an employee card with a monthly limit (the decision sums its month)"
    bare = Result("(c') the same, vs no database", "signed webhook POST", "POST touching no database", goal=None)
    bare.target_ms, bare.baseline_ms = _compare(
        decision, post("bench_trivial_post", received), runs=runs, warmup=warmup
    )
    bare.note = "informational: the gap is mostly the commit, which waits for the disk"
    return [committing, bare]


# --- (d) business overview (no goal set) ----------------------------------------------------


def _business_overview(world, *, runs: int, warmup: int) -> Result:
    from django.urls import NoReverseMatch, reverse

    result = Result("(d) business overview, 40 cards", "program overview", "trivial signed-in page", goal=None)
    try:
        url = reverse("business:overview", args=[world.program.pk])
    except NoReverseMatch:
        result.todo = "TODO: business/ is not mounted in portal.urls; not measured."
        return result
    client = _signed_in_client(world)
    page = _get(client, url, url)
    result.target_ms, result.baseline_ms = _compare(
        page, _get(client, reverse("bench_trivial"), "the trivial page"), runs=runs, warmup=warmup
    )
    result.queries, result.slowest = _queries(page)
    result.note = "sums two months of the program's purchases on each view"
    return result


# --- (e)-(g) statement PDFs, from benchmarks.statements when it is there ---------------------


def _statements(*, runs: int, warmup: int) -> list:
    try:
        from . import statements
    except ImportError:
        return []
    try:
        return statements.run(runs=runs, warmup=warmup)
    except Exception as exc:  # one benchmark's failure must not hide the others' figures
        return [Result("(e)-(g) statement PDFs", "", "", goal=None, todo=f"TODO: failed to run: {exc!r}")]


# --- Report --------------------------------------------------------------------------------


def _report(results: list[Result], *, bench, runs: int, warmup: int, count: int) -> None:
    import os

    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load > cores:
        print(
            f"Note: this machine was busy (load average {load:.1f} on {cores} cores): other processes share the "
            "CPU and disk, so figures are noisier than usual. Run again when it is idle."
        )
    print(
        f"Median of {runs} timed requests after {warmup} warm-up requests each; {bench.vendor}; "
        f"{count:,} transactions; DEBUG off; Django test Client in one process."
    )
    print()
    header = f"{'benchmark':<34} {'target':>10} {'baseline':>10} {'ratio':>7}  {'goal':<7} {'':<6} queries"
    print(header)
    print("-" * len(header))
    for result in results:
        if result.todo:
            print(f"{result.label:<34} {result.todo}")
            continue
        goal = f"≤ {result.goal:g}×" if result.goal else "none"
        verdict = "" if result.goal is None else ("met" if result.ratio <= result.goal else "MISSED")
        print(
            f"{result.label:<34} {result.target_ms:>8.2f}ms {result.baseline_ms:>8.2f}ms "
            f"{result.ratio:>6.2f}×  {goal:<7} {verdict:<6} {result.queries if result.queries is not None else ''}"
        )
        print(f"{'':<34} {result.target} vs {result.baseline}" + (f"; {result.note}" if result.note else ""))
    print()
    print(
        "How to read: ratio = the page's median time ÷ its baseline's, both served the same way in the same run.\n"
        "1.0× means the page costs no more than an empty request; a ratio within its goal means the page's own\n"
        f"work (its queries over {count:,} rows) stays small next to the fixed cost of any request, so it will not\n"
        "grow with the data. Milliseconds depend on the machine; ratios should not. Re-run for noise (±5-10%)."
    )


def _report_queries(results: list[Result]) -> None:
    for result in results:
        if not getattr(result, "slowest", None):
            continue
        print()
        total = sum(ms for ms, _ in result.slowest)
        print(f"{result.label}: {result.queries} queries, {total:.1f} ms in all; slowest:")
        for ms, sql in result.slowest[:5]:
            print(f"  {ms:7.2f} ms  {' '.join(sql.split())[:300]}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        sys.exit(1)
