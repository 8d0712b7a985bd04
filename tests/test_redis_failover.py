"""Sharding and failover of the Redis store on real redis-server processes."""

from __future__ import annotations

import time

import pytest
import redis
from django.test import Client

import msal_django
from msal_django import tokens
from msal_django.models import CachedAccount
from msal_django.stores import AccountInfo
from msal_django.stores.redis import redis_store

from .races import running_in_threads
from .redis_servers import cache, requires_redis_server, sentinel_cache

pytestmark = [pytest.mark.django_db, requires_redis_server, pytest.mark.usefixtures("idp")]


def test_shards_each_hold_their_accounts(settings, request):
    servers = request.getfixturevalue("shards")
    settings.CACHES = {
        **settings.CACHES,
        "shard": cache(
            [s.url for s in servers], "spread", CLIENT_CLASS="django_redis.client.ShardClient"
        ),
    }
    settings.MSAL_DJANGO = {
        **settings.MSAL_DJANGO,
        "TOKEN_CACHE": "redis",
        "REDIS_CACHE_ALIAS": "shard",
    }
    ids = [f"{n}.tenant" for n in range(40)]
    state = '{"AccessToken": {}}'
    for home_account_id in ids:
        redis_store.replace(home_account_id, state, None, AccountInfo())
    per_server = [len(s.client().keys("spread:*")) for s in servers]
    assert sum(per_server) == 40
    assert all(n > 0 for n in per_server)
    for home_account_id in ids:
        partition = redis_store.load(home_account_id)
        assert redis_store.save(partition, state)  # CAS on the server holding the key
        assert not redis_store.save(partition, state)
    assert sorted(redis_store.remove_many(ids)) == sorted(ids)
    assert sum(len(s.client().keys("spread:*")) for s in servers) == 0


@pytest.mark.django_db(transaction=True)
def test_failover_while_requests_run(settings, request, idp, sign_in):
    """A replica is promoted while threads get tokens: requests answer or fail with
    StoreUnavailable (a 503), then all succeed again on the new primary; no write is lost."""
    primary, replica, watcher = request.getfixturevalue("sentinel")
    settings.CACHES = {**settings.CACHES, "sentinel": sentinel_cache(watcher)}
    settings.MSAL_DJANGO = {
        **settings.MSAL_DJANGO,
        "TOKEN_CACHE": "redis",
        "REDIS_CACHE_ALIAS": "sentinel",
    }
    idp.access_token_lifetime = 60  # every call refreshes: writes during the failover
    client = Client()
    sign_in(client, "alice")
    account = CachedAccount.objects.get()
    # Replication is asynchronous: the sign-in must be on the replica before the failover
    # (on a loaded machine it may lag that long, and the failover would lose the account).
    deadline = time.monotonic() + 10
    while (
        replica.client().info("replication")["slave_repl_offset"]
        < primary.client().info("replication")["master_repl_offset"]
    ):
        assert time.monotonic() < deadline, "the replica never caught up"
        time.sleep(0.02)
    outcomes: list[str] = []

    def run(stop):
        while not stop.is_set():
            try:
                tokens.acquire(account.home_account_id, ["User.Read"], user=account.user)
                outcomes.append("ok")
            except msal_django.StoreUnavailable:
                outcomes.append("unavailable")
                time.sleep(0.05)
            except msal_django.InteractionRequired as exc:
                outcomes.append(str(exc.error))  # the account was lost: the test fails

    def role(server):
        return server.client().role()[0]

    before = role(primary), role(replica)
    with running_in_threads(run, 3):
        time.sleep(0.3)
        watcher.client().execute_command("SENTINEL", "FAILOVER", watcher.service)
        deadline = time.monotonic() + 15
        while role(replica) != b"master":
            assert time.monotonic() < deadline, "no failover"
            time.sleep(0.05)
        time.sleep(1.5)
        promoted_at = len(outcomes)
        time.sleep(0.5)
    assert before == (b"master", b"slave")
    assert "ok" in outcomes[:promoted_at]
    assert outcomes[promoted_at:]
    assert set(outcomes[promoted_at:]) == {"ok"}
    assert redis_store.load(account.home_account_id, account.user_id).state
    assert client.get("/token/").status_code == 200
    assert redis.Redis(port=replica.port).role()[0] == b"master"
    client.post("/auth/logout/")
    assert redis_store.load(account.home_account_id).state is None
