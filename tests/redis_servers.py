"""Real ``redis-server`` processes on free loopback ports, for the Redis store's tests.

Never a fake: the outage, sharding, Sentinel, cluster and failover tests start their own
servers (persisted to a temporary directory, so a killed one comes back with its data).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import redis

REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")
requires_redis_server = pytest.mark.skipif(
    REDIS_SERVER is None, reason="needs the redis-server binary"
)
requires_redis_cluster = pytest.mark.skipif(
    REDIS_SERVER is None or REDIS_CLI is None, reason="needs redis-server and redis-cli"
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

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()


def confirms_writes(primary: RedisServer) -> bool:
    """Whether ``primary`` is a primary with a replica that ``WAIT`` counts: one that has
    synced and acknowledged (``master_link_status: up`` on the replica comes first)."""
    try:
        info = primary.client().info("replication")
    except redis.exceptions.RedisError:
        return False
    return info["role"] == "master" and any(
        isinstance(v, dict) and v.get("state") == "online"
        for k, v in info.items()
        if k.startswith("slave")
    )


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


class RedisClusterServers:
    """A real Redis Cluster: ``size`` ``redis-server --cluster-enabled yes`` processes on
    free loopback ports (bus ports too), joined by ``redis-cli --cluster create`` with one
    replica per primary. ``stop()`` kills them all and deletes their directory."""

    def __init__(self, size: int = 6, *extra: str, node_timeout_ms: int = 1000) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="msal-django-cluster-"))
        self.nodes = [
            RedisServer(
                self.directory / f"node{i}",
                "cluster-enabled yes",
                "cluster-config-file nodes.conf",
                f"cluster-node-timeout {node_timeout_ms}",
                f"cluster-port {free_port()}",  # port + 10000 may be taken or out of range
                "cluster-replica-validity-factor 0",  # a replica may always take over
                "repl-diskless-sync-delay 0",  # replicas sync at once, not after 5 s
                *extra,
            )
            for i in range(size)
        ]

    def start(self) -> RedisClusterServers:
        try:
            for node in self.nodes:
                node.start()
            subprocess.run(
                [str(REDIS_CLI), "--cluster", "create"]
                + [node.address for node in self.nodes]
                + ["--cluster-replicas", "1", "--cluster-yes"],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=30,
            )
            self.wait_until_ok()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_until_ok(self, timeout: float = 20) -> None:
        """Until every live node says ``cluster_state:ok`` and every primary has a replica."""
        deadline = time.monotonic() + timeout
        while not self._ok():
            assert time.monotonic() < deadline, "the cluster never became ok"
            time.sleep(0.05)

    def _ok(self) -> bool:
        try:
            live = [n for n in self.nodes if n.process is not None]
            if any(n.client().cluster("info")["cluster_state"] != "ok" for n in live):
                return False
            roles = [n.client().role() for n in live]
        except redis.exceptions.RedisError:
            return False
        # Every primary's replica is connected and caught up (its link is up).
        primaries = [r for r in roles if r[0] == b"master"]
        replicas = [r for r in roles if r[0] == b"slave"]
        return all(len(r[2]) >= 1 for r in primaries) and all(
            r[3] == b"connected" for r in replicas
        )

    def client(self, **options: Any) -> redis.cluster.RedisCluster:
        return redis.cluster.RedisCluster(
            host="127.0.0.1", port=self.nodes[0].port, socket_timeout=2, **options
        )

    def options(self) -> dict[str, object]:
        """``REDIS_CLIENT_OPTIONS`` for ``redis.cluster.RedisCluster`` on this cluster."""
        return {
            "host": "127.0.0.1",
            "port": self.nodes[0].port,
            "socket_connect_timeout": 0.5,
            "socket_timeout": 0.5,
        }

    def node_at(self, port: int) -> RedisServer:
        return next(n for n in self.nodes if n.port == port)

    def primary_of(self, key: str) -> RedisServer:
        node = self.client().get_node_from_key(key)
        return self.node_at(int(node.port))

    def replica_of(self, primary: RedisServer) -> RedisServer:
        role = primary.client().role()
        return self.node_at(int(role[2][0][1]))

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()
        shutil.rmtree(self.directory, ignore_errors=True)
