"""The Redis store on a real Redis Cluster (``REDIS_CLIENT`` = ``redis.cluster.RedisCluster``):
keys spread over the nodes, a resharding under way, replicas that do not confirm a
logout, and a primary killed while people sign in, refresh and log out.

The whole store module (tests/test_redis_store.py) runs on the cluster too."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import redis
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client

import msal_django
from msal_django import tokens
from msal_django.models import CachedAccount, PendingRemoval
from msal_django.stores import AccountInfo
from msal_django.stores.redis import apply_pending_removals, redis_store
from msal_django.stores.redis_client import locate

from .conftest import delete_keys, redis_client_settings
from .redis_servers import requires_redis_cluster

pytestmark = [pytest.mark.django_db, requires_redis_cluster]

STATE = '{"AccessToken": {}}'
BUILT: list[object] = []


def counted_cluster(**options):
    """A REDIS_CLIENT factory that records each client it builds."""
    client = redis.cluster.RedisCluster(**options)
    BUILT.append(client)
    return client


@pytest.fixture
def on_cluster(settings, redis_cluster):
    prefix = f"{settings.REDIS_TEST_PREFIX}-cluster-tests"
    config = {k: v for k, v in settings.MSAL_DJANGO.items() if k != "REDIS_CACHE_ALIAS"}
    options = redis_cluster.options()
    settings.MSAL_DJANGO = {
        **config,
        **redis_client_settings(prefix, options, "redis.cluster.RedisCluster"),
    }
    yield redis_cluster
    delete_keys(redis_cluster.client(), f"{prefix}:*")


def configure(settings, **values):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, **values}


def key_of(home_account_id: str) -> str:
    return locate(home_account_id)[1]


def test_the_client_is_built_once_per_settings_change(on_cluster, settings):
    configure(settings, REDIS_CLIENT="tests.test_redis_cluster.counted_cluster")
    BUILT.clear()
    for _ in range(3):
        redis_store.replace("a.t", STATE, None, AccountInfo())
        assert redis_store.load("a.t").state == STATE
    assert len(BUILT) == 1
    configure(settings, REDIS_WAIT_TIMEOUT=1)
    redis_store.load("a.t")
    assert len(BUILT) == 2


@pytest.mark.filterwarnings("ignore:Call to '__init__' function with deprecated usage")
@pytest.mark.parametrize("option", [{"read_from_replicas": True}, {"load_balancing_strategy": 1}])
def test_a_client_that_reads_replicas_is_refused(on_cluster, settings, option):
    from redis.cluster import LoadBalancingStrategy

    if "load_balancing_strategy" in option:
        option = {"load_balancing_strategy": LoadBalancingStrategy.ROUND_ROBIN}
    options = {**settings.MSAL_DJANGO["REDIS_CLIENT_OPTIONS"], **option}
    configure(settings, REDIS_CLIENT_OPTIONS=options)
    with pytest.raises(ImproperlyConfigured, match="replica"):
        redis_store.load("a.t")


def test_accounts_spread_over_every_primary_and_a_batch_removal_has_no_cross_slot_command(
    on_cluster, settings
):
    ids = [f"{n}.tenant" for n in range(60)]
    for home_account_id in ids:
        redis_store.replace(home_account_id, STATE, None, AccountInfo())
    client = on_cluster.client()
    primaries = {client.get_node_from_key(key_of(a)).name for a in ids}
    assert len(primaries) == 3  # the keys carry no hash tag: every shard holds some
    for home_account_id in ids:
        partition = redis_store.load(home_account_id)
        assert redis_store.save(partition, STATE)  # the script runs where the key lives
        assert not redis_store.save(partition, STATE)
    assert 0 < client.ttl(key_of(ids[0])) <= 91 * 24 * 3600
    assert sorted(redis_store.remove_many(ids)) == sorted(ids)
    assert not any(client.exists(key_of(a)) for a in ids)


def _node_id(server) -> str:
    return server.client().execute_command("CLUSTER", "MYID").decode()


def test_a_resharding_under_way_is_followed(on_cluster, settings):
    """The slot of a key moves to another primary while the store uses it (ASK while it
    migrates, MOVED after): every operation still lands on the key's owner."""
    home_account_id = "resharded.tenant"
    redis_store.replace(home_account_id, STATE, None, AccountInfo())
    key = key_of(home_account_id)
    slot = redis.cluster.key_slot(key.encode())
    source = on_cluster.primary_of(key)
    target = next(
        n for n in on_cluster.nodes if n is not source and n.client().role()[0] == b"master"
    )
    target.client().execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", _node_id(source))
    source.client().execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", _node_id(target))
    partition = redis_store.load(home_account_id)  # still on the source
    source.client().execute_command("MIGRATE", "127.0.0.1", target.port, key, 0, 5000)
    assert redis_store.load(home_account_id).state == STATE  # ASK to the target
    assert redis_store.save(partition, STATE)
    for node in on_cluster.nodes:
        if node.client().role()[0] == b"master":
            node.client().execute_command("CLUSTER", "SETSLOT", slot, "NODE", _node_id(target))
    on_cluster.wait_until_ok()
    assert redis_store.load(home_account_id).state == STATE  # MOVED to the target
    assert redis_store.remove(home_account_id)
    assert redis_store.load(home_account_id).state is None
    assert not target.client().exists(key)


