from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.module_loading import import_string

import msal_django


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "example/home.html")


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    # InteractionRequired (sign in or consent again) becomes a redirect in the middleware.
    token = msal_django.get_token(request, ["User.Read"])
    http = import_string(settings.MSAL_DJANGO["HTTP_CLIENT"])()
    response = http.get(settings.API_URL, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return render(
        request,
        "example/profile.html",
        {"status": response.status_code, "me": response.json(), "api_url": settings.API_URL},
    )
