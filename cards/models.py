import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Cardholder
from portal.models import AppendOnlyModel
from portal.money import currency_field, money_field


class Category(models.TextChoices):
    DINING = "dining", "Dining"
    GROCERIES = "groceries", "Groceries"
    TRAVEL = "travel", "Travel"
    TRANSPORT = "transport", "Transport"
    FUEL = "fuel", "Fuel"
    SHOPPING = "shopping", "Shopping"
    ENTERTAINMENT = "entertainment", "Entertainment"
    UTILITIES = "utilities", "Utilities & telecom"
    SERVICES = "services", "Business services"
    HEALTH = "health", "Health"
    OTHER = "other", "Other"


class CardProduct(models.Model):
    class Kind(models.TextChoices):
        CHARGE = "charge", "Charge card"
        CREDIT = "credit", "Credit card"

    class Segment(models.TextChoices):
        PERSONAL = "personal", "Personal"
        BUSINESS = "business", "Business"

    class RewardsKind(models.TextChoices):
        POINTS = "points", "Points"
        CASHBACK = "cashback", "Cash back"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    segment = models.CharField(max_length=10, choices=Segment.choices)
    rewards_kind = models.CharField(max_length=10, choices=RewardsKind.choices)
    # Points per dollar, or cash back as a fraction (0.0150 = 1.5%), for categories
    # without their own rate.
    base_earn_rate = models.DecimalField(max_digits=6, decimal_places=4)
    # Redemption as a statement credit, in steps: e.g. 1,000 points = $10.00.
    redemption_step = models.PositiveIntegerField(default=1000)
    redemption_step_value = money_field(default=10)
    annual_rate = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True, help_text="APR in percent")
    annual_fee = money_field(default=0)
    currency = currency_field()
    card_colour = models.CharField(max_length=7, default="#1f3b73")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="charge", annual_rate__isnull=True)
                | Q(kind="credit", annual_rate__isnull=False, annual_rate__gte=0),
                name="product_apr_only_for_credit",
            ),
            models.CheckConstraint(condition=Q(base_earn_rate__gte=0), name="product_earn_rate_gte_0"),
            models.CheckConstraint(condition=Q(redemption_step__gt=0), name="product_redemption_step_gt_0"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_credit(self) -> bool:
        return self.kind == self.Kind.CREDIT


class EarnRate(models.Model):
    product = models.ForeignKey(CardProduct, on_delete=models.CASCADE, related_name="earn_rates")
    category = models.CharField(max_length=20, choices=Category.choices)
    rate = models.DecimalField(max_digits=6, decimal_places=4)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "category"], name="earn_rate_unique_category"),
            models.CheckConstraint(condition=Q(rate__gte=0), name="earn_rate_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.product.code} {self.category} {self.rate}"


class BusinessProgram(models.Model):
    """A company whose employees carry cards on its accounts."""

    name = models.CharField(max_length=120)
    administrators = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="administered_programs", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class CardAccount(models.Model):
    """The billing account. Balances are derived from its transactions."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        SUSPENDED = "suspended", "Suspended"
        CLOSED = "closed", "Closed"

    reference = models.CharField(max_length=20, unique=True, help_text="Account reference, not a card number")
    product = models.ForeignKey(CardProduct, on_delete=models.PROTECT, related_name="accounts")
    primary_cardholder = models.ForeignKey(Cardholder, on_delete=models.PROTECT, related_name="accounts")
    business_program = models.ForeignKey(
        BusinessProgram, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    credit_limit = money_field(null=True, blank=True, help_text="Credit products only")
    currency = currency_field()
    statement_day = models.PositiveSmallIntegerField(help_text="Day of month the cycle closes (1-28)")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_on = models.DateField(default=timezone.localdate)
    # Ledger caches, so a decision never sums millions of rows: the sum of posted and of
    # pending transaction amounts. cards.ledger changes them in the same database
    # transaction as the rows (F() under the account's row lock); `manage.py
    # ledger_verify [--fix]` compares them with the rows and rebuilds them.
    posted_balance = money_field(default=0)
    pending_total = money_field(default=0)
    # The sum of the rewards ledger (points or cash back), kept with every entry under the
    # account lock so pages need not sum years of entries; ledger_verify checks it.
    rewards_balance = money_field(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(statement_day__gte=1, statement_day__lte=28), name="account_statement_day_1_28"
            ),
            # Holds are purchases: releasing one twice would drive this below zero.
            models.CheckConstraint(condition=Q(pending_total__gte=0), name="account_pending_total_gte_0"),
            models.CheckConstraint(
                condition=Q(credit_limit__isnull=True) | Q(credit_limit__gt=0), name="account_credit_limit_gt_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.name} account {self.reference}"


def processor_token_new() -> str:
    """An opaque reference for a card, given to the card processor at issuance (as
    issuer-processor platforms and network tokenization do). It is not derived from the
    card number and reveals nothing about it; events may name a card by it instead of
    the number. Never all digits, so it can never be mistaken for a card number."""
    return "ctk_" + secrets.token_urlsafe(24)


class Card(models.Model):
    """One plastic or virtual card. The card number itself is never stored: a keyed hash
    finds it, and the first 6 / last 4 digits are kept for display."""

    class Role(models.TextChoices):
        BASIC = "basic", "Basic card member"
        SUPPLEMENTARY = "supplementary", "Supplementary card member"
        EMPLOYEE = "employee", "Employee card"

    class Status(models.TextChoices):
        INACTIVE = "inactive", "Not activated"
        ACTIVE = "active", "Active"
        FROZEN = "frozen", "Frozen"
        LOST_STOLEN = "lost_stolen", "Reported lost or stolen"
        CLOSED = "closed", "Closed"

    account = models.ForeignKey(CardAccount, on_delete=models.PROTECT, related_name="cards")
    holder = models.ForeignKey(Cardholder, on_delete=models.PROTECT, related_name="cards")
    role = models.CharField(max_length=15, choices=Role.choices)
    pan_hash = models.CharField(max_length=64, unique=True, editable=False)
    pan_key_version = models.PositiveSmallIntegerField(default=1, editable=False)
    # The CARD_VERIFICATION_KEY version the printed card ID was derived under: it is
    # checked under that key for the card's whole life (docs/key-rotation.md).
    card_id_key_version = models.PositiveSmallIntegerField(default=1, editable=False)
    first6 = models.CharField(max_length=6)
    last4 = models.CharField(max_length=4)
    expiry_month = models.PositiveSmallIntegerField()
    expiry_year = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.INACTIVE)
    monthly_limit = money_field(null=True, blank=True, help_text="Employee cards only")
    issued_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    replaces = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by")
    # Set after too many wrong card IDs or identity facts: enrollment and activation
    # for this card stop until then.
    verification_locked_until = models.DateTimeField(null=True, blank=True)
    # Merchant categories (Category values) this card may not buy in: an employee
    # control set by the program administrator.
    blocked_categories = models.JSONField(default=list, blank=True)
    # Who froze the card: a holder may lift their own freeze, not one their
    # administrator (or the basic card member) put on.
    frozen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    processor_token = models.CharField(max_length=40, unique=True, default=processor_token_new, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(expiry_month__gte=1, expiry_month__lte=12), name="card_expiry_month"),
            models.CheckConstraint(condition=Q(expiry_year__gte=2000), name="card_expiry_year"),
            models.CheckConstraint(
                condition=Q(monthly_limit__isnull=True) | Q(role="employee", monthly_limit__gt=0),
                name="card_monthly_limit_employee_only",
            ),
            models.CheckConstraint(condition=Q(last4__regex=r"^[0-9]{4}$"), name="card_last4_digits"),
            models.CheckConstraint(condition=Q(first6__regex=r"^[0-9]{6}$"), name="card_first6_digits"),
        ]
        indexes = [models.Index(fields=["holder", "status"], name="card_holder_status_idx")]

    def __str__(self) -> str:
        return f"{self.account.product.name} •••• {self.last4}"

    @property
    def masked_number(self) -> str:
        return f"•••• {self.last4}"

    @property
    def expiry_display(self) -> str:
        return f"{self.expiry_month:02d}/{self.expiry_year % 100:02d}"


class DeclineReason(models.TextChoices):
    """Why an authorization was declined: the code goes to the processor, the label to
    the cardholder."""

    UNKNOWN_CARD = "unknown_card", "We don't recognize this card"
    CARD_INACTIVE = "card_inactive", "This card hasn't been activated yet"
    CARD_FROZEN = "card_frozen", "This card is frozen"
    CARD_LOST_STOLEN = "card_lost_stolen", "This card was reported lost or stolen"
    CARD_CLOSED = "card_closed", "This card is closed"
    CARD_EXPIRED = "card_expired", "This card has expired"
    ACCOUNT_NOT_OPEN = "account_not_open", "This account can't be used for purchases right now"
    OVER_CREDIT_LIMIT = "over_credit_limit", "The purchase is more than the available credit"
    OVER_MONTHLY_LIMIT = "over_monthly_limit", "The purchase is over this card's monthly spending limit"
    BLOCKED_CATEGORY = "blocked_category", "Purchases in this category are blocked on this card"
    SUSPECTED_FRAUD = "suspected_fraud", "Declined to protect you from possible fraud"


class Transaction(models.Model):
    """A card transaction or an account movement (payment, credit, fee, interest).

    ``amount`` is signed in the account currency: positive increases what the cardholder
    owes (a purchase), negative reduces it (a payment, refund or credit). A posted
    amount is never edited; corrections are new rows.
    """

    class Kind(models.TextChoices):
        PURCHASE = "purchase", "Purchase"
        REFUND = "refund", "Refund"
        PAYMENT = "payment", "Payment"
        PAYMENT_RETURN = "payment_return", "Returned payment"
        CREDIT = "credit", "Credit"
        # A credit taken back (a declined dispute's temporary credit): a debit row, so
        # the credit itself stays as it was posted.
        CREDIT_REVERSAL = "credit_reversal", "Credit reversed"
        FEE = "fee", "Fee"
        INTEREST = "interest", "Interest"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        POSTED = "posted", "Posted"
        DECLINED = "declined", "Declined"
        REVERSED = "reversed", "Reversed"

    account = models.ForeignKey(CardAccount, on_delete=models.PROTECT, related_name="transactions")
    card = models.ForeignKey(Card, null=True, blank=True, on_delete=models.PROTECT, related_name="transactions")
    kind = models.CharField(max_length=15, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    amount = money_field()
    currency = currency_field()
    original_amount = money_field(null=True, blank=True)
    original_currency = models.CharField(max_length=3, blank=True)
    merchant_name = models.CharField(max_length=100, blank=True)
    merchant_city = models.CharField(max_length=60, blank=True)
    merchant_country = models.CharField(max_length=2, blank=True)
    mcc = models.CharField(max_length=4, blank=True)
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.OTHER)
    card_present = models.BooleanField(default=False)
    network_id = models.CharField(max_length=64, unique=True, help_text="Unique id from the network, or ours")
    decline_reason = models.CharField(max_length=40, blank=True, choices=DeclineReason.choices)
    transacted_at = models.DateTimeField()
    posted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind__in=["purchase", "fee", "interest", "payment_return", "credit_reversal"])
                | Q(amount__gt=0),
                name="txn_debits_positive",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["refund", "payment", "credit"]) | Q(amount__lt=0),
                name="txn_credits_negative",
            ),
            models.CheckConstraint(
                condition=Q(status="posted", posted_at__isnull=False) | ~Q(status="posted"),
                name="txn_posted_has_date",
            ),
            models.CheckConstraint(
                condition=Q(original_amount__isnull=True, original_currency="")
                | Q(original_amount__isnull=False, original_currency__regex=r"^[A-Z]{3}$"),
                name="txn_original_amount_with_currency",
            ),
        ]
        indexes = [
            # The account's history, newest first: the dashboard and keyset pagination.
            models.Index(F("account"), F("transacted_at").desc(), F("id").desc(), name="txn_account_date_idx"),
            models.Index(F("card"), F("transacted_at").desc(), name="txn_card_date_idx"),
            models.Index(fields=["status", "transacted_at"], name="txn_status_date_idx"),
            # Lists across all accounts (staff, reports) newest first.
            models.Index(F("transacted_at").desc(), F("id").desc(), name="txn_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_name or self.get_kind_display()} {self.amount} {self.currency}"


class TransactionEvent(AppendOnlyModel):
    """The status history of one transaction (authorized, posted, reversed, declined),
    written by cards.ledger on every change; the transaction detail page shows it."""

    transaction = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=10, choices=Transaction.Status.choices)
    amount = money_field(help_text="The transaction amount after this change")
    detail = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["transaction", "at"], name="txn_event_txn_idx")]

    def __str__(self) -> str:
        return f"{self.get_status_display()} at {self.at:%Y-%m-%d %H:%M}"


class ProcessorEvent(AppendOnlyModel):
    """One processed webhook event and the answer given, so a repeated event changes
    nothing and gets the first answer again. The request body is not kept (it carries
    the card number); only its SHA-256, to notice a reused event id."""

    class Type(models.TextChoices):
        AUTHORIZATION = "authorization", "Authorization"
        CLEARING = "clearing", "Clearing"
        REVERSAL = "reversal", "Reversal"
        REFUND = "refund", "Refund"

    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=20, choices=Type.choices)
    network_id = models.CharField(max_length=64, blank=True)
    card = models.ForeignKey(Card, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="processor_events"
    )
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    body_sha256 = models.CharField(max_length=64)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["network_id"], name="processor_event_network_idx")]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.event_id}"


def card_request_key_new() -> str:
    """A request's idempotency key when none came with it (staff, scripts, and the rows
    from before keys): random, so it never matches a form's key."""
    return "req_" + secrets.token_urlsafe(24)


