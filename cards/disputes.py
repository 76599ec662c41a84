"""Writes for disputes: a cardholder opens one and adds information; staff review it,
ask for more, grant a temporary credit, resolve or decline it.

Each step is a ``DisputeEvent`` on the timeline and an email to the person who opened
the dispute. Credits are real ledger rows (``cards.ledger``): a temporary credit is a
``credit`` transaction; resolving in the cardholder's favour keeps it (or posts one if
none was granted) and takes back the rewards the credited share of the charge earned
(``cards.rewards``, as a refund would); declining takes it back with a
``credit_reversal``, and the rewards were never touched. Every step runs
under the account's row lock, then the dispute's, and is refused if the dispute is no
longer in a state that allows it, so a double click changes nothing twice.

Attachments: PDF, PNG or JPEG, at most 5 MB each and 5 per dispute, the type read from
the file's first bytes (never from its name or the browser's word), stored under a
random name in private storage (no MEDIA_URL), served only through views that check
who is asking.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest
from django.utils import timezone

from accounts.models import User
from portal.money import format_money, quantize
from security.models import Notification, SecurityEvent
from security.services import notify, security_event_record

from . import ledger, rewards
from .dispute_selectors import dispute_refusal
from .models import Card, Dispute, DisputeAttachment, DisputeEvent, Transaction
from .selectors import card_visible_to

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024  # settings.FILE_UPLOAD_MAX_BYTES stops receiving past it
MAX_ATTACHMENTS = 5
MAX_DESCRIPTION = 2000
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
Status = Dispute.Status
Event = DisputeEvent.Kind


class DisputeError(Exception):
    """A rule was broken; the message is fit to show a person."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


# --- Attachments -------------------------------------------------------------------------


def attachment_type(upload: UploadedFile) -> str:
    """The file's real type from its first bytes, or DisputeError."""
    name = attachment_name(upload.name or "")
    if upload.size is None or upload.size == 0:
        raise DisputeError(f"{name} is empty. Choose the file again.", field="attachments")
    if upload.size > MAX_ATTACHMENT_BYTES:
        raise DisputeError(f"{name} is larger than 5 MB. Choose a smaller file.", field="attachments")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for signature, content_type in SIGNATURES:
        if head.startswith(signature):
            return content_type
    raise DisputeError(f"{name} must be a PDF, PNG or JPEG file.", field="attachments")


def attachment_name(raw: str) -> str:
    """The name to show: the last path part, printable characters only, 120 at most."""
    base = os.path.basename(raw.replace("\\", "/"))
    cleaned = "".join(c for c in unicodedata.normalize("NFC", base) if c.isprintable() and c not in '"<>')
    return cleaned.strip()[:120] or "attachment"


def attachments_check(uploads: Iterable[UploadedFile], *, already: int = 0) -> list[tuple[UploadedFile, str]]:
    checked = [(upload, attachment_type(upload)) for upload in uploads]
    if already + len(checked) > MAX_ATTACHMENTS:
        raise DisputeError(f"You can attach up to {MAX_ATTACHMENTS} files to a dispute.", field="attachments")
    return checked


def _attachments_save(dispute: Dispute, checked: list[tuple[UploadedFile, str]], user: User) -> None:
    for upload, content_type in checked:
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        attachment = DisputeAttachment(
            dispute=dispute,
            original_name=attachment_name(upload.name or ""),
            content_type=content_type,
            size=upload.size,
            sha256=digest.hexdigest(),
            uploaded_by=user,
        )
        # The storage name comes from dispute_attachment_path (random); this one is ignored.
        attachment.file.save("upload", upload, save=False)
        attachment.save()


# --- Notifying the cardholder ------------------------------------------------------------

_STEP_TEXT = {
    Event.SUBMITTED: "We received your dispute. We'll review it and tell you at each step.",
    Event.UNDER_REVIEW: "We're reviewing your dispute.",
    Event.INFO_REQUESTED: "We need more information to continue. Log in and add it to your dispute.",
    Event.INFO_ADDED: "Thank you: we received the information you added.",
    Event.TEMPORARY_CREDIT: "We've added a temporary credit to your account while we review your dispute.",
    Event.RESOLVED: "Your dispute was resolved in your favour. The credit on your account is final.",
    Event.DECLINED: "We reviewed your dispute and could not resolve it in your favour.",
}


