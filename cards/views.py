from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from portal.net import client_ip

from . import selectors, services
from .forms import ActivateCardForm
from .models import Card
from .verification import card_check


@login_required
def card_list(request: HttpRequest) -> HttpResponse:
    cards = selectors.card_list_for_user(user=request.user)
    return render(request, "cards/card_list.html", {"cards": cards})


@never_cache
@sensitive_post_parameters("card_number", "card_id", "expiry")
@require_http_methods(["GET", "POST"])
def card_activate(request: HttpRequest) -> HttpResponse:
    """Open to anyone holding the card: the number, card ID and expiry prove it."""
    form = ActivateCardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        result = card_check(
            pan=data["card_number"],
            card_id=data["card_id"],
            expiry=data["expiry"],
            purpose="activation",
            ip=client_ip(request),
            request=request,
        )
        if not result.ok:
            form.add_error(None, result.message)
        elif result.card.status == Card.Status.ACTIVE:
            form.add_error(None, f"Your card ending {result.card.last4} is already active. You can use it now.")
        elif result.card.status != Card.Status.INACTIVE:
            form.add_error(
                None,
                "This card can't be activated because it has been closed or reported lost or stolen. "
                "Use your replacement card, or call the number on the back of your card.",
            )
        else:
            card = services.card_activate(card=result.card, request=request)
            messages.success(request, f"Your card ending {card.last4} is active and ready to use.")
            return redirect("cards:list" if request.user.is_authenticated else "accounts:enroll")
    return render(request, "cards/activate.html", {"form": form})
