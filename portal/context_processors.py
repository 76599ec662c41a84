from django.conf import settings


def site(request):
    return {
        "ISSUER_NAME": settings.ISSUER_NAME,
        "SUPPORT_PHONE": settings.SUPPORT_PHONE,
        "SESSION_IDLE_TIMEOUT": settings.SESSION_IDLE_TIMEOUT,
    }