def _tell(dispute: Dispute, event: DisputeEvent, *, extra: str = "") -> None:
    user = dispute.opened_by
    email = user.email
    if not email:
        return
    txn = dispute.transaction
    charge = f"{format_money(txn.amount, txn.currency)} at {txn.merchant_name or 'a merchant'}"
    lines = [f"Your dispute of {charge} on your card ending {txn.card.last4}: {event.get_kind_display().lower()}."]
    lines.append(_STEP_TEXT.get(event.kind, ""))
    if extra:
        lines.append(extra)
    if event.note and event.by_staff:
        lines.append(f"Note from our team:\n{event.note}")
    lines.append(f"Log in to see the whole timeline. Questions? Call us on {settings.SUPPORT_PHONE}.")
    notify(
        channel=Notification.Channel.EMAIL,
        to=email,
        kind=f"dispute_{event.kind}",
        subject=f"Your dispute of {charge}: {event.get_kind_display()}"[:200],
        body="\n\n".join(line for line in lines if line),
        idempotency_key=f"dispute-{dispute.pk}-event-{event.pk}",
        user=user,
    )


def _event(dispute: Dispute, kind: str, *, actor: User | None, note: str = "", by_staff: bool = False) -> DisputeEvent:
    now = timezone.now()
    event = DisputeEvent.objects.create(
        dispute=dispute, kind=kind, status=dispute.status, note=note, actor=actor, by_staff=by_staff, at=now
    )
    Dispute.objects.filter(pk=dispute.pk).update(updated_at=now)
    return event


def _note(text: str, *, required: bool = False) -> str:
    cleaned = (text or "").strip()[:MAX_DESCRIPTION]
    if required and not cleaned:
        raise DisputeError("Write a note for the cardholder.", field="note")
    return cleaned


# --- The cardholder's side ---------------------------------------------------------------


@transaction.atomic
def dispute_open(
    *,
    actor: User,
    transaction_obj: Transaction,
    reason: str,
    description: str,
    amount: Decimal | None = None,
    attachments: Iterable[UploadedFile] = (),
    request: HttpRequest | None = None,
) -> Dispute:
    """Open a dispute on a posted purchase the actor can see, within 120 days."""
    if not Card.objects.filter(card_visible_to(actor), pk=transaction_obj.card_id).exists():
        raise Http404("No transaction matches the given query.")
    if reason not in Dispute.Reason.values:
        raise DisputeError("Choose the reason that fits best.", field="reason")
    description = (description or "").strip()
    if len(description) < 10:
        raise DisputeError("Tell us what happened, in a sentence or two.", field="description")
    if len(description) > MAX_DESCRIPTION:
        raise DisputeError(f"Keep the description under {MAX_DESCRIPTION} characters.", field="description")
    checked = attachments_check(list(attachments))
    # Under the account lock: two submissions of one charge cannot both pass the check.
    ledger.account_lock(transaction_obj.account_id)
    txn = Transaction.objects.select_related("card", "account__product").get(pk=transaction_obj.pk)
    refusal = dispute_refusal(transaction=txn)
    if refusal:
        raise DisputeError(refusal)
    disputed = txn.amount if amount is None else quantize(amount)
    if disputed <= 0 or disputed > txn.amount:
        raise DisputeError(
            f"Enter an amount more than $0.00 and no more than the charge, {format_money(txn.amount, txn.currency)}.",
            field="amount",
        )
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(
                transaction=txn, opened_by=actor, reason=reason, description=description, amount=disputed
            )
    except IntegrityError:
        raise DisputeError("This charge already has an open dispute.") from None
    _attachments_save(dispute, checked, actor)
    event = _event(dispute, Event.SUBMITTED, actor=actor, note=description)
    security_event_record(
        kind=SecurityEvent.Kind.CARD_STATUS_CHANGED,
        outcome=SecurityEvent.Outcome.INFO,
        user=actor,
        actor=actor,
        request=request,
        detail={"action": "dispute_opened", "dispute": dispute.pk, "card": txn.card.masked_number},
    )
    _tell(dispute, event)
    return dispute