class CardRequest(models.Model):
    """A new employee card asked for by a program administrator, queued for staff to
    issue (identity checks and card production happen on the staff side)."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        ISSUED = "issued", "Issued"
        DECLINED = "declined", "Declined"
        CANCELLED = "cancelled", "Cancelled"

    account = models.ForeignKey(CardAccount, on_delete=models.CASCADE, related_name="card_requests")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="card_requests"
    )
    legal_name = models.CharField(max_length=120)
    name_on_card = models.CharField(max_length=26)
    date_of_birth = models.DateField()
    postal_code = models.CharField(max_length=10)
    email = models.EmailField()
    phone = models.CharField(max_length=20, blank=True)
    monthly_limit = money_field(null=True, blank=True)
    blocked_categories = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    card = models.OneToOneField(Card, null=True, blank=True, on_delete=models.SET_NULL, related_name="request")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Minted when the request form is drawn: a double submit or a replayed POST finds
    # the request it already queued (services.employee_card_request).
    idempotency_key = models.CharField(max_length=64, unique=True, default=card_request_key_new, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(monthly_limit__isnull=True) | Q(monthly_limit__gt=0), name="card_request_limit_gt_0"
            ),
            models.CheckConstraint(
                condition=Q(status="requested", resolved_at__isnull=True)
                | (~Q(status="requested") & Q(resolved_at__isnull=False)),
                name="card_request_resolved_iff_not_requested",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="card_request_queue_idx")]

    def __str__(self) -> str:
        return f"Card request for {self.legal_name} ({self.get_status_display()})"


class RewardEntry(AppendOnlyModel):
    """Append-only rewards ledger: earnings are positive, redemptions negative."""

    class Kind(models.TextChoices):
        EARN = "earn", "Earned"
        REDEEM = "redeem", "Redeemed"
        ADJUST = "adjust", "Adjustment"

    class Unit(models.TextChoices):
        POINTS = "points", "Points"
        CASH = "cash", "Cash back"

    account = models.ForeignKey(CardAccount, on_delete=models.PROTECT, related_name="reward_entries")
    transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="reward_entries"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    unit = models.CharField(max_length=10, choices=Unit.choices)
    quantity = money_field(help_text="Points, or cash back in the account currency")
    description = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "reward entries"
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="earn", quantity__gte=0) | Q(kind="redeem", quantity__lt=0) | Q(kind="adjust"),
                name="reward_sign_matches_kind",
            ),
            # A transaction earns once; re-running posting cannot double the rewards.
            models.UniqueConstraint(
                fields=["transaction"], condition=Q(kind="earn"), name="reward_one_earn_per_transaction"
            ),
        ]
        indexes = [models.Index(fields=["account", "created_at"], name="reward_account_date_idx")]


class PaymentMethod(models.Model):
    """A bank account a cardholder pays from. Only the last 4 digits are kept for display;
    the full account number goes to the payment processor, not to our database."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="payment_methods")
    nickname = models.CharField(max_length=40)
    routing_number = models.CharField(max_length=9)
    account_last4 = models.CharField(max_length=4)
    account_hash = models.CharField(max_length=64)
    # The CARD_PAN_HASH_KEY version account_hash was made under.
    account_key_version = models.PositiveSmallIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(routing_number__regex=r"^[0-9]{9}$"), name="pm_routing_9_digits"),
            models.UniqueConstraint(
                fields=["owner", "account_hash", "routing_number"],
                condition=Q(removed_at__isnull=True),
                name="pm_unique_active_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.nickname} •••• {self.account_last4}"


class Payment(models.Model):
    class Kind(models.TextChoices):
        ONE_TIME = "one_time", "One-time"
        AUTOPAY = "autopay", "Autopay"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        POSTED = "posted", "Received"
        RETURNED = "returned", "Returned"
        CANCELLED = "cancelled", "Cancelled"

    account = models.ForeignKey(CardAccount, on_delete=models.PROTECT, related_name="payments")
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="payments")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ONE_TIME)
    amount = money_field()
    currency = currency_field()
    scheduled_for = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    idempotency_key = models.CharField(max_length=64, unique=True)
    transaction = models.OneToOneField(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="payment"
    )
    created_at = models.DateTimeField(default=timezone.now)
    posted_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A payment the bank sent back (insufficient funds, closed account): the credit is
    # reversed by its own ledger row, so the payment's transaction stays as posted.
    return_transaction = models.OneToOneField(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="returned_payment"
    )
    return_reason = models.CharField(max_length=30, blank=True)
    return_note = models.CharField(max_length=200, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_gt_0"),
            models.CheckConstraint(
                condition=~Q(status="posted") | Q(transaction__isnull=False), name="payment_posted_has_txn"
            ),
            models.CheckConstraint(
                condition=~Q(status="returned") | Q(transaction__isnull=False, return_transaction__isnull=False),
                name="payment_returned_has_txns",
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | Q(cancelled_at__isnull=False), name="payment_cancelled_has_time"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "scheduled_for"], name="payment_due_idx"),
            models.Index(fields=["account", "-scheduled_for"], name="payment_account_idx"),
        ]

    def __str__(self) -> str:
        return f"Payment of {self.amount} {self.currency} on {self.scheduled_for}"


