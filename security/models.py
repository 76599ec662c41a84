from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin

from portal.models import AppendOnlyModel


class SecurityEvent(AppendOnlyModel):
    """The audit trail: every sign-in outcome, security change and staff action.

    Never holds a password, a one-time code or a card number; ``detail`` carries only
    what a person investigating needs (masked values, reasons)."""

    class Kind(models.TextChoices):
        SIGN_IN_SUCCEEDED = "sign_in_succeeded", "Signed in"
        SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
        SIGNED_OUT = "signed_out", "Signed out"
        LOCKED_OUT = "locked_out", "Locked out"
        UNLOCKED = "unlocked", "Unlocked"
        ENROLLED = "enrolled", "Enrolled"
        ENROLLMENT_FAILED = "enrollment_failed", "Enrollment failed"
        CARD_ACTIVATED = "card_activated", "Card activated"
        CARD_ID_ATTEMPTS_EXCEEDED = "card_id_attempts_exceeded", "Too many card ID attempts"
        CODE_SENT = "code_sent", "Code sent"
        CODE_FAILED = "code_failed", "Wrong code"
        CODE_VERIFIED = "code_verified", "Code verified"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        PASSWORD_RESET = "password_reset", "Password reset"
        USER_ID_CHANGED = "user_id_changed", "User ID changed"
        USER_ID_REMINDER = "user_id_reminder", "User ID reminder sent"
        CONTACT_CHANGED = "contact_changed", "Contact details changed"
        DEVICE_TRUSTED = "device_trusted", "Device remembered"
        DEVICE_REMOVED = "device_removed", "Device removed"
        TWO_FACTOR_CHANGED = "two_factor_changed", "Two-step verification changed"
        CARD_STATUS_CHANGED = "card_status_changed", "Card status changed"
        STAFF_ACTION = "staff_action", "Staff action"
        PAYMENT_ACCOUNT_ADDED = "payment_account_added", "Payment account added"
        PAYMENT_ACCOUNT_REMOVED = "payment_account_removed", "Payment account removed"
        AUTOPAY_CHANGED = "autopay_changed", "Autopay changed"

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"
        INFO = "info", "Info"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="security_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The staff member who acted, when not the user",
    )
    kind = models.CharField(max_length=40, choices=Kind.choices)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.INFO)
    username_attempted = models.CharField(max_length=150, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    risk_score = models.FloatField(null=True, blank=True)
    risk_reasons = models.JSONField(default=list, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="secevent_user_date_idx"),
            models.Index(fields=["ip_address", "-created_at"], name="secevent_ip_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.outcome}) at {self.created_at:%Y-%m-%d %H:%M}"


class TrustedDevice(models.Model):
    """A browser the user chose to remember. The cookie holds a random token; only its
    SHA-256 is stored, so a database leak does not let anyone impersonate the device."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trusted_devices")
    token_hash = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    first_used_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)
    last_network = models.CharField(max_length=50, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"], name="trusted_device_user_idx")]

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    """The outbox. A row is written in the same transaction as the change it reports,
    and a Celery task delivers it afterwards: at least once, never twice."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "Text message"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    to = models.CharField(max_length=254)
    kind = models.CharField(max_length=40, help_text="What the message is about, e.g. sign_in_code")
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    # Messages carrying a one-time code: the body is erased once delivered.
    sensitive = models.BooleanField(default=False)
    idempotency_key = models.CharField(max_length=100, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False), name="notification_sent_has_time"
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="notification_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.masked_to}: {self.kind}"

    @property
    def masked_to(self) -> str:
        from security.masking import mask_contact

        return mask_contact(self.to)


class OneTimeCode(models.Model):
    """A code sent by email or text for one purpose in one flow (an enrollment, a
    password reset, a sign-in attempt). Stored only as a keyed hash bound to the flow,
    valid for 10 minutes, used once, and void after 5 wrong tries."""

    class Purpose(models.TextChoices):
        ENROLLMENT = "enrollment", "Enrollment"
        PASSWORD_RESET = "password_reset", "Password reset"
        SIGN_IN = "sign_in", "Sign-in"
        CONTACT_CHANGE = "contact_change", "Contact change"
        USER_ID_CHANGE = "user_id_change", "User ID change"
        STEP_UP = "step_up", "Confirm it's you"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="one_time_codes"
    )
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    binding = models.CharField(max_length=64, help_text="Hash of the flow this code belongs to")
    channel = models.CharField(max_length=10, choices=Notification.Channel.choices)
    destination = models.CharField(max_length=254)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["binding", "purpose", "-created_at"], name="otc_binding_idx")]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} code ({self.get_channel_display()})"


