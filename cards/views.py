from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from . import selectors


@login_required
def card_list(request: HttpRequest) -> HttpResponse:
    cards = selectors.card_list_for_user(user=request.user)
    return render(request, "cards/card_list.html", {"cards": cards})