class Autopay(models.Model):
    class AmountKind(models.TextChoices):
        MINIMUM = "minimum", "Minimum payment due"
        STATEMENT_BALANCE = "statement_balance", "Statement balance"
        FIXED = "fixed", "A fixed amount"

    account = models.OneToOneField(CardAccount, on_delete=models.CASCADE, related_name="autopay")
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="autopays")
    amount_kind = models.CharField(max_length=20, choices=AmountKind.choices)
    fixed_amount = money_field(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "autopay settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_kind="fixed", fixed_amount__gt=0)
                | (~Q(amount_kind="fixed") & Q(fixed_amount__isnull=True)),
                name="autopay_fixed_amount_iff_fixed",
            ),
        ]

    def __str__(self) -> str:
        return f"Autopay ({self.get_amount_kind_display()}) for {self.account_id}"


class Dispute(models.Model):
    class Reason(models.TextChoices):
        NOT_RECOGNIZED = "not_recognized", "I don't recognize this charge"
        DUPLICATE = "duplicate", "I was charged twice"
        WRONG_AMOUNT = "wrong_amount", "The amount is wrong"
        NOT_RECEIVED = "not_received", "I didn't receive what I paid for"
        RETURNED = "returned", "I returned it"
        CANCELLED_SUBSCRIPTION = "cancelled_subscription", "I cancelled this subscription"
        OTHER = "other", "Something else"

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        UNDER_REVIEW = "under_review", "Under review"
        INFO_NEEDED = "info_needed", "More information needed"
        RESOLVED = "resolved", "Resolved in your favour"
        DECLINED = "declined", "Declined"

    OPEN_STATUSES = ("submitted", "under_review", "info_needed")

    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="disputes")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="disputes")
    reason = models.CharField(max_length=30, choices=Reason.choices)
    description = models.TextField(max_length=2000)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.SUBMITTED)
    temporary_credit = models.OneToOneField(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="dispute_credit"
    )
    # The part of the charge in dispute (the whole charge unless the cardholder said less).
    amount = money_field(null=True, blank=True)
    # Resolved with no temporary credit granted: the credit posted at resolution.
    resolution_credit = models.OneToOneField(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="dispute_resolution"
    )
    # Declined after a temporary credit: the debit that took it back.
    credit_reversal = models.OneToOneField(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="dispute_reversal"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["transaction"],
                condition=Q(status__in=["submitted", "under_review", "info_needed"]),
                name="dispute_one_open_per_transaction",
            ),
            models.CheckConstraint(condition=Q(amount__isnull=True) | Q(amount__gt=0), name="dispute_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(status__in=["resolved", "declined"], resolved_at__isnull=False)
                | (~Q(status__in=["resolved", "declined"]) & Q(resolved_at__isnull=True)),
                name="dispute_resolved_at_iff_closed",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="dispute_queue_idx")]

    def __str__(self) -> str:
        return f"Dispute {self.pk} ({self.get_status_display()})"


