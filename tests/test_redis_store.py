"""The Redis store: its keys and TTLs, bad values, races across threads and processes,
and a Redis that stops answering (a 503, and logouts that still hold).

Every test on ``redis_tokens`` runs three times: through a django-redis cache alias on
one Redis, through ``REDIS_CLIENT`` = ``redis.Redis`` on it, and through ``REDIS_CLIENT``
= ``redis.cluster.RedisCluster`` on a real cluster of six ``redis-server`` processes."""

from __future__ import annotations

import logging
import pickle
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

import msal_django
from msal_django import tokens
from msal_django.models import CachedAccount, PendingRemoval
from msal_django.stores.redis import _HEAD as REDIS_HEAD
from msal_django.stores.redis import FORMAT, apply_pending_removals, redis_store
from msal_django.stores.redis_client import locate
from msal_django.stores.sealing import Keyring

from .conftest import delete_keys, flush_redis_prefix, redis_client_settings, watch_lost
from .races import run_in_threads
from .redis_servers import RedisServer, cache, free_port, requires_redis_server
from .serving import Server

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("idp")]

ROOT = Path(__file__).resolve().parent.parent
SCOPES = ["User.Read"]


@dataclass
class RedisTokens:
    """How the store reaches Redis in this run of a test."""

    key_prefix: str  # what comes before "<client id>:<home_account_id>" in a key
    unreachable: dict[str, object] = field(default_factory=dict)  # MSAL_DJANGO keys


@pytest.fixture(params=["alias", "client", "cluster"])
def redis_tokens(request, settings, idp):
    config = {k: v for k, v in settings.MSAL_DJANGO.items() if k != "REDIS_CACHE_ALIAS"}
    if request.param == "alias":
        settings.MSAL_DJANGO = {**config, "TOKEN_CACHE": "redis", "REDIS_CACHE_ALIAS": "redis"}
        settings.CACHES = {
            **settings.CACHES,
            "cut-off": cache(f"redis://127.0.0.1:{free_port()}/0", "x"),
        }
        yield RedisTokens(
            f"{settings.REDIS_TEST_PREFIX}:1:msal_django", {"REDIS_CACHE_ALIAS": "cut-off"}
        )
        flush_redis_prefix("redis")
        return
    prefix = f"{settings.REDIS_TEST_PREFIX}-{request.param}"
    if request.param == "client":
        url = urlsplit(settings.REDIS_TEST_URL)
        options = {
            "host": url.hostname,
            "port": url.port or 6379,
            "db": int(url.path.strip("/") or 0),
            "socket_connect_timeout": 0.5,
            "socket_timeout": 0.5,
        }
        path = "redis.Redis"
    else:
        options, path = (
            request.getfixturevalue("redis_cluster").options(),
            "redis.cluster.RedisCluster",
        )
    settings.MSAL_DJANGO = {**config, **redis_client_settings(prefix, options, path)}
    dead = {**options, "port": free_port()}
    yield RedisTokens(prefix, {"REDIS_CLIENT_OPTIONS": dead})
    delete_keys(locate("x")[0], f"{prefix}:*")


def raw(home_account_id: str) -> tuple[Any, int]:
    server, key = locate(home_account_id)
    return server.get(key), server.ttl(key)


def test_one_key_per_account_namespaced_with_a_ttl(redis_tokens, alice_client):
    home_account_id = CachedAccount.objects.get().home_account_id
    server, key = locate(home_account_id)
    assert key == f"{redis_tokens.key_prefix}:msal-django-tests:{home_account_id}"
    assert server.exists(key)
    value, ttl = raw(home_account_id)
    assert value.startswith(FORMAT)
    lifetime = 90 * 24 * 3600 + 24 * 3600  # REFRESH_TOKEN_LIFETIME + REDIS_TTL_MARGIN
    assert lifetime - 5 < ttl <= lifetime
    row = CachedAccount.objects.get()
    assert (row.store, bytes(row.data), row.refresh_tokens) == ("redis", b"", 1)


