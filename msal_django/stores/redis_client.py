"""Where the Redis store's keys live: the redis-py client ``REDIS_CLIENT`` names, or the
django-redis cache ``REDIS_CACHE_ALIAS``, worked out once per settings change.

``REDIS_CLIENT`` is the dotted path of a callable returning a redis-py client
(``redis.Redis``, ``redis.cluster.RedisCluster``, a Sentinel's ``master_for``, or a
factory of the project's own), called with ``REDIS_CLIENT_OPTIONS`` as keyword
arguments. The client is built on first use, shared by every thread (redis-py's clients
and their pools are thread-safe), and dropped when ``MSAL_DJANGO`` changes
(``setting_changed``). A client that reads from replicas is refused: a replica may still
hold tokens a logout has removed.

``locate`` gives an account's server and key from what was worked out at the first call
after a change of ``MSAL_DJANGO`` or ``CACHES`` (``apps.py`` calls ``reset``), not from the
settings on every call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from msal_django.conf import SETTINGS_READ, msal_settings, resets_on_change

if TYPE_CHECKING:
    from redis import Redis

_lock = threading.Lock()
_client: Any = None
_where: Callable[[str], tuple[Redis, str]] | None = None


def locate(home_account_id: str) -> tuple[Redis, str]:
    """The server holding the account's key (a primary), and the key."""
    where = _where
    if where is None:
        where = _where_keys_live()
        _set_where(where)
    return where(home_account_id)


def get_client() -> Any:
    """The shared client; building it may connect (a cluster reads its slot map)."""
    client = _client
    if client is None:
        with _lock:
            client = _client if _client is not None else _build()
            _set(client)
    return client


@resets_on_change("CACHES", *SETTINGS_READ)
def reset() -> None:
    """Forget the client and where keys live (settings changed). The client is not
    closed: other threads may be using it; its pools close when it is collected."""
    with _lock:
        _set(None)
        _set_where(None)


def _set(client: Any) -> None:
    global _client
    _client = client


def _set_where(where: Callable[[str], tuple[Redis, str]] | None) -> None:
    global _where
    _where = where


def _where_keys_live() -> Callable[[str], tuple[Redis, str]]:
    if msal_settings.REDIS_CLIENT:
        client = get_client()
        prefix = f"{msal_settings.REDIS_KEY_PREFIX}:{msal_settings.CLIENT_ID}:"
        return lambda home_account_id: (client, prefix + home_account_id)
    # django-redis's client is safe to share between threads: it only hands out redis-py
    # clients, whose connection pools are.
    cache_client = caches[msal_settings.REDIS_CACHE_ALIAS].client  # type: ignore[attr-defined]
    name = f"msal_django:{msal_settings.CLIENT_ID}:"
    if hasattr(cache_client, "get_server"):  # ShardClient: the server that holds this key

        def on_shard(home_account_id: str) -> tuple[Redis, str]:
            key = str(cache_client.make_key(name + home_account_id))
            return cache_client.get_server(key), key

        return on_shard
    # What django_redis.get_redis_connection(alias) returns: the primary, never a replica.
    primary = cache_client.get_client(write=True)
    return lambda home_account_id: (primary, str(cache_client.make_key(name + home_account_id)))


def watched_servers() -> tuple[Callable[[], list[Redis]], str] | None:
    """What the watch (``stores/redis_watch.py``) must follow: a callable giving the
    primaries reads go to now, and the prefix of every token key; None if the keys
    share no prefix (a django-redis ``KEY_FUNCTION`` that does not keep one)."""
    if msal_settings.REDIS_CLIENT:
        client = get_client()
        prefix = f"{msal_settings.REDIS_KEY_PREFIX}:{msal_settings.CLIENT_ID}:"
        if hasattr(client, "get_primaries"):  # a cluster: every primary, as the slots move
            return lambda: [client.get_redis_connection(n) for n in client.get_primaries()], prefix
        return lambda: [client], prefix
    cache_client = caches[msal_settings.REDIS_CACHE_ALIAS].client  # type: ignore[attr-defined]
    name = f"msal_django:{msal_settings.CLIENT_ID}:"
    one, two = str(cache_client.make_key(name + "a")), str(cache_client.make_key(name + "bb"))
    prefix = one[:-1]
    if not (one.endswith("a") and two == prefix + "bb"):
        return None
    if hasattr(cache_client, "get_server"):  # ShardClient: every shard
        servers = list(getattr(cache_client, "_serverdict", {}).values())
        return (lambda: servers, prefix) if servers else None
    primary = cache_client.get_client(write=True)
    return lambda: [primary], prefix


def _build() -> Any:
    path = msal_settings.REDIS_CLIENT
    try:
        factory = import_string(str(path))
    except ImportError as exc:
        raise ImproperlyConfigured(f"MSAL_DJANGO['REDIS_CLIENT'] {path!r}: {exc}") from exc
    client = factory(**msal_settings.REDIS_CLIENT_OPTIONS)
    reason = replica_reads(client)
    if reason:
        raise ImproperlyConfigured(
            f"MSAL_DJANGO['REDIS_CLIENT'] {path!r} returned a client that {reason}: a "
            "replica may still hold tokens a logout removed. Give the token store a client "
            "that reads from primaries (drop read_from_replicas / load_balancing_strategy)."
        )
    return client


def replica_reads(client: Any) -> str | None:
    """Why ``client`` may read from a replica, or None if it reads from primaries only."""
    if getattr(client, "read_from_replicas", False):
        return "reads from replicas (read_from_replicas)"
    if getattr(client, "load_balancing_strategy", None) is not None:
        return "spreads reads over replicas (load_balancing_strategy)"
    pool = getattr(client, "connection_pool", None)
    if getattr(pool, "is_master", True) is False:  # Sentinel's slave_for()
        return "is connected to a Sentinel replica (slave_for)"
    return None
