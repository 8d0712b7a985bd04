"""Bending the package the Django way: view subclasses routed under msal-django's URL
names (each changes what its hook says, nothing else), the ``signed_in`` signal, a
store of the project's own named in ``TOKEN_CACHE``, and the store conformance suite run
on every store msal-django ships and on that one."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

import msal_django
from msal_django.checks import check_settings
from msal_django.models import CachedAccount
from msal_django.signals import signed_in
from msal_django.stores import DatabaseStore, RedisStore, get_store
from msal_django.testing.store_conformance import StoreConformance

from . import custom_store
from .conftest import CLIENT_ID

extending = pytest.mark.urls("tests.extending_urls")


@pytest.fixture
def signals():
    """Every ``signed_in`` sent during the test, as its keyword arguments."""
    sent: list[dict] = []

    def receiver(sender, **kwargs):
        sent.append({"sender": sender, **kwargs})

    signed_in.connect(receiver)
    yield sent
    signed_in.disconnect(receiver)


def _query(response) -> dict[str, list[str]]:
    return parse_qs(urlsplit(response["Location"]).query)


# -- the views' hooks ---------------------------------------------------------------------


@extending
@pytest.mark.django_db
def test_a_login_subclass_changes_the_scopes_and_parameters_only(idp):
    response = Client().get("/auth/login/", {"next": "/reports/"})
    query = _query(response)
    assert set(query["scope"][0].split()) == {
        "User.Read", "Calendars.Read", "offline_access", "openid", "profile"
    }  # fmt: skip
    assert query["domain_hint"] == ["example.com"]
    # What it did not override is as before: PKCE, state, nonce, the callback URL.
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == ["http://testserver/auth/callback/"]


@extending
@pytest.mark.django_db
def test_a_callback_subclass_changes_the_destination_and_the_failure_page(idp, sign_in):
    client = Client()
    response = sign_in(client, "alice", next="/reports/")
    assert response["Location"] == "/welcome/"
    assert client.get("/").content == b"home:alice@example.com"
    refused = Client().get("/auth/callback/", {"state": "never-started", "code": "x"})
    assert refused.status_code == 400
    assert refused.content == b"our page: This sign-in link is not valid"


@extending
@pytest.mark.django_db
def test_a_logout_subclass_changes_the_destination_only(idp, sign_in):
    client = Client()
    sign_in(client, "alice")
    assert client.get("/auth/logout/").status_code == 200
    response = client.post("/auth/logout/")
    assert response["Location"].startswith(idp.end_session_endpoint)
    query = _query(response)
    assert query["post_logout_redirect_uri"] == ["http://testserver/goodbye/"]
    assert query["client_id"] == [CLIENT_ID]
    assert CachedAccount.objects.count() == 0  # the tokens went, as with the stock view


def test_the_stock_views_are_the_classes():
    from msal_django import views

    assert views.login.view_class is views.LoginView
    assert views.callback.view_class is views.CallbackView
    assert views.logout.view_class is views.LogoutView


# -- the signed_in signal -----------------------------------------------------------------


@pytest.mark.django_db
def test_signed_in_is_sent_after_the_tokens_are_stored(idp, sign_in, signals):
    seen_stored = []
    signed_in.connect(
        lambda sender, home_account_id, **kw: seen_stored.append(
            get_store().load(home_account_id).exists
        ),
        weak=False,
        dispatch_uid="stored-check",
    )
    try:
        client = Client()
        assert sign_in(client, "alice").status_code == 302
    finally:
        signed_in.disconnect(dispatch_uid="stored-check")
    [sent] = signals
    alice = idp.users["alice"]
    assert sent["sender"] is msal_django.views.CallbackView
    assert sent["user"].get_username() == "alice@example.com"
    assert sent["home_account_id"] == f"{alice.oid}.{alice.tid}"
    assert sent["claims"]["oid"] == alice.oid
    assert sent["request"].user == sent["user"]
    assert seen_stored == [True]


@pytest.mark.django_db
def test_a_signed_in_receiver_that_raises_is_logged_and_the_sign_in_stands(idp, sign_in, caplog):
    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    signed_in.connect(broken)
    try:
        client = Client()
        with caplog.at_level(logging.ERROR, "msal_django"):
            assert sign_in(client, "alice").status_code == 302
    finally:
        signed_in.disconnect(broken)
    assert "signed_in receiver" in caplog.text
    assert client.get("/").content == b"home:alice@example.com"


# -- a store of the project's own ---------------------------------------------------------

MEMORY_STORE = "tests.custom_store.MemoryStore"


@pytest.mark.django_db(transaction=True)
def test_a_custom_store_signs_in_serves_tokens_and_signs_out(idp, settings, sign_in):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "TOKEN_CACHE": MEMORY_STORE}
    assert check_settings() == []
    client = Client()
    sign_in(client, "alice")
    assert isinstance(get_store(), custom_store.MemoryStore)
    assert len(custom_store._partitions) == 1
    assert client.get("/token/").status_code == 200
    assert idp.count("token") == 1  # served from the custom store
    client.post("/auth/logout/")
    assert custom_store._partitions == {}


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (MEMORY_STORE, True),
        ("msal_django.stores.DatabaseStore", True),
        ("tests.custom_store.no_such_store", False),
        ("tests.custom_store.time", False),  # importable, not a TokenStore
        ("memory", False),
    ],
)
def test_token_cache_names_a_token_store_subclass(settings, value, ok):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "TOKEN_CACHE": value}
    ids = [m.id for m in check_settings()]
    assert ("msal_django.E008" not in ids) is ok


def test_the_shipped_stores_are_importable_to_subclass():
    assert issubclass(RedisStore, msal_django.stores.TokenStore)
    assert DatabaseStore().name == "database"


# -- the conformance suite ---------------------------------------------------------------


class TestEveryShippedStoreConforms(StoreConformance):
    """The database store and the Redis store (one server, sharded, Sentinel, Cluster)."""

    @pytest.fixture
    def store(self, any_store):
        return get_store()


class TestTheCustomStoreConforms(StoreConformance):
    @pytest.fixture
    def store(self, settings):
        settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "TOKEN_CACHE": MEMORY_STORE}
        yield get_store()
        custom_store._partitions.clear()
