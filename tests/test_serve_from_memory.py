"""Hits served from memory with no read (SERVE_FROM_MEMORY, msal_django.stores.watch), and
the invariant they keep: no call that starts after a logout of any kind has returned is
served a token of that account, in any process.

The races run real processes (tests/serving.py) against real PostgreSQL, Redis and a
Redis Cluster; each round waits until every process has served the token with no read,
then logs the account out in this process and compares, on the one monotonic clock of the
machine, every call's start with the moment the logout returned. The same harness, with
the logout's wait or the proof's age check taken out, finds tokens served after logouts:
the tests can fail.
"""

from __future__ import annotations

import time

import pytest
import redis
from django.db import connection
from django.test import Client

from msal_django import tokens
from msal_django.models import CachedAccount
from msal_django.stores import get_store, token_memory, watch
from msal_django.stores.watch import client_name

from . import test_token_memory as removals
from .conftest import _use_store, changes_seen, watch_proven
from .redis_servers import requires_redis_server, sentinel_cache
from .serving import Server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("idp")]

SCOPES = ["User.Read"]
WINDOW = 0.05  # INVALIDATION_WINDOW's default


@pytest.fixture(params=["database", "redis", pytest.param("cluster", marks=requires_redis_server)])
def watched_store(request, settings, idp):
    """A store with a watch: PostgreSQL's (the database store elsewhere has none: every
    hit reads, which test_token_memory.py covers), Redis and a Redis Cluster."""
    if request.param == "database" and connection.vendor != "postgresql":
        pytest.skip("the database store serves with no read on PostgreSQL only")
    yield from _use_store(request, settings, request.param)


def race(idp, sign_in, settings, tmp_path, rounds, *, stall=0.0, sabotage=""):
    """``rounds`` rounds of each kind of logout against two serving processes (the second
    one's watch stalls now and then); returns the calls served after a logout returned."""
    client = Client()
    sign_in(client, "alice")
    home = CachedAccount.objects.get().home_account_id
    servers = [
        Server(tmp_path, settings, home, sabotage=sabotage),
        Server(tmp_path, settings, home, stall=stall or 0.3, sabotage=sabotage),
    ]
    late = []
    try:
        for logout in removals.REMOVALS * rounds:
            signed_in = time.monotonic()
            if not CachedAccount.objects.exists():
                client = Client()
                sign_in(client, "alice")
            for server in servers:
                server.wait_for_a_token(after=signed_in, no_read=True)
            logout(idp, client, home)
            returned = time.monotonic()
            assert not get_store().load(home).exists
            time.sleep(0.1)
            late += [call for server in servers for call in server.served_after(returned)]
            if sabotage and late:
                break
    finally:
        for server in servers:
            server.stop()
    return late


def test_no_token_after_any_logout_in_any_process(idp, watched_store, sign_in, settings, tmp_path):
    assert race(idp, sign_in, settings, tmp_path, rounds=3) == []


@pytest.mark.parametrize("broken", ["the logout's wait", "the proof's age check"])
def test_the_race_finds_tokens_after_logout_without_the_guarantee(
    idp, store_backend, sign_in, settings, tmp_path, monkeypatch, broken
):
    """The harness above, with one half of the design taken out: it must find calls
    served after a logout returned (else the race test proves nothing)."""
    if store_backend == "database" and connection.vendor != "postgresql":
        pytest.skip("the database store serves with no read on PostgreSQL only")
    # A wider window: the broken half lets through what arrives within it.
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "INVALIDATION_WINDOW": 0.3}
    sabotage = ""
    if broken == "the logout's wait":
        monkeypatch.setattr(watch, "_wait", lambda using: None)
    else:
        sabotage = "no-proof-check"
    late = race(idp, sign_in, settings, tmp_path, rounds=3, stall=1.0, sabotage=sabotage)
    assert late, "no token was served after a logout: the harness cannot see the race"


# -- this process: no read per hit, and the fallbacks to reads --------------------------


