"""Fixtures: the local identity provider (msal_django.testing), settings, signed-in users."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import ssl
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings as django_settings
from django.test import Client

from msal_django import msal_app as msal_client
from msal_django.signals import account_removed
from msal_django.testing import IdentityProvider

from .hostile import Capture, Watch
from .redis_servers import (
    REDIS_CLI,
    REDIS_SERVER,
    RedisClusterServers,
    RedisServer,
    cache,
    confirms_writes,
    requires_redis_server,
    sentinel_cache,
)

CLIENT_ID = "msal-django-tests"
CLIENT_SECRET = "tests-client-secret-0123456789"
REDIRECT_URI = "http://testserver/auth/callback/"
# The clients that call the site's API in the web API tests (api_clients).
SPA_ID = "msal-django-tests-spa"
DAEMON_ID = "msal-django-tests-daemon"
DAEMON_SECRET = "daemon-secret-0123456789"


def pytest_configure(config: pytest.Config) -> None:
    """Django's deprecation warnings fail the suite: every ``RemovedIn...`` class this
    Django defines (they differ between versions, so pyproject.toml cannot name them)."""
    from django.utils import deprecation

    for name, value in vars(deprecation).items():
        if name.startswith("Removed") and isinstance(value, type) and issubclass(value, Warning):
            config.addinivalue_line("filterwarnings", f"error::django.utils.deprecation.{name}")


@pytest.fixture(scope="session")
def _provider(identity_provider: IdentityProvider) -> IdentityProvider:
    """The plugin's provider (started once), with this suite's client registered."""
    identity_provider.register_client(
        CLIENT_ID,
        CLIENT_SECRET,
        redirect_uris=[REDIRECT_URI],
        post_logout_redirect_uris=["http://testserver/"],
    )
    return identity_provider


@pytest.fixture
def idp(settings, _provider: IdentityProvider) -> Iterator[IdentityProvider]:
    """The local identity provider, reset, and the settings pointing at it: the test
    talks to it over HTTPS through real MSAL. The one provider fixture of this suite."""
    _provider.reset()
    settings.MSAL_DJANGO = {
        **django_settings.MSAL_DJANGO,
        "AUTHORITY": _provider.authority,
        "GRAPH_URL": f"{_provider.base_url}/v1.0",
    }
    msal_client.reset()
    yield _provider
    msal_client.reset()


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(f"{record.getMessage()} {record.exc_text or ''}")


# What a test adds for ``no_secret_in_logs`` to look for (a private key, a file's token).
HIDDEN: list[str] = []


@pytest.fixture(autouse=True)
def no_secret_in_logs(request) -> Iterator[None]:
    """Every test: no code, token, client secret, key or assertion in any log record it
    produced."""
    # What the provider issued, if the test talks to it.
    provider = request.getfixturevalue("idp") if "idp" in request.fixturenames else None
    records = _Records()
    root = logging.getLogger()
    root.addHandler(records)
    try:
        yield
    finally:
        root.removeHandler(records)
    text = "\n".join(records.texts)
    secrets = [CLIENT_SECRET, *HIDDEN, *(provider.issued_secrets() if provider else [])]
    HIDDEN.clear()
    leaked = [secret[:10] + "..." for secret in secrets if secret and secret in text]
    assert leaked == [], "a secret was logged"


@pytest.fixture
def api_clients(idp) -> Iterator[None]:
    """A single-page app and a daemon registered to call the site's API; the provider's
    keys fetched afresh."""
    from msal_django import jwks

    idp.register_client(SPA_ID, "spa-secret-0123456789")
    idp.register_client(DAEMON_ID, DAEMON_SECRET)
    jwks.reset()
    yield
    jwks.reset()


@pytest.fixture(params=["database", "redis"])
def store_backend(request, settings, idp) -> Iterator[str]:
    """Runs the test against each token store; the Redis one in the "redis" test cache."""
    yield from _use_store(request, settings, request.param)


@pytest.fixture(
    params=[
        "database",
        "redis",
        pytest.param("shard", marks=requires_redis_server),
        pytest.param("sentinel", marks=requires_redis_server),
        pytest.param("cluster", marks=requires_redis_server),
    ]
)
def any_store(request, settings, idp) -> Iterator[str]:
    """``store_backend``'s stores, the Redis store through django-redis's ShardClient and
    SentinelClient, and through ``REDIS_CLIENT`` on a Redis Cluster, on real redis-server
    processes: the store suite runs on each."""
    yield from _use_store(request, settings, request.param)


def _use_store(request, settings, name: str) -> Iterator[str]:
    if name == "cluster":
        cluster = request.getfixturevalue("redis_cluster")
        prefix = f"{settings.REDIS_TEST_PREFIX}-store-suite"
        config = {k: v for k, v in settings.MSAL_DJANGO.items() if k != "REDIS_CACHE_ALIAS"}
        path = "redis.cluster.RedisCluster"
        settings.MSAL_DJANGO = {**config, **redis_client_settings(prefix, cluster.options(), path)}
        yield "redis"
        delete_keys(cluster.client(), f"{prefix}:*")
        return
    alias = "redis" if name in ("database", "redis") else name
    if name == "shard":
        servers = request.getfixturevalue("shards")
        entry = cache(
            [s.url for s in servers], "shard", CLIENT_CLASS="django_redis.client.ShardClient"
        )
        settings.CACHES = {**settings.CACHES, alias: entry}
    elif name == "sentinel":
        watcher = request.getfixturevalue("sentinel")[2]
        settings.CACHES = {**settings.CACHES, alias: sentinel_cache(watcher)}
    store = "database" if name == "database" else "redis"
    settings.MSAL_DJANGO = {
        **settings.MSAL_DJANGO,
        "TOKEN_CACHE": store,
        "REDIS_CACHE_ALIAS": alias,
    }
    yield store
    if store == "redis":
        flush_redis_prefix(alias)


def flush_redis_prefix(alias: str) -> None:
    """Delete every key of the cache ``alias`` (its KEY_PREFIX only)."""
    from django.core.cache import caches

    caches[alias].delete_pattern("*")  # type: ignore[attr-defined]  # django-redis's


# -- real redis-server processes (tests/redis_servers.py): shards, and a Sentinel


@pytest.fixture(scope="session")
def shards(tmp_path_factory):
    servers = [RedisServer(tmp_path_factory.mktemp(f"shard{i}")).start() for i in range(2)]
    yield servers
    for server in servers:
        server.kill()


@pytest.fixture(scope="session")
def sentinel(tmp_path_factory):
    """A primary, its replica and a Sentinel watching them, shared by the session."""
    yield from _sentinel_group(tmp_path_factory)


@pytest.fixture
def fresh_sentinel(tmp_path_factory):
    """``sentinel``'s group of the test's own: a failover test swaps the roles."""
    yield from _sentinel_group(tmp_path_factory)


def _sentinel_group(tmp_path_factory):
    # Replicas sync at once, not after redis-server's default 5 s delay.
    no_delay = "repl-diskless-sync-delay 0"
    primary = RedisServer(tmp_path_factory.mktemp("primary"), no_delay).start()
    # A service name of its own: django-redis keeps its pools per URL for the process.
    name = f"tokens{primary.port}"
    replica = RedisServer(
        tmp_path_factory.mktemp("replica"), f"replicaof 127.0.0.1 {primary.port}", no_delay
    ).start()
    watcher = RedisServer(
        tmp_path_factory.mktemp("sentinel"),
        f"sentinel monitor {name} 127.0.0.1 {primary.port} 1",
        f"sentinel down-after-milliseconds {name} 1000",
        f"sentinel failover-timeout {name} 5000",
        sentinel=True,
    ).start()
    deadline = time.monotonic() + 10
    while not watcher.client().execute_command("SENTINEL", "REPLICAS", name):
        assert time.monotonic() < deadline, "the sentinel never saw the replica"
        time.sleep(0.1)
    while not confirms_writes(primary):  # a first write's WAIT is confirmed
        assert time.monotonic() < deadline, "the replica never synced"
        time.sleep(0.05)
    watcher.service = name
    yield primary, replica, watcher
    for server in (watcher, replica, primary):
        server.kill()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterServers]:
    """A real Redis Cluster of this test run's own (three primaries, three replicas),
    stopped and deleted at the end: no process and no file is left behind."""
    if REDIS_CLI is None or REDIS_SERVER is None:
        # Never a silent skip: the cluster tests are what prove the store on a cluster.
        pytest.fail("redis-server and redis-cli are missing: apt-get install redis-server")
    cluster = RedisClusterServers().start()
    processes = [node.process for node in cluster.nodes]
    yield cluster
    cluster.stop()
    assert all(p is not None and p.poll() is not None for p in processes)
    assert not cluster.directory.exists()


def redis_client_settings(prefix: str, options: dict[str, object], path: str) -> dict[str, object]:
    """``MSAL_DJANGO`` keys for the Redis store through ``REDIS_CLIENT`` (no alias)."""
    return {
        "TOKEN_CACHE": "redis",
        "REDIS_CLIENT": path,
        "REDIS_CLIENT_OPTIONS": options,
        "REDIS_KEY_PREFIX": prefix,
    }


def delete_keys(client: object, pattern: str) -> None:
    """Delete the keys matching ``pattern`` (on every primary of a cluster)."""
    keys = list(client.scan_iter(match=pattern, count=1000))  # type: ignore[attr-defined]
    for key in keys:
        client.delete(key)  # type: ignore[attr-defined]


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


# -- the browser tests: Debian's Chromium through Playwright, and this app on a live server

CHROMIUM = "/usr/bin/chromium"
APP_A_CLIENT_ID = "msal-django-browser-app-a"


def _spki_hash(host: str, port: int) -> str:
    """The base64 SHA-256 of the provider's TLS key, for Chromium to trust it (and only it)."""
    pem = ssl.get_server_certificate((host, port))
    key = x509.load_pem_x509_certificate(pem.encode()).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


