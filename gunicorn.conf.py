"""Gunicorn settings for the portal's web processes, read from the environment.

    gunicorn -c gunicorn.conf.py portal.wsgi

Every knob has an environment variable (documented in .env.example) so the systemd unit,
the Procfile and a container run the same file. The request line is logged by the app
(portal.middleware.RequestLogMiddleware, with the request id and user id), so gunicorn's
own access log is off unless GUNICORN_ACCESS_LOG is set.
"""

from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use (cgroups, taskset)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# Loopback by default: a reverse proxy or load balancer in front terminates TLS. Several
# addresses may be given, comma-separated (e.g. "0.0.0.0:8000" on a private network).
bind = [address.strip() for address in os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",") if address]
# The usual starting point; measure (docs/performance.md) and set WEB_CONCURRENCY.
workers = _int("WEB_CONCURRENCY", 2 * _cores() + 1)
# More than 1 switches to the threaded worker (gthread): more concurrent slow requests
# (statement downloads) per process at the cost of sharing one CPU-bound interpreter.
threads = _int("GUNICORN_THREADS", 1)
# A request that takes longer is killed (its worker restarted). Statement PDFs render in
# Celery, so no page should come near this.
timeout = _int("GUNICORN_TIMEOUT", 30)
# On SIGTERM/HUP, workers finish the requests in hand for up to this long.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then (slow leaks in libraries); the jitter keeps them from all
# restarting at once.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 100)
# Proxies whose X-Forwarded-* headers gunicorn believes (Django also needs BEHIND_PROXY).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Heartbeat files: /dev/shm avoids stalls when /tmp is on a slow disk (containers).
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or None
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    # The gunicornc control socket; the systemd unit puts it in its RuntimeDirectory.
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]

# --- Logging --------------------------------------------------------------------------
loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()
errorlog = "-"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None

_debug = os.environ.get("DEBUG", "false").strip().lower() in ("1", "true", "yes", "on")
if os.environ.get("LOG_FORMAT", "plain" if _debug else "json") == "json":
    # Gunicorn's own lines (worker boots, timeouts) as JSON too, like the app's.
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "portal.logging.RequestContextFilter"}},
        "formatters": {"json": {"()": "portal.logging.JsonFormatter"}},
        "handlers": {
            "gunicorn_console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["context"],
                "stream": "ext://sys.stderr",
            },
        },
        "root": {"level": "INFO", "handlers": []},
        "loggers": {
            "gunicorn.error": {"level": loglevel.upper(), "handlers": ["gunicorn_console"], "propagate": False},
            # With a logconfig_dict gunicorn logs access lines whatever accesslog says:
            # keep them below the level unless GUNICORN_ACCESS_LOG asks for them.
            "gunicorn.access": {
                "level": "INFO" if accesslog else "WARNING",
                "handlers": ["gunicorn_console"],
                "propagate": False,
            },
        },
    }
