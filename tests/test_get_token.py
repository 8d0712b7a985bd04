"""get_token: cache hits cost no provider request and no write; refreshes are saved."""

from __future__ import annotations

import time
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test import Client

import msal_django
from msal_django.models import CachedAccount

from .conftest import changes_seen, watch_proven

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("idp")]


@contextmanager
def count_redis_commands():
    """Every command sent to Redis by this process, by name (on its connections, so a
    cluster client's commands count too)."""
    from redis.connection import AbstractConnection

    commands: list[str] = []
    original = AbstractConnection.send_command

    def wrapper(self, *args, **options):
        commands.append(str(args[0]).upper())
        return original(self, *args, **options)

    AbstractConnection.send_command = wrapper
    try:
        yield commands
    finally:
        AbstractConnection.send_command = original


@contextmanager
def count_writes():
    writes: list[str] = []

    def wrapper(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "REPLACE")):
            writes.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield writes


def token_of(client: Client, scopes: str = "User.Read"):
    response = client.get("/token/", {"scopes": scopes})
    return response


def test_cache_hit_makes_no_provider_request_and_no_store_write(any_store, idp, alice_client):
    first = token_of(alice_client)
    assert first.status_code == 200
    watch_proven()
    changes_seen()  # the sign-in's own write seen; then one more hit, under the proof
    assert token_of(alice_client).json() == first.json()
    before = idp.count()
    with count_writes() as writes, count_redis_commands() as commands:
        for _ in range(5):
            again = token_of(alice_client)
            assert again.json() == first.json()
    assert idp.count() == before
    assert writes == []
    # No Redis command at all per hit: the watch proves nothing was missed (its own ROLE
    # on its own connection is all Redis sees from this process).
    assert [c for c in commands if c != "ROLE"] == []


def test_the_token_is_accepted_by_the_api(idp, alice_client):
    access_token = token_of(alice_client).json()["access_token"]
    response = idp.http_client().get(
        idp.api_url, headers={"Authorization": f"Bearer {access_token}"}
    )
    assert response.status_code == 200
    assert response.json()["userPrincipalName"].startswith("alice")


def test_expired_token_is_refreshed_once_and_saved(idp, sign_in):
    # MSAL refreshes a token that expires within 300 s: this one does so 2 s from now.
    idp.access_token_lifetime = 302
    client = Client()
    sign_in(client, "alice")
    first = token_of(client).json()["access_token"]
    version = CachedAccount.objects.get().version
    assert idp.count("token", grant_type="refresh_token") == 0
    time.sleep(2.2)
    second = token_of(client).json()["access_token"]
    assert second != first
    assert idp.count("token", grant_type="refresh_token") == 1
    assert CachedAccount.objects.get().version != version
    before = idp.count()
    assert token_of(client).json()["access_token"] == second
    assert idp.count() == before


def test_partitions_never_mix(idp, sign_in):
    alice, bob = Client(), Client()
    sign_in(alice, "alice")
    sign_in(bob, "bob")
    alice_token = token_of(alice).json()["access_token"]
    bob_token = token_of(bob).json()["access_token"]
    api = idp.http_client()
    me = [
        api.get(idp.api_url, headers={"Authorization": f"Bearer {t}"}).json()["id"]
        for t in (alice_token, bob_token)
    ]
    assert me == [idp.users["alice"].oid, idp.users["bob"].oid]
    assert CachedAccount.objects.count() == 2


def test_signed_out_visitor_is_sent_to_sign_in_and_back(db):
    response = Client().get("/token/", {"scopes": "Files.Read"})
    assert response.status_code == 302
    assert response["Location"].startswith("/auth/login/?")
    assert "next=%2Ftoken%2F%3Fscopes%3DFiles.Read" in response["Location"]
    assert "scopes=Files.Read" in response["Location"]


def test_get_token_without_a_request_user_raises_interaction_required(rf):
    request = rf.get("/")
    request.session = {}
    with pytest.raises(msal_django.InteractionRequired) as raised:
        msal_django.get_token(request, ["User.Read"])
    assert raised.value.scopes == ["User.Read"]


def test_new_scope_without_consent_asks_for_consent(idp, alice_client):
    response = token_of(alice_client, "Files.Read")
    assert response.status_code == 302
    location = response["Location"]
    assert "scopes=Files.Read" in location
    assert "prompt=consent" in location
    assert CachedAccount.objects.exists()  # the refresh token is still good


def test_revoked_refresh_token_drops_the_account_and_asks_to_sign_in(idp, alice_client):
    idp.revoke_refresh_tokens("alice")
    response = token_of(alice_client, "Files.Read")
    assert response.status_code == 302
    assert response["Location"].startswith("/auth/login/")
    assert not CachedAccount.objects.exists()


def test_provider_outage_during_refresh_is_a_503_not_a_sign_in_loop(idp, alice_client):
    idp.inject("token", error=None, status=500, times=5)
    response = token_of(alice_client, "Files.Read")
    assert response.status_code == 503
    assert response["Retry-After"]
    assert CachedAccount.objects.exists()


def test_get_token_after_sign_in_again_for_more_scopes(idp, sign_in, alice_client):
    idp.consent("alice", "msal-django-tests", ["Files.Read"])
    response = token_of(alice_client, "Files.Read")
    assert response.status_code == 200


def test_a_provider_that_stops_answering_is_a_503_after_the_timeout(idp, alice_client, settings):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "TIMEOUT": 0.5}
    idp.inject("token", error=None, status=200, delay=3.0, times=3)
    started = time.monotonic()
    response = token_of(alice_client, "Files.Read")  # needs the token endpoint
    assert response.status_code == 503
    assert time.monotonic() - started < 2.5  # bounded by TIMEOUT, not by the provider
    assert CachedAccount.objects.exists()
