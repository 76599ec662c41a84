from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    # logout() flushes the session on the server, not only the cookie.
    logout(request)
    messages.success(request, "You have signed out. Close the browser if this is a shared computer.")
    return redirect("portal:home")
