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
import logging
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisClusterException, RedisError

from msal_django.conf import msal_settings
from msal_django.exceptions import StoreUnavailable

logger = logging.getLogger("msal_django.stores")

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


# Delete, and write to the replication stream even when the key is already gone (see
# ``deleting``); returns whether there was a key. KEYS[1]: the key.
_DEL_SCRIPT = b"""
local held = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], '')
redis.call('DEL', KEYS[1])
return held
"""


class ReplicationUnconfirmed(StoreUnavailable):
    """The primary applied a removal, but fewer than ``REDIS_WAIT_REPLICAS`` confirmed it."""


def deleting(keys: list[str]) -> Callable[[Any], object]:
    if not msal_settings.REDIS_WAIT_REPLICAS:
        return lambda pipe: [pipe.delete(key) for key in keys]
    # WAIT counts up to its connection's last write that reached the replication stream,
    # and since Redis 7.2 a DEL of a missing key reaches none: a removal made earlier on
    # another connection (a look, another host) would be "confirmed" against an older
    # offset. The script always propagates, so the WAIT covers everything before it.
    return lambda pipe: [pipe.execute_command("EVAL", _DEL_SCRIPT, 1, key) for key in keys]


def unconfirmed(home_account_ids: list[str]) -> ReplicationUnconfirmed:
    logger.warning(
        "Redis replicas did not confirm the removal of %d account(s) (%s) within "
        "REDIS_WAIT_TIMEOUT; recording it so it is applied again until they do.",
        len(home_account_ids),
        ", ".join(home_account_ids[:5]),
    )
    return ReplicationUnconfirmed(
        "Redis replicas did not confirm the removal in time; it is recorded and will be "
        "applied again."
    )


def log_unconfirmed(what: str, home_account_id: str) -> None:
    logger.warning(
        "Redis replicas did not confirm the %s of account %s within REDIS_WAIT_TIMEOUT; "
        "a failover now could lose it (the user would sign in again).",
        what,
        home_account_id,
    )
