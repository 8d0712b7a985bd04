"""Real ``redis-server`` processes on free loopback ports, for the Redis store's tests.

Never a fake: the outage, sharding, Sentinel and failover tests start their own servers
(persisted to a temporary directory, so a killed one comes back with its data).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

REDIS_SERVER = shutil.which("redis-server")
requires_redis_server = pytest.mark.skipif(
    REDIS_SERVER is None, reason="needs the redis-server binary"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One ``redis-server`` (or ``--sentinel``); ``kill()`` and ``start()`` again keep its data."""

    def __init__(self, directory: Path, *extra: str, sentinel: bool = False) -> None:
        self.port = free_port()
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.extra = extra
        self.sentinel = sentinel
        self.process: subprocess.Popen[bytes] | None = None
        self.service = ""  # a Sentinel's monitored service name

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def start(self) -> RedisServer:
        config = [
            f"port {self.port}",
            "bind 127.0.0.1",
            f"dir {self.directory}",
            "protected-mode no",
            'save ""',
        ]
        if not self.sentinel:
            config += ["appendonly yes", "appendfsync always"]
        config += list(self.extra)
        conf = self.directory / "redis.conf"
        conf.write_text("\n".join(config) + "\n")
        args = [str(REDIS_SERVER), str(conf)] + (["--sentinel"] if self.sentinel else [])
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return self
            except redis.exceptions.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()


def cache(location: str | list[str], prefix: str, **options: object) -> dict[str, object]:
    """A django-redis CACHES entry with short timeouts."""
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": location,
        "KEY_PREFIX": prefix,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5, **options},
    }


def sentinel_cache(watcher: RedisServer) -> dict[str, object]:
    return cache(
        f"redis://{watcher.service}/0",
        "sentinel",
        CLIENT_CLASS="django_redis.client.SentinelClient",
        CONNECTION_FACTORY="django_redis.pool.SentinelConnectionFactory",
        SENTINELS=[("127.0.0.1", watcher.port)],
    )
