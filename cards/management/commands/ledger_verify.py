from django.core.management.base import BaseCommand, CommandError

from cards import ledger
from cards.models import CardAccount


class Command(BaseCommand):
    help = (
        "Compare each account's cached balances (posted balance, pending) with the sums of its "
        "transaction rows and report every difference; with --fix, rebuild the caches that differ."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="Rebuild the caches that differ from the rows.")
        parser.add_argument(
            "--account", action="append", default=[], metavar="REFERENCE", help="Check only this account (repeatable)."
        )

    def handle(self, *args, fix: bool = False, account: list[str] | None = None, **options):
        account_ids = None
        if account:
            found = dict(CardAccount.objects.filter(reference__in=account).values_list("reference", "pk"))
            unknown = sorted(set(account) - set(found))
            if unknown:
                raise CommandError(f"No account with reference: {', '.join(unknown)}")
            account_ids = list(found.values())
        checked, mismatches = ledger.ledger_verify(account_ids=account_ids)
        for mismatch in mismatches:
            self.stdout.write(f"MISMATCH {mismatch}")
        if not mismatches:
            self.stdout.write(self.style.SUCCESS(f"Checked {checked:,} accounts: every cache matches its rows."))
            return
        if not fix:
            raise CommandError(
                f"{len(mismatches):,} of {checked:,} accounts have caches that differ from their rows. "
                "Run with --fix to rebuild them."
            )
        changed = ledger.ledger_rebuild(account_ids=[m.account_id for m in mismatches])
        _, remaining = ledger.ledger_verify(account_ids=[m.account_id for m in mismatches])
        if remaining:
            raise CommandError(f"{len(remaining):,} accounts still differ after the rebuild (traffic while fixing?).")
        self.stdout.write(self.style.SUCCESS(f"Rebuilt the caches of {changed:,} of {checked:,} accounts."))