@pytest.mark.django_db(transaction=True)
def test_a_logout_the_replica_does_not_confirm_is_recorded_until_it_does(
    on_cluster, settings, sign_in, removed
):
    configure(settings, REDIS_WAIT_REPLICAS=1, REDIS_WAIT_TIMEOUT=0.2)
    configure(settings, REDIS_PENDING_CHECK_INTERVAL=0.1)
    client = Client()
    sign_in(client, "alice")
    home_account_id = CachedAccount.objects.get().home_account_id
    replica = on_cluster.replica_of(on_cluster.primary_of(key_of(home_account_id)))
    assert replica.process is not None
    os.kill(replica.process.pid, signal.SIGSTOP)  # it takes no replication stream
    try:
        assert client.post("/auth/logout/").status_code == 302
        assert PendingRemoval.objects.filter(home_account_id=home_account_id).exists()
        assert redis_store.load(home_account_id).state is None  # gone from the primary
        assert apply_pending_removals() == 0  # still unconfirmed: kept
        assert PendingRemoval.objects.exists()
    finally:
        os.kill(replica.process.pid, signal.SIGCONT)
    on_cluster.wait_until_ok()
    assert apply_until_none_pending() == 1
    assert [r["reason"] for r in removed] == ["logout"]


@pytest.mark.django_db(transaction=True)
def test_a_primary_killed_during_sign_ins_refreshes_and_logouts(on_cluster, settings, idp, sign_in):
    """A primary dies (SIGKILL) and its replica takes over. Meanwhile requests answer or
    fail with 503, never a 500; afterwards no account a logout removed can be read, and
    no account's tokens roll back to an older acknowledged refresh."""
    configure(settings, REDIS_WAIT_REPLICAS=1, REDIS_WAIT_TIMEOUT=0.5)
    configure(settings, REDIS_PENDING_CHECK_INTERVAL=0.2)
    idp.access_token_lifetime = 60  # every call refreshes: a write each time
    clients = {}
    for n in range(9):
        clients[f"user{n}"] = client = Client()
        sign_in(client, f"user{n}")
    accounts = {
        a.user.username.split("@")[0]: a for a in CachedAccount.objects.select_related("user")
    }
    by_primary: dict[int, list[str]] = {}
    for name, account in accounts.items():
        by_primary.setdefault(on_cluster.primary_of(key_of(account.home_account_id)).port, [])
        by_primary[on_cluster.primary_of(key_of(account.home_account_id)).port].append(name)
    # The victim is not the startup node, and holds at least two of the accounts.
    victim_port = max(
        (p for p in by_primary if p != on_cluster.nodes[0].port), key=lambda p: len(by_primary[p])
    )
    victim = on_cluster.node_at(victim_port)
    replica = on_cluster.replica_of(victim)
    names = sorted(accounts, key=lambda n: n not in by_primary[victim_port])
    refreshing, logging_out = names[0::2], names[1::2]

    errors: list[BaseException] = []
    acked: dict[str, list[str]] = {name: [] for name in refreshing}
    statuses: list[int] = []
    logged_out: list[str] = []
    stop = threading.Event()

    def refresh(name=""):
        account = accounts[name]
        while not stop.is_set():
            try:
                tokens.acquire(account.home_account_id, ["User.Read"], user=account.user)
            except msal_django.StoreUnavailable:
                time.sleep(0.05)
                continue
            try:  # the version this acknowledged refresh left
                version = redis_store.load(account.home_account_id).version
            except msal_django.StoreUnavailable:
                continue
            if version is not None and (not acked[name] or acked[name][-1] != version):
                acked[name].append(version)

    def log_out(names):
        for name in names:
            time.sleep(0.3)
            statuses.append(clients[name].post("/auth/logout/").status_code)
            logged_out.append(name)

    def sign_ins():
        for n in range(4):
            time.sleep(0.3)
            statuses.append(sign_in(Client(), f"late{n}").status_code)

    threads = [threading.Thread(target=_guard(errors, refresh, name)) for name in refreshing] + [
        threading.Thread(target=_guard(errors, log_out, logging_out)),
        threading.Thread(target=_guard(errors, sign_ins)),
    ]
    for t in threads:
        t.start()
    try:
        time.sleep(0.4)
        victim.kill()
        deadline = time.monotonic() + 15
        while _role(replica) != b"master":
            assert time.monotonic() < deadline, "the replica never took over"
            time.sleep(0.05)
        time.sleep(1.0)  # requests go on against the promoted replica
    finally:
        stop.set()
        for t in threads:
            t.join()
        victim.start()  # it comes back as the replica of the new primary
        on_cluster.wait_until_ok()
    assert errors == []
    assert set(statuses) <= {302, 503}
    assert sorted(logged_out) == sorted(logging_out)
    apply_until_none_pending()  # now that every primary has its replica again
    for name in logging_out:
        home_account_id = accounts[name].home_account_id
        assert redis_store.load(home_account_id).state is None
        assert not on_cluster.client().exists(key_of(home_account_id))
    for name in refreshing:
        final = redis_store.load(accounts[name].home_account_id).version
        assert acked[name], name
        assert final not in acked[name][:-1]  # never an older acknowledged refresh
    assert any(len(acked[n]) > 1 for n in refreshing if n in by_primary[victim_port])


def apply_until_none_pending(timeout: float = 15) -> int:
    """Apply the recorded removals until none is left; how many were applied. A replica
    that has just come back may still be syncing: its WAIT (REDIS_WAIT_TIMEOUT) can time
    out once on a loaded machine, and the removal then stays recorded for the next try,
    which is the guarantee under test (applied as soon as the replicas confirm)."""
    applied = apply_pending_removals()
    deadline = time.monotonic() + timeout
    while PendingRemoval.objects.exists():
        assert time.monotonic() < deadline, "a recorded removal was never applied"
        time.sleep(0.1)
        applied += apply_pending_removals()
    return applied


def _guard(errors, fn, *args):
    def run():
        try:
            fn(*args)
        except BaseException as exc:  # pragma: no cover - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    return run


def _role(server) -> bytes | None:
    try:
        return server.client().role()[0]
    except redis.RedisError:
        return None
