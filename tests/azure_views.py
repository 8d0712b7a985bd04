"""Views that call the provider's Graph-like API the way a site using the Azure SDKs
does: an ``azure.core`` pipeline with ``BearerTokenCredentialPolicy`` and this package's
credentials (``tests/test_azure.py``)."""

from __future__ import annotations

from typing import Any

from azure.core import PipelineClient
from azure.core.credentials import TokenCredential
from azure.core.pipeline.policies import BearerTokenCredentialPolicy
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest as SdkRequest
from django.http import HttpRequest, JsonResponse

from msal_django import msal_app
from msal_django.api import require_token
from msal_django.azure import AsyncRequestCredential, OnBehalfOfCredential, RequestCredential

GRAPH_DEFAULT = "https://graph.microsoft.com/.default"


def graph_get(credential: TokenCredential, url: str) -> Any:
    """GET ``url`` through azure-core's pipeline, authorised by ``credential``: the
    policy asks it for tokens and answers a CAE challenge with its ``claims``."""
    session = msal_app.http_client().session  # trusts the local provider's CA
    transport = RequestsTransport(
        session=session, session_owner=False, connection_verify=session.verify
    )
    policy = BearerTokenCredentialPolicy(credential, GRAPH_DEFAULT, enable_cae=True)
    client: PipelineClient[Any, Any] = PipelineClient(
        base_url=url, policies=[policy], transport=transport
    )
    with client:
        return client.send_request(SdkRequest("GET", url))


def me(request: HttpRequest) -> JsonResponse:
    answer = graph_get(RequestCredential(request), request.GET["api"])
    return JsonResponse({"status": answer.status_code, "graph": answer.json()})


@require_token(scopes=["access_as_user"])
def on_behalf_of_me(request: HttpRequest) -> JsonResponse:
    answer = graph_get(OnBehalfOfCredential(request), request.GET["api"])
    return JsonResponse({"status": answer.status_code, "graph": answer.json()})


async def token_info(request: HttpRequest) -> JsonResponse:
    async with AsyncRequestCredential(request) as credential:
        info = await credential.get_token_info("User.Read")
    return JsonResponse({"expires_on": info.expires_on, "length": len(info.token)})
