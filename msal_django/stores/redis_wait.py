"""Writes the replicas confirm: ``WAIT`` after them, with ``REDIS_WAIT_REPLICAS``.

``WAIT <replicas> <ms>`` answers, on the connection that made the writes, how many
replicas have them, once that many do or the time is up. It blocks the connection that
long, so it never waits more than half the client's socket timeout: a ``WAIT`` that
outlasts the socket timeout would break the connection (redis-py sends the writes again,
then the request fails) instead of answering that the replicas did not confirm.

Behind Sentinel, a primary that Sentinel has replaced can still answer as a primary for
several seconds, until Sentinel makes it a replica of the new one (which then discards
what it took meanwhile). redis-py's Sentinel pool keeps its connections to it until an
error, so a write that no replica confirms makes the pool ask Sentinel for the primary
again: a new address closes the connections to the old one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisClusterException, RedisError

from msal_django.conf import msal_settings

# RedisClusterException (no slot map, no node reachable) is not a RedisError.
REDIS_ERRORS = (RedisError, OSError, RedisClusterException)


def replicated(
    server: Any, keys: list[str], queue: Callable[[Any], object], *, wait: bool = True
) -> tuple[list[Any], bool]:
    """Run the commands ``queue`` adds to a pipeline; with ``REDIS_WAIT_REPLICAS``,
    ``WAIT`` after them on each node holding one of ``keys``. Returns the commands'
    results and whether the replicas confirmed them (``wait=False``: no ``WAIT``, so
    confirmed only if ``REDIS_WAIT_REPLICAS`` asks for no replica)."""
    replicas = msal_settings.REDIS_WAIT_REPLICAS
    pipe: Any = server.pipeline(transaction=False)
    queue(pipe)
    if not replicas or not wait:
        return pipe.execute(), not replicas
    queued = len(pipe)
    timeout_ms = _wait_timeout_ms(server)
    nodes = _nodes_of(server, keys)
    for node in nodes.values():
        # WAIT counts this connection's writes: a pipeline (a cluster pipeline, per
        # node) sends it on the connection that carried them.
        target = {} if node is None else {"target_nodes": node}
        pipe.execute_command("WAIT", replicas, timeout_ms, **target)
    results = pipe.execute()
    confirmed = all(int(n) >= replicas for n in results[queued:])
    if not confirmed:
        _ask_sentinel(server)
    # A key that moved (resharding, failover) meanwhile was written elsewhere.
    return results[:queued], confirmed and _nodes_of(server, keys).keys() == nodes.keys()


def _wait_timeout_ms(server: Any) -> int:
    """``REDIS_WAIT_TIMEOUT``, at most half the client's socket timeout (see above)."""
    seconds = msal_settings.REDIS_WAIT_TIMEOUT
    # redis.Redis: its pool's; a cluster client: its nodes'; anything else: none known.
    connection_kwargs: Any = getattr(server, "get_connection_kwargs", dict)()
    socket_timeout = connection_kwargs.get("socket_timeout")
    if socket_timeout:
        seconds = min(seconds, socket_timeout / 2)
    return max(1, int(seconds * 1000))


def _ask_sentinel(server: Any) -> None:
    """Behind Sentinel, find the primary again (see above); elsewhere, nothing."""
    pool: Any = getattr(server, "connection_pool", None)
    if getattr(pool, "is_master", False) and hasattr(pool, "get_master_address"):
        with contextlib.suppress(*REDIS_ERRORS):  # Sentinel unreachable: a later try
            pool.get_master_address()


def _nodes_of(server: Any, keys: list[str]) -> dict[str | None, Any]:
    """The cluster nodes (by name) that hold ``keys``; ``{None: None}`` off a cluster."""
    if not hasattr(server, "get_node_from_key"):
        return {None: None}
    return {node.name: node for node in map(server.get_node_from_key, keys)}
