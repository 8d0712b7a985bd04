import asyncio

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
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
    status, me = call_api(token)
    return render(
        request, "example/profile.html", {"status": status, "me": me, "api_url": settings.API_URL}
    )


def call_api(token: str) -> tuple[int, dict]:
    """GET the API with ``token``: (status, JSON body)."""
    http = import_string(settings.MSAL_DJANGO["HTTP_CLIENT"])()
    response = http.get(settings.API_URL, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return response.status_code, response.json()


@login_required  # async-capable since Django 5.1
async def async_profile(request: HttpRequest) -> HttpResponse:
    """The same page as an async view: aget_token never blocks the event loop."""
    token = await msal_django.aget_token(request, ["User.Read"])
    status, me = await asyncio.to_thread(call_api, token)  # requests is synchronous too
    context = {"status": status, "me": me, "api_url": settings.API_URL, "is_async": True}
    return await sync_to_async(render)(request, "example/profile.html", context)


@login_required
def reports(request: HttpRequest) -> HttpResponse:
    """Only for the Reports.Reader app role: the "report readers" group GROUP_MAP grants."""
    if not request.user.groups.filter(name="report readers").exists():
        raise PermissionDenied("Only report readers may open this page.")
    return render(request, "example/reports.html")