@pytest.fixture
def version_reads(monkeypatch):
    """How many times the store read a version or a partition (the real reads, counted)."""
    store = get_store()
    reads: list[str] = []
    for name in ("version", "load"):
        method = getattr(store, name)

        def counted(*args, _method=method, _name=name, **kwargs):
            reads.append(_name)
            return _method(*args, **kwargs)

        monkeypatch.setattr(store, name, counted)
    return reads


def served_with_no_read(home, reads) -> bool:
    before = len(reads)
    assert tokens.acquire(home, SCOPES)
    return len(reads) == before


def warm(sign_in):
    """Alice signed in, her token remembered and served once under the watch's proof."""
    sign_in(Client(), "alice")
    home = CachedAccount.objects.get().home_account_id
    epoch = watch_proven()
    changes_seen()  # the sign-in's write seen: it forgets nothing remembered from now on
    tokens.acquire(home, SCOPES)  # remembered (or retrusted after one read)
    tokens.acquire(home, SCOPES)
    return home, epoch


def wait_for_new_epoch(old: int, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    watched = get_store().watch()
    assert watched is not None
    while (epoch := watched.proven_epoch()) in (0, old):
        assert time.monotonic() < deadline, "the watch never came back"
        time.sleep(0.01)
    return epoch


def test_hits_read_nothing_while_the_watch_proves_itself(watched_store, sign_in, version_reads):
    home, _ = warm(sign_in)
    assert all(served_with_no_read(home, version_reads) for _ in range(50))


def test_a_rewrite_elsewhere_is_followed_within_the_window(
    watched_store, sign_in, settings, version_reads
):
    home, _ = warm(sign_in)
    entry = token_memory.memory().lookup(home, frozenset(SCOPES))
    partition = get_store().load(home)
    assert entry is not None
    get_store().save(partition, str(partition.state))  # as another process's refresh
    time.sleep(3 * WINDOW)  # a save forgets nothing here: the watch does
    assert token_memory.memory().lookup(home, frozenset(SCOPES)) is None


def test_with_the_setting_off_every_hit_reads(watched_store, sign_in, settings, version_reads):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "SERVE_FROM_MEMORY": False}
    sign_in(Client(), "alice")
    home = CachedAccount.objects.get().home_account_id
    assert get_store().watch() is None
    tokens.acquire(home, SCOPES)
    assert not any(served_with_no_read(home, version_reads) for _ in range(5))


def _kill_the_watch_connection(store_name):
    if store_name == "database":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s AND datname = current_database()",
                [client_name()],
            )
            assert cursor.fetchone() == (True,)
        return
    from msal_django.stores.redis_client import watched_servers

    servers, _ = watched_servers()
    for server in servers():
        for client in server.client_list():
            if client["name"] == client_name():
                server.client_kill_filter(_id=client["id"])


def test_a_disconnect_falls_back_to_reads(watched_store, sign_in, version_reads):
    home, epoch = warm(sign_in)
    assert served_with_no_read(home, version_reads)
    _kill_the_watch_connection(watched_store)
    time.sleep(2 * WINDOW)  # the proof from before may serve until then
    assert not served_with_no_read(home, version_reads)  # a read, and the token
    wait_for_new_epoch(epoch)
    tokens.acquire(home, SCOPES)  # one read under the new connection trusts it again
    assert served_with_no_read(home, version_reads)


@requires_redis_server
def test_a_redis_restart_with_its_data_falls_back_to_reads(own_redis, sign_in, version_reads):
    home, epoch = warm(sign_in)
    own_redis.kill()
    own_redis.start()  # the AOF brings the keys back
    time.sleep(2 * WINDOW)
    assert not served_with_no_read(home, version_reads)
    assert wait_for_new_epoch(epoch) > epoch


