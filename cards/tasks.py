from celery import shared_task

from . import processing


@shared_task(acks_late=True)
def authorization_holds_expire() -> int:
    """Beat task: release authorizations the merchant did not claim within 7 days.
    Safe to run twice or concurrently: each hold is re-checked under its account lock."""
    return processing.holds_expire()
