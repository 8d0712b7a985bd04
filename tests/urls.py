from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path

import msal_django

from . import api_views, azure_views


def home(request: HttpRequest) -> HttpResponse:
    name = request.user.get_username() if request.user.is_authenticated else ""
    return HttpResponse(f"home:{name}")


def token(request: HttpRequest) -> JsonResponse:
    scopes = request.GET.get("scopes", "User.Read").split()
    return JsonResponse({"access_token": msal_django.get_token(request, scopes)})


async def atoken(request: HttpRequest) -> JsonResponse:
    scopes = request.GET.get("scopes", "User.Read").split()
    return JsonResponse({"access_token": await msal_django.aget_token(request, scopes)})


def reports(request: HttpRequest) -> HttpResponse:
    """Only the "report readers" group (the Reports.Reader app role in the browser test)."""
    if not request.user.groups.filter(name="report readers").exists():
        return HttpResponse("forbidden", status=403)
    return HttpResponse(f"reports:{request.user.get_username()}")


urlpatterns = [
    path("", home, name="home"),
    path("token/", token, name="token"),
    path("atoken/", atoken, name="atoken"),
    path("reports/", reports, name="reports"),
    path("api/me/", api_views.me),
    path("api/ame/", api_views.ame),
    path("api/tasks/", api_views.tasks),
    path("api/graph-me/", api_views.graph_me),
    path("azure/me/", azure_views.me),
    path("azure/token-info/", azure_views.token_info),
    path("azure/on-behalf-of/me/", azure_views.on_behalf_of_me),
    path("drf/me/", api_views.DrfMe.as_view()),
    path("drf/tasks/", api_views.DrfTasks.as_view()),
    path("admin/", admin.site.urls),
    path("auth/", include("msal_django.urls")),
]
