"""Facts and verdicts for the load test and its fault scripts (load/run.sh, load/faults/).

    python load/check.py facts                      what the run left in the database and outbox
    python load/check.py cpu --save F | --since F --seconds N
                                                    CPU used per part of the stack (from /proc)
    python load/check.py snapshot                   outbox and broker state now (JSON)
    python load/check.py outage --log L --down T0 --up T1 [--recovery-limit S]
                                                    what clients saw around an outage (request log)
    python load/check.py busy [--pdfs N]            queue N statement PDFs; return once the worker holds some
    python load/check.py acks                       every acknowledged write is in the database once
    python load/check.py outbox [--settle S] [--since T]
                                                    every notification delivered, none twice
    python load/check.py work [--judge payments,pdfs] [--settle S]
                                                    "pay now" payments posted, PDFs asked for rendered

Verdict commands print ``PASS``/``FAIL`` lines with figures and exit 1 on any FAIL.
They read the stack's environment (load/lib.sh): DATABASE_URL, VAR_DIR, LOAD_ACK_LOG.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MESSAGE_ID = re.compile(rb"^Message-ID: <([^>@]+)@notifications\.portal>", re.MULTILINE | re.IGNORECASE)

failed = False


def verdict(ok: bool, text: str) -> None:
    global failed
    failed |= not ok
    print(f"{'PASS' if ok else 'FAIL'}  {text}")


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()


# --- CPU per part of the stack ---------------------------------------------------------------

PARTS = (
    ("gunicorn", "gunicorn"),
    ("celery worker", "celery -A portal worker"),
    ("celery beat", "celery -A portal beat"),
    ("locust", "locust"),
    ("postgres", "postgres"),
    ("redis", "redis-server"),
)


def _cpu_now() -> dict[str, float]:
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = collections.Counter()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        part = next((name for name, needle in PARTS if needle in cmdline), "everything else")
        used[part] += (int(fields[11]) + int(fields[12])) / ticks
    return dict(used)


def cpu(options) -> int:
    now = _cpu_now()
    if options.save:
        Path(options.save).write_text(json.dumps(now))
        return 0
    before = json.loads(Path(options.since).read_text())
    if options.locust and Path(options.locust).exists():
        # locust has exited by now: its own figure, written as it quit.
        now["locust"] = before.get("locust", 0.0) + json.loads(Path(options.locust).read_text())["locust"]
    seconds = max(options.seconds, 1)
    lines = [
        "CPU used during the run (core-seconds from /proc; processes that ended during the run are missing):",
        "",
        "| part | core-seconds | cores busy on average |",
        "|---|---:|---:|",
    ]
    total = 0.0
    for part in [name for name, _ in PARTS] + ["everything else"]:
        spent = max(0.0, now.get(part, 0.0) - before.get(part, 0.0))
        total += spent
        lines.append(f"| {part} | {spent:,.0f} | {spent / seconds:.2f} |")
    lines.append(f"| **all** | {total:,.0f} | {total / seconds:.2f} of {os.cpu_count()} |")
    print("\n".join(lines))
    return 0


# --- Facts ---------------------------------------------------------------------------------


def _outbox_counts() -> collections.Counter:
    from django.conf import settings

    counts: collections.Counter = collections.Counter()
    folder = Path(settings.EMAIL_FILE_PATH)
    if folder.exists():
        for path in folder.iterdir():
            for key in MESSAGE_ID.findall(path.read_bytes()):
                counts[key.decode()] += 1
    return counts


def _status_counts(queryset, field="status") -> dict[str, int]:
    from django.db.models import Count

    return {row[field]: row["n"] for row in queryset.values(field).annotate(n=Count("pk")).order_by(field)}


def facts(options) -> int:
    _django()
    from cards.models import Payment, ProcessorEvent, Transaction
    from security.models import Notification
    from statements.models import Statement

    events = _status_counts(ProcessorEvent.objects.all(), "type")
    live = Transaction.objects.filter(network_id__regex=r"^load[0-9a-f]")
    notifications = _status_counts(Notification.objects.all())
    payments = _status_counts(Payment.objects.all())
    requested = Statement.objects.filter(pdf_requested_at__isnull=False)
    outbox = _outbox_counts()
    print(
        f"In the database after the run: processor events {events or 0}; live transactions "
        f"{_status_counts(live)}; payments {payments or 0}; notifications {notifications or 0}; "
        f"statement PDFs asked for {requested.count()}, rendered {requested.exclude(pdf='').count()}; "
        f"emails in the outbox {sum(outbox.values())} ({sum(1 for n in outbox.values() if n > 1)} sent twice)."
    )
    return 0


def snapshot(options) -> int:
    _django()
    import redis
    from django.conf import settings

    from security.models import Notification

    state = {"t": time.time(), "notifications": _status_counts(Notification.objects.all())}
    try:
        broker = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2)
        state["broker_queue"] = broker.llen(settings.CELERY_TASK_DEFAULT_QUEUE)
        state["broker_unacked"] = broker.hlen("unacked")
    except redis.RedisError as exc:
        state["broker"] = f"unreachable ({exc.__class__.__name__})"
    print(json.dumps(state))
    return 0


def busy(options) -> int:
    """Give the worker long tasks (statement PDFs) and return once it holds some unacked,
    so that a kill that follows lands mid-task."""
    _django()
    import redis
    from django.conf import settings
    from django.db import transaction

    from statements import services
    from statements.models import Statement

    with transaction.atomic():
        waiting = Statement.objects.filter(pdf="", pdf_requested_at__isnull=True).order_by("pk")
        statements = list(waiting[: options.pdfs])
        for statement in statements:
            services.statement_pdf_request(statement=statement)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2)
    started = time.monotonic()
    while broker.hlen("unacked") == 0 and time.monotonic() - started < 30:
        time.sleep(0.05)
    print(
        json.dumps(
            {"pdfs_asked": len(statements), "unacked": broker.hlen("unacked"), "waited_s": time.monotonic() - started}
        )
    )
    return 0


# --- What clients saw around an outage --------------------------------------------------------


def outage(options) -> int:
    records = [json.loads(line) for line in Path(options.log).read_text().splitlines() if line.strip()]
    down, up = options.down, options.up
    # Requests that ended during the outage, or started in it (a request ends after it starts).
    during = [r for r in records if down <= r["t"] <= up + 2]
    after = [r for r in records if r["t"] > up]
    ok = lambda r: 200 <= r["status"] < 400  # noqa: E731
    first_ok = next((r["t"] for r in sorted(after, key=lambda r: r["t"]) if ok(r)), None)
    recovered = first_ok - up if first_ok is not None else None
    # Once recovered, everything should be fine again (a small grace for requests in flight).
    settled = [r for r in after if first_ok is not None and r["t"] > first_ok + 2]
    statuses = collections.Counter(r["status"] for r in during)
    errors_during = [r for r in during if not ok(r)]
    five_hundreds = [r for r in records if r["status"] >= 500 and r["status"] != 503]
    resets = [r for r in records if r["status"] == 0]
    pages_503 = [r for r in errors_during if r["status"] == 503 and r["type"] == "text/html"]
    unfriendly = [r for r in pages_503 if not r["friendly"]]
    print(
        f"Outage {up - down:.1f}s (service down at {_clock(down)}, back at {_clock(up)}); "
        f"{len(records):,} requests in the run, {len(during):,} during the outage: statuses {dict(statuses)}"
    )
    before = [r for r in records if r["t"] < down]
    print(
        "Median / p95 response (ms) before the outage: "
        + " · during: ".join(_percentiles(part) for part in (before, during))
        + f" · after: {_percentiles(after)}"
    )
    if errors_during:
        by_name = collections.Counter(f"{r['name']} → {r['status'] or r['error']}" for r in errors_during)
        for name, count in by_name.most_common(8):
            print(f"      {count:>5} × {name}")
    if options.expect_no_errors:
        verdict(
            not errors_during,
            f"every request during the outage succeeded ({len(during) - len(errors_during):,} of {len(during):,})",
        )
    others = collections.Counter(r["status"] for r in errors_during if r["status"] not in (0, 503))
    verdict(
        not others,
        f"every failed request during the outage is a 503 ({sum(others.values())} others: {dict(others) or 'none'})",
    )
    verdict(not five_hundreds, f"no 5xx other than 503 in the whole run ({len(five_hundreds)})")
    verdict(not resets, f"no connection errors or timeouts without a response ({len(resets)})")
    verdict(
        not unfriendly,
        f"every 503 page during the outage is the portal's friendly page ({len(pages_503) - len(unfriendly)} of "
        f"{len(pages_503)})",
    )
    verdict(
        recovered is not None and recovered <= options.recovery_limit,
        f"first successful response {recovered:.1f}s after the service was back (limit {options.recovery_limit:g}s)"
        if recovered is not None
        else "no successful response after the service came back",
    )
    bad_after = [r for r in settled if not ok(r)]
    verdict(not bad_after, f"no failed request after recovery ({len(bad_after)} of {len(settled):,})")
    return 0


def _percentiles(records: list[dict]) -> str:
    times = sorted(r["ms"] for r in records)
    if not times:
        return "–"
    return f"{times[len(times) // 2]:,.0f} / {times[min(len(times) - 1, int(len(times) * 0.95))]:,.0f}"


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S")


# --- Acknowledged writes -------------------------------------------------------------------------


def acks(options) -> int:
    _django()
    from django.core.management import call_command

    from cards.models import Payment, ProcessorEvent, Transaction

    path = Path(os.environ.get("LOAD_ACK_LOG", ROOT / "var" / "load" / "acks.jsonl"))
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    events = [r for r in records if r["kind"] == "event"]
    keys = [r["key"] for r in records if r["kind"] == "payment"]
    stored_events = set(
        ProcessorEvent.objects.filter(event_id__in=[r["event_id"] for r in events]).values_list("event_id", flat=True)
    )
    missing_events = [r for r in events if r["event_id"] not in stored_events]
    auth_ids = [r["network_id"] for r in events if r["type"] == "authorization"]
    txn_counts = collections.Counter(
        Transaction.objects.filter(network_id__in=auth_ids).values_list("network_id", flat=True)
    )
    missing_txns = [n for n in auth_ids if txn_counts[n] == 0]
    doubled_txns = [n for n, count in txn_counts.items() if count > 1]
    payment_counts = collections.Counter(
        Payment.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True)
    )
    missing_payments = [k for k in keys if payment_counts[k] == 0]
    verdict(
        not missing_events,
        f"every processor event answered 200 is stored: {len(events) - len(missing_events):,} of {len(events):,}",
    )
    verdict(
        not missing_txns and not doubled_txns,
        f"every acknowledged authorization is one transaction: {len(auth_ids) - len(missing_txns):,} of "
        f"{len(auth_ids):,} found, {len(doubled_txns)} twice",
    )
    verdict(
        not missing_payments and len(keys) == len(set(keys)),
        f"every confirmed payment is stored once: {len(keys) - len(missing_payments):,} of {len(keys):,}",
    )
    from io import StringIO

    out = StringIO()
    try:
        call_command("ledger_verify", stdout=out, stderr=out)
        verdict(True, f"ledger_verify: balance caches match the rows ({out.getvalue().strip().splitlines()[-1]})")
    except SystemExit as exc:
        verdict(exc.code in (0, None), f"ledger_verify: {out.getvalue().strip()[-300:]}")
    except Exception as exc:  # noqa: BLE001 - reported as a failure with its message
        verdict(False, f"ledger_verify: {exc}")
    return 0


# --- The outbox ------------------------------------------------------------------------------------


def outbox(options) -> int:
    _django()
    from django.db.models import Max, Min

    from security.models import Notification

    waiting = Notification.objects.filter(status__in=[Notification.Status.PENDING, Notification.Status.SENDING])
    started = time.monotonic()
    while waiting.exists() and time.monotonic() - started < options.settle:
        time.sleep(2)
    drained = time.monotonic() - started
    statuses = _status_counts(Notification.objects.all())
    left = _status_counts(waiting)
    counts = _outbox_counts()
    emails = Notification.objects.filter(channel=Notification.Channel.EMAIL)
    keys = set(emails.values_list("idempotency_key", flat=True))
    sent_keys = set(
        Notification.objects.filter(channel=Notification.Channel.EMAIL, status=Notification.Status.SENT).values_list(
            "idempotency_key", flat=True
        )
    )
    twice = {key: n for key, n in counts.items() if n > 1}
    never_out = [key for key in sent_keys if key not in counts]
    strangers = [key for key in counts if key not in keys]
    print(f"Notifications by status after {drained:.0f}s: {statuses}")
    if options.since:
        window = Notification.objects.filter(created_at__gte=datetime.fromtimestamp(options.since, UTC))
        span = window.aggregate(first=Min("created_at"), last=Max("sent_at"))
        print(f"  created since {_clock(options.since)}: {window.count():,}; last sent at {span['last']}")
    verdict(
        not left.get(Notification.Status.PENDING),
        f"nothing left waiting in the outbox after {drained:.0f}s (limit {options.settle:g}s): {left or 'none'}",
    )
    stuck = left.get(Notification.Status.SENDING, 0)
    if stuck:
        print(
            f"NOTE  {stuck} claimed by a worker that died mid-send: the sweep hands them out again once the claim "
            "is 10 minutes old (security.services.STALE_CLAIM); rerun `load/check.py outbox --settle 700` to see it."
        )
    verdict(not statuses.get(Notification.Status.FAILED), f"none given up on ({statuses.get('failed', 0)} failed)")
    verdict(not twice, f"no message delivered twice: {len(counts):,} distinct emails, {len(twice)} more than once")
    verdict(not never_out, f"every notification marked sent is in the outbox ({len(never_out)} missing)")
    verdict(not strangers, f"every email in the outbox is a notification ({len(strangers)} unknown)")
    return 0


def work(options) -> int:
    """Background work the run asked for: "pay now" payments posted, statement PDFs asked
    for rendered."""
    _django()
    from django.utils import timezone

    from cards.models import Payment
    from statements.models import Statement

    due = Payment.objects.filter(status=Payment.Status.SCHEDULED, scheduled_for__lte=timezone.localdate())
    unrendered = Statement.objects.filter(pdf_requested_at__isnull=False, pdf="")
    started = time.monotonic()
    while (due.exists() or unrendered.exists()) and time.monotonic() - started < options.settle:
        time.sleep(2)
    payments = _status_counts(Payment.objects.all())
    asked = Statement.objects.filter(pdf_requested_at__isnull=False).count()
    left_payments, left_pdfs = due.count(), unrendered.count()
    judged = set(filter(None, options.judge.split(",")))
    if "payments" in judged:
        verdict(not left_payments, f'every "pay now" payment is posted: {payments}, {left_payments} still waiting')
    else:
        print(f'NOTE  "pay now" payments {payments}: {left_payments} wait for the hourly payments_post_due')
    if "pdfs" in judged:
        verdict(not left_pdfs, f"every statement PDF asked for is rendered: {asked - left_pdfs} of {asked}")
    else:
        print(
            f"NOTE  statement PDFs asked for {asked}, {left_pdfs} not rendered yet: their task was lost or failed "
            "in the outage, and the waiting page asks again after statements.services.RENDER_RETRY_AFTER (2 min)"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Facts and verdicts for the load and fault tests.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("facts")
    commands.add_parser("snapshot")
    commands.add_parser("acks")
    p = commands.add_parser("busy")
    p.add_argument("--pdfs", type=int, default=8)
    p = commands.add_parser("cpu")
    p.add_argument("--save")
    p.add_argument("--since")
    p.add_argument("--seconds", type=float, default=1)
    p.add_argument("--locust", default="", help="locust's CPU seconds, as its quitting hook wrote them")
    p = commands.add_parser("outage")
    p.add_argument("--log", required=True)
    p.add_argument("--down", type=float, required=True)
    p.add_argument("--up", type=float, required=True)
    p.add_argument("--recovery-limit", type=float, default=10.0)
    p.add_argument("--expect-no-errors", action="store_true", help="the outage must not show at all")
    p = commands.add_parser("work")
    p.add_argument(
        "--judge",
        default="",
        help="comma-separated: payments, pdfs — judge these (PASS/FAIL) instead of only reporting them",
    )
    p.add_argument("--settle", type=float, default=0.0, help="wait up to this long for the work to be done")
    p = commands.add_parser("outbox")
    p.add_argument("--settle", type=float, default=120.0)
    p.add_argument("--since", type=float, default=0.0)
    options = parser.parse_args(argv)
    handler = {
        "work": work,
        "busy": busy,
        "facts": facts,
        "snapshot": snapshot,
        "acks": acks,
        "cpu": cpu,
        "outage": outage,
        "outbox": outbox,
    }
    handler[options.command](options)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
