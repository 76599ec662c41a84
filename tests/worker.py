"""A real Celery worker in a subprocess, against the test database and a Redis broker.

Used by tests marked ``worker``; .ci/run provides PostgreSQL and Redis. The worker gets
its own queue so parallel test processes never take each other's tasks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def require_worker_stack() -> str:
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker:
        pytest.skip("needs CELERY_BROKER_URL (Redis) for a real worker; .ci/run provides it")
    if connection.vendor != "postgresql":
        pytest.skip("the real-worker tests run on PostgreSQL; .ci/run provides it")
    return broker


def _database_url() -> str:
    s = connection.settings_dict
    user = s.get("USER") or "postgres"
    return f"postgres://{user}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


@contextmanager
def celery_worker(*, outbox: Path, extra_env: dict[str, str] | None = None, queue: str | None = None):
    """Start a worker, point the app at its queue, yield the process, stop it. Pass the
    same ``queue`` to a second worker to have it take over the first one's work (its
    log is ``worker-<queue>-<n>.log`` beside the outbox)."""
    from portal.celery import app

    broker = require_worker_stack()
    queue = queue or f"test-{uuid.uuid4().hex[:12]}"
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings_worker_test",
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": broker,
            "CELERY_QUEUE": queue,
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OUTBOX_DIR": str(outbox),
        }
    )
    env.update(extra_env or {})
    log_path = outbox.parent / f"worker-{queue}-{len(list(outbox.parent.glob(f'worker-{queue}-*.log'))) + 1}.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    saved = (app.conf.task_always_eager, app.conf.task_default_queue, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    app.conf.broker_url = broker
    try:
        yield process
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue, app.conf.broker_url = saved
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def wait_for(predicate, *, timeout: float = 30.0, interval: float = 0.2):
    """Poll until ``predicate()`` is truthy; returns its last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value