def test_a_refresh_sets_the_ttl_in_its_compare_and_set(redis_tokens, idp, sign_in, settings):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "REDIS_TTL_MARGIN": 100}
    idp.access_token_lifetime = 60  # MSAL refreshes tokens this short-lived on every call
    client = Client()
    sign_in(client, "alice")
    home_account_id = CachedAccount.objects.get().home_account_id
    server, key = locate(home_account_id)
    server.expire(key, 50)
    before = raw(home_account_id)[0]
    assert client.get("/token/").status_code == 200
    value, ttl = raw(home_account_id)
    assert value != before
    assert 90 * 24 * 3600 + 95 < ttl <= 90 * 24 * 3600 + 100


def test_a_hit_does_not_extend_the_ttl(redis_tokens, alice_client):
    home_account_id = CachedAccount.objects.get().home_account_id
    server, key = locate(home_account_id)
    server.expire(key, 1000)
    for _ in range(3):
        assert alice_client.get("/token/").status_code == 200
    assert 990 < server.ttl(key) <= 1000


def _foreign_key_value(home_account_id: str) -> bytes:
    value = raw(home_account_id)[0]
    owner = value[REDIS_HEAD:].partition(b":")[0]
    head = value[:REDIS_HEAD] + owner  # this version, this owner
    token = Keyring(("some-other-site-key-0123456789-abcdefghijkl",)).encrypt("{}", home_account_id)
    return head + b":" + token


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(lambda h: b"garbage", id="garbage"),
        pytest.param(lambda h: pickle.dumps({"AccessToken": "x"}), id="another-client"),
        pytest.param(lambda h: FORMAT + b"short", id="truncated"),
        pytest.param(_foreign_key_value, id="unknown-key"),
    ],
)
def test_a_bad_value_reads_as_empty_with_a_warning_without_content(
    redis_tokens, alice_client, caplog, value
):
    home_account_id = CachedAccount.objects.get().home_account_id
    server, key = locate(home_account_id)
    bad = value(home_account_id)
    server.set(key, bad)
    with caplog.at_level(logging.WARNING, logger="msal_django"):
        response = alice_client.get("/token/")
    assert response.status_code == 302  # sign in again, never a 500
    assert home_account_id in caplog.text
    assert "treating it as empty" in caplog.text
    assert bad.decode("latin-1") not in caplog.text
    assert server.get(key) == bad  # nothing overwritten behind the user's back


def test_a_user_never_reads_another_users_key(redis_tokens, sign_in, django_user_model):
    alice, bob = Client(), Client()
    sign_in(alice, "alice")
    sign_in(bob, "bob")
    alice_account = CachedAccount.objects.get(user__username__startswith="alice")
    bob_user = django_user_model.objects.get(username__startswith="bob")
    assert redis_store.load(alice_account.home_account_id, bob_user.pk).state is None
    assert redis_store.load(alice_account.home_account_id, alice_account.user_id).state


# -- races --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_never_lose_the_newest_refresh_token(redis_tokens, idp, sign_in):
    """Refresh storms from several threads: the stored refresh token is never one a
    refresh has already spent, so single-use refresh tokens keep working."""
    idp.access_token_lifetime = 60  # every call refreshes
    client = Client()
    sign_in(client, "alice")
    account = CachedAccount.objects.get()

    def refresh_6_times():
        for _ in range(6):
            tokens.acquire(account.home_account_id, ["User.Read"], user=account.user)

    run_in_threads(refresh_6_times, 4)  # an error in any thread fails the test
    assert idp.count("token", grant_type="refresh_token") >= 24
    # From now on a spent refresh token is refused: the stored one must be unspent.
    idp.strict_refresh_token_rotation = True
    for _ in range(3):
        assert tokens.acquire(account.home_account_id, ["User.Read"], user=account.user)


