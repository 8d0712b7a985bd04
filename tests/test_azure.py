"""``msal_django.azure``'s credentials through azure-core's real pipeline
(``BearerTokenCredentialPolicy``) and ``msal_django.http``'s auth through real
``requests`` and ``httpx``, against the local provider's Graph-like API over HTTPS: the
token's real expiry, cache hits, a logout, and Continuous Access Evaluation challenges
answered with claims or ending in ``InteractionRequired``."""

from __future__ import annotations

import importlib
import io
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import jwt
import pytest
import requests
from asgiref.sync import async_to_sync, sync_to_async
from azure.core.exceptions import ClientAuthenticationError
from django.contrib.auth import get_user_model
from django.test import Client

from msal_django import InteractionRequired, msal_app
from msal_django.azure import (
    AppCredential,
    AsyncAppCredential,
    AsyncUserCredential,
    UserCredential,
)
from msal_django.http import HttpxTokenAuth, TokenAuth
from msal_django.models import CachedAccount
from msal_django.signout.removal import remove_account

from .azure_views import graph_get
from .conftest import CLIENT_ID, SPA_ID

GRAPH = "https://graph.microsoft.com/.default"


def exp_of(token: str) -> int:
    return int(jwt.decode(token, options={"verify_signature": False})["exp"])


def assert_expiry(expires_on: int, token: str) -> None:
    """The token's own ``exp``, or a few seconds before it (MSAL counts whole seconds):
    never later, so an SDK never sends a token past its expiry."""
    assert exp_of(token) - 3 <= expires_on <= exp_of(token)


@pytest.fixture
def alice(db, sign_in):
    """alice signed in through the real views; her Django user."""
    client = Client()
    assert sign_in(client, "alice").status_code == 302
    user = get_user_model().objects.get()
    user.client = client
    return user


@pytest.fixture
def cp1(settings):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "CLIENT_CAPABILITIES": ["cp1"]}


def an_event_at_the_provider(idp, username="alice"):
    """An admin switches the account off and on again: the API now challenges the cp1
    tokens issued before (CAE), while the refresh token still works."""
    idp.disable_user(username)
    idp.enable_user(username)


# -- azure-core credentials -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_pipeline_calls_graph_with_the_users_token_and_its_real_expiry(
    idp, store_backend, alice
):
    credential = UserCredential(alice)
    answer = graph_get(credential, idp.api_url)
    assert answer.status_code == 200
    assert answer.json()["displayName"] == "Alice Example"
    issued = idp.count("token")  # the sign-in's, and the pipeline's .default token
    assert graph_get(credential, idp.api_url).status_code == 200
    info = credential.get_token_info("User.Read")
    assert_expiry(info.expires_on, info.token)
    assert credential.get_token("User.Read").expires_on == info.expires_on
    assert "********" in repr(info)
    assert info.token not in repr(info)
    # Served from the cache: nothing more from the provider.
    assert idp.count("token") == issued


@pytest.mark.django_db(transaction=True)
def test_after_a_logout_the_credential_raises_interaction_required(idp, store_backend, alice):
    credential = UserCredential(alice)
    assert graph_get(credential, idp.api_url).status_code == 200
    remove_account(CachedAccount.objects.get().home_account_id, reason="test")
    with pytest.raises(InteractionRequired):
        credential.get_token("User.Read")
    with pytest.raises(InteractionRequired):
        graph_get(credential, idp.api_url)


@pytest.mark.django_db(transaction=True)
def test_a_cae_challenge_is_answered_with_its_claims(idp, store_backend, cp1, sign_in):
    client = Client()
    sign_in(client, "alice")
    user = get_user_model().objects.get()
    credential = UserCredential(user)
    assert graph_get(credential, idp.api_url).status_code == 200  # a .default token
    refreshed = idp.count("token", grant_type="refresh_token")
    an_event_at_the_provider(idp)
    answer = graph_get(credential, idp.api_url)
    assert answer.status_code == 200
    # The policy asked again with the claims: MSAL redeemed the refresh token with them.
    assert idp.count("token", grant_type="refresh_token") == refreshed + 1


@pytest.mark.django_db(transaction=True)
def test_a_cae_challenge_the_provider_refuses_ends_in_interaction_required(
    idp, cp1, sign_in, removed
):
    client = Client()
    sign_in(client, "alice")
    credential = UserCredential(get_user_model().objects.get())
    assert graph_get(credential, idp.api_url).status_code == 200
    idp.disable_user("alice")
    with pytest.raises(InteractionRequired) as refused:
        graph_get(credential, idp.api_url)
    assert '"nbf"' in (refused.value.claims_challenge or "")
    assert [r["reason"] for r in removed] == ["provider_refused"]


