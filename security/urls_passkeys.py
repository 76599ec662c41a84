"""django-otp-webauthn's endpoints under the names its template tags reverse
(``otp_webauthn:...``), served by our subclasses (security/passkey_ceremonies.py)."""

from django.urls import path
from django.views.i18n import JavaScriptCatalog

from . import passkey_ceremonies as views

app_name = "otp_webauthn"

urlpatterns = [
    path("registration/begin/", views.PasskeyRegistrationBeginView.as_view(), name="credential-registration-begin"),
    path(
        "registration/complete/",
        views.PasskeyRegistrationCompleteView.as_view(),
        name="credential-registration-complete",
    ),
    path("authentication/begin/", views.PasskeySignInBeginView.as_view(), name="credential-authentication-begin"),
    path(
        "authentication/complete/",
        views.PasskeySignInCompleteView.as_view(),
        name="credential-authentication-complete",
    ),
    # The library's script reads its (English) messages through Django's JS catalog.
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]), name="js-i18n-catalog"),
]
