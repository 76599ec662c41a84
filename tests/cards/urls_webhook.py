"""The portal's URLs plus the processor webhook, for tests, until the webhook's line is
in cards/urls.py (same path: /cards/processor/webhook/)."""

from django.urls import path

from cards.webhook import processor_webhook
from portal.urls import urlpatterns as portal_urlpatterns

urlpatterns = [path("cards/processor/webhook/", processor_webhook, name="processor_webhook"), *portal_urlpatterns]