@transaction.atomic
def dispute_add_info(*, actor: User, dispute: Dispute, note: str, attachments: Iterable[UploadedFile] = ()) -> Dispute:
    """The cardholder adds information (and files) to an open dispute; one waiting for
    information goes back to review."""
    if not Card.objects.filter(card_visible_to(actor), pk=dispute.transaction.card_id).exists():
        raise Http404("No dispute matches the given query.")
    note = (note or "").strip()
    uploads = list(attachments)
    if not note and not uploads:
        raise DisputeError("Write what you want to add, or attach a file.", field="note")
    if len(note) > MAX_DESCRIPTION:
        raise DisputeError(f"Keep it under {MAX_DESCRIPTION} characters.", field="note")
    dispute = _locked(dispute)
    if dispute.status not in Dispute.OPEN_STATUSES:
        raise DisputeError("This dispute is closed. To add something, call us.")
    checked = attachments_check(uploads, already=dispute.attachments.count())
    _attachments_save(dispute, checked, actor)
    if dispute.status == Status.INFO_NEEDED:
        dispute.status = Status.UNDER_REVIEW
        dispute.save(update_fields=["status"])
    files = f" ({len(checked)} file{'s' if len(checked) != 1 else ''} attached)" if checked else ""
    event = _event(dispute, Event.INFO_ADDED, actor=actor, note=(note + files).strip())
    _tell(dispute, event)
    return dispute


# --- Staff -------------------------------------------------------------------------------


def staff_may_work(*, staff: User, dispute: Dispute) -> bool:
    """Whether this staff member may act on this dispute: dispute staff, and never on a
    dispute they opened or on a card they can see as a cardholder or administrator
    (nobody credits their own account, as nobody acts on their own login)."""
    if not (staff.is_active and staff.is_staff and staff.has_perm("cards.change_dispute")):
        return False
    if dispute.opened_by_id == staff.pk:
        return False
    return not Card.objects.filter(card_visible_to(staff), pk=dispute.transaction.card_id).exists()


def _staff_check(user: User, dispute: Dispute) -> None:
    if not staff_may_work(staff=user, dispute=dispute):
        raise PermissionDenied("Only dispute staff can do this, and never on their own account.")


def _locked(dispute: Dispute) -> Dispute:
    ledger.account_lock(dispute.transaction.account_id)
    return (
        Dispute.objects.select_for_update(of=("self",))
        .select_related("transaction__card", "transaction__account__product", "opened_by", "temporary_credit")
        .get(pk=dispute.pk)
    )


def _staff_event(staff: User, dispute: Dispute, action: str, note: str, request: HttpRequest | None) -> None:
    security_event_record(
        kind=SecurityEvent.Kind.STAFF_ACTION,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=dispute.opened_by,
        actor=staff,
        request=request,
        detail={"via": "admin", "action": action, "dispute": dispute.pk, "note": note[:200]},
    )


def _require_open(dispute: Dispute) -> None:
    if dispute.status not in Dispute.OPEN_STATUSES:
        raise DisputeError(f"This dispute is already {dispute.get_status_display().lower()}.")


def _credit(dispute: Dispute, *, suffix: str, label: str, detail: str) -> Transaction:
    txn = dispute.transaction
    now = timezone.now()
    return ledger.transaction_record(
        account=ledger.account_lock(txn.account_id),
        card=txn.card,
        kind=Transaction.Kind.CREDIT,
        status=Transaction.Status.POSTED,
        amount=-(dispute.amount or txn.amount),
        merchant_name=f"{label}: {txn.merchant_name or 'dispute'}"[:100],
        category=txn.category,
        network_id=f"dispute-{dispute.pk}-{suffix}",
        transacted_at=now,
        posted_at=now,
        detail=detail,
    )


@transaction.atomic
def dispute_review_start(*, staff: User, dispute: Dispute, note: str = "", request=None) -> Dispute:
    _staff_check(staff, dispute)
    dispute = _locked(dispute)
    if dispute.status != Status.SUBMITTED:
        raise DisputeError("Only a newly submitted dispute can be taken into review.")
    dispute.status = Status.UNDER_REVIEW
    dispute.save(update_fields=["status"])
    note = _note(note)
    event = _event(dispute, Event.UNDER_REVIEW, actor=staff, note=note, by_staff=True)
    _staff_event(staff, dispute, "dispute_review", note, request)
    _tell(dispute, event)
    return dispute


@transaction.atomic
def dispute_request_info(*, staff: User, dispute: Dispute, note: str, request=None) -> Dispute:
    """Ask the cardholder for more (the note says what)."""
    _staff_check(staff, dispute)
    note = _note(note, required=True)
    dispute = _locked(dispute)
    _require_open(dispute)
    dispute.status = Status.INFO_NEEDED
    dispute.save(update_fields=["status"])
    event = _event(dispute, Event.INFO_REQUESTED, actor=staff, note=note, by_staff=True)
    _staff_event(staff, dispute, "dispute_request_info", note, request)
    _tell(dispute, event)
    return dispute