@pytest.mark.django_db(transaction=True)
def test_logout_racing_refreshes_in_threads_and_another_process(
    redis_tokens, idp, sign_in, settings, tmp_path
):
    """Threads here and another process refresh one account while it logs out: no
    token is obtained by a call that starts after logout returns, in either."""
    idp.access_token_lifetime = 60  # every call refreshes
    client = Client()
    sign_in(client, "alice")
    account = CachedAccount.objects.get()
    child = Server(tmp_path, settings, account.home_account_id, user=account.user_id)
    windows: list[tuple[float, float]] = []
    try:
        for _round in range(4):
            if _round:
                sign_in(client, "alice")
            account = CachedAccount.objects.get()
            signed_in = time.monotonic()
            child.wait_for_a_token(after=signed_in)
            late: list[float] = []
            logged_out_at: list[float] = []
            stop = threading.Event()

            def refresh(account=account, logged_out_at=logged_out_at, late=late, stop=stop):
                try:
                    while not stop.is_set():
                        started = time.monotonic()
                        try:
                            tokens.acquire(
                                account.home_account_id, ["User.Read"], user=account.user
                            )
                        except msal_django.InteractionRequired:
                            continue
                        if logged_out_at and started > logged_out_at[0]:
                            late.append(started)
                finally:
                    connection.close()

            threads = [threading.Thread(target=refresh) for _ in range(3)]
            for t in threads:
                t.start()
            time.sleep(0.2)
            assert client.post("/auth/logout/").status_code == 302
            logged_out_at.append(time.monotonic())
            time.sleep(0.3)
            stop.set()
            for t in threads:
                t.join()
            windows.append((logged_out_at[0], time.monotonic()))
            assert late == []
            assert not CachedAccount.objects.exists()
            assert raw(account.home_account_id)[0] is None
    finally:
        child.stop()
    for start, end in windows:
        assert child.served_between(start, end) == []
    assert idp.count("token", grant_type="refresh_token") > 0


# -- Redis stops answering ----------------------------------------------------------


@requires_redis_server
def test_redis_down_is_a_503_and_a_logout_meanwhile_holds(own_redis, sign_in, removed):
    phone, laptop, bob = Client(), Client(), Client()
    sign_in(phone, "alice")
    sign_in(laptop, "alice")  # two sessions of one user, one account
    assert phone.get("/token/").status_code == 200
    home_account_id = CachedAccount.objects.get().home_account_id
    _, key = locate(home_account_id)
    sign_in(bob, "bob")

    own_redis.kill()
    watch_lost()  # until then a hit is served from memory, as it may be (tokens.rst)
    started = time.monotonic()
    assert phone.get("/token/").status_code == 503
    assert time.monotonic() - started < 3  # bounded by the socket timeouts
    response = phone.post("/auth/logout/")
    assert response.status_code == 302  # the Django session ends all the same
    assert "_auth_user_id" not in phone.session
    assert PendingRemoval.objects.filter(home_account_id=home_account_id).exists()
    assert removed == []  # not yet: the tokens are still in Redis
    # The account's other session ended with the recorded logout: no token to wait for.
    assert laptop.get("/token/").status_code == 302
    assert bob.get("/token/").status_code == 503

    own_redis.start()
    assert own_redis.client().exists(key)  # the restarted Redis still holds them
    assert bob.get("/token/").status_code == 200  # alice's removal applied before the read
    assert not own_redis.client().exists(key)
    assert not PendingRemoval.objects.exists()
    assert list(CachedAccount.objects.values_list("username", flat=True)) == ["bob@example.com"]
    assert [(r["home_account_id"], r["reason"]) for r in removed] == [(home_account_id, "logout")]
    assert removed[0]["user"] == get_user_model().objects.get(username="alice@example.com")
    assert apply_pending_removals() == 0


