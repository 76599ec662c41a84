"""Turn locust's ``<prefix>_stats.csv`` into the per-endpoint table of the load report.

    .venv/bin/python load/report.py var/load/load_stats.csv --title "..." [--out var/load/report.md]

Prints the Markdown table (requests, failures, p50/p95/p99, req/s per endpoint, then the
total) and writes it, with the run's settings, to ``--out``. Failures are listed with
their messages from ``<prefix>_failures.csv``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path


def _int(value: str) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def _ms(value: str) -> str:
    number = _int(value)
    return f"{number:,}" if value not in ("", "N/A") else "–"


def table(stats_csv: Path) -> tuple[str, dict]:
    rows = list(csv.DictReader(stats_csv.open()))
    lines = [
        "| endpoint | requests | failures | p50 ms | p95 ms | p99 ms | max ms | req/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    total = {}
    for row in rows:
        # Our request names start with the method already ("GET /cards/").
        name = row["Name"]
        if name == "Aggregated":
            total, name = row, "**all endpoints**"
        lines.append(
            f"| {name} | {_int(row['Request Count']):,} | {_int(row['Failure Count']):,} | {_ms(row['50%'])} "
            f"| {_ms(row['95%'])} | {_ms(row['99%'])} | {_ms(row['Max Response Time'])} "
            f"| {float(row['Requests/s'] or 0):.1f} |"
        )
    return "\n".join(lines), total


def failures(failures_csv: Path) -> str:
    if not failures_csv.exists():
        return ""
    rows = list(csv.DictReader(failures_csv.open()))
    if not rows:
        return ""
    lines = ["", "Failures:", ""]
    for row in sorted(rows, key=lambda r: -_int(r["Occurrences"]))[:15]:
        lines.append(f"- {row['Name']}: {row['Error'][:160]} × {_int(row['Occurrences']):,}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("stats_csv")
    parser.add_argument("--title", default="Load test")
    parser.add_argument("--notes", default="", help="Lines printed under the title (settings of the run).")
    parser.add_argument("--out", default="")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any request failed (the goal is none)")
    options = parser.parse_args(argv)
    stats = Path(options.stats_csv)
    body, total = table(stats)
    text = f"## {options.title}\n\n{options.notes}\n\n{body}\n"
    text += failures(stats.with_name(stats.name.replace("_stats.csv", "_failures.csv")))
    if total:
        requests, failed = _int(total["Request Count"]), _int(total["Failure Count"])
        text += (
            f"\n\nTotal: {requests:,} requests, {failed:,} failed ({100 * failed / max(requests, 1):.2f} %), "
            f"{float(total['Requests/s'] or 0):.1f} req/s.\n"
        )
    print(text)
    if options.out:
        Path(options.out).write_text(text)
    return 1 if options.strict and total and _int(total["Failure Count"]) else 0


if __name__ == "__main__":
    raise SystemExit(main())
