from django.db import models
from django.db.models import Q
from django.utils import timezone

from cards.models import Card, CardAccount, RewardEntry, Transaction
from portal.money import currency_field, money_field


class Statement(models.Model):
    """The immutable snapshot of one billing cycle. Figures are written once when the
    cycle closes (``statements.services.statement_close``); only the rendered PDF is
    attached later.

    The cycle covers the posted transactions that no earlier statement holds and that
    posted before the end of ``period_end`` (the statement day, in the portal's time
    zone), so ``opening_balance + purchases + payments_and_credits + fees + interest ==
    closing_balance`` always, and the next statement opens with this one's closing
    balance.
    """

    account = models.ForeignKey(CardAccount, on_delete=models.PROTECT, related_name="statements")
    period_start = models.DateField()
    period_end = models.DateField(help_text="The closing date: the cycle ends at the end of this day")
    currency = currency_field()
    # Copied from the account and product at the close: a later product change or
    # credit limit change does not rewrite an old statement.
    product_name = models.CharField(max_length=80, blank=True)
    pay_in_full = models.BooleanField(default=False, help_text="A charge card: the balance is due in full")
    credit_limit = money_field(null=True, blank=True)
    annual_rate = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True, help_text="APR in percent")
    opening_balance = money_field()
    purchases = money_field(default=0)
    payments_and_credits = money_field(
        default=0, help_text="Signed: payments, refunds and credits are negative (returned payments add back)"
    )
    fees = money_field(default=0)
    interest = money_field(default=0)
    closing_balance = money_field()
    # How interest was worked out (credit products): the average daily balance over the
    # cycle, or none charged because the previous balance was paid in full by its due date.
    average_daily_balance = money_field(null=True, blank=True)
    grace_period = models.BooleanField(default=False, help_text="No interest: the previous balance was paid in full")
    past_due = money_field(default=0, help_text="Unpaid part of the previous minimum, included in the minimum due")
    minimum_due = money_field(default=0)
    due_date = models.DateField()
    rewards_unit = models.CharField(max_length=10, choices=RewardEntry.Unit.choices, default=RewardEntry.Unit.POINTS)
    rewards_earned = money_field(default=0, help_text="Earned in the cycle, less what refunds took back")
    rewards_redeemed = money_field(default=0, help_text="Negative: redeemed in the cycle")
    rewards_balance = money_field(default=0, help_text="The rewards balance at the close")
    created_at = models.DateTimeField(default=timezone.now)
    # The PDF, rendered once and kept in private storage (no MEDIA_URL): statements.views
    # serves it after checking who asks, and checks its SHA-256 before serving.
    pdf = models.FileField(upload_to="statements/%Y/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    pdf_rendered_at = models.DateTimeField(null=True, blank=True)
    pdf_requested_at = models.DateTimeField(null=True, blank=True, help_text="When a background render was asked for")

    class Meta:
        ordering = ["-period_end"]
        constraints = [
            models.UniqueConstraint(fields=["account", "period_end"], name="statement_one_per_account_period"),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")), name="statement_period_order"
            ),
            models.CheckConstraint(condition=Q(due_date__gt=models.F("period_end")), name="statement_due_after_close"),
            models.CheckConstraint(condition=Q(minimum_due__gte=0), name="statement_minimum_due_gte_0"),
            models.CheckConstraint(condition=Q(past_due__gte=0), name="statement_past_due_gte_0"),
            models.CheckConstraint(
                condition=Q(purchases__gte=0, fees__gte=0, interest__gte=0), name="statement_debit_totals_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(pdf="", pdf_sha256="") | (~Q(pdf="") & Q(pdf_sha256__regex=r"^[0-9a-f]{64}$")),
                name="statement_pdf_has_checksum",
            ),
        ]

    def __str__(self) -> str:
        return f"Statement {self.period_end:%b %Y} for {self.account.reference}"

    @property
    def is_credit(self) -> bool:
        return not self.pay_in_full

    @property
    def rewards_in_points(self) -> bool:
        return self.rewards_unit == RewardEntry.Unit.POINTS

    @property
    def rewards_opening(self):
        return self.rewards_balance - self.rewards_earned - self.rewards_redeemed


class StatementLine(models.Model):
    """A copy of one posted transaction as it appeared on the statement. The card
    holder's name and the card's last 4 digits are copied too: the statement shows
    what was true at the close."""

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="lines")
    transaction = models.OneToOneField(Transaction, on_delete=models.PROTECT, related_name="statement_line")
    card = models.ForeignKey(Card, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    card_last4 = models.CharField(max_length=4, blank=True)
    card_holder = models.CharField(max_length=120, blank=True)
    kind = models.CharField(max_length=15, choices=Transaction.Kind.choices, default=Transaction.Kind.PURCHASE)
    transacted_on = models.DateField(null=True, blank=True)
    posted_on = models.DateField()
    description = models.CharField(max_length=140)
    location = models.CharField(max_length=80, blank=True)
    amount = money_field()
    original_amount = money_field(null=True, blank=True)
    original_currency = models.CharField(max_length=3, blank=True)

    class Meta:
        ordering = ["posted_on", "id"]
        indexes = [models.Index(fields=["statement", "posted_on"], name="statement_line_order_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(card_last4="") | Q(card_last4__regex=r"^[0-9]{4}$"),
                name="statement_line_card_last4",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.posted_on} {self.description} {self.amount}"
