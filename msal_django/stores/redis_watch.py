"""The Redis store's watch (``stores/watch.py``): ``CLIENT TRACKING`` invalidations.

One RESP3 connection per primary the reads go to, each with
``CLIENT TRACKING ON BCAST PREFIX <the store's key prefix>``: Redis then pushes an
``invalidate`` message on it for every change of a token key (a write, a delete, an
expiry, an eviction; ``FLUSHALL`` pushes a null, which forgets everything).

The proof is ``ROLE``, sent on each of those connections. Redis queues a BCAST
invalidation when the key changes and writes the queued ones to the tracking clients in
``beforeSleep``, before it writes any client's replies (``trackingBroadcastInvalidationMessages``
ahead of ``handleClientsWithPendingWrites`` in src/server.c; src/tracking.c). So a
delete's invalidation is on the watch's connection before the delete's reply reaches
the logout, and the answer to a ``ROLE`` sent after that reply comes after it.

``ROLE`` also says the server is still a primary: a demoted one (a failover) ends the
watch. So does a change of where reads go: a Sentinel's new master address, a cluster's
new set of primaries. Each starts a new epoch once the new servers are watched.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from msal_django.conf import SETTINGS_READ, msal_settings, resets_on_change
from msal_django.stores.redis_client import watched_servers
from msal_django.stores.watch import Watch, WatchLost, client_name

if TYPE_CHECKING:
    from redis import Redis

logger = logging.getLogger("msal_django.stores")

_SOCKET_TIMEOUT = 2.0  # a proof slower than this ends the watch


class RedisWatch(Watch):
    name = "Redis"

    def __init__(self, servers: Callable[[], list[Redis]], prefix: str) -> None:
        super().__init__()
        self._servers = servers
        self._prefix = prefix.encode()
        self._watched: list[tuple[str, ...]] = []
        self._sockets: list[int] = []
        self._handler_failed = False

    def connect(self) -> list[tuple[Any, tuple[str, ...]]]:
        connections: list[tuple[Any, tuple[str, ...]]] = []
        try:
            for server in self._servers():
                connection = _tracking_connection(server)
                connection.connect()
                connections.append((connection, _address(connection)))
                connection._parser.set_invalidation_push_handler(self._invalidated)
                connection.send_command("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", self._prefix)
                if connection.read_response() not in (b"OK", "OK"):
                    raise WatchLost("CLIENT TRACKING was refused")
        except BaseException:
            self.close(connections)
            raise
        self._watched = sorted(where for _, where in connections)
        self._sockets = [_socket(each) for each, _ in connections]
        self._handler_failed = False
        return connections

    def prove(self, connection: Any) -> None:
        if sorted(_where(server) for server in self._servers()) != self._watched:
            raise WatchLost("the servers the reads go to changed")
        for each, _ in connection:
            each.send_command("ROLE")
        for each, where in connection:
            role = each.read_response()  # pushes before it go to _invalidated
            if not role or role[0] not in (b"master", "master"):
                raise WatchLost(f"{':'.join(where)} is no longer a primary")
        if [_socket(each) for each, _ in connection] != self._sockets:
            raise WatchLost("a connection was opened anew, without tracking")
        if self._handler_failed:  # redis-py logs a push handler's error and goes on
            raise WatchLost("an invalidation could not be read")

    def close(self, connection: Any) -> None:
        for each, _ in connection:
            each.disconnect()

    def _invalidated(self, message: list[Any]) -> None:
        try:
            self._apply(message)
        except Exception:
            self._handler_failed = True
            self.changed(None)
            raise

    def _apply(self, message: list[Any]) -> None:
        keys = message[1] if len(message) > 1 else None
        if keys is None:
            self.changed(None)
            return
        accounts = []
        for key in keys:
            raw = key.encode() if isinstance(key, str) else bytes(key)
            if raw.startswith(self._prefix):
                accounts.append(raw[len(self._prefix) :].decode("utf-8", "replace"))
        self.changed(accounts)


def _tracking_connection(server: Redis) -> Any:
    from redis._parsers import _RESP3Parser
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    pool = server.connection_pool
    kwargs = {
        **pool.connection_kwargs,
        "protocol": 3,
        "parser_class": _RESP3Parser,
        "client_name": client_name(),
        # Never a silent new socket: a reconnection (a retry, a failed health check)
        # would not be tracking. Any error ends the watch, which connects anew.
        "retry": Retry(NoBackoff(), 0),
        "retry_on_timeout": False,
        "retry_on_error": [],
        "health_check_interval": 0,
    }
    timeout = kwargs.get("socket_timeout")
    kwargs["socket_timeout"] = min(timeout or _SOCKET_TIMEOUT, _SOCKET_TIMEOUT)
    return pool.connection_class(**kwargs)


def _socket(connection: Any) -> int:
    return id(getattr(connection, "_sock", None))


def _address(connection: Any) -> tuple[str, ...]:
    path = getattr(connection, "path", None)
    return (str(path),) if path else (str(connection.host), str(connection.port))


def _where(server: Redis) -> tuple[str, ...]:
    """Where ``server``'s connections go now (a Sentinel's pool: the master it knows)."""
    pool = server.connection_pool
    master = getattr(pool, "master_address", None)
    if master is not None:
        return (str(master[0]), str(master[1]))
    kwargs = pool.connection_kwargs
    if kwargs.get("path"):
        return (str(kwargs["path"]),)
    return (str(kwargs.get("host", "localhost")), str(kwargs.get("port", 6379)))


_watch: RedisWatch | None = None
_built = False
_lock = threading.Lock()


def current() -> RedisWatch | None:
    """This process's watch of the Redis store, or None (off, or not possible here)."""
    if not _built:
        _build()
    return _watch


def _build() -> None:
    with _lock:  # one watch, however many requests find none at once
        if not _built:
            _set(_new_watch())


def _set(watch: RedisWatch | None, built: bool = True) -> None:
    global _watch, _built
    _watch, _built = watch, built


def _new_watch() -> RedisWatch | None:
    watch = None
    if msal_settings.SERVE_FROM_MEMORY and msal_settings.ACCESS_TOKENS_IN_MEMORY > 0:
        try:
            from redis import _parsers
        except ImportError:  # redis-py < 5
            _parsers = None  # type: ignore[assignment]
        parser = getattr(_parsers, "_RESP3Parser", None)
        if hasattr(parser, "set_invalidation_push_handler"):
            found = watched_servers()
        else:
            found = None
            logger.info("redis-py < 5.1 cannot watch the token keys; every hit reads.")
        if found is not None:
            watch = RedisWatch(*found)
    return watch


@resets_on_change("CACHES", *SETTINGS_READ)
def reset() -> None:
    with _lock:
        if _watch is not None:
            _watch.stop()
        _set(None, built=False)
