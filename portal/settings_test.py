"""Test settings: the real settings, with fixed test secrets and a fast password hasher.

Fixed secrets make card numbers and card IDs reproducible inside a test run; they are
not used anywhere else.
"""

import os

for _name in ("SECRET_KEY", "CARD_PAN_HASH_KEY", "CARD_VERIFICATION_KEY", "PROCESSOR_WEBHOOK_SECRET"):
    os.environ.setdefault(_name, f"test-only-{_name.lower()}-not-a-real-secret")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SECURE_COOKIES", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("VAR_DIR", os.path.join(os.path.dirname(os.path.dirname(__file__)), "var", "test"))

from portal.settings import *  # noqa: E402,F403

# Argon2id at OWASP cost is measured in benchmarks; tests need speed, not cost.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405

# Ordinary tests run tasks in-process; tests marked `worker` switch to a real worker.
CELERY_TASK_ALWAYS_EAGER = True
# Parallel test processes (pytest-xdist) may share one Redis: keep their keys apart.
CACHES["default"]["KEY_PREFIX"] = os.environ.get("PYTEST_XDIST_WORKER", "main")  # noqa: F405