@pytest.mark.django_db(transaction=True)
def test_the_request_credential_in_a_view_and_its_async_twin(idp, alice):
    answer = alice.client.get("/azure/me/", {"api": idp.api_url})
    assert answer.json()["graph"]["displayName"] == "Alice Example"
    info = alice.client.get("/azure/token-info/").json()
    assert info["expires_on"] > time.time() + 60
    remove_account(CachedAccount.objects.get().home_account_id, reason="test")
    # Signed out everywhere: the middleware sends the next page to sign in.
    assert alice.client.get("/azure/me/", {"api": idp.api_url}).status_code == 302


@pytest.mark.usefixtures("api_clients")
@pytest.mark.django_db(transaction=True)
def test_the_on_behalf_of_credential_calls_graph_as_the_caller(idp):
    idp.consent("alice", CLIENT_ID, ["User.Read"])
    token = idp.access_token_for("alice", SPA_ID, [f"api://{CLIENT_ID}/access_as_user"])
    answer = Client().get(
        "/azure/on-behalf-of/me/", {"api": idp.api_url}, HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert answer.json()["graph"]["displayName"] == "Alice Example"


@pytest.mark.django_db(transaction=True)
def test_the_app_credential_and_a_tenant_check(idp):
    idp.grant_app_roles(CLIENT_ID, "https://graph.microsoft.com", ["User.Read.All"])
    credential = AppCredential()
    info = credential.get_token_info(GRAPH)
    assert_expiry(info.expires_on, info.token)
    assert credential.get_token(GRAPH, tenant_id=idp.tenant_id).token == info.token
    with pytest.raises(ClientAuthenticationError, match="not 00000000-"):
        credential.get_token(GRAPH, tenant_id="00000000-0000-0000-0000-000000000001")
    credential.close()  # kiota closes credentials after each call: still usable
    with credential:
        assert credential.get_token(GRAPH).token == info.token
    assert idp.count("token", grant_type="client_credentials") == 1


@pytest.mark.django_db(transaction=True)
def test_the_async_credentials_never_block_and_follow_a_logout(idp, alice):
    idp.grant_app_roles(CLIENT_ID, "https://graph.microsoft.com", ["User.Read.All"])

    async def scenario() -> None:
        async with AsyncUserCredential(alice) as credential:
            info = await credential.get_token_info("User.Read")
            assert_expiry(info.expires_on, info.token)
            await credential.close()
            assert (await credential.get_token("User.Read")).token == info.token
            home = await CachedAccount.objects.aget()
            await sync_to_async(remove_account)(home.home_account_id, reason="test")
            with pytest.raises(InteractionRequired):
                await credential.get_token("User.Read")
        app = await AsyncAppCredential().get_token(GRAPH)
        assert_expiry(app.expires_on, app.token)

    # async_to_sync: the ORM's thread is this one, so no connection outlives the test.
    async_to_sync(scenario)()


def test_without_azure_core_the_import_names_the_extra(monkeypatch):
    monkeypatch.delitem(sys.modules, "msal_django.azure")
    monkeypatch.setitem(sys.modules, "azure.core.credentials", None)  # not installed
    with pytest.raises(ImportError, match=r"pip install 'msal-django\[azure\]'"):
        importlib.import_module("msal_django.azure")


# -- msal_django.http: requests and httpx ------------------------------------------------


def _session() -> requests.Session:
    return msal_app.http_client().session


@pytest.mark.django_db(transaction=True)
def test_requests_auth_attaches_the_token_and_answers_a_cae_challenge(idp, cp1, sign_in):
    sign_in(Client(), "alice")
    auth = TokenAuth.for_user(get_user_model().objects.get(), ["User.Read"])
    assert _session().get(idp.api_url, auth=auth).json()["displayName"] == "Alice Example"
    an_event_at_the_provider(idp)
    answer = _session().get(idp.api_url, auth=auth)
    assert answer.status_code == 200
    assert [r.status_code for r in answer.history] == [401]
    idp.disable_user("alice")
    with pytest.raises(InteractionRequired) as refused:
        _session().get(idp.api_url, auth=auth)
    assert refused.value.claims_challenge


@pytest.mark.django_db(transaction=True)
def test_requests_auth_returns_any_other_401_as_it_is(idp, alice):
    auth = TokenAuth.for_user(alice, ["User.Read"])
    assert _session().get(f"{idp.base_url}/v1.0/me", auth=auth).status_code == 200
    # Another resource's 401 without a claims challenge: returned, no retry, no raise.
    answer = _session().get(f"{idp.base_url}/v1.0/me", headers={"Authorization": "x"})
    assert answer.status_code == 401
    assert idp.count("token") == 1


@pytest.mark.django_db(transaction=True)
def test_httpx_auth_sync_and_async(idp, cp1, sign_in):
    sign_in(Client(), "alice")
    auth = HttpxTokenAuth.for_user(get_user_model().objects.get(), ["User.Read"])
    with httpx.Client(verify=ssl.create_default_context(cafile=idp.ca_file)) as http:
        assert http.get(idp.api_url, auth=auth).json()["displayName"] == "Alice Example"
        an_event_at_the_provider(idp)
        assert http.get(idp.api_url, auth=auth).status_code == 200
    assert idp.count("token", grant_type="refresh_token") == 1

    async def call() -> int:
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=idp.ca_file)) as http:
            return (await http.get(idp.api_url, auth=auth)).status_code

    assert async_to_sync(call)() == 200
    idp.disable_user("alice")
    with pytest.raises(InteractionRequired):
        async_to_sync(call)()