@transaction.atomic
def dispute_credit_grant(*, staff: User, dispute: Dispute, note: str = "", request=None) -> Dispute:
    """A temporary credit for the disputed amount while the dispute is worked."""
    _staff_check(staff, dispute)
    note = _note(note)
    dispute = _locked(dispute)
    _require_open(dispute)
    if dispute.temporary_credit_id is not None:
        raise DisputeError("This dispute already has a temporary credit.")
    credit = _credit(dispute, suffix="temporary-credit", label="Temporary credit", detail="Temporary dispute credit")
    dispute.temporary_credit = credit
    fields = ["temporary_credit"]
    if dispute.status == Status.SUBMITTED:
        dispute.status = Status.UNDER_REVIEW
        fields.append("status")
    dispute.save(update_fields=fields)
    event = _event(dispute, Event.TEMPORARY_CREDIT, actor=staff, note=note, by_staff=True)
    _staff_event(staff, dispute, "dispute_temporary_credit", note, request)
    amount = format_money(-credit.amount, credit.currency)
    _tell(dispute, event, extra=f"Temporary credit: {amount}.")
    return dispute


@transaction.atomic
def dispute_resolve(*, staff: User, dispute: Dispute, note: str, request=None) -> Dispute:
    """Resolved in the cardholder's favour: a temporary credit becomes final, or the
    credit is posted now; either way the credit is final, so the rewards the credited
    share of the charge earned are taken back with it."""
    _staff_check(staff, dispute)
    note = _note(note, required=True)
    dispute = _locked(dispute)
    _require_open(dispute)
    fields = ["status", "resolved_at"]
    if dispute.temporary_credit_id is None:
        dispute.resolution_credit = _credit(dispute, suffix="credit", label="Dispute credit", detail="Dispute resolved")
        fields.append("resolution_credit")
    dispute.status = Status.RESOLVED
    dispute.resolved_at = timezone.now()
    dispute.save(update_fields=fields)
    rewards.rewards_on_dispute_resolved(dispute=dispute, account=ledger.account_lock(dispute.transaction.account_id))
    event = _event(dispute, Event.RESOLVED, actor=staff, note=note, by_staff=True)
    _staff_event(staff, dispute, "dispute_resolved", note, request)
    txn = dispute.transaction
    _tell(dispute, event, extra=f"Credit: {format_money(dispute.amount or txn.amount, txn.currency)}.")
    return dispute


@transaction.atomic
def dispute_decline(*, staff: User, dispute: Dispute, note: str, request=None) -> Dispute:
    """Declined: a temporary credit is taken back by a ``credit_reversal`` row."""
    _staff_check(staff, dispute)
    note = _note(note, required=True)
    dispute = _locked(dispute)
    _require_open(dispute)
    fields = ["status", "resolved_at"]
    extra = ""
    if dispute.temporary_credit_id is not None and dispute.credit_reversal_id is None:
        credit = dispute.temporary_credit
        txn = dispute.transaction
        now = timezone.now()
        dispute.credit_reversal = ledger.transaction_record(
            account=ledger.account_lock(txn.account_id),
            card=txn.card,
            kind=Transaction.Kind.CREDIT_REVERSAL,
            status=Transaction.Status.POSTED,
            amount=-credit.amount,
            merchant_name=f"Temporary credit reversed: {txn.merchant_name or 'dispute'}"[:100],
            category=txn.category,
            network_id=f"dispute-{dispute.pk}-credit-reversal",
            transacted_at=now,
            posted_at=now,
            detail="Temporary dispute credit reversed",
        )
        fields.append("credit_reversal")
        taken = format_money(-credit.amount, credit.currency)
        extra = f"The temporary credit of {taken} has been removed from your account."
    dispute.status = Status.DECLINED
    dispute.resolved_at = timezone.now()
    dispute.save(update_fields=fields)
    if extra:
        _event(dispute, Event.CREDIT_REVERSED, actor=staff, by_staff=True)
    event = _event(dispute, Event.DECLINED, actor=staff, note=note, by_staff=True)
    _staff_event(staff, dispute, "dispute_declined", note, request)
    _tell(dispute, event, extra=extra)
    return dispute
