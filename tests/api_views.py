"""The protected API the tests call: plain views with ``require_token`` and DRF views."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

import msal_django
from msal_django import msal_app
from msal_django.api import require_token
from msal_django.drf import BearerTokenAuthentication, HasRoles, HasScopes


def _who(request: Any) -> dict[str, Any]:
    user = request.user
    return {
        "user": user.get_username(),
        "app": bool(getattr(user, "is_app", False)),
        "authenticated": user.is_authenticated,
    }


@require_token(scopes=["access_as_user"])
def me(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_who(request))


@require_token(roles=["Tasks.Read.All"])
def tasks(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_who(request))


@require_token(scopes=["access_as_user"])
async def ame(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_who(request))


@require_token(scopes=["access_as_user"])
def graph_me(request: HttpRequest) -> JsonResponse:
    """Calls the Graph-like API on behalf of the caller."""
    token = msal_django.get_token_on_behalf_of(request, ["User.Read"])
    http = msal_app.http_client()
    answer = http.get(request.GET["api"], headers={"Authorization": f"Bearer {token}"})
    return JsonResponse({"graph": answer.json(), "status": answer.status_code})


class DrfMe(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasScopes]
    renderer_classes = [JSONRenderer]
    required_scopes = ["access_as_user"]

    def get(self, request: Request) -> Response:
        return Response(_who(request))

    def post(self, request: Request) -> Response:
        return Response(_who(request))


class DrfTasks(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasScopes | HasRoles]
    renderer_classes = [JSONRenderer]
    required_scopes = ["access_as_user"]
    required_roles = ["Tasks.Read.All"]

    def get(self, request: Request) -> Response:
        return Response(_who(request))
