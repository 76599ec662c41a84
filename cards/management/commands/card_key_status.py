"""Which key versions the card data is under, and which old keys can be retired.

    python manage.py card_key_status

For each kind of key (the PAN hash key, the card verification key) it lists every
version that is configured or still referenced by rows, how many rows are under it, and
for each old version whether it can be removed from ``*_OLD_KEYS`` now. It never prints
a key. It exits with status 1 when rows are under a version that is not configured
(cards that can no longer be found or verified): put that key back. See
docs/key-rotation.md.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, F, Max, Q
from django.utils import timezone

from cards import cardnumbers
from cards.models import Card, PaymentMethod

# Cards that will never be presented again: closed, or lost/stolen (and so replaced).
_FINISHED = (Card.Status.CLOSED, Card.Status.LOST_STOLEN)


def _live_q() -> Q:
    """Cards still in use: not closed or replaced, and not past the end of the expiry month."""
    today = timezone.localdate()
    unexpired = Q(expiry_year__gt=today.year) | Q(expiry_year=today.year, expiry_month__gte=today.month)
    return unexpired & ~Q(status__in=_FINISHED)


@dataclass
class VersionRow:
    version: int
    role: str  # "current", "old" or "not configured"
    cards: int = 0
    live_cards: int = 0
    last_live_expiry: int | None = None  # year * 100 + month
    bank_accounts: int = 0


def _role(ring: cardnumbers.Keyring, version: int) -> str:
    if version == ring.current_version:
        return "current"
    return "old" if ring.accepts(version) else "not configured"


def _rows(ring: cardnumbers.Keyring, counts: dict[int, dict]) -> list[VersionRow]:
    versions = sorted(set(ring.versions) | set(counts), reverse=True)
    return [VersionRow(version=v, role=_role(ring, v), **counts.get(v, {})) for v in versions]


def _expiry(value: int | None) -> str:
    return f"{value % 100:02d}/{value // 100}" if value else ""


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def pan_hash_rows() -> list[VersionRow]:
    counts: dict[int, dict] = defaultdict(dict)
    for row in Card.objects.values("pan_key_version").annotate(total=Count("pk"), live=Count("pk", filter=_live_q())):
        counts[row["pan_key_version"]].update(cards=row["total"], live_cards=row["live"])
    active = PaymentMethod.objects.filter(removed_at__isnull=True)
    for row in active.values("account_key_version").annotate(total=Count("pk")):
        counts[row["account_key_version"]]["bank_accounts"] = row["total"]
    return _rows(cardnumbers.pan_hash_keyring(), counts)


def verification_rows() -> list[VersionRow]:
    counts: dict[int, dict] = defaultdict(dict)
    live = _live_q()
    for row in Card.objects.values("card_id_key_version").annotate(
        total=Count("pk"),
        live=Count("pk", filter=live),
        last=Max(F("expiry_year") * 100 + F("expiry_month"), filter=live),
    ):
        counts[row["card_id_key_version"]].update(
            cards=row["total"], live_cards=row["live"], last_live_expiry=row["last"]
        )
    return _rows(cardnumbers.verification_keyring(), counts)


def pan_hash_verdict(row: VersionRow, current: int) -> str:
    if row.live_cards:
        return (
            f"not yet: {_plural(row.live_cards, 'card')} in use still hashed under it. Each moves to "
            f"version {current} when its number is next presented (enrollment, activation, forgot User ID, "
            "a processor event naming the card by number)."
        )
    notes = []
    if row.cards:
        notes.append(
            f"{_plural(row.cards, 'expired, closed or replaced card')} under it will no longer be found by "
            "number (processor events naming them by card token still are)"
        )
    if row.bank_accounts:
        notes.append(
            f"{_plural(row.bank_accounts, 'saved bank account')} under it will not be recognised as "
            "already on the list if added again"
        )
    if notes:
        return "yes, accepting that " + "; and ".join(notes) + "."
    return "yes: nothing is hashed under it."


def verification_verdict(row: VersionRow) -> str:
    if row.live_cards:
        return (
            f"not yet: the card IDs of {_plural(row.live_cards, 'card')} in use were derived under it; the last "
            f"expires at the end of {_expiry(row.last_live_expiry)}. Retire it after that, or once those "
            "cards are reissued."
        )
    return "yes: every card issued under it has expired, been closed or been replaced."


class Command(BaseCommand):
    help = (
        "Show which key versions card numbers, bank accounts and card IDs are under, and whether each "
        "old key can be retired. Never prints a key. Exits 1 when rows are under a key version that is "
        "not configured."
    )

    def handle(self, *args, **options):
        missing = 0
        pan_ring = cardnumbers.pan_hash_keyring()
        self._heading("Card number hash key (CARD_PAN_HASH_KEY)", pan_ring)
        for row in pan_hash_rows():
            counts = f"cards: {row.cards:,} ({row.live_cards:,} in use), saved bank accounts: {row.bank_accounts:,}"
            self.stdout.write(f"  version {row.version} ({row.role}): {counts}")
            if row.role == "old":
                self.stdout.write(f"    can retire: {pan_hash_verdict(row, pan_ring.current_version)}")
            elif row.role == "not configured":
                missing += row.cards + row.bank_accounts
                self.stdout.write(
                    self.style.ERROR(
                        "    NOT CONFIGURED: these cards cannot be found by number and these bank accounts "
                        f"cannot be matched. Put version {row.version} back in CARD_PAN_HASH_OLD_KEYS."
                    )
                )

        verification_ring = cardnumbers.verification_keyring()
        self._heading("Card verification key (CARD_VERIFICATION_KEY)", verification_ring)
        for row in verification_rows():
            latest = f", the last expires {_expiry(row.last_live_expiry)}" if row.live_cards else ""
            self.stdout.write(
                f"  version {row.version} ({row.role}): cards: {row.cards:,} ({row.live_cards:,} in use{latest})"
            )
            if row.role == "old":
                self.stdout.write(f"    can retire: {verification_verdict(row)}")
            elif row.role == "not configured":
                missing += row.cards
                self.stdout.write(
                    self.style.ERROR(
                        "    NOT CONFIGURED: card IDs of these cards cannot be checked, so they cannot be "
                        f"enrolled or activated. Put version {row.version} back in CARD_VERIFICATION_OLD_KEYS."
                    )
                )

        self.stdout.write("")
        webhook_old = len(settings.PROCESSOR_WEBHOOK_OLD_SECRETS)
        self.stdout.write(
            f"Processor webhook secret: {_plural(webhook_old, 'previous secret')} still accepted "
            "(PROCESSOR_WEBHOOK_OLD_SECRETS)."
            + (" Remove them once the processor signs with the current one." if webhook_old else "")
        )
        fallbacks = len(settings.SECRET_KEY_FALLBACKS)
        self.stdout.write(
            f"Django secret key: {_plural(fallbacks, 'fallback')} (SECRET_KEY_FALLBACKS)."
            + (" Remove them once sessions and codes made under them have expired." if fallbacks else "")
        )
        if missing:
            raise CommandError(
                f"{_plural(missing, 'row')} under a key version that is not configured: restore that key."
            )

    def _heading(self, title: str, ring: cardnumbers.Keyring) -> None:
        old = ", ".join(str(v) for v in ring.old_versions) or "none"
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING(title))
        self.stdout.write(f"  current version {ring.current_version}; old versions still accepted: {old}")
