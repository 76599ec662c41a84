from django.conf import settings

from accounts.middleware import idle_timeout_for


def site(request):
    return {
        "ISSUER_NAME": settings.ISSUER_NAME,
        "SUPPORT_PHONE": settings.SUPPORT_PHONE,
        "SESSION_IDLE_TIMEOUT": idle_timeout_for(getattr(request, "user", None)),
    }