class OutOfBandDevice(ThrottlingMixin, Device):
    """A django-otp device that sends a one-time code by email or text message.

    The code itself lives in ``OneTimeCode`` (hashed, bound to the sign-in attempt,
    single use, 10 minutes); this device only routes it. Enrollment creates one for the
    verified email and one for the verified mobile. Their names are "email" and "sms",
    never "default": django-two-factor-auth treats a "default" device as optional 2FA
    being on (its issue #652), which device recognition alone must not switch on."""

    channel = models.CharField(max_length=10, choices=Notification.Channel.choices)
    destination = models.CharField(max_length=254)

    class Meta(Device.Meta):
        verbose_name = "email or text code device"
        constraints = [
            models.UniqueConstraint(fields=["user", "channel", "name"], name="oob_device_unique_per_channel"),
        ]

    # The flow binding is set by the sign-in view before a challenge or a verification:
    # codes are bound to this attempt, not to the device.
    attempt_binding: str | None = None
    challenge_note = ""

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_OOB_THROTTLE_FACTOR", 1)

    @property
    def masked_destination(self) -> str:
        from security.masking import mask_contact

        return mask_contact(self.destination)

    def generate_is_allowed(self):
        if not self.attempt_binding:
            return False, {"reason": "no sign-in attempt"}
        return super().generate_is_allowed()

    def generate_challenge(self):
        from security import codes

        if not self.attempt_binding:
            raise ValueError("A code is sent only within a sign-in attempt")
        try:
            codes.code_issue(
                purpose=OneTimeCode.Purpose.SIGN_IN,
                binding=self.attempt_binding,
                channel=self.channel,
                destination=self.destination,
                user=self.user,
            )
        except codes.CodeCooldown as cooldown:
            # The earlier code is still on its way; say when another can be sent.
            self.challenge_note = str(cooldown)
            return None
        self.challenge_note = ""
        return f"We sent a code to {self.masked_destination}."

    def verify_token(self, token) -> bool:
        from security import codes

        allowed, _ = self.verify_is_allowed()
        if not allowed or not self.attempt_binding:
            return False
        result = codes.code_verify(purpose=OneTimeCode.Purpose.SIGN_IN, binding=self.attempt_binding, code=str(token))
        if result.ok:
            self.throttle_reset()
            return True
        self.throttle_increment()
        return False


class UserSession(models.Model):
    """A signed-in session, so a person can see where they are signed in and end a
    session from elsewhere. The key identifies the server-side session to delete."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="web_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    device_name = models.CharField(max_length=120, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "ended_at"], name="usersession_user_idx")]

    def __str__(self) -> str:
        return f"{self.device_name} since {self.created_at:%Y-%m-%d %H:%M}"


class BackupCodeDevice(ThrottlingMixin, Device):
    """Backup codes: the way in when no code can arrive. django-otp's StaticDevice keeps
    its tokens in plain text; here each code is kept only as a keyed hash
    (security.backup_codes), works once, and is shown to the person once, when made.
    Named "backup", never "default" (django-two-factor-auth's issue #652)."""

    created_at = models.DateTimeField(default=timezone.now)

    class Meta(Device.Meta):
        verbose_name = "backup code set"
        constraints = [models.UniqueConstraint(fields=["user"], name="backup_code_device_one_per_user")]

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_BACKUP_CODE_THROTTLE_FACTOR", 1)

    def verify_token(self, token) -> bool:
        from security import backup_codes

        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        if backup_codes.code_use(device=self, code=str(token)):
            self.throttle_reset()
            return True
        self.throttle_increment()
        return False


class BackupCode(models.Model):
    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "code_hash"], name="backup_code_unique_in_set")]

    def __str__(self) -> str:
        return f"Backup code ({'used' if self.used_at else 'unused'})"


class IdentityVerification(AppendOnlyModel):
    """A staff member checked who a cardholder is (on a call, in a branch, on video).
    The account recovery actions in the admin need one by the same staff member in the
    last 30 minutes. Records which facts were checked, never their values."""

    class Method(models.TextChoices):
        PHONE_CALL = "phone_call", "Phone call"
        BRANCH_VISIT = "branch_visit", "Branch visit"
        VIDEO_CALL = "video_call", "Video call"

    class Check(models.TextChoices):
        DATE_OF_BIRTH = "date_of_birth", "Date of birth"
        POSTAL_CODE = "postal_code", "ZIP code"
        CARD_LAST4 = "card_last4", "Last 4 digits of the card"
        RECENT_TRANSACTION = "recent_transaction", "A recent transaction"
        PHOTO_ID = "photo_id", "Government photo ID"
        CARD_ID = "card_id", "Card ID (with the card in hand)"

    # Kept if a login is ever removed (like the audit trail), naming nobody then.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="identity_verifications"
    )
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    method = models.CharField(max_length=20, choices=Method.choices)
    checks = models.JSONField(default=list, help_text="Which facts were checked (their names, not values)")
    note = models.TextField(blank=True, max_length=1000)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "staff", "-created_at"], name="idverif_user_staff_idx")]

    def __str__(self) -> str:
        return f"{self.get_method_display()} on {self.created_at:%Y-%m-%d %H:%M}"

    def checks_display(self) -> str:
        labels = dict(self.Check.choices)
        return ", ".join(str(labels.get(check, check)) for check in self.checks)


class RecoveryLink(models.Model):
    """A one-time password reset link that staff send to the contact on file after
    verifying the cardholder. Only the SHA-256 of its token is stored; it expires after
    30 minutes and works once. It lets the person choose a new password, never signs
    them in."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_links")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    verification = models.ForeignKey(IdentityVerification, null=True, on_delete=models.SET_NULL, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    channel = models.CharField(max_length=10, choices=Notification.Channel.choices)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="recoverylink_user_idx")]

    def __str__(self) -> str:
        return f"Recovery link by {self.get_channel_display()} ({self.created_at:%Y-%m-%d %H:%M})"