class CardCheckFailure(AppendOnlyModel):
    """One failed attempt to prove possession of a card (wrong card ID, expiry, name or
    identity fact), or a number we do not know. Counted per card and per network: the
    card ID has only 10,000 values."""

    class Purpose(models.TextChoices):
        ENROLLMENT = "enrollment", "Enrollment"
        ACTIVATION = "activation", "Activation"
        USER_ID_REMINDER = "user_id_reminder", "User ID reminder"

    card = models.ForeignKey(Card, null=True, blank=True, on_delete=models.CASCADE, related_name="check_failures")
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["card", "created_at"], name="cardcheck_card_idx"),
            models.Index(fields=["ip_address", "created_at"], name="cardcheck_ip_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} check failed at {self.created_at:%Y-%m-%d %H:%M}"


# --- Disputes: their timeline and evidence; alert preferences ----------------------------


class DisputeEvent(AppendOnlyModel):
    """One step in a dispute's timeline (submitted, under review, more information
    needed, a temporary credit, resolved, declined, information added). The cardholder
    sees every step and its note."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        UNDER_REVIEW = "under_review", "Under review"
        INFO_REQUESTED = "info_requested", "More information needed"
        INFO_ADDED = "info_added", "Information added"
        TEMPORARY_CREDIT = "temporary_credit", "Temporary credit"
        RESOLVED = "resolved", "Resolved in your favour"
        DECLINED = "declined", "Declined"
        CREDIT_REVERSED = "credit_reversed", "Temporary credit reversed"

    dispute = models.ForeignKey("Dispute", on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=15, choices=Dispute.Status.choices, help_text="The status after this step")
    note = models.TextField(max_length=2000, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_staff = models.BooleanField(default=False)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["dispute", "at"], name="dispute_event_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"


def dispute_attachment_path(instance: "DisputeAttachment", filename: str) -> str:
    # A random name: nothing the uploader typed reaches the file system.
    extension = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}.get(instance.content_type, "")
    return f"disputes/{instance.dispute_id}/{secrets.token_hex(16)}{extension}"


class DisputeAttachment(models.Model):
    """Evidence for a dispute (a receipt, a screenshot): PDF, PNG or JPEG up to 5 MB,
    type checked by its first bytes. Stored in private media (there is no MEDIA_URL):
    only the dispute's cardholders and staff download it, through views that check."""

    dispute = models.ForeignKey("Dispute", on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=dispute_attachment_path, max_length=200)
    original_name = models.CharField(max_length=120)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(content_type__in=["application/pdf", "image/png", "image/jpeg"]),
                name="dispute_attachment_type",
            ),
            models.CheckConstraint(condition=Q(size__gt=0, size__lte=5 * 1024 * 1024), name="dispute_attachment_size"),
        ]

    def __str__(self) -> str:
        return self.original_name


