"""Operating at scale: purge and the admin changelist, database store.

Purge runs on the database store, on one Redis (a django-redis alias) and on a Redis
Cluster of its own (``REDIS_CLIENT``, six redis-server processes, stopped at the end).

- purge of N accounts with msal_django.signout.purge.purge beside a naive loop over
  msal_django.signout.removal.remove_account (timed on a sample, per account), with the Python
  heap peak of each purge size (bounded: the same for 10,000 and N accounts);
- the admin changelist page with 100 and with N accounts: queries and time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import database, msal_django_settings

STATE_SIZE = 2900  # bytes, like a real one-account MSAL cache


def configure(db: str, redis_url: str) -> None:
    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        DEBUG=False,
        ALLOWED_HOSTS=["testserver"],
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "msal_django",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        ROOT_URLCONF="bench.admin_urls",
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        DATABASES={"default": database(db, "ops.sqlite3")},
        CACHES={
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "tokens": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": redis_url,
                "KEY_PREFIX": f"msal-django-bench-ops-{os.getpid()}",
                "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 5},
            },
        },
        USE_TZ=True,
        MSAL_DJANGO={
            "CLIENT_ID": "bench",
            "CLIENT_CREDENTIAL": "bench-secret",
            "AUTHORITY": "https://localhost:1/bench",
            "REDIS_CACHE_ALIAS": "tokens",
        },
    )
    django.setup()


def fill(count: int, blob: bytes) -> list[str]:
    """``count`` accounts in the configured store, written in bulk (not what is timed)."""
    from msal_django.models import CachedAccount
    from msal_django.stores import get_store
    from msal_django.stores.redis import FORMAT
    from msal_django.stores.redis_client import locate

    redis = get_store().name == "redis"
    homes = []
    for start in range(0, count, 5000):
        batch = [
            CachedAccount(
                home_account_id=f"{uuid.uuid4()}.{uuid.uuid4()}",
                data=b"" if redis else blob,
                store=get_store().name,
                version=uuid.uuid4().hex,
                username=f"user{n}@example.com",
                tenant_id="t1",
            )
            for n in range(start, min(start + 5000, count))
        ]
        CachedAccount.objects.bulk_create(batch)
        if redis:
            pipe = locate(batch[0].home_account_id)[0].pipeline(transaction=False)
            for account in batch:
                key = locate(account.home_account_id)[1]
                pipe.set(key, FORMAT + account.version.encode() + b"::" + blob, ex=86400)
            pipe.execute()
        homes += [a.home_account_id for a in batch]
    return homes


def purge_figures(accounts: int, blob: bytes, store: str = "") -> list[tuple[str, str]]:
    from msal_django.models import CachedAccount
    from msal_django.signout.purge import purge, select_accounts
    from msal_django.signout.removal import remove_account
    from msal_django.stores import get_store

    rows = []
    sample = fill(min(2000, accounts), blob)
    start = time.perf_counter()
    for home in sample:
        remove_account(home, reason="purge")
    naive = (time.perf_counter() - start) / len(sample)

    peaks = {}
    rate = 0.0
    for size in sorted({min(10_000, accounts), accounts}):
        fill(size, blob)
        tracemalloc.start()
        start = time.perf_counter()
        result = purge(select_accounts(everything=True))
        elapsed = time.perf_counter() - start
        peaks[size] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert result.removed == size
        assert not CachedAccount.objects.exists()
        rate = elapsed / size
    store = store or get_store().name
    rows.append((f"{store}: naive loop, per account", f"{naive * 1e6:,.0f} µs"))
    rows.append((f"{store}: purge() of {accounts:,}, per account", f"{rate * 1e6:,.1f} µs"))
    rows.append((f"{store}: purge speed-up over the naive loop", f"{naive / rate:,.1f}x"))
    for size, peak in peaks.items():
        rows.append((f"{store}: purge() heap peak, {size:,} accounts", f"{peak / 1e6:.1f} MB"))
    return rows


def cluster_purge_figures(accounts: int, blob: bytes) -> list[tuple[str, str]]:
    import shutil

    if not (shutil.which("redis-server") and shutil.which("redis-cli")):
        return [("redis cluster", "skipped: no redis-server")]
    from tests.redis_servers import RedisClusterServers

    cluster = RedisClusterServers(6, "appendonly no").start()
    on_cluster = msal_django_settings(
        REDIS_CACHE_ALIAS=None,
        REDIS_CLIENT="redis.cluster.RedisCluster",
        REDIS_CLIENT_OPTIONS=cluster.options(),
    )
    try:
        with on_cluster:
            return purge_figures(accounts, blob, "redis cluster")
    finally:
        cluster.stop()


def admin_figures(accounts: int, blob: bytes) -> list[tuple[str, str]]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from msal_django.models import CachedAccount

    user = get_user_model().objects.create_superuser("bench-admin", "a@example.com", "pw")
    client = Client()
    client.force_login(user)
    rows = []
    for size in (100, accounts):
        CachedAccount.objects.all().delete()
        fill(size, blob)
        client.get("/admin/msal_django/cachedaccount/")  # warm up
        times = []
        for _ in range(5):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = client.get("/admin/msal_django/cachedaccount/")
                times.append(time.perf_counter() - start)
            assert response.status_code == 200
        label = f"admin changelist page, {size:,} accounts"
        rows.append((label, f"{len(queries)} queries, {statistics.median(times) * 1e3:.1f} ms"))
    CachedAccount.objects.all().delete()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()
    configure(args.db, args.redis_url)
    from django.core.management import call_command

    from msal_django.conf import msal_settings
    from msal_django.stores.sealing import keyring

    call_command("migrate", verbosity=0)
    blob = keyring(msal_settings.ENCRYPTION_KEYS).encrypt("x" * STATE_SIZE, "bench")

    rows = purge_figures(args.accounts, blob)
    with msal_django_settings(TOKEN_CACHE="redis"):
        rows += purge_figures(args.accounts, blob)
        rows += cluster_purge_figures(args.accounts, blob)
    rows += admin_figures(args.accounts, blob)
    width = max(len(r[0]) for r in rows)
    print(f"\nOperating at scale: purge on both stores, the admin changelist ({args.db})\n")
    print(f"| {'measure':<{width}} | {'figure':>22} |")
    print(f"|{'-' * (width + 2)}|{'-' * 24}|")
    for label, figure in rows:
        print(f"| {label:<{width}} | {figure:>22} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
