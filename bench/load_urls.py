"""The pages bench/load.py measures (settings: load_site.py)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

import msal_django


def static(request: HttpRequest) -> HttpResponse:
    """No session, no user: the server's own floor."""
    return HttpResponse("static")


@login_required
def signed_in(request: HttpRequest) -> HttpResponse:
    """The session and the user loaded: the page a token page is compared with."""
    return HttpResponse(f"signed in: {request.user.get_username()}")


@login_required
def token(request: HttpRequest) -> HttpResponse:
    """The same page, plus a token for an API (not called: that is the API's time)."""
    access_token = msal_django.get_token(request, ["User.Read"])
    return HttpResponse(f"signed in: {request.user.get_username()} ({len(access_token)})")


urlpatterns = [
    path("static/", static),
    path("signed-in/", signed_in),
    path("token/", token),
    path("auth/", include("msal_django.urls")),
]
