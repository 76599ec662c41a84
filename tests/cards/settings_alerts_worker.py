"""Settings for the workers in the kill-mid-delivery test: a Redis visibility timeout of
seconds instead of hours, checked every second, so the message a killed worker held
comes back while the test waits. (In production it comes back after the timeout, and
the outbox sweep hands out the notification once its claim is stale.)"""

from portal.settings_worker_test import *  # noqa: F403

CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 15,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
