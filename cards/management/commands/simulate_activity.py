import logging
import random

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from cards import selectors, simulation


class Command(BaseCommand):
    help = (
        "Drive the processor webhook with realistic card traffic (authorizations, clearings, reversals, "
        "refunds) against the active and frozen cards in the database, so pending charges appear as you "
        "watch. Stops after --events events or --seconds seconds, whichever comes first."
    )

    def add_arguments(self, parser):
        parser.add_argument("--events", type=int, default=100, help="Stop after this many events (default 100).")
        parser.add_argument("--seconds", type=float, default=120.0, help="Stop after this long (default 120).")
        parser.add_argument(
            "--interval", type=float, default=0.5, help="Pause between events, in seconds (default 0.5)."
        )
        parser.add_argument(
            "--url",
            default="",
            help="POST to a running server's webhook (e.g. http://127.0.0.1:8000/cards/processor/webhook/) instead "
            "of calling the view in-process. The server must share PROCESSOR_WEBHOOK_SECRET.",
        )
        parser.add_argument("--user", default="", metavar="USER_ID", help="Only the cards this User ID can see.")
        parser.add_argument("--seed", type=int, default=None, help="Make the traffic reproducible.")

    def handle(self, *args, **options):
        if options["events"] < 1 or options["seconds"] <= 0 or options["interval"] < 0:
            raise CommandError("--events must be at least 1, --seconds more than 0, --interval not negative.")
        cards = None
        if options["user"]:
            user = User.objects.filter(username__iexact=options["user"]).first()
            if user is None:
                raise CommandError(f"No user with User ID {options['user']!r}.")
            cards = selectors.card_list_for_user(user=user)
        sim_cards = simulation.simulation_cards(cards=cards)
        if not sim_cards:
            raise CommandError("No active or frozen cards to simulate with. Run `manage.py seed_demo` first.")
        transport = simulation.http_transport(options["url"]) if options["url"] else simulation.in_process_transport
        simulator = simulation.Simulator(cards=sim_cards, transport=transport, rng=random.Random(options["seed"]))  # noqa: S311
        total = options["events"]
        target = options["url"] or "the webhook (in-process)"
        self.stdout.write(
            f"Simulating up to {total:,} events over at most {options['seconds']:g}s "
            f"on {len(sim_cards)} cards via {target}."
        )

        def progress(number: int, sent: simulation.Sent) -> None:
            counter = f"[{number:>{len(str(total))}}/{total}]"
            line = f"{counter} {sent.kind:<13} {sent.card.label}  {sent.description} → {sent.outcome}"
            style = (
                self.style.ERROR if sent.status >= 400 else (self.style.WARNING if "declined" in sent.outcome else str)
            )
            self.stdout.write(style(line))

        # One progress line per event says it all; the per-event log lines would double it.
        processing_log = logging.getLogger("cards.processing")
        level = processing_log.level
        if options["verbosity"] < 2:
            processing_log.setLevel(logging.WARNING)
        try:
            summary = simulator.run(
                events=total, seconds=options["seconds"], interval=options["interval"], progress=progress
            )
        finally:
            processing_log.setLevel(level)
        self.stdout.write(self.style.SUCCESS(f"Sent {summary.sent:,} events in {summary.seconds:.1f}s."))
        for outcome, count in sorted(summary.outcomes.items()):
            self.stdout.write(f"  {outcome}: {count:,}")
