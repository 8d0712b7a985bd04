"""The provider's Graph-like API answers Microsoft's own clients as Graph does: the Graph
SDK for Python (``GraphServiceClient``, kiota, async) through
``msal_django.testing.graph_sdk``, and azure-core's ``BearerTokenCredentialPolicy`` (sync
and async pipelines), both over HTTPS, offline. Also its wire format, read plainly."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import jwt
import msal
import pytest
from azure.core import AsyncPipelineClient, PipelineClient
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.pipeline.policies import (
    AsyncBearerTokenCredentialPolicy,
    BearerTokenCredentialPolicy,
)
from azure.core.pipeline.transport import AioHttpTransport, RequestsTransport
from azure.core.rest import HttpRequest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder

from msal_django.testing.graph_sdk import graph_http_client, graph_service_client

from .conftest import CLIENT_ID, CLIENT_SECRET

GRAPH = "https://graph.microsoft.com"
GRAPH_DEFAULT = f"{GRAPH}/.default"


class ProviderCredential:
    """A stand-in azure-core ``TokenCredential`` handing out tokens the local provider
    mints. A stand-in: the package's own azure-core credentials (``msal_django.azure``)
    are tested elsewhere; here it records what the SDKs ask of a credential.

    ``token``: the token to hand out, given the claims asked for; tokens asked for with
    ``enable_cae`` are CAE-capable (``xms_cc`` ``cp1``) and, without claims and with
    ``age``, issued that many seconds ago, as a token cached since then would be."""

    def __init__(self, idp, token=None, *, age: int = 0) -> None:
        self.idp = idp
        self.token = token or (lambda claims: user_token(idp, "alice", ["User.Read"]))
        self.age = age
        self.calls: list[dict[str, Any]] = []

    def _issue(self, method: str, scopes, claims, enable_cae) -> str:
        self.calls.append({"method": method, "scopes": scopes, "claims": claims})
        decoded = jwt.decode(self.token(claims), options={"verify_signature": False})
        if enable_cae:
            decoded["xms_cc"] = ["cp1"]
        if claims is None:
            decoded["iat"] = decoded["nbf"] = decoded["iat"] - self.age
        return self.idp.sign_jwt(decoded, typ="JWT")

    def get_token(self, *scopes, claims=None, tenant_id=None, enable_cae=False, **kwargs):
        token = self._issue("get_token", scopes, claims, enable_cae)
        return AccessToken(token, int(time.time()) + 3600)


class ProviderTokenInfoCredential(ProviderCredential):
    """The same with ``get_token_info`` (``SupportsTokenInfo``), which azure-core prefers."""

    def get_token_info(self, *scopes, options=None):
        options = options or {}
        claims, cae = options.get("claims"), options.get("enable_cae", False)
        token = self._issue("get_token_info", scopes, claims, cae)
        return AccessTokenInfo(token, int(time.time()) + 3600)


class AsyncProviderCredential(ProviderTokenInfoCredential):
    """The same as an ``AsyncTokenCredential``."""

    async def get_token(self, *scopes, **kwargs):
        return ProviderCredential.get_token(self, *scopes, **kwargs)

    async def get_token_info(self, *scopes, options=None):
        return ProviderTokenInfoCredential.get_token_info(self, *scopes, options=options)

    async def close(self) -> None:
        pass


def user_token(idp, username, scopes):
    return idp.access_token_for(username, CLIENT_ID, scopes)


def app_token(idp, roles=("User.Read.All",)):
    """A client credentials token for Graph, through MSAL, as a daemon gets it."""
    idp.grant_app_roles(CLIENT_ID, GRAPH, roles)
    app = msal.ConfidentialClientApplication(
        CLIENT_ID,
        CLIENT_SECRET,
        authority=idp.authority,
        instance_discovery=False,
        http_client=idp.http_client(),
    )
    return app.acquire_token_for_client([GRAPH_DEFAULT])["access_token"]


def run_graph(idp, credential, call):
    """``call(graph)`` on a ``GraphServiceClient`` pointed at the provider."""

    async def main():
        async with graph_http_client(idp) as http:
            return await call(graph_service_client(idp, credential, http_client=http))

    return asyncio.run(main())


def select(*names):
    query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(select=list(names))
    return RequestConfiguration(query_parameters=query)


# -- GraphServiceClient


def test_graph_sdk_reads_me(idp):
    credential = ProviderCredential(idp)
    me = run_graph(idp, credential, lambda graph: graph.me.get())
    assert me.display_name == idp.users["alice"].name
    assert me.id == idp.users["alice"].oid
    assert me.user_principal_name == idp.users["alice"].preferred_username
    assert [r.path for r in idp.requests] == ["/v1.0/me"]  # me-token-to-replace replaced
    assert credential.calls == [{"method": "get_token", "scopes": (GRAPH_DEFAULT,), "claims": None}]


def test_graph_sdk_select_returns_only_the_selected_properties(idp):
    credential = ProviderCredential(idp)
    me = run_graph(idp, credential, lambda graph: graph.me.get(select("displayName", "id")))
    assert (me.display_name, me.id) == (idp.users["alice"].name, idp.users["alice"].oid)
    assert me.mail is None
    assert me.user_principal_name is None
    assert me.additional_data == {
        "@odata.context": f"{idp.base_url}/v1.0/$metadata#users(displayName,id)/$entity"
    }


def test_graph_sdk_reads_a_user_by_id_or_upn_with_an_app_token(idp):
    # A name no other test uses: the provider (one per worker) keeps its users.
    carol = idp.add_user("carol-builder", name="Carol Builder")
    credential = ProviderCredential(idp, lambda claims: app_token(idp))
    by_id = run_graph(idp, credential, lambda graph: graph.users.by_user_id(carol.oid).get())
    by_upn = run_graph(
        idp, credential, lambda graph: graph.users.by_user_id(carol.preferred_username).get()
    )
    assert by_id.display_name == by_upn.display_name == "Carol Builder"
    assert by_upn.id == carol.oid


def test_graph_sdk_raises_odata_errors_with_graphs_codes(idp):
    idp.add_user("bob")
    delegated = ProviderCredential(idp)  # User.Read: alice herself only
    app = ProviderCredential(idp, lambda claims: app_token(idp))
    with pytest.raises(ODataError) as denied:
        run_graph(idp, delegated, lambda graph: graph.users.by_user_id("bob@example.com").get())
    with pytest.raises(ODataError) as missing:
        run_graph(idp, app, lambda graph: graph.users.by_user_id("nobody@example.com").get())
    assert (denied.value.response_status_code, denied.value.error.code) == (
        403,
        "Authorization_RequestDenied",
    )
    assert (missing.value.response_status_code, missing.value.error.code) == (
        404,
        "Request_ResourceNotFound",
    )
    assert missing.value.error.inner_error.request_id


def test_graph_sdk_retries_a_cae_challenge_with_its_claims(idp):
    credential = ProviderCredential(idp, age=60)
    idp.revoke_sessions("alice")  # after the credential's (backdated) first token
    me = run_graph(idp, credential, lambda graph: graph.me.get())
    assert me.display_name == idp.users["alice"].name
    first, retry = credential.calls
    assert first["claims"] is None
    claims = json.loads(retry["claims"])  # kiota decodes the challenge's base64
    assert claims["access_token"]["nbf"]["essential"] is True
    assert idp.count("api") == 2


def test_graph_sdk_gives_up_when_the_claims_do_not_help(idp):
    # A token that is still old after the retry: one retry, then Graph's 401 as an error.
    credential = ProviderCredential(idp, lambda claims: stale(idp))
    idp.revoke_sessions("alice")
    with pytest.raises(ODataError) as error:
        run_graph(idp, credential, lambda graph: graph.me.get())
    assert error.value.error.code == "InvalidAuthenticationToken"
    assert len(credential.calls) == 2


def stale(idp):
    claims = jwt.decode(
        user_token(idp, "alice", ["User.Read"]), options={"verify_signature": False}
    )
    return idp.sign_jwt({**claims, "iat": claims["iat"] - 60}, typ="JWT")


# -- azure-core pipelines


@pytest.mark.parametrize("token_info", [True, False], ids=["get_token_info", "get_token"])
def test_azure_core_policy_answers_a_cae_challenge_with_claims(idp, token_info):
    kind = ProviderTokenInfoCredential if token_info else ProviderCredential
    credential = kind(idp, age=60)
    policy = BearerTokenCredentialPolicy(credential, GRAPH_DEFAULT, enable_cae=True)
    transport = RequestsTransport(session=idp.http_client(), connection_verify=idp.ca_file)
    idp.revoke_sessions("alice")
    with PipelineClient(idp.base_url, policies=[policy], transport=transport) as client:
        response = client.send_request(HttpRequest("GET", idp.api_url))
    assert response.status_code == 200
    assert response.json()["displayName"] == idp.users["alice"].name
    method = "get_token_info" if token_info else "get_token"
    assert [call["method"] for call in credential.calls] == [method, method]
    assert json.loads(credential.calls[1]["claims"])["access_token"]["nbf"]["essential"]


def test_async_azure_core_policy_answers_a_cae_challenge_with_claims(idp):
    credential = AsyncProviderCredential(idp, age=60)
    policy = AsyncBearerTokenCredentialPolicy(credential, GRAPH_DEFAULT, enable_cae=True)
    idp.revoke_sessions("alice")

    async def main():
        transport = AioHttpTransport(connection_verify=idp.ca_file)
        async with AsyncPipelineClient(
            idp.base_url, policies=[policy], transport=transport
        ) as client:
            response = await client.send_request(HttpRequest("GET", idp.api_url))
            await response.read()
            return response

    response = asyncio.run(main())
    assert response.status_code == 200
    assert response.json()["id"] == idp.users["alice"].oid
    assert [call["claims"] is None for call in credential.calls] == [True, False]


# -- the wire format, read plainly


def get(idp, path, token=None, **headers):
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return idp.http_client().get(f"{idp.base_url}/v1.0{path}", headers=headers)


def test_select_answers_the_listed_properties_and_context_only(idp):
    answer = get(idp, "/me?$select=id,DisplayName", user_token(idp, "alice", ["User.Read"]))
    assert answer.json() == {
        "@odata.context": f"{idp.base_url}/v1.0/$metadata#users(id,displayName)/$entity",
        "id": idp.users["alice"].oid,
        "displayName": idp.users["alice"].name,
    }


def test_graph_errors_are_odata_error_bodies(idp):
    token = user_token(idp, "alice", ["User.Read"])
    unknown = get(idp, "/me?$select=shoeSize", token, **{"client-request-id": "abc"})
    empty = get(idp, "/me")
    assert unknown.status_code == 400
    error = unknown.json()["error"]
    assert error["code"] == "BadRequest"
    assert (
        error["message"]
        == "Could not find a property named 'shoeSize' on type 'microsoft.graph.user'."
    )
    assert error["innerError"]["client-request-id"] == unknown.headers["client-request-id"] == "abc"
    assert error["innerError"]["request-id"] == unknown.headers["request-id"]
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    assert empty.status_code == 401
    assert empty.json()["error"]["code"] == "InvalidAuthenticationToken"


@pytest.mark.parametrize(
    ("scopes", "whom", "status"),
    [
        (["User.Read"], "alice", 200),
        (["User.Read"], "bob", 403),
        (["User.ReadBasic.All"], "bob", 200),
        (["User.ReadBasic.All"], "nobody", 404),
    ],
)
def test_delegated_user_reads_need_user_read_or_read_basic_all(idp, scopes, whom, status):
    idp.add_user("bob")
    target = idp.users[whom].oid if whom in idp.users else "nobody@example.com"
    assert get(idp, f"/users/{target}", user_token(idp, "alice", scopes)).status_code == status


def test_app_user_reads_need_a_user_read_all_role(idp):
    denied = get(idp, "/users/alice@example.com", app_token(idp, roles=["Mail.Read"]))
    allowed = get(idp, "/users/alice@example.com", app_token(idp))
    me = get(idp, "/me", app_token(idp))
    assert denied.json()["error"]["code"] == "Authorization_RequestDenied"
    assert allowed.json()["displayName"] == idp.users["alice"].name
    assert me.status_code == 400  # /me: delegated tokens only


def test_the_helper_says_what_to_install_without_msgraph(idp, monkeypatch):
    module = "kiota_authentication_azure.azure_identity_authentication_provider"
    monkeypatch.setitem(sys.modules, module, None)  # what an import without it meets
    with pytest.raises(ModuleNotFoundError, match="pip install msgraph-sdk"):
        graph_service_client(idp, ProviderCredential(idp))
