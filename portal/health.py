"""Probes for load balancers and process managers.

- ``/livez`` (liveness): the process answers. Touches nothing else, so a database or
  Redis outage never gets healthy web processes restarted.
- ``/readyz`` (readiness): this node can serve. Checks the database (reachable, no
  unapplied migrations for this code), the cache and, when configured, the Celery
  broker; the JSON body names each check. 503 when a *required* check fails
  (``READINESS_REQUIRED_CHECKS``, by default the database and migrations). Cache and
  broker are shared by every node and the portal keeps serving without them (the cache
  ignores errors, notifications wait in the outbox), so by default their failure is
  reported as ``"degraded"`` with 200: taking every node out of the load balancer
  because Redis stopped would turn a degraded portal into an outage.
- ``/healthz``: the older name, an alias of ``/readyz``.

portal.middleware.HealthCheckMiddleware answers these paths before host validation,
sessions and sign-in, so a load balancer can probe a node by its address over plain
HTTP. Details of a failure go to the log, not to the (unauthenticated) response.
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_safe

logger = logging.getLogger("portal.health")

CHECKS = ("database", "migrations", "cache", "broker")
OK = "ok"
NOT_CONFIGURED = "not configured"
NOT_CHECKED = "not checked"
UNREACHABLE = "unreachable"

# Once this code's migrations are all applied they stay applied: stop asking.
_migrations_applied = False


def reset_migration_state() -> None:
    global _migrations_applied
    _migrations_applied = False


def check_database() -> str:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("Readiness: database unreachable (%s)", type(exc).__name__)
        return UNREACHABLE
    return OK


def check_migrations() -> str:
    """Forward migrations of this code not yet applied. Migrations newer than this code
    (applied by a newer release during a rolling deploy) do not make an old node unready."""
    global _migrations_applied
    if _migrations_applied:
        return OK
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        logger.warning("Readiness: could not read applied migrations (%s)", type(exc).__name__)
        return UNREACHABLE
    pending = [migration for migration, backwards in plan if not backwards]
    if pending:
        logger.warning(
            "Readiness: %d unapplied migration(s): %s",
            len(pending),
            ", ".join(f"{m.app_label}.{m.name}" for m in pending[:10]),
        )
        return f"{len(pending)} unapplied"
    _migrations_applied = True
    return OK


def check_cache() -> str:
    # A key of its own per probe: nodes probing at once must not read each other's value.
    key = f"portal:readyz:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", timeout=10)
        answered = cache.get(key) == "1"
        cache.delete(key)
    except Exception as exc:  # any backend error means "unreachable" here
        logger.warning("Readiness: cache unreachable (%s)", type(exc).__name__)
        return UNREACHABLE
    if not answered:
        # django-redis with IGNORE_EXCEPTIONS answers None instead of raising.
        logger.warning("Readiness: cache unreachable (no answer)")
        return UNREACHABLE
    return OK


def _celery_app():
    from portal.celery import app

    return app


def check_broker() -> str:
    app = _celery_app()
    if not settings.CELERY_BROKER_URL or app.conf.task_always_eager:
        return NOT_CONFIGURED
    try:
        with app.connection_for_write(connect_timeout=settings.READINESS_BROKER_TIMEOUT) as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
    except Exception as exc:  # kombu raises transport-specific errors
        logger.warning("Readiness: broker unreachable (%s)", type(exc).__name__)
        return UNREACHABLE
    return OK


def readiness_report() -> tuple[int, dict]:
    checks = {"database": check_database()}
    checks["migrations"] = check_migrations() if checks["database"] == OK else NOT_CHECKED
    checks["cache"] = check_cache()
    checks["broker"] = check_broker()
    failed = [name for name, result in checks.items() if result not in (OK, NOT_CONFIGURED)]
    required = set(settings.READINESS_REQUIRED_CHECKS)
    if any(name in required for name in failed):
        status, code = "unavailable", 503
    elif failed:
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return code, {"status": status, "checks": checks}


def _probe_response(body: dict, status: int) -> JsonResponse:
    response = JsonResponse(body, status=status)
    add_never_cache_headers(response)
    # Answered before SecurityMiddleware (see HealthCheckMiddleware): set what applies here.
    response["X-Content-Type-Options"] = "nosniff"
    # A failing check has logged its WARNING: no extra ERROR line from Django per probe.
    response._has_been_logged = True
    return response


@require_safe
def liveness(request: HttpRequest) -> JsonResponse:
    return _probe_response({"status": "ok"}, 200)


@require_safe
def readiness(request: HttpRequest) -> JsonResponse:
    code, body = readiness_report()
    return _probe_response(body, code)


# Paths HealthCheckMiddleware answers directly (also routed in portal/urls.py).
PROBES = {"/livez": liveness, "/readyz": readiness, "/healthz": readiness}