@requires_redis_server
def test_pending_removals_are_applied_in_batches(own_redis, sign_in, removed):
    sign_in(Client(), "alice")
    sign_in(Client(), "bob")
    accounts = list(CachedAccount.objects.values_list("home_account_id", flat=True))
    for home_account_id in accounts:
        PendingRemoval.objects.create(home_account_id=home_account_id, reason="logout")
    assert apply_pending_removals(batch_size=1) == 2
    assert not CachedAccount.objects.exists()
    assert all(raw(a)[0] is None for a in accounts)
    assert sorted(r["home_account_id"] for r in removed) == sorted(accounts)


@requires_redis_server
@pytest.mark.django_db(transaction=True)
def test_a_host_cut_off_from_redis_logs_out_and_no_other_host_serves_the_tokens(
    redis_tokens, idp, sign_in, settings, tmp_path
):
    """This process loses Redis and logs alice out; another process that still reaches
    Redis must serve nothing for a call starting after the logout returns."""
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "REDIS_PENDING_CHECK_INTERVAL": 0.3}
    client = Client()
    sign_in(client, "alice")
    account = CachedAccount.objects.get()
    child = Server(tmp_path, settings, account.home_account_id, user=account.user_id)
    try:
        child.wait_for_a_token(after=0)
        reachable = settings.MSAL_DJANGO
        settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, **redis_tokens.unreachable}
        started = time.monotonic()
        assert client.post("/auth/logout/").status_code == 302
        logged_out_at = time.monotonic()
        assert logged_out_at - started >= 0.3  # it waited for every host to look
        time.sleep(0.8)
    finally:
        child.stop()
    assert child.served_between(0, logged_out_at)  # it was serving before
    assert child.served_after(logged_out_at) == []
    settings.MSAL_DJANGO = reachable
    assert raw(account.home_account_id)[0] is None  # the other process applied it
    assert not PendingRemoval.objects.exists()


def test_where_keys_live_follows_settings_changes(settings):
    """The server and key of an account are worked out once per settings change: a new
    ``CACHES`` entry for the alias, or a new ``CLIENT_ID``, is used on the next call."""
    settings.MSAL_DJANGO = {
        **settings.MSAL_DJANGO,
        "TOKEN_CACHE": "redis",
        "REDIS_CACHE_ALIAS": "redis",
    }
    server, key = locate("someone.tenant")
    assert server.connection_pool.connection_kwargs["db"] == 0
    settings.CACHES = {
        **settings.CACHES,
        "redis": {**settings.CACHES["redis"], "LOCATION": "redis://127.0.0.1:6379/7"},
    }
    moved, same_key = locate("someone.tenant")
    assert moved.connection_pool.connection_kwargs["db"] == 7
    assert same_key == key
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "CLIENT_ID": "another-app"}
    assert locate("someone.tenant")[1].endswith(":another-app:someone.tenant")


# -- REDIS_WAIT_REPLICAS while no replica confirms (own_redis has none) ---------------


@requires_redis_server
def test_a_wait_as_long_as_the_socket_timeout_is_unconfirmed_not_a_503(
    own_redis, settings, sign_in, caplog
):
    """``WAIT`` blocks its connection: one that outlasted the socket timeout (0.5 s in
    ``cache()``) broke the connection, and every write failed with a 503."""
    settings.MSAL_DJANGO = {
        **settings.MSAL_DJANGO,
        "REDIS_WAIT_REPLICAS": 1,
        "REDIS_WAIT_TIMEOUT": 0.5,
    }
    client = Client()
    started = time.monotonic()
    assert sign_in(client, "alice").status_code == 302  # stored, with a warning
    assert time.monotonic() - started < 2
    assert "did not confirm the sign-in" in caplog.text
    home_account_id = CachedAccount.objects.get().home_account_id
    assert raw(home_account_id)[0] is not None
    assert client.get("/token/").status_code == 200
    assert client.post("/auth/logout/").status_code == 302
    assert raw(home_account_id)[0] is None  # gone from the primary
    assert PendingRemoval.objects.filter(home_account_id=home_account_id).exists()


