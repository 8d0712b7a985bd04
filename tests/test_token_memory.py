"""Access tokens remembered per process (ACCESS_TOKENS_IN_MEMORY): a hit reads only the
partition's version, so no removal or rewrite anywhere lets a remembered token out; the
memory is bounded and can be turned off; one refresh per account at a time."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from urllib.parse import urlencode

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection
from django.test import Client

import msal_django
from msal_django import tokens
from msal_django.constants import SESSION_SID_KEY
from msal_django.models import CachedAccount
from msal_django.stores import AccountInfo, get_store, token_memory
from msal_django.stores.token_memory import Remembered, TokenMemory

from .conftest import CLIENT_ID, changes_seen, flush_redis_prefix
from .races import run_in_threads
from .test_get_token import count_redis_commands

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("idp")]

SCOPES = frozenset({"User.Read"})


@pytest.fixture
def remembered(store_backend, sign_in):
    """Alice signed in, her token served once (so remembered): (client, account, entries)."""
    client = Client()
    sign_in(client, "alice")
    changes_seen()  # the sign-in's own write seen, as it forgets this account's tokens
    assert client.get("/token/").status_code == 200
    home = CachedAccount.objects.get().home_account_id
    memory = token_memory.memory()
    assert memory is not None
    assert memory.lookup(home, SCOPES) is not None
    return client, home, list(memory._accounts[home])


def as_another_process_remembers(home: str, entries: list[Remembered]) -> None:
    """Put the entries back, valid for an hour: what another worker's memory still holds
    (a removal in this process also drops them here, which would prove nothing) when that
    worker has no proof from its watch, so it reads the version. Workers that serve with
    no read are real processes in test_serve_from_memory.py."""
    memory = token_memory.memory()
    assert memory is not None
    for entry in entries:
        later = time.time() + 3600
        memory.remember(home, dataclasses.replace(entry, expires_on=later, epoch=0))


def staff_client() -> Client:
    user, _ = get_user_model().objects.get_or_create(username="admin-user", is_staff=True)
    codenames = ["view_cachedaccount", "revoke_account"]
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def local_logout(idp, client, home):
    assert client.post("/auth/logout/").status_code == 302


def frontchannel_logout(idp, client, home):
    params = {"iss": idp.issuer, "sid": client.session[SESSION_SID_KEY]}
    assert Client().get("/auth/logout/frontchannel/", params).status_code == 200


def backchannel_logout(idp, client, home):
    token = idp.logout_token(CLIENT_ID, "alice", client.session[SESSION_SID_KEY])
    body = urlencode({"logout_token": token})
    form = "application/x-www-form-urlencoded"
    assert Client().post("/auth/logout/backchannel/", body, content_type=form).status_code == 200


def admin_revoke(idp, client, home):
    pk = CachedAccount.objects.get(home_account_id=home).pk
    data = {"action": "revoke", "_selected_action": [pk], "confirmed": "yes"}
    assert staff_client().post("/admin/msal_django/cachedaccount/", data).status_code == 302


def purge(idp, client, home):
    call_command("msal_purge", "--all", "--no-input", stdout=None)


def refresh_token_rejected(idp, client, home):
    # Revoked first: another process that refreshes meanwhile is refused too (and removes
    # the account itself) instead of storing fresh tokens.
    idp.revoke_refresh_tokens("alice")
    _expire_stored_access_tokens(home, time.time() + 200)  # the next call refreshes
    user = get_user_model().objects.get(username="alice@example.com")
    with pytest.raises(msal_django.InteractionRequired):
        tokens.acquire(home, ["User.Read"], user=user)  # forced to refresh: refused


def user_deleted(idp, client, home):
    get_user_model().objects.get(username="alice@example.com").delete()


# Every way an account goes, each called as ``remove(idp, client, home_account_id)``.
REMOVALS = [
    local_logout,
    frontchannel_logout,
    backchannel_logout,
    admin_revoke,
    purge,
    refresh_token_rejected,
    user_deleted,
]


@pytest.mark.parametrize("remove", REMOVALS)
def test_no_remembered_token_is_served_after_any_removal(idp, remembered, remove):
    client, home, entries = remembered
    user = get_user_model().objects.get(username="alice@example.com")
    remove(idp, client, home)
    assert not get_store().load(home).exists
    as_another_process_remembers(home, entries)
    with pytest.raises(msal_django.InteractionRequired):
        tokens.acquire(home, ["User.Read"], user=None if remove is user_deleted else user)
    with pytest.raises(msal_django.InteractionRequired):
        msal_django.get_token_for_user(user, ["User.Read"], home_account_id=home)


def test_a_partition_rewritten_elsewhere_is_read_afresh(idp, remembered, sign_in):
    client, home, _entries = remembered
    old = client.get("/token/").json()["access_token"]
    partition = get_store().load(home)
    # Another process signs alice in again: straight through the store, no memory here
    # knows. The rewritten partition holds other tokens under a new version.
    other = Client()
    sign_in(other, "alice")
    new = get_store().load(home)
    assert new.version != partition.version
    assert client.get("/token/").json()["access_token"] != old
    # And a direct write of the old state (another process's refresh) is followed too.
    user = get_user_model().objects.get(username="alice@example.com")
    get_store().replace(home, str(partition.state), user, AccountInfo())
    assert client.get("/token/").json()["access_token"] == old


def test_a_partition_given_to_another_user_is_not_served(idp, remembered):
    _client, home, entries = remembered
    bob = get_user_model().objects.create_user("bob-the-other")
    get_store().replace(home, str(get_store().load(home).state), bob, AccountInfo())
    as_another_process_remembers(home, entries)
    alice = get_user_model().objects.get(username="alice@example.com")
    with pytest.raises(msal_django.InteractionRequired):
        tokens.acquire(home, ["User.Read"], user=alice)


def test_a_key_rotation_drops_the_memory(remembered, settings):
    client, _home, _entries = remembered
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    memory = token_memory.memory()
    assert memory is not None
    assert len(memory) == 0
    assert client.get("/token/").status_code == 200  # read with the fallback key


def test_the_memory_keeps_the_most_recently_used_accounts_up_to_its_size():
    memory = TokenMemory(3)
    for n in range(10):
        memory.remember(f"account-{n}", Remembered("v", SCOPES, "t", time.time() + 3600))
        memory.lookup("account-0", SCOPES)  # used on every round: kept
    assert len(memory) == 3
    assert set(memory._accounts) == {"account-0", "account-8", "account-9"}


def test_each_account_keeps_a_bounded_number_of_scope_sets():
    memory = TokenMemory(3)
    for n in range(20):
        memory.remember("a", Remembered("v", frozenset({f"s{n}"}), "t", time.time() + 3600))
    assert len(memory._accounts["a"]) == token_memory._SCOPE_SETS_PER_ACCOUNT


def test_a_new_version_replaces_the_tokens_of_the_old_one():
    memory = TokenMemory(3)
    memory.remember("a", Remembered("v1", SCOPES, "old", time.time() + 3600))
    memory.remember("a", Remembered("v2", frozenset({"Other"}), "new", time.time() + 3600))
    assert memory.lookup("a", SCOPES) is None


@pytest.mark.parametrize(
    ("expires_in", "refresh_in", "scopes", "served"),
    [
        (3600, None, {"User.Read"}, True),
        (301, None, {"User.Read"}, True),
        (299, None, {"User.Read"}, False),  # MSAL's five-minute window: MSAL refreshes
        (3600, -1, {"User.Read"}, False),  # past refresh_on: MSAL refreshes
        (3600, 60, {"User.Read"}, True),
        (3600, None, {"User.Read", "Mail.Read"}, False),  # scopes not covered
    ],
)
def test_what_a_remembered_token_serves(expires_in, refresh_in, scopes, served):
    now = time.time()
    refresh_on = None if refresh_in is None else now + refresh_in
    entry = Remembered("v", SCOPES, "t", now + expires_in, refresh_on)
    assert entry.serves(frozenset(scopes), now) is served


def test_a_superset_remembered_serves_a_subset(store_backend, sign_in, idp):
    idp.consent("alice", CLIENT_ID, ["Files.Read"])
    client = Client()
    sign_in(client, "alice")
    assert client.get("/token/", {"scopes": "User.Read Files.Read"}).status_code == 200
    # That call refreshed for the new scope and wrote the partition: once the watch has
    # seen the write (it forgets the account's tokens), the next call remembers anew.
    changes_seen()
    assert client.get("/token/", {"scopes": "User.Read Files.Read"}).status_code == 200
    home = CachedAccount.objects.get().home_account_id
    memory = token_memory.memory()
    assert memory is not None
    assert memory.lookup(home, SCOPES) is not None


@pytest.mark.parametrize("size", [0, "0"])
def test_it_is_off_when_the_setting_says_so(settings, sign_in, size):
    settings.MSAL_DJANGO = {
        **settings.MSAL_DJANGO,
        "TOKEN_CACHE": "redis",
        "REDIS_CACHE_ALIAS": "redis",
        "ACCESS_TOKENS_IN_MEMORY": size,
    }
    client = Client()
    sign_in(client, "alice")
    try:
        with count_redis_commands() as commands:
            for _ in range(3):
                assert client.get("/token/").status_code == 200
    finally:
        flush_redis_prefix("redis")
    assert token_memory.memory() is None
    assert commands == ["GET"] * 3  # the whole partition, each time


def test_a_hit_reads_only_the_version_from_the_database(settings, sign_in):
    """With SERVE_FROM_MEMORY off (on PostgreSQL it would read nothing at all)."""
    from django.test.utils import CaptureQueriesContext

    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "SERVE_FROM_MEMORY": False}
    client = Client()
    sign_in(client, "alice")
    client.get("/token/")
    with CaptureQueriesContext(connection) as queries:
        client.get("/token/")
    reads = [q["sql"] for q in queries.captured_queries if "msal_django_cachedaccount" in q["sql"]]
    assert len(reads) == 1
    assert reads[0].startswith('SELECT "version" FROM')


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_a_stale_token_make_one_refresh(idp, store_backend, sign_in):
    client = Client()
    sign_in(client, "alice")
    account = CachedAccount.objects.select_related("user").get()
    assert idp.count("token", grant_type="refresh_token") == 0
    idp.access_token_lifetime = 3600
    # The stored token goes stale: MSAL takes it for expired within five minutes.
    stale = time.time() + 200
    _expire_stored_access_tokens(account.home_account_id, stale)
    barrier = threading.Barrier(8)
    served: list[str] = []

    def request():
        barrier.wait()
        served.append(tokens.acquire(account.home_account_id, ["User.Read"], user=account.user))

    run_in_threads(request, 8)
    assert idp.count("token", grant_type="refresh_token") == 1
    assert len(set(served)) == 1
    assert token_memory.accounts_in_flight() == 0  # the per-account locks are gone


@pytest.mark.django_db(transaction=True)
def test_concurrent_async_requests_with_a_stale_token_make_one_refresh(idp, sign_in):
    client = Client()
    sign_in(client, "alice")
    account = CachedAccount.objects.select_related("user").get()
    idp.access_token_lifetime = 3600
    _expire_stored_access_tokens(account.home_account_id, time.time() + 200)

    async def requests():
        calls = [msal_django.aget_token_for_user(account.user, ["User.Read"]) for _ in range(6)]
        try:
            return await asyncio.gather(*calls)
        finally:  # the thread sync_to_async ran them in keeps its own connection
            await sync_to_async(lambda: connection.close())()

    assert len(set(asyncio.run(requests()))) == 1
    assert idp.count("token", grant_type="refresh_token") == 1


@pytest.mark.django_db(transaction=True)
def test_with_the_memory_off_concurrent_requests_still_make_one_refresh(idp, settings, sign_in):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "ACCESS_TOKENS_IN_MEMORY": 0}
    client = Client()
    sign_in(client, "alice")
    account = CachedAccount.objects.select_related("user").get()
    _expire_stored_access_tokens(account.home_account_id, time.time() + 200)
    user = account.user
    run_in_threads(lambda: tokens.acquire(account.home_account_id, ["User.Read"], user=user), 4)
    assert idp.count("token", grant_type="refresh_token") == 1


def _expire_stored_access_tokens(home_account_id: str, expires_on: float) -> None:
    """Rewrite the stored partition with its access tokens expiring at ``expires_on``,
    as time passing would (a refresh is then due), through the store like any writer."""
    import json

    store = get_store()
    partition = store.load(home_account_id)
    state = json.loads(str(partition.state))
    for entry in state["AccessToken"].values():
        entry["expires_on"] = str(int(expires_on))
    assert store.save(partition, json.dumps(state))
    token_memory.forget(home_account_id)
