"""The redis-py client ``REDIS_CLIENT`` names, built once per settings change.

``REDIS_CLIENT`` is the dotted path of a callable returning a redis-py client
(``redis.Redis``, ``redis.cluster.RedisCluster``, a Sentinel's ``master_for``, or a
factory of the project's own), called with ``REDIS_CLIENT_OPTIONS`` as keyword
arguments. The client is built on first use, shared by every thread (redis-py's clients
and their pools are thread-safe), and dropped when ``MSAL_DJANGO`` changes
(``setting_changed``). A client that reads from replicas is refused: a replica may still
hold tokens a logout has removed.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ..conf import msal_settings

_lock = threading.Lock()
_client: Any = None


def get_client() -> Any:
    """The shared client; building it may connect (a cluster reads its slot map)."""
    client = _client
    if client is None:
        with _lock:
            client = _client if _client is not None else _build()
            _set(client)
    return client


def reset() -> None:
    """Forget the client (settings changed). Not closed: other threads may be using it;
    its pools close when it is collected."""
    with _lock:
        _set(None)


def _set(client: Any) -> None:
    global _client
    _client = client


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
