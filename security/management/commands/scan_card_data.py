"""``manage.py scan_card_data``: look for full card numbers and card IDs in the database,
in files (the var folder by default: outbox, media with statement PDFs, logs) and in log
files. The rules are in :mod:`security.carddata_scan`. Exits non-zero on any finding."""

from __future__ import annotations

import os
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from security import carddata_scan


class Command(BaseCommand):
    help = (
        "Scan the database's text columns, the var folder (emails, text messages, statement PDFs) and log "
        "files for full card numbers and card IDs. Prints where, with the last 4 digits only; exits 1 on findings."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--path",
            action="append",
            default=None,
            help="A file or folder to scan (repeatable). Default: VAR_DIR (which holds the outbox and media).",
        )
        parser.add_argument("--log", action="append", default=[], help="A log file to scan (repeatable).")
        parser.add_argument("--no-files", action="store_true", help="Scan the database only.")
        parser.add_argument("--no-db", action="store_true", help="Do not scan the database.")
        parser.add_argument("--database", default="default", help="Database alias (default: default).")
        parser.add_argument("--table", action="append", default=None, help="Only this table (repeatable).")
        parser.add_argument(
            "--witness",
            default=os.environ.get(carddata_scan.WITNESS_ENV, ""),
            help="The witness file of issued card numbers and card IDs "
            f"(default: ${carddata_scan.WITNESS_ENV}). Without it only the Luhn rule applies.",
        )
        parser.add_argument(
            "--chunk-size", type=int, default=carddata_scan.DEFAULT_CHUNK_SIZE, help="Rows fetched at a time."
        )

    def handle(self, *args, **options):
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be 1 or more.")
        if options["witness"] and not os.path.exists(options["witness"]):
            raise CommandError(f"No witness file at {options['witness']}.")
        if options["database"] not in connections:
            raise CommandError(f"No database alias {options['database']!r}.")
        started = time.monotonic()
        witness = carddata_scan.Witness.load(options["witness"] or None)
        scanner = carddata_scan.Scanner(witness, exclude=[options["witness"]] if options["witness"] else [])
        if not options["no_db"]:
            scanner.scan_database(using=options["database"], tables=options["table"], chunk_size=options["chunk_size"])
        if not options["no_files"]:
            paths = options["path"] if options["path"] is not None else [settings.VAR_DIR]
            missing = [path for path in paths + options["log"] if not os.path.exists(path)]
            if missing:
                raise CommandError(f"Nothing to scan at: {', '.join(map(str, missing))}.")
            try:
                scanner.scan_paths(paths + options["log"])
            except RuntimeError as exc:  # pdftotext missing or unreadable PDF
                raise CommandError(str(exc)) from exc
        stats = scanner.stats
        self.stdout.write(
            f"Scanned {stats.tables} tables ({stats.rows:,} rows, {stats.cells:,} text cells), {stats.files} files "
            f"({stats.pdfs} PDFs; {stats.binaries_skipped} other binary files skipped) with "
            f"{len(witness.pans)} witnessed card numbers in {time.monotonic() - started:.1f}s."
        )
        if scanner.findings:
            for finding in scanner.findings:
                self.stderr.write(str(finding))
            raise CommandError(f"{len(scanner.findings)} finding(s) of card data (shown masked above).")
        self.stdout.write(self.style.SUCCESS("No card numbers or card IDs found."))
