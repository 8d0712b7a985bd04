"""Both token stores: encrypted at rest, key rotation, compare-and-set, bad entries.

Every test here runs once with the database store and once with the Redis store.
"""

from __future__ import annotations

import logging

import pytest
from django.test import Client

import msal_django
from msal_django import tokens
from msal_django.models import CachedAccount
from msal_django.stores import AccountInfo, get_store
from msal_django.stores.redis import _HEAD as REDIS_HEAD
from msal_django.stores.redis_client import locate

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("idp")]


@pytest.fixture(autouse=True)
def backend(any_store):
    """Every test here runs on each store, the Redis one also sharded and behind Sentinel."""
    return any_store


def stored_blob(home_account_id: str) -> bytes:
    """The encrypted token cache as the store holds it."""
    if get_store().name == "database":
        return bytes(CachedAccount.objects.get(home_account_id=home_account_id).data)
    server, key = locate(home_account_id)
    return _split(server.get(key))[1]


def _split(value: object) -> tuple[bytes, bytes]:
    """A Redis value's "md1:<version>:<owner>:" head and its (binary) sealed cache."""
    assert isinstance(value, bytes), value
    owner, _, sealed = value[REDIS_HEAD:].partition(b":")
    return value[:REDIS_HEAD] + owner + b":", sealed


def store_blob(home_account_id: str, blob: bytes) -> None:
    """Overwrite the encrypted token cache in place, as an attacker or a bug would."""
    if get_store().name == "database":
        CachedAccount.objects.filter(home_account_id=home_account_id).update(data=blob)
        return
    server, key = locate(home_account_id)
    server.set(key, _split(server.get(key))[0] + blob, keepttl=True)


def test_tokens_are_encrypted_at_rest(alice_client):
    access_token = alice_client.get("/token/").json()["access_token"]
    row = CachedAccount.objects.get()
    assert row.store == get_store().name
    raw = stored_blob(row.home_account_id)
    assert access_token.encode() not in raw
    assert b"refresh_token" not in raw.lower()
    assert b"secret" not in raw
    assert raw.startswith(b"m1")  # sealed by msal_django.stores.sealing (AES-GCM)
    assert "data" not in repr(row)
    assert access_token not in str(row)


def test_secret_key_rotation_keeps_everyone_signed_in(alice_client, settings):
    before = alice_client.get("/token/").json()["access_token"]
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-brand-new-secret-key-9876543210-zyxwvutsrqponmlkjihgf"
    # Sessions survive through Django's fallbacks; tokens through ours.
    assert alice_client.get("/token/").json()["access_token"] == before


def test_explicit_encryption_keys_rotate(alice_client, settings):
    old = "old-encryption-key-0123456789abcdefghijklmnop"
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "ENCRYPTION_KEYS": [old]}
    row = CachedAccount.objects.get()
    store = get_store()
    state = store.load(row.home_account_id).state
    assert state is None  # written with SECRET_KEY, which is no longer configured
    settings.MSAL_DJANGO = {
        **settings.MSAL_DJANGO,
        "ENCRYPTION_KEYS": [old, settings.SECRET_KEY],
    }
    partition = store.load(row.home_account_id)
    assert partition.state is not None
    assert store.save(partition, partition.state)  # re-encrypted with the newest key
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "ENCRYPTION_KEYS": [old]}
    assert store.load(row.home_account_id).state == partition.state


@pytest.mark.parametrize("garbage", [b"", b"not a sealed cache", b"m1" + bytes(40)])
def test_unreadable_row_is_treated_as_empty_with_a_warning(alice_client, caplog, garbage):
    row = CachedAccount.objects.get()
    store_blob(row.home_account_id, garbage)
    with caplog.at_level(logging.WARNING, logger="msal_django"):
        response = alice_client.get("/token/")
    assert response.status_code == 302  # sign in again, not a 500
    assert "could not be decrypted" in caplog.text
    assert CachedAccount.objects.filter(pk=row.pk).exists()  # nothing lost


def test_a_cache_copied_into_another_account_does_not_open(alice_client, sign_in, caplog):
    """The home_account_id is bound in: a row's data moved to another row is refused."""
    sign_in(Client(), "bob")
    alice = CachedAccount.objects.get(username__startswith="alice")
    bob = CachedAccount.objects.get(username__startswith="bob")
    store_blob(bob.home_account_id, stored_blob(alice.home_account_id))
    assert get_store().load(bob.home_account_id).state is None
    assert "could not be decrypted" in caplog.text


def test_tampered_ciphertext_is_rejected(alice_client, caplog):
    row = CachedAccount.objects.get()
    data = bytearray(stored_blob(row.home_account_id))
    data[40] ^= 1
    store_blob(row.home_account_id, bytes(data))
    assert alice_client.get("/token/").status_code == 302
    assert "could not be decrypted" in caplog.text


def test_compare_and_set_refuses_a_stale_version(alice_client):
    store = get_store()
    home_account_id = CachedAccount.objects.get().home_account_id
    first = store.load(home_account_id)
    second = store.load(home_account_id)
    assert store.save(first, first.state)
    assert not store.save(second, second.state)  # second was loaded before first's write


def test_a_removed_partition_is_never_written_back(alice_client):
    store = get_store()
    home_account_id = CachedAccount.objects.get().home_account_id
    loaded = store.load(home_account_id)
    assert store.remove(home_account_id)
    assert not store.save(loaded, loaded.state)
    assert not CachedAccount.objects.exists()


def test_version_never_repeats_after_remove_and_sign_in_again(alice_client, sign_in):
    store = get_store()
    account = CachedAccount.objects.get()
    loaded = store.load(account.home_account_id)
    store.remove(account.home_account_id)
    store.replace(account.home_account_id, loaded.state, account.user, AccountInfo())
    assert not store.save(loaded, loaded.state)


def test_partition_of_another_user_reads_as_absent(alice_client, sign_in, django_user_model):
    bob_client = Client()
    sign_in(bob_client, "bob")
    alice_account = CachedAccount.objects.get(user__username__startswith="alice")
    bob = django_user_model.objects.get(username__startswith="bob")
    assert get_store().load(alice_account.home_account_id, bob.pk).state is None
    with pytest.raises(msal_django.InteractionRequired):
        tokens.acquire(alice_account.home_account_id, ["User.Read"], user=bob)


def test_deleting_a_user_removes_their_tokens_from_the_store(alice_client, removed):
    from django.contrib.auth import get_user_model

    home_account_id = CachedAccount.objects.get().home_account_id
    get_user_model().objects.all().delete()
    assert not get_store().load(home_account_id).exists
    assert not CachedAccount.objects.exists()
    assert [r["reason"] for r in removed] == ["user_deleted"]
