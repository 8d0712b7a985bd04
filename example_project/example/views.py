import asyncio
import os

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.module_loading import import_string

import msal_django
from msal_django.api import require_token

API_SCOPE = f"api://{settings.MSAL_DJANGO['CLIENT_ID']}/access_as_user"


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
async def graph_sdk_profile(request: HttpRequest) -> HttpResponse:
    """Your profile through Microsoft Graph's SDK: GraphServiceClient with
    AsyncRequestCredential (real expiry, CAE challenges answered). On a real site:
    ``GraphServiceClient(AsyncRequestCredential(request), ["User.Read"])``; here it is
    pointed at the local provider's Graph-like API (msal_django.testing.graph_sdk)."""
    from msal_django.azure import AsyncRequestCredential
    from msal_django.testing.graph_sdk import graph_http_client, graph_service_client

    provider = LocalProvider()
    async with graph_http_client(provider) as http:
        graph = graph_service_client(
            provider, AsyncRequestCredential(request), scopes=["User.Read"], http_client=http
        )
        user = await graph.me.get()
    me = {
        "displayName": user.display_name if user else None,
        "userPrincipalName": user.user_principal_name if user else None,
        "mail": user.mail if user else None,
        "id": user.id if user else None,
    }
    context = {"status": 200, "me": me, "api_url": "GraphServiceClient.me.get()", "sdk": True}
    return await sync_to_async(render)(request, "example/profile.html", context)


class LocalProvider:
    """Where run.py's provider is, for the Graph SDK (its base URL and CA)."""

    def __init__(self) -> None:
        self.base_url = settings.API_URL.rsplit("/v1.0/", 1)[0]
        self.host = self.base_url.split("://", 1)[1].split(":", 1)[0]
        self.ca_file = os.environ["MSAL_DJANGO_TESTING_CA_FILE"]


@login_required
def reports(request: HttpRequest) -> HttpResponse:
    """Only for the Reports.Reader app role: the "report readers" group GROUP_MAP grants."""
    if not request.user.groups.filter(name="report readers").exists():
        raise PermissionDenied("Only report readers may open this page.")
    return render(request, "example/reports.html")


@require_token(scopes=["access_as_user"])
def api_me(request: HttpRequest) -> JsonResponse:
    """The site as an API: a bearer token for ``api://<client id>/access_as_user``; it
    calls the Graph-like API on behalf of the caller (OAuth 2.0 on-behalf-of)."""
    token = msal_django.get_token_on_behalf_of(request, ["User.Read"])
    status, me = call_api(token)
    return JsonResponse({"caller": request.user.get_username(), "graph_status": status, "me": me})


@login_required
def api_try(request: HttpRequest) -> HttpResponse:
    """A curl line calling ``api_me`` with an access token for this site's API, got for
    the signed-in user (the site acting as its own client; consent is asked once)."""
    token = msal_django.get_token(request, [API_SCOPE])
    url = request.build_absolute_uri("/api/me/")
    line = f'curl -H "Authorization: Bearer {token}" {url}'
    return HttpResponse(line + "\n", content_type="text/plain")
