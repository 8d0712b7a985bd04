"""Fixtures: the local identity provider (msal_django.testing), settings, signed-in users."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.test import Client

from msal_django import client as msal_client
from msal_django.signals import account_removed
from msal_django.testing import IdentityProvider

CLIENT_ID = "msal-django-tests"
CLIENT_SECRET = "tests-client-secret-0123456789"
REDIRECT_URI = "http://testserver/auth/callback/"


@pytest.fixture(scope="session")
def registered_idp(identity_provider: IdentityProvider) -> IdentityProvider:
    identity_provider.register_client(
        CLIENT_ID,
        CLIENT_SECRET,
        redirect_uris=[REDIRECT_URI],
        post_logout_redirect_uris=["http://testserver/"],
    )
    return identity_provider


@pytest.fixture(autouse=True)
def msal_config(settings, registered_idp: IdentityProvider) -> Iterator[IdentityProvider]:
    """Every test talks to the real local provider over HTTPS, through real MSAL."""
    registered_idp.reset()
    settings.MSAL_DJANGO = {
        **django_settings.MSAL_DJANGO,
        "AUTHORITY": registered_idp.authority,
    }
    msal_client.reset()
    yield registered_idp
    msal_client.reset()


@pytest.fixture
def idp(msal_config: IdentityProvider) -> IdentityProvider:
    return msal_config


@pytest.fixture(params=["database", "redis"])
def store_backend(request, settings, msal_config) -> Iterator[str]:
    """Runs the test against each token store; the Redis one in the "redis" test cache."""
    settings.MSAL_DJANGO = {
        **settings.MSAL_DJANGO,
        "TOKEN_CACHE": request.param,
        "REDIS_CACHE_ALIAS": "redis",
    }
    yield request.param
    if request.param == "redis":
        flush_redis_prefix("redis")


def flush_redis_prefix(alias: str) -> None:
    """Delete every key of the cache ``alias`` (its KEY_PREFIX only)."""
    from django.core.cache import caches

    caches[alias].delete_pattern("*")


SignIn = Callable[..., object]


@pytest.fixture
def sign_in(idp: IdentityProvider) -> SignIn:
    """Sign ``client`` in as ``username`` through the real views and provider."""

    def do(client: Client, username: str = "alice", next: str | None = None, **params: str):
        query = {**params, **({"next": next} if next else {})}
        start = client.get("/auth/login/", query)
        assert start.status_code == 302, start
        redirect = idp.sign_in(start["Location"], username)
        parts = urlsplit(redirect)
        return client.get(f"{parts.path}?{parts.query}")

    return do


@pytest.fixture
def alice_client(db, sign_in) -> Client:
    client = Client()
    response = sign_in(client, "alice")
    assert response.status_code == 302, response.content
    return client


@pytest.fixture
def removed():
    """Every ``account_removed`` signal sent during the test, as its keyword arguments."""
    calls: list[dict] = []

    def receiver(sender, **kwargs):
        calls.append(kwargs)

    account_removed.connect(receiver)
    yield calls
    account_removed.disconnect(receiver)
