from django.db import models
from django.db.models import Q
from django.utils import timezone

from cards.models import CardAccount, Transaction
from portal.money import currency_field, money_field


class Statement(models.Model):
    """The immutable snapshot of one billing cycle. Figures are written once when the
    cycle closes; only the rendered PDF is attached later."""

    account = models.ForeignKey(CardAccount, on_delete=models.PROTECT, related_name="statements")
    period_start = models.DateField()
    period_end = models.DateField()
    currency = currency_field()
    opening_balance = money_field()
    purchases = money_field(default=0)
    payments_and_credits = money_field(default=0)
    fees = money_field(default=0)
    interest = money_field(default=0)
    closing_balance = money_field()
    minimum_due = money_field(default=0)
    due_date = models.DateField()
    rewards_earned = money_field(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    pdf = models.FileField(upload_to="statements/%Y/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    pdf_rendered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_end"]
        constraints = [
            models.UniqueConstraint(fields=["account", "period_end"], name="statement_one_per_account_period"),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")), name="statement_period_order"
            ),
            models.CheckConstraint(condition=Q(due_date__gt=models.F("period_end")), name="statement_due_after_close"),
            models.CheckConstraint(condition=Q(minimum_due__gte=0), name="statement_minimum_due_gte_0"),
        ]

    def __str__(self) -> str:
        return f"Statement {self.period_end:%b %Y} for {self.account.reference}"


class StatementLine(models.Model):
    """A copy of one posted transaction as it appeared on the statement."""

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="lines")
    transaction = models.OneToOneField(Transaction, on_delete=models.PROTECT, related_name="statement_line")
    card_last4 = models.CharField(max_length=4, blank=True)
    posted_on = models.DateField()
    description = models.CharField(max_length=140)
    amount = money_field()

    class Meta:
        ordering = ["posted_on", "id"]

    def __str__(self) -> str:
        return f"{self.posted_on} {self.description} {self.amount}"