class AlertPreference(models.Model):
    """How one user wants to hear about one kind of event: by email, by text, or both.
    No row means the default (cards.alert_rules.DEFAULTS). Security alerts are not
    here: they are always sent."""

    class Kind(models.TextChoices):
        PURCHASE = "purchase", "Every purchase"
        PURCHASE_OVER = "purchase_over", "Purchases over an amount"
        INTERNATIONAL = "international", "Purchases outside the US"
        CARD_NOT_PRESENT = "card_not_present", "Online, phone and mail-order purchases"
        DECLINED = "declined", "Declined purchases"
        PAYMENT_DUE = "payment_due", "Payment due reminder"
        PAYMENT_RECEIVED = "payment_received", "Payment received"
        PAYMENT_RETURNED = "payment_returned", "Payment returned"
        AUTOPAY_UPCOMING = "autopay_upcoming", "Autopay about to run"
        STATEMENT_READY = "statement_ready", "Statement ready"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_preferences")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    email = models.BooleanField(default=False)
    sms = models.BooleanField(default=False)
    threshold = money_field(null=True, blank=True, help_text="Purchases over this amount (that alert only)")
    days_before = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Payment due reminder only")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="alert_pref_one_per_kind"),
            models.CheckConstraint(
                condition=Q(threshold__isnull=True) | Q(kind="purchase_over", threshold__gt=0),
                name="alert_pref_threshold_only_over_amount",
            ),
            models.CheckConstraint(
                condition=Q(days_before__isnull=True) | Q(kind="payment_due", days_before__gte=1, days_before__lte=14),
                name="alert_pref_days_only_payment_due",
            ),
        ]
        indexes = [models.Index(fields=["kind", "user"], name="alert_pref_kind_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.user_id}"
