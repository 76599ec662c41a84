"""``manage.py seed_demo``: build the demo world, once; ``--reset`` rebuilds it.

This is the only place a full card number or card ID is ever shown: the cards are issued
here, their numbers cannot be recovered afterwards, so they are printed right away.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from cards import demo


def format_card_number(pan: str) -> str:
    """Group digits as printed on the card: 4-6-5 for 15 digits, else fours."""
    if len(pan) == 15:
        return f"{pan[:4]} {pan[4:10]} {pan[10:]}"
    return " ".join(pan[i : i + 4] for i in range(0, len(pan), 4))


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    line = "  ".join(f"{{:<{width}}}" for width in widths)
    rule = "  ".join("-" * width for width in widths)
    return [line.format(*headers).rstrip(), rule, *(line.format(*row).rstrip() for row in rows)]


class Command(BaseCommand):
    help = (
        "Build the demo world: personal and business cardholders, cards, years of transactions and "
        "rewards, and demo logins. Safe to run twice; --reset deletes the demo world and rebuilds it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo world (and only it) and build it again, printing fresh card numbers.",
        )
        parser.add_argument("--years", type=int, default=3, help="Years of card activity to create (default 3).")

    def handle(self, *args, reset: bool = False, years: int = 3, **options):
        if years < 1:
            raise CommandError("--years must be 1 or more.")
        started = time.monotonic()
        if demo.world_exists() and not reset:
            self._already_there()
            return

        with transaction.atomic():
            if reset and demo.world_exists():
                deleted = demo.world_delete()
                summary = ", ".join(f"{count:,} {name}" for name, count in deleted.items())
                self.stdout.write(f"Deleted the old demo world: {summary}.")
            world = demo.world_build(years=years, progress=self._progress)
        # Printed only after the commit: a failed build shows no numbers of cards that
        # never came to exist.
        elapsed = time.monotonic() - started
        counts = world.counts
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo world built in {elapsed:.1f} s: {counts['cardholders']} cardholders, {counts['users']} logins, "
                f"{counts['accounts']} accounts, {counts['cards']} cards, {counts['transactions']:,} transactions "
                f"({counts['pending']:,} pending, {counts['declined']:,} declined, {counts['foreign']:,} in a foreign "
                f"currency, {counts['payments']:,} payments), {counts['reward entries']:,} reward entries."
            )
        )
        self._print_logins(world.logins)
        self._print_cards(world)

    def _progress(self, message: str) -> None:
        self.stdout.write(f"  {message}")
        self.stdout.flush()

    def _already_there(self) -> None:
        counts = demo.world_counts()
        self.stdout.write(
            self.style.WARNING(
                f"The demo world is already in this database ({counts['cardholders']} cardholders, "
                f"{counts['cards']} cards, {counts['transactions']:,} transactions). Nothing was changed."
            )
        )
        self._print_logins(demo.world_logins(), note="(as created; a password changed since then stays changed)")
        self.stdout.write("")
        self.stdout.write(
            "Card numbers are never stored, so the not-yet-enrolled cards' numbers and card IDs cannot be shown "
            "again. To get fresh printable numbers, rebuild the demo world:\n"
            "    python manage.py seed_demo --reset"
        )

    def _print_logins(self, logins: list[demo.DemoLogin], note: str = "") -> None:
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING(f"Demo logins {note}".rstrip()))
        rows = [[login.username, login.password, login.name, login.description] for login in logins]
        for line in table(["User ID", "Password", "Name", "What to try"], rows):
            self.stdout.write(line)
        self.stdout.write("demo.staff is a superuser for /admin/.")

    def _print_cards(self, world: demo.DemoWorld) -> None:
        self.stdout.write("")
        heading = "Cards not yet enrolled (shown this once: card numbers are not stored)"
        self.stdout.write(self.style.MIGRATE_HEADING(heading))
        rows = [
            [
                format_card_number(card.pan),
                card.expiry,
                card.card_id,
                card.status,
                card.holder,
                card.date_of_birth.isoformat(),
                card.postal_code,
                f"{card.product} ({card.role.lower()})",
            ]
            for card in world.cards
        ]
        headers = ["Card number", "Expiry", "Card ID", "Status", "Cardholder", "Date of birth", "ZIP", "Card"]
        for line in table(headers, rows):
            self.stdout.write(line)
        if world.unprinted_unenrolled:
            self.stdout.write(
                f"{world.unprinted_unenrolled} more employee cards are not enrolled either; their numbers are not "
                "shown (their administrators see them masked)."
            )
