from celery import shared_task

from . import processing


@shared_task(acks_late=True)
def authorization_holds_expire() -> int:
    """Beat task: release authorizations the merchant did not claim within 7 days.
    Safe to run twice or concurrently: each hold is re-checked under its account lock."""
    return processing.holds_expire()


# --- Payments and alerts (cards.payments, cards.alert_rules) ------------------------------
# Thin: each takes ids or nothing, re-reads, and calls a service that is a no-op when the
# work is done, so a redelivered (acks_late) or repeated run changes nothing twice.


@shared_task(acks_late=True)
def payment_post(payment_id: int) -> bool:
    """Post one payment dated today (enqueued on commit by "pay now")."""
    from . import payments

    return payments.payment_post(payment_id=payment_id)


@shared_task(acks_late=True)
def payments_post_due() -> int:
    """Beat task: post every scheduled payment whose date has come."""
    from . import payments

    return payments.payments_post_due()


@shared_task(acks_late=True)
def autopay_run_due() -> int:
    """Beat task: autopay pays statements due today (or missed in the last few days)."""
    from . import payments

    return payments.autopay_run_due()


@shared_task(acks_late=True)
def payment_reminders_send() -> int:
    """Beat task: payment-due and autopay reminders (keys make reruns harmless)."""
    from . import alert_rules

    return alert_rules.payment_reminders_send()
