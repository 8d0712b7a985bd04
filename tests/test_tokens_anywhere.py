"""Tokens wherever the code runs: any session of the user, jobs, async views, a page's
fetch(); reads always from the primary; and never after a logout on any channel."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import AsyncClient, Client
from django.test.utils import CaptureQueriesContext

import msal_django
from msal_django.constants import SESSION_LEARNED_ACCOUNT_KEY, SESSION_SID_KEY
from msal_django.models import CachedAccount
from msal_django.stores import get_store
from tests.conftest import CLIENT_ID

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("idp")]

FETCH = {"HTTP_SEC_FETCH_MODE": "cors", "HTTP_ACCEPT": "*/*"}


def me(idp, token: str) -> str:
    """The object id the Graph-like API sees in ``token``."""
    response = idp.http_client().get(idp.api_url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    return str(response.json()["id"])


def alice(idp):
    return CachedAccount.objects.get(username__startswith="alice")


def password_session(user) -> Client:
    """A second device of the same user, signed in without msal-django."""
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_a_session_signed_in_another_way_gets_the_users_token(store_backend, idp, alice_client):
    account = alice(idp)
    other = password_session(account.user)
    response = other.get("/token/")
    assert response.status_code == 200
    assert me(idp, response.json()["access_token"]) == idp.users["alice"].oid


def test_the_session_learns_its_account_and_asks_the_index_no_more(
    store_backend, idp, alice_client, settings
):
    # Every hit reads here (on PostgreSQL and Redis a watched hit would read nothing).
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "SERVE_FROM_MEMORY": False}
    other = password_session(alice(idp).user)
    assert other.get("/token/").status_code == 200
    assert other.session[SESSION_LEARNED_ACCOUNT_KEY] == alice(idp).home_account_id
    with CaptureQueriesContext(connections["default"]) as queries:
        assert other.get("/token/").status_code == 200
    token_queries = [q["sql"] for q in queries if "msal_django_cachedaccount" in q["sql"]]
    # The database store reads the partition itself (one row); Redis needs no query.
    assert len(token_queries) == (1 if store_backend == "database" else 0)
    assert "ORDER BY" not in " ".join(token_queries)


def test_a_job_gets_the_token_with_get_token_for_user(store_backend, idp, alice_client):
    user = alice(idp).user
    token = msal_django.get_token_for_user(user, ["User.Read"])
    assert me(idp, token) == idp.users["alice"].oid
    before = idp.count()
    assert msal_django.get_token_for_user(user, ["User.Read"]) == token
    assert idp.count() == before  # a cache hit: no call to the provider


def test_a_user_with_two_accounts_gets_the_newest_or_the_one_named(store_backend, idp, sign_in):
    sign_in(Client(), "alice")
    sign_in(Client(), "bob")
    store = get_store()
    alice_account, bob_account = alice(idp), CachedAccount.objects.get(username__startswith="bob")
    # One person, two accounts: bob's partition linked to alice's user, written last.
    bob_state = store.load(bob_account.home_account_id).state
    store.replace(bob_account.home_account_id, bob_state, alice_account.user, _info("b"))
    user = alice_account.user
    newest = msal_django.get_token_for_user(user, ["User.Read"])
    assert me(idp, newest) == idp.users["bob"].oid
    named = msal_django.get_token_for_user(
        user, ["User.Read"], home_account_id=alice_account.home_account_id
    )
    assert me(idp, named) == idp.users["alice"].oid


def _info(username: str):
    from msal_django.stores import AccountInfo

    return AccountInfo(username=username)


def test_an_msal_session_keeps_its_own_account_not_the_newest(store_backend, idp, sign_in):
    alice_client = Client()
    sign_in(alice_client, "alice")
    sign_in(Client(), "bob")
    store = get_store()
    bob_account = CachedAccount.objects.get(username__startswith="bob")
    bob_state = store.load(bob_account.home_account_id).state
    store.replace(bob_account.home_account_id, bob_state, alice(idp).user, _info("b"))
    token = alice_client.get("/token/").json()["access_token"]
    assert me(idp, token) == idp.users["alice"].oid


def test_another_users_account_is_never_served(store_backend, idp, sign_in):
    sign_in(Client(), "alice")
    sign_in(Client(), "bob")
    bob_account = CachedAccount.objects.get(username__startswith="bob")
    with pytest.raises(msal_django.InteractionRequired):
        msal_django.get_token_for_user(
            alice(idp).user, ["User.Read"], home_account_id=bob_account.home_account_id
        )


def test_a_session_whose_learned_account_is_gone_looks_again(store_backend, idp, sign_in):
    sign_in(Client(), "alice")
    user = alice(idp).user
    other = password_session(user)
    assert other.get("/token/").status_code == 200
    first = alice(idp).home_account_id
    msal_django.signout.removal.remove_account(first, user=user, reason="admin")
    assert other.get("/token/").status_code == 302  # nothing left: sign in
    assert SESSION_LEARNED_ACCOUNT_KEY not in other.session
    sign_in(Client(), "alice")  # a new sign-in elsewhere
    assert other.get("/token/").status_code == 200


@pytest.mark.parametrize("who", ["anonymous", "no_account", "inactive"])
def test_who_has_no_usable_tokens_is_asked_to_sign_in(store_backend, idp, alice_client, who):
    user_model = get_user_model()
    if who == "anonymous":
        client = Client()
    elif who == "no_account":
        client = password_session(user_model.objects.create_user("carol"))
    else:
        user = alice(idp).user
        client = password_session(user)
        user_model.objects.filter(pk=user.pk).update(is_active=False)
    response = client.get("/token/")
    assert response.status_code == 302
    assert response["Location"].startswith("/auth/login/?")
    fetched = client.get("/token/", **FETCH)
    assert fetched.status_code == 401


def test_get_token_for_user_refuses_inactive_and_unknown_users(store_backend, idp, alice_client):
    user = alice(idp).user
    user.is_active = False
    with pytest.raises(msal_django.InteractionRequired) as raised:
        msal_django.get_token_for_user(user, ["User.Read"])
    assert raised.value.error == "inactive_user"
    carol = get_user_model().objects.create_user("carol")
    with pytest.raises(msal_django.InteractionRequired) as raised:
        msal_django.get_token_for_user(carol, ["User.Read"])
    assert raised.value.error == "no_cached_tokens"


def test_scopes_given_as_one_string_are_refused(alice_client, idp):
    with pytest.raises(TypeError, match="list of scopes"):
        msal_django.get_token_for_user(alice(idp).user, "User.Read")


# -- after a logout on any channel, neither another session nor a job gets anything


def _local_logout(idp, client: Client) -> None:
    assert client.post("/auth/logout/").status_code == 302


def _backchannel_logout(idp, client: Client) -> None:
    token = idp.logout_token(CLIENT_ID, "alice", client.session[SESSION_SID_KEY])
    response = Client().post(
        "/auth/logout/backchannel/",
        urlencode({"logout_token": token}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200


def _frontchannel_logout(idp, client: Client) -> None:
    sid = client.session[SESSION_SID_KEY]
    response = Client().get("/auth/logout/frontchannel/", {"iss": idp.issuer, "sid": sid})
    assert response.status_code == 200


@pytest.mark.parametrize("logout", [_local_logout, _backchannel_logout, _frontchannel_logout])
def test_after_logout_no_session_or_job_gets_a_token(store_backend, idp, alice_client, logout):
    user = alice(idp).user
    other = password_session(user)
    assert other.get("/token/").status_code == 200  # learned, and a token cached
    logout(idp, alice_client)
    assert other.get("/token/").status_code == 302
    assert other.get("/token/", **FETCH).status_code == 401
    with pytest.raises(msal_django.InteractionRequired):
        msal_django.get_token_for_user(user, ["User.Read"])
    assert not CachedAccount.objects.exists()


# -- async views and tasks


def test_an_async_view_gets_the_token_through_the_asgi_handler(store_backend, idp, alice_client):
    client = AsyncClient()
    client.cookies = alice_client.cookies  # the same browser
    response = async_to_sync(client.get)("/atoken/")
    assert response.status_code == 200
    assert me(idp, response.json()["access_token"]) == idp.users["alice"].oid


def test_an_async_view_of_a_password_session_gets_the_token(store_backend, idp, alice_client):
    client = AsyncClient()
    client.cookies = password_session(alice(idp).user).cookies
    response = async_to_sync(client.get)("/atoken/")
    assert response.status_code == 200
    anonymous = async_to_sync(AsyncClient().get)("/atoken/", headers={"Sec-Fetch-Mode": "cors"})
    assert anonymous.status_code == 401


def test_async_tasks_for_several_users_at_once(store_backend, idp, sign_in):
    for name in ("alice", "bob"):
        sign_in(Client(), name)
    users = [a.user for a in CachedAccount.objects.order_by("username")]

    async def many():
        calls = [msal_django.aget_token_for_user(u, ["User.Read"]) for u in users * 4]
        return await asyncio.gather(*calls)

    tokens = async_to_sync(many)()
    assert [me(idp, t) for t in tokens[:2]] == [idp.users["alice"].oid, idp.users["bob"].oid]
    assert tokens[2:] == tokens[:2] * 3


# -- a request that is not a navigation gets 401 JSON it can act on


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_SEC_FETCH_MODE": "cors"},
        {"HTTP_SEC_FETCH_MODE": "same-origin", "HTTP_ACCEPT": "text/html"},
        {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"},
        {"HTTP_ACCEPT": "application/json"},
    ],
)
def test_a_fetch_gets_401_json_with_the_login_url(idp, alice_client, headers):
    response = alice_client.get(
        "/token/", {"scopes": "Files.Read"}, HTTP_REFERER="http://testserver/page/?a=1", **headers
    )
    assert response.status_code == 401
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["error"] == "interaction_required"
    assert body["scopes"] == ["Files.Read"]
    assert body["login_url"].startswith("/auth/login/?")
    assert "next=%2Fpage%2F%3Fa%3D1" in body["login_url"]
    assert "scopes=Files.Read" in body["login_url"]


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_SEC_FETCH_MODE": "navigate", "HTTP_ACCEPT": "application/json"},
        {"HTTP_ACCEPT": "text/html,application/xhtml+xml,*/*;q=0.8"},
        {},
    ],
)
def test_a_navigation_is_redirected(idp, alice_client, headers):
    response = alice_client.get("/token/", {"scopes": "Files.Read"}, **headers)
    assert response.status_code == 302
    assert "next=%2Ftoken%2F%3Fscopes%3DFiles.Read" in response["Location"]


def test_a_fetch_from_another_site_is_sent_home_not_there(idp, alice_client):
    response = alice_client.get(
        "/token/", {"scopes": "Files.Read"}, HTTP_REFERER="https://evil.example/x", **FETCH
    )
    assert "next=%2F&" in response.json()["login_url"]


# -- reads go to the primary, whatever the router says


REPLICA = pytest.mark.django_db(databases=["default", "replica"])


@pytest.fixture
def lagging_replica(settings):
    settings.DATABASE_ROUTERS = ["tests.routers.LaggingReplicaRouter"]


@REPLICA
def test_sign_in_is_seen_at_once_although_the_replica_lags(
    store_backend, idp, sign_in, lagging_replica
):
    client = Client()
    assert sign_in(client, "alice").status_code == 302
    assert not CachedAccount.objects.using("replica").exists()  # the replica lags
    assert client.get("/token/").status_code == 200  # no sign-in loop
    user = CachedAccount.objects.using("default").get().user
    assert password_session(user).get("/token/").status_code == 200
    assert msal_django.get_token_for_user(user, ["User.Read"])


@REPLICA
def test_tokens_a_logout_removed_are_not_read_from_the_replica(
    store_backend, idp, sign_in, lagging_replica
):
    client = Client()
    sign_in(client, "alice")
    account = CachedAccount.objects.using("default").get()
    user = account.user
    get_user_model().objects.using("replica").create(pk=user.pk, username=user.username)
    account.save(using="replica", force_insert=True)  # the replica holds the row...
    _local_logout(idp, client)  # ...after the primary has removed it
    assert CachedAccount.objects.using("replica").exists()
    assert not CachedAccount.objects.using("default").exists()
    with pytest.raises(msal_django.InteractionRequired):
        msal_django.get_token_for_user(user, ["User.Read"])
    with pytest.raises(msal_django.InteractionRequired):
        msal_django.get_token_for_user(user, ["User.Read"], home_account_id=account.home_account_id)
    assert password_session(user).get("/token/").status_code == 302