@pytest.fixture(scope="module")
def browser(django_db_setup, identity_provider):
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"{CHROMIUM} is not installed: `apt-get install chromium` (tests/run.sh does), "
            "or deselect these tests with -m 'not browser'."
        )
    from playwright.sync_api import sync_playwright

    spki = _spki_hash(identity_provider.host, identity_provider.port)
    with pytest.MonkeyPatch.context() as env, sync_playwright() as playwright:
        # Playwright's sync API keeps an event loop in this thread, which Django takes
        # for async code; the ORM calls in these tests are plain synchronous code.
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                # Trust the local provider's certificate, not every certificate.
                f"--ignore-certificate-errors-spki-list={spki}",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def app_a(settings, idp):
    from pytest_django.live_server_helper import LiveServer

    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "CLIENT_ID": APP_A_CLIENT_ID}
    settings.STATIC_URL = "/static/"  # the live server's static files handler needs one
    server = LiveServer("127.0.0.1")
    yield server.url
    server.stop()


# -- hostile input (tests/hostile.py): what every case checks ----------------------------


@pytest.fixture
def watch(idp) -> Iterator[Watch]:
    capture = Capture()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    watcher = Watch(idp, capture, [CLIENT_SECRET])
    try:
        yield watcher
    finally:
        root.removeHandler(capture)
        root.setLevel(previous)
    watcher.assert_clean()