@requires_redis_server
@pytest.mark.django_db(transaction=True)
def test_unconfirmed_removals_take_one_wait_and_hold_up_no_other_read(
    own_redis, settings, sign_in, removed
):
    """Recorded removals the replicas do not confirm are applied again at each look:
    one ``WAIT`` for all of them, not one each, and a read that finds a look under way
    waits only for the keys to leave the primary, not for that ``WAIT``."""
    names = ["alice", "bob", "carol", "dave", "erin", "frank"]
    for name in names:
        sign_in(Client(), name)
    accounts = {a.user.username.split("@")[0]: a for a in CachedAccount.objects.all()}
    removing = [accounts[name].home_account_id for name in names[1:]]
    for home_account_id in removing:
        PendingRemoval.objects.create(home_account_id=home_account_id, reason="logout")
    settings.MSAL_DJANGO = {
        **settings.MSAL_DJANGO,
        "REDIS_WAIT_REPLICAS": 1,
        "REDIS_WAIT_TIMEOUT": 0.2,
        "REDIS_PENDING_CHECK_INTERVAL": 0.5,
    }
    alice = accounts["alice"].home_account_id
    time.sleep(0.6)  # the next read looks, and so would any other until a look is done
    took: dict[str, float] = {}

    def read(who: str) -> None:
        started = time.monotonic()
        assert redis_store.load(alice).state is not None
        took[who] = time.monotonic() - started

    def look() -> None:
        try:
            read("looking")
        finally:
            connection.close()  # the thread's own

    looking = threading.Thread(target=look)
    looking.start()
    deadline = time.monotonic() + 5
    while any(raw(a)[0] is not None for a in removing):
        assert time.monotonic() < deadline
        time.sleep(0.005)
    read("meanwhile")  # while the look waits for the replicas
    looking.join()
    assert took["meanwhile"] < 0.1  # not held up by the WAIT
    assert took["looking"] < 0.45  # one WAIT of 0.2 s, not five
    assert PendingRemoval.objects.count() == len(removing)  # kept: not confirmed
    assert CachedAccount.objects.count() == len(names)
    assert removed == []
    started = time.monotonic()
    assert apply_pending_removals() == 0
    assert time.monotonic() - started < 0.45


@requires_redis_server
@pytest.mark.django_db(transaction=True)
def test_confirming_a_removal_already_made_elsewhere_still_reaches_the_replicas(
    own_redis, settings, sign_in, tmp_path
):
    """Since Redis 7.2, ``WAIT`` measures its connection's last write that reached the
    replication stream, and a ``DEL`` of a key already gone reaches none: confirming a
    removal that a look (or another host) made must still write to the stream, or the
    ``WAIT`` answers for an older offset (redis-server here may be older than 7.2, so
    this checks the write itself)."""
    sign_in(Client(), "alice")
    home_account_id = CachedAccount.objects.get().home_account_id
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "REDIS_WAIT_REPLICAS": 1}
    server, key = locate(home_account_id)
    with RedisServer(tmp_path / "replica", f"replicaof 127.0.0.1 {own_redis.port}") as replica:
        deadline = time.monotonic() + 10
        while server.info("replication")["connected_slaves"] < 1 or server.wait(1, 100) < 1:
            assert time.monotonic() < deadline, "the replica never attached"
            time.sleep(0.05)
        assert server.delete(key) == 1  # removed on another connection already
        assert server.wait(1, 1000) == 1

        def deletions_replicated() -> int:
            stats = replica.client().info("commandstats")
            return int(stats.get("cmdstat_del", {}).get("calls", 0))

        before = deletions_replicated()
        held, confirmed = redis_store._delete([home_account_id])
        assert held == set()  # there was no key any more
        assert confirmed == {home_account_id}
        assert deletions_replicated() > before  # the confirmation went through the stream
        assert server.get(key) is None
