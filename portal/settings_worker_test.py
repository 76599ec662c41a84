"""Settings for the real Celery worker that tests start: the test settings, but tasks go
through the broker instead of running in-process."""

from portal.settings_test import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
