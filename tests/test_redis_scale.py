"""The store suite through django-redis's ShardClient and SentinelClient, and through
REDIS_CLIENT on a Redis Cluster, on real redis-server processes."""

from __future__ import annotations

import time

import pytest

from .conftest import delete_keys, redis_client_settings
from .redis_servers import RedisServer, cache, requires_redis_server

# The whole store suite and the cache-hit test run here again, through each client.
from .test_get_token import (  # noqa: F401
    test_cache_hit_makes_no_provider_request_and_no_store_write,
)
from .test_store import *  # noqa: F403

pytestmark = [pytest.mark.django_db, requires_redis_server]


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    servers = [RedisServer(tmp_path_factory.mktemp(f"shard{i}")).start() for i in range(2)]
    yield servers
    for server in servers:
        server.kill()


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory):
    primary = RedisServer(tmp_path_factory.mktemp("primary")).start()
    # A service name of its own: django-redis keeps its pools per URL for the process.
    name = f"tokens{primary.port}"
    replica = RedisServer(
        tmp_path_factory.mktemp("replica"), f"replicaof 127.0.0.1 {primary.port}"
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
    watcher.service = name
    yield primary, replica, watcher
    for server in (watcher, replica, primary):
        server.kill()


def sentinel_cache(watcher: RedisServer) -> dict[str, object]:
    return cache(
        f"redis://{watcher.service}/0",
        "sentinel",
        CLIENT_CLASS="django_redis.client.SentinelClient",
        CONNECTION_FACTORY="django_redis.pool.SentinelConnectionFactory",
        SENTINELS=[("127.0.0.1", watcher.port)],
    )


@pytest.fixture(params=["shard", "sentinel", "cluster"])
def store_backend(request, settings, msal_config):
    """Overrides conftest's: the Redis store through a ShardClient, a SentinelClient, or
    REDIS_CLIENT on a Redis Cluster."""
    if request.param == "cluster":
        cluster = request.getfixturevalue("redis_cluster")
        prefix = f"{settings.REDIS_TEST_PREFIX}-store-suite"
        config = {k: v for k, v in settings.MSAL_DJANGO.items() if k != "REDIS_CACHE_ALIAS"}
        path = "redis.cluster.RedisCluster"
        settings.MSAL_DJANGO = {**config, **redis_client_settings(prefix, cluster.options(), path)}
        yield "redis"
        delete_keys(cluster.client(), f"{prefix}:*")
        return
    if request.param == "shard":
        servers = request.getfixturevalue("shards")
        entry = cache(
            [s.url for s in servers], "shard", CLIENT_CLASS="django_redis.client.ShardClient"
        )
    else:
        entry = sentinel_cache(request.getfixturevalue("sentinel")[2])
    settings.CACHES = {**settings.CACHES, request.param: entry}
    settings.MSAL_DJANGO = {
        **settings.MSAL_DJANGO,
        "TOKEN_CACHE": "redis",
        "REDIS_CACHE_ALIAS": request.param,
    }
    yield "redis"
    from django.core.cache import caches

    caches[request.param].delete_pattern("*")
