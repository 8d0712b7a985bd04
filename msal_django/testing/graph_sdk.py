"""The Microsoft Graph SDK for Python (``msgraph-sdk``) pointed at the local provider's
Graph-like API, over HTTPS trusting the provider's CA, offline.

    credential = ...  # an azure-core TokenCredential or AsyncTokenCredential
    async with graph_http_client(idp) as http:
        graph = graph_service_client(idp, credential, http_client=http)
        me = await graph.me.get()

What it takes, where ``GraphServiceClient(credential)`` would talk to
graph.microsoft.com: an ``httpx.AsyncClient`` that trusts the provider's CA, dressed
with the Graph middleware (``GraphClientFactory``) and the ``UrlReplaceHandlerOption``
that turns the SDK's ``/users/me-token-to-replace`` into ``/me`` (``GraphRequestAdapter``
only adds it to a client it builds itself); the adapter's ``base_url`` the provider's
``/v1.0``; and explicit scopes, as kiota otherwise asks the credential for
``https://<host>/.default`` of the request's host. ``allowed_hosts`` is the provider's
host: the token goes to no other.

msgraph-sdk is imported on first call: ``pip install msgraph-sdk`` (msal-django's
``test`` extra has it).
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx
    from azure.core.credentials import TokenCredential
    from azure.core.credentials_async import AsyncTokenCredential
    from msgraph.graph_service_client import GraphServiceClient

    from .provider import IdentityProvider

GRAPH_SCOPES = ("https://graph.microsoft.com/.default",)
# What msgraph's own GraphRequestAdapter sets up for .me (msgraph/graph_request_adapter.py).
ME_REPLACEMENT = {"/users/me-token-to-replace": "/me"}


def graph_http_client(provider: IdentityProvider, *, timeout: float = 10.0) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` that trusts the provider's CA alone and ignores proxy and
    CA environment variables (as ``provider.http_client()`` does for requests)."""
    try:
        import httpx
    except ModuleNotFoundError as error:
        raise _missing(error) from error
    context = ssl.create_default_context(cafile=provider.ca_file)
    return httpx.AsyncClient(verify=context, trust_env=False, timeout=timeout)


def graph_service_client(
    provider: IdentityProvider,
    credential: TokenCredential | AsyncTokenCredential,
    *,
    scopes: Sequence[str] = GRAPH_SCOPES,
    http_client: httpx.AsyncClient | None = None,
) -> GraphServiceClient:
    """A ``GraphServiceClient`` whose requests go to ``provider``'s ``/v1.0`` with tokens
    from ``credential`` (its ``get_token(*scopes, claims=..., enable_cae=True)``; on a
    CAE challenge, again with the challenge's claims as JSON).

    ``http_client``: one from ``graph_http_client(provider)`` that the caller closes;
    without it one is made, closed by no one until it is collected.
    """
    try:
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider,
        )
        from kiota_http.middleware.options import UrlReplaceHandlerOption
        from msgraph.graph_request_adapter import GraphRequestAdapter
        from msgraph.graph_service_client import GraphServiceClient
        from msgraph_core import GraphClientFactory
    except ModuleNotFoundError as error:
        raise _missing(error) from error

    me = UrlReplaceHandlerOption(enabled=True, replacement_pairs=ME_REPLACEMENT)
    client = GraphClientFactory.create_with_default_middleware(
        client=http_client or graph_http_client(provider),
        options={me.get_key(): me},
    )
    auth = AzureIdentityAuthenticationProvider(
        credential, scopes=list(scopes), allowed_hosts=[provider.host]
    )
    adapter = GraphRequestAdapter(auth, client)
    adapter.base_url = f"{provider.base_url}/v1.0"
    return GraphServiceClient(request_adapter=adapter)


def _missing(error: ModuleNotFoundError) -> ModuleNotFoundError:
    return ModuleNotFoundError(
        f"msal_django.testing.graph_sdk needs {error.name}, which msgraph-sdk installs: "
        'pip install msgraph-sdk (or "msal-django[test]")',
        name=error.name,
    )
