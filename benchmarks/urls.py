"""The portal's URLs plus the two baselines the benchmarks divide by. Used only by
`python -m benchmarks` (it sets ROOT_URLCONF to this module)."""

import json

from django.contrib.auth.decorators import login_required
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import engines
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from portal.urls import urlpatterns as portal_urlpatterns

_TRIVIAL = engines["django"].from_string(
    '{% extends "base.html" %}{% block title %}Benchmark{% endblock title %}'
    "{% block content %}<h1>A trivial signed-in page</h1><p>Nothing but the layout.</p>{% endblock content %}"
)


@login_required
@require_GET
def trivial_page(request: HttpRequest) -> HttpResponse:
    """The cost of any signed-in page: middleware, session, user, the layout."""
    return HttpResponse(_TRIVIAL.render({}, request))


@csrf_exempt
@require_POST
def trivial_post(request: HttpRequest) -> JsonResponse:
    """The cost of any JSON POST: middleware, reading and parsing the body."""
    payload = json.loads(request.body)
    return JsonResponse({"received": payload.get("event_id", "")})


@csrf_exempt
@require_POST
def trivial_post_commit(request: HttpRequest) -> JsonResponse:
    """The least a POST that records anything costs: the above, plus one row inserted
    and committed (the commit waits for the disk, as every write does)."""
    payload = json.loads(request.body)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_post (event_id) VALUES (%s)", [payload.get("event_id", "")])
    return JsonResponse({"received": payload.get("event_id", "")})


urlpatterns = [
    path("bench/trivial/", trivial_page, name="bench_trivial"),
    path("bench/trivial-post/", trivial_post, name="bench_trivial_post"),
    path("bench/trivial-post-commit/", trivial_post_commit, name="bench_trivial_post_commit"),
    *portal_urlpatterns,
]