@pytest.fixture
def bystanders(db, sign_in, store_backend):
    """Alice and Bob, signed in, on the token store under test."""
    clients = {}
    for name in ("alice", "bob"):
        clients[name] = Client()
        assert sign_in(clients[name], name).status_code == 302
    return clients


def _store_watch():
    from msal_django.stores import get_store

    return get_store().watch()


def watch_proven(timeout: float = 10.0) -> int:
    """Wait until this process's watch of the configured store has proof that it has seen
    every change (msal_django.stores.watch); its epoch, or 0 for a store without a watch
    (SQLite, SERVE_FROM_MEMORY off): every hit reads there."""
    watch = _store_watch()
    if watch is None:
        return 0
    deadline = time.monotonic() + timeout
    while not (epoch := watch.proven_epoch()):
        assert time.monotonic() < deadline, "the watch found no proof"
        time.sleep(0.005)
    return epoch


def watch_lost(timeout: float = 10.0) -> None:
    """Wait until this process's watch no longer vouches for what it remembers: after a
    store goes down, a hit is still served with no read until its last proof is older
    than INVALIDATION_WINDOW (no logout can complete unseen meanwhile)."""
    watch = _store_watch()
    if watch is None:
        return
    deadline = time.monotonic() + timeout
    while watch.proven_epoch():
        assert time.monotonic() < deadline, "the watch still has its proof"
        time.sleep(0.005)


@pytest.fixture
def own_redis(tmp_path, settings, idp):
    """The token store on a redis-server of this test's own, which it may kill."""
    with RedisServer(tmp_path / "redis") as server:
        settings.CACHES = {**settings.CACHES, "own": cache(server.url, "own")}
        settings.MSAL_DJANGO = {
            **settings.MSAL_DJANGO,
            "TOKEN_CACHE": "redis",
            "REDIS_CACHE_ALIAS": "own",
            "REDIS_PENDING_CHECK_INTERVAL": 0.2,
        }
        yield server


def changes_seen(timeout: float = 10.0) -> None:
    """Wait until this process's watch has seen every change made so far, its own writes
    too (each one forgets what the process remembered of that account, a moment later);
    nothing to wait for without a watch."""
    watch = _store_watch()
    if watch is None:
        return
    now = time.monotonic()
    deadline = now + timeout
    while not watch.seen_since(now):
        watch.proven_epoch()  # wakes an idle watch
        assert time.monotonic() < deadline, "the watch saw nothing new"
        time.sleep(0.005)
