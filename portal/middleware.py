"""Request-wide middleware and the error pages that go with it.

Order in settings.MIDDLEWARE (outermost first): django-guid (request id) →
HealthCheckMiddleware → HeaderNulMiddleware → RequestLogMiddleware →
ServiceUnavailableMiddleware → Django's.
"""

from __future__ import annotations

import logging
import sys
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
from django.utils.cache import add_never_cache_headers
from django_guid import get_guid

from portal import health
from portal.logging import bind_request, unbind_request

request_logger = logging.getLogger("portal.request")
outage_logger = logging.getLogger("portal.outage")

# The database is down, restarting, or dropped the connection: worth a retry later.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


class HealthCheckMiddleware:
    """Answers /livez, /readyz and /healthz before host validation, HTTPS redirect,
    sessions and sign-in: load balancers probe nodes by address over plain HTTP, and a
    probe must not load a session or count as a request to the site."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = health.PROBES.get(request.path_info)
        if view is not None and request.method in ("GET", "HEAD"):
            return view(request)
        return self.get_response(request)


class HeaderNulMiddleware:
    """Takes NUL characters out of request headers. The proxy in front refuses them, but
    the app must not rely on that: the User-Agent and Accept headers are stored (our
    sign-in records, django-axes's logs) and PostgreSQL text cannot hold a NUL, so every
    sign-in that sent one was a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        for key in [k for k, v in meta.items() if k.startswith("HTTP_") and isinstance(v, str) and "\x00" in v]:
            meta[key] = meta[key].replace("\x00", "")
        return self.get_response(request)


class RequestLogMiddleware:
    """One line per request: method, path (never the query string, which may carry
    search terms), status and duration. The request id and user id come from
    portal.logging.RequestContextFilter, like on every other line."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.static_prefix = "/" + settings.STATIC_URL.lstrip("/")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = bind_request(request)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            duration_ms = round((time.monotonic() - started) * 1000, 1)
            # Static files are many per page and rarely interesting when they work.
            quiet = request.path.startswith(self.static_prefix) and response.status_code < 400
            request_logger.log(
                logging.DEBUG if quiet else logging.INFO,
                "%s %s %s %sms",
                request.method,
                request.path,
                response.status_code,
                duration_ms,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                },
            )
            return response
        finally:
            unbind_request(token)


class ServiceUnavailableMiddleware:
    """A database outage or restart shows a friendly 503 page with Retry-After instead
    of a 500. Views raise into process_exception; errors raised in other middleware
    (loading the session, saving it) reach ``server_error`` (handler500), which does
    the same."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_UNAVAILABLE):
            return service_unavailable(request, exception)
        return None


def _error_page_context() -> dict:
    return {
        "request_id": get_guid(),
        "ISSUER_NAME": settings.ISSUER_NAME,
        "SUPPORT_PHONE": settings.SUPPORT_PHONE,
    }


def _wants_json(request: HttpRequest) -> bool:
    return request.content_type == "application/json" or "application/json" in request.headers.get("Accept", "")


def service_unavailable(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 503 page. Logged once per request at WARNING (a restart is an expected,
    short event); Django's own ERROR line and traceback are skipped."""
    if not getattr(request, "_portal_outage_logged", False):
        request._portal_outage_logged = True
        first_line = str(exception).strip().splitlines()[0][:200] if str(exception).strip() else ""
        outage_logger.warning(
            "Database unavailable, answered 503: %s %s (%s: %s)",
            request.method,
            request.path,
            type(exception).__name__,
            first_line,
            extra={"method": request.method, "path": request.path, "status": 503},
        )
    if _wants_json(request):
        # Machine clients (the card processor's webhook) get the JSON error they parse.
        response = JsonResponse(
            {"error": "service_unavailable", "message": "the service is unavailable; retry later"}, status=503
        )
    else:
        # Rendered without the request: context processors and the session may need the
        # database that just failed.
        html = loader.get_template("503.html").render(_error_page_context())
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(settings.SERVICE_UNAVAILABLE_RETRY_AFTER)
    add_never_cache_headers(response)
    response._has_been_logged = True  # tells django.utils.log.log_response it is done
    return response


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """handler500: our 500 page with the request id for support; a database outage
    raised outside a view (session middleware) gets the 503 page instead."""
    exception = sys.exc_info()[1]
    if isinstance(exception, DATABASE_UNAVAILABLE):
        return service_unavailable(request, exception)
    try:
        html = loader.get_template(template_name).render(_error_page_context())
    except Exception:  # the error page itself must not fail
        html = "<!doctype html><title>Server error</title><h1>Sorry, there is a problem with the service</h1>"
    return HttpResponseServerError(html)


class NoStoreForSignedInMiddleware:
    """Pages shown to a signed-in person must never be kept by a browser or proxy cache:
    the next person at a shared computer could press Back and read them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
            response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
        return response
