from celery import shared_task

from . import services
from .sms import DeliveryError


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(DeliveryError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=6,
)
def notification_deliver(self, notification_id: int) -> None:
    try:
        services.notification_send(notification_id=notification_id)
    except DeliveryError as exc:
        if self.request.retries >= self.max_retries:
            services.notification_mark_failed(notification_id=notification_id, error=str(exc))
            return
        raise


@shared_task
def notification_sweep() -> int:
    """Beat task: hand out again what is still waiting (for example after the broker was
    down when it was written). Delivery is claim-based, so a duplicate enqueue is harmless."""
    ids = services.notifications_due()
    for notification_id in ids:
        notification_deliver.delay(notification_id)
    return len(ids)