# -- Microsoft Graph's SDK (GraphServiceClient, async, kiota) -----------------------------


@pytest.mark.django_db(transaction=True)
def test_graph_service_client_with_the_users_credential(idp, store_backend, cp1, sign_in):
    from msal_django.testing.graph_sdk import graph_http_client, graph_service_client

    sign_in(Client(), "alice")
    credential = AsyncUserCredential(get_user_model().objects.get())

    async def me() -> str:
        async with graph_http_client(idp) as http:
            graph = graph_service_client(idp, credential, http_client=http)
            user = await graph.me.get()
            assert user is not None
            return str(user.display_name)

    assert async_to_sync(me)() == "Alice Example"
    assert async_to_sync(me)() == "Alice Example"  # kiota closes nothing we need
    # CAE: the challenge's claims reach the credential; the retry succeeds.
    refreshed = idp.count("token", grant_type="refresh_token")
    an_event_at_the_provider(idp)
    assert async_to_sync(me)() == "Alice Example"
    assert idp.count("token", grant_type="refresh_token") == refreshed + 1
    # Refused: InteractionRequired with the claims, never a stale token.
    idp.disable_user("alice")
    with pytest.raises(InteractionRequired) as refused:
        async_to_sync(me)()
    assert refused.value.claims_challenge
    with pytest.raises(InteractionRequired):
        async_to_sync(me)()


# -- msal_django.http against an API of the test's own (redirects, bodies) --------------

CHALLENGE = (
    'Bearer realm="", error="insufficient_claims", '
    'claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxIn19fQ=="'
)


class _Api(BaseHTTPRequestHandler):
    """Challenges the first request of each path, then answers with what it received."""

    seen: ClassVar[list[tuple[str, str, str | None, bytes]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        auth = self.headers.get("Authorization")
        _Api.seen.append((self.command, self.path, auth, body))
        if self.path == "/redirect":
            self.send_response(302)
            port = self.headers["Host"].rsplit(":", 1)[1]  # the same server, another host name
            self.send_header("Location", f"http://localhost:{port}/elsewhere")
            self.end_headers()
            return
        first = sum(1 for s in _Api.seen if s[1] == self.path) == 1
        self.send_response(401 if first else 200)
        if first:
            self.send_header("WWW-Authenticate", CHALLENGE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def api():
    _Api.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.django_db(transaction=True)
def test_no_claims_token_follows_a_redirect_to_another_host(idp, alice, api):
    auth = TokenAuth.for_user(alice, ["User.Read"])
    answer = requests.get(f"{api}/redirect", auth=auth, timeout=10)
    assert answer.status_code == 401  # the other host's challenge, returned as it is
    [(_, _, first_auth, _), (_, path, other_auth, _)] = _Api.seen
    assert first_auth is not None
    assert (path, other_auth) == ("/elsewhere", None)
    assert idp.count("token") == 1  # no token was fetched for the other host


@pytest.mark.django_db(transaction=True)
def test_a_challenged_post_is_sent_again_with_its_body(idp, alice, api):
    auth = TokenAuth.for_user(alice, ["User.Read"])
    answer = requests.post(f"{api}/orders", data=io.BytesIO(b"order=42"), auth=auth, timeout=10)
    assert answer.status_code == 200
    assert answer.content == b"order=42"
    assert [(s[0], s[3]) for s in _Api.seen] == [("POST", b"order=42")] * 2
    assert _Api.seen[0][2] != _Api.seen[1][2]  # the retry carries the token with the claims
    # A body that cannot be sent again: no retry, the claims go to the sign-in.
    with pytest.raises(InteractionRequired) as refused:
        requests.post(f"{api}/stream", data=iter([b"a", b"b"]), auth=auth, timeout=10)
    assert refused.value.claims_challenge


@pytest.mark.django_db(transaction=True)
def test_httpx_sends_a_challenged_body_again(idp, alice, api):
    auth = HttpxTokenAuth.for_user(alice, ["User.Read"])
    answer = httpx.post(f"{api}/orders", content=b"order=42", auth=auth)
    assert answer.status_code == 200
    assert answer.content == b"order=42"
