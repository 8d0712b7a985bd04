"""Sharding and failover of the Redis store on real redis-server processes."""

from __future__ import annotations

import itertools
import time

import pytest
import redis
from django.test import Client

import msal_django
from msal_django import tokens
from msal_django.models import CachedAccount, PendingRemoval
from msal_django.stores import AccountInfo
from msal_django.stores.redis import redis_store
from msal_django.stores.redis_client import locate

from .races import running_in_threads
from .redis_servers import cache, confirms_writes, requires_redis_server, sentinel_cache

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
        # Until Sentinel has made the old primary a replica and it has synced (a full
        # resync blocks it while it loads), a connection still on it may time out.
        while primary.client().info("replication").get("master_link_status") != "up":
            assert time.monotonic() < deadline, "the old primary never became a replica"
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


@pytest.mark.django_db(transaction=True)
def test_failover_with_wait_replicas(settings, request, idp, sign_in):
    """With REDIS_WAIT_REPLICAS=1 a Sentinel failover leaves the new primary without a
    replica until Sentinel turns the old primary into one (several seconds, then a full
    sync). Meanwhile writes are unconfirmed: a refresh is logged, a logout recorded and
    applied again. Token calls never stop for long, a logout in the failover or after it
    stays done, and no account is lost."""
    primary, replica, watcher = request.getfixturevalue("fresh_sentinel")
    settings.CACHES = {**settings.CACHES, "sentinel": sentinel_cache(watcher)}
    settings.MSAL_DJANGO = {
        **settings.MSAL_DJANGO,
        "TOKEN_CACHE": "redis",
        "REDIS_CACHE_ALIAS": "sentinel",
        "REDIS_WAIT_REPLICAS": 1,
        "REDIS_WAIT_TIMEOUT": 0.5,  # as long as the socket timeout (sentinel_cache's 0.5)
        "REDIS_PENDING_CHECK_INTERVAL": 0.2,
    }
    idp.access_token_lifetime = 60  # every call refreshes: writes during the failover
    clients = {name: Client() for name in ("alice", "bob", "carol", "dave")}
    for name, client in clients.items():
        assert sign_in(client, name).status_code == 302
    accounts = {
        a.user.username.split("@")[0]: a for a in CachedAccount.objects.select_related("user")
    }
    keys = {name: locate(a.home_account_id)[1] for name, a in accounts.items()}
    assert all(primary.client().exists(k) and replica.client().exists(k) for k in keys.values())

    def call(name: str) -> str:
        account = accounts[name]
        try:
            tokens.acquire(account.home_account_id, ["User.Read"], user=account.user)
            return "ok"
        except msal_django.StoreUnavailable:
            return "unavailable"
        except msal_django.InteractionRequired as exc:
            return str(exc.error)

    alice: list[tuple[float, str]] = []  # (when the call returned, its outcome)
    bob: list[tuple[float, str]] = []  # (when the call started, its outcome)

    def run_alice(stop):
        while not stop.is_set():
            alice.append((time.monotonic(), outcome := call("alice")))
            if outcome == "unavailable":
                time.sleep(0.05)

    def run_bob(stop):
        while not stop.is_set():
            started = time.monotonic()
            bob.append((started, outcome := call("bob")))
            if outcome != "ok":
                time.sleep(0.05)

    def logout(name: str) -> float:
        assert clients[name].post("/auth/logout/").status_code == 302
        return time.monotonic()

    with running_in_threads(run_alice, 2), running_in_threads(run_bob, 1):
        time.sleep(0.3)
        started = time.monotonic()
        watcher.client().execute_command("SENTINEL", "FAILOVER", watcher.service)
        deadline = started + 15
        while replica.client().role()[0] != b"master":
            assert time.monotonic() < deadline, "no failover"
            time.sleep(0.05)
        promoted = time.monotonic()
        at_promotion = replica.client().get(keys["alice"])
        assert not confirms_writes(replica)  # no replica yet: every WAIT is unconfirmed
        bob_out = logout("bob")  # in the failover: recorded, applied until confirmed
        assert PendingRemoval.objects.filter(home_account_id=accounts["bob"].home_account_id)
        deadline = promoted + 30
        named = moved = None  # when Sentinel named the new primary; when alice's tokens
        while not confirms_writes(replica):  # Sentinel turns the old primary around
            assert time.monotonic() < deadline, "the old primary never rejoined"
            if (
                named is None
                and watcher.client().execute_command(
                    "SENTINEL", "GET-MASTER-ADDR-BY-NAME", watcher.service
                )[1]
                == str(replica.port).encode()
            ):
                named = time.monotonic()
            if moved is None and replica.client().get(keys["alice"]) != at_promotion:
                moved = time.monotonic()  # first reached it
            time.sleep(0.05)
        rejoined = time.monotonic()
        time.sleep(3)
        carol_out = logout("carol")  # after it: confirmed at once
        assert not PendingRemoval.objects.filter(home_account_id=accounts["carol"].home_account_id)
        time.sleep(1)
    ended = time.monotonic()

    assert primary.client().role()[0] == b"slave"
    # Token calls never stop for long: while the new primary has no replica, a refresh
    # is logged as unconfirmed, not a 503 (a WAIT outlasting the socket timeout made
    # every one a 503 until the old primary rejoined, about 10 s).
    successes = [started] + [t for t, outcome in alice if outcome == "ok"] + [ended]
    longest_gap = max(b - a for a, b in itertools.pairwise(successes))
    assert longest_gap < 3, f"no token for {longest_gap:.1f} s"
    assert rejoined - promoted > 3  # the failover did leave the new primary alone a while
    # Until Sentinel makes it a replica, the old primary still takes writes, and loses
    # them then: the store follows Sentinel to the new one at its first unconfirmed write.
    assert named is not None
    assert moved is not None
    assert moved - named < 2
    assert {outcome for t, outcome in alice if t > rejoined + 2} == {"ok"}
    assert {outcome for _, outcome in alice} <= {"ok", "unavailable"}  # alice is not lost
    # No call that started after bob's logout returned got a token.
    assert "ok" in {outcome for t, outcome in bob if t < bob_out}
    assert "ok" not in {outcome for t, outcome in bob if t > bob_out}
    # The logouts hold on both servers, and the recorded one was applied and confirmed.
    deadline = time.monotonic() + 5
    while PendingRemoval.objects.exists():
        assert time.monotonic() < deadline, "the recorded logout was never confirmed"
        redis_store.load(accounts["alice"].home_account_id)  # applies the records
        time.sleep(0.1)
    for server in (primary, replica):
        assert not server.client().exists(keys["bob"]), server
        assert not server.client().exists(keys["carol"]), server
    for name in ("bob", "carol"):
        assert call(name) == "no_cached_tokens"
    assert carol_out > rejoined
    # Every other account is still there: alice's refreshed tokens, dave's untouched ones.
    for name in ("alice", "dave"):
        assert call(name) == "ok"
        assert clients[name].get("/token/").status_code == 200