@pytest.fixture
def sentinel_store(settings, fresh_sentinel):
    sentinel = fresh_sentinel[2]
    settings.CACHES = {**settings.CACHES, "sentinel": sentinel_cache(sentinel)}
    settings.MSAL_DJANGO = {
        **settings.MSAL_DJANGO,
        "TOKEN_CACHE": "redis",
        "REDIS_CACHE_ALIAS": "sentinel",
    }
    return fresh_sentinel


@requires_redis_server
def test_a_sentinel_failover_falls_back_to_reads(sentinel_store, sign_in, version_reads):
    primary, replica, sentinel = sentinel_store
    home, epoch = warm(sign_in)
    watched = redis.Redis(port=primary.port).client_list()
    assert client_name() in [c["name"] for c in watched]  # the primary is watched
    deadline = time.monotonic() + 10  # the sign-in on the replica first (asynchronous)
    while (
        replica.client().info("replication")["slave_repl_offset"]
        < primary.client().info("replication")["master_repl_offset"]
    ):
        assert time.monotonic() < deadline, "the replica never caught up"
        time.sleep(0.02)
    sentinel.client().execute_command("SENTINEL", "FAILOVER", sentinel.service)
    deadline = time.monotonic() + 20
    # Until Sentinel demotes the old primary, reads go there too (the pool has not asked
    # Sentinel again): the watch follows the reads, not the newest primary.
    while (replica.client().role()[0], primary.client().role()[0]) != (b"master", b"slave"):
        assert time.monotonic() < deadline, "no failover"
        time.sleep(0.05)
    time.sleep(2 * WINDOW)
    assert not served_with_no_read(home, version_reads)
    wait_for_new_epoch(epoch)
    # The new epoch watches the new primary.
    names = [c["name"] for c in replica.client().client_list()]
    assert client_name() in names


def test_without_the_trigger_every_hit_reads_and_the_log_says_why(
    watched_store, sign_in, settings, version_reads, caplog
):
    if watched_store != "database":
        pytest.skip("the trigger is the database store's")
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE msal_django_cachedaccount DISABLE TRIGGER msal_django_cachedaccount_notify"
        )
    try:
        settings.MSAL_DJANGO = {**settings.MSAL_DJANGO}  # a new watch, which looks again
        sign_in(Client(), "alice")
        home = CachedAccount.objects.get().home_account_id
        tokens.acquire(home, SCOPES)
        deadline = time.monotonic() + 10
        while "msal_django_cachedaccount_notify is missing" not in caplog.text:
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.01)
        assert not any(served_with_no_read(home, version_reads) for _ in range(20))
        time.sleep(0.3)  # it keeps trying, and says so once
        assert caplog.text.count("is not watched") == 1
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE msal_django_cachedaccount "
                "ENABLE TRIGGER msal_django_cachedaccount_notify"
            )


def test_a_removal_that_finds_nothing_still_waits(watched_store):
    """Two logouts of one account at once: the one that finds the partition already gone
    must not return before the other's delete is covered by every process's proof."""
    started = time.monotonic()
    assert get_store().remove("nobody-signed-in-as-this") is False
    assert time.monotonic() - started >= WINDOW


def test_a_new_watch_never_reuses_an_epoch(watched_store, sign_in, settings):
    _home, epoch = warm(sign_in)
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO}  # a settings change: a new watch
    assert watch_proven() > epoch  # a token trusted under the old one needs a read


def test_a_repeatable_read_transaction_trusts_nothing_it_reads(
    watched_store, sign_in, monkeypatch, version_reads
):
    if watched_store != "database":
        pytest.skip("a database transaction's snapshot")
    from django.db import transaction
    from psycopg import IsolationLevel

    home, _ = warm(sign_in)
    token_memory.memory().forget(home)
    monkeypatch.setitem(
        connection.settings_dict["OPTIONS"], "isolation_level", IsolationLevel.REPEATABLE_READ
    )
    with transaction.atomic():
        assert get_store().watch().stamp().epoch == 0
        tokens.acquire(home, SCOPES)  # remembered, but not to be served with no read
        assert not served_with_no_read(home, version_reads)
