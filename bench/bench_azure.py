"""What the azure-core credentials (``msal_django.azure``) add to a token cache hit.

A user signed in for real through the views and the local provider, then, on the
database store and on the Redis store, side by side in alternating rounds, CPU time per
call (``time.process_time``, every thread of the process), medians over the rounds:

1. ``get_token_for_user(user, ["User.Read"])`` on a hit: the reference;
2. ``UserCredential(user).get_token("User.Read")`` on a hit;
3. ``UserCredential(user).get_token_info("User.Read")`` on a hit;
4. inside one event loop, ``aget_token_for_user`` (the async reference) and
   ``AsyncUserCredential(user).get_token("User.Read")``. Both hop to Django's thread
   for synchronous code (``sync_to_async``) and back on every call: that hop is most of
   their time, and is counted (the worker thread's CPU is the process's).

Each credential is built once, as an SDK client keeps the one it is given. The ratio is
the median of the per-round ratios to the reference measured in the same round. Then
the memory: the process's peak RSS, and what 10,000 more credential calls leave
allocated (``tracemalloc``).

    python bench/bench_azure.py [--db sqlite|postgres] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import statistics
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import configure_site, msal_django_settings, signed_in_client

CLIENT_ID, SECRET = "bench-azure", "bench-azure-secret-0123456789"
SCOPE = "User.Read"
REDIS_PREFIX = f"msal-django-bench-azure-{uuid.uuid4().hex[:8]}"


def configure(db: str, authority: str, redis_url: str) -> None:
    tokens = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": redis_url,
        "KEY_PREFIX": REDIS_PREFIX,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
    }
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    msal = {"CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": SECRET, "AUTHORITY": authority}
    msal |= {"SCOPES": [SCOPE], "REDIS_CACHE_ALIAS": "tokens"}
    configure_site(db, "azure.sqlite3", msal, caches={**caches, "tokens": tokens})


def signed_in_user(idp, username: str):
    """A real sign-in through the views and the local provider; the user it signed in."""
    from django.contrib.auth import get_user_model

    client = signed_in_client(idp, username)
    return get_user_model().objects.get(pk=client.session["_auth_user_id"])


def per_call(fn: Callable[[], object], calls: int) -> float:
    began = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - began) / calls * 1e6


async def per_acall(fn, calls: int) -> float:
    began = time.process_time()
    for _ in range(calls):
        await fn()
    return (time.process_time() - began) / calls * 1e6


def summarise(samples: dict[str, list[float]], reference: str) -> dict[str, tuple[float, float]]:
    """name -> (median µs, median of the per-round ratios to ``reference``)."""
    base = samples[reference]
    return {
        name: (
            statistics.median(values),
            statistics.median(v / b for v, b in zip(values, base, strict=True)),
        )
        for name, values in samples.items()
    }


def measure_sync(user, rounds: int, calls: int) -> dict[str, tuple[float, float]]:
    import msal_django
    from msal_django.azure import UserCredential

    credential = UserCredential(user)
    fns: dict[str, Callable[[], object]] = {
        "get_token_for_user": lambda: msal_django.get_token_for_user(user, [SCOPE]),
        "UserCredential.get_token": lambda: credential.get_token(SCOPE),
        "UserCredential.get_token_info": lambda: credential.get_token_info(SCOPE),
    }
    token = fns["get_token_for_user"]()
    assert credential.get_token(SCOPE).token == credential.get_token_info(SCOPE).token == token
    for fn in fns.values():  # warm
        per_call(fn, 200)
    samples: dict[str, list[float]] = {name: [] for name in fns}
    order = list(fns)
    for i in range(rounds):
        for name in order[i % len(order) :] + order[: i % len(order)]:  # rotate the order
            samples[name].append(per_call(fns[name], calls))
    return summarise(samples, "get_token_for_user")


def measure_async(user, rounds: int, calls: int) -> dict[str, tuple[float, float]]:
    import msal_django
    from msal_django.azure import AsyncUserCredential

    async def run() -> dict[str, list[float]]:
        credential = AsyncUserCredential(user)
        fns = {
            "aget_token_for_user": lambda: msal_django.aget_token_for_user(user, [SCOPE]),
            "AsyncUserCredential.get_token": lambda: credential.get_token(SCOPE),
        }
        assert (await credential.get_token(SCOPE)).token == await fns["aget_token_for_user"]()
        for fn in fns.values():  # warm
            await per_acall(fn, 100)
        samples: dict[str, list[float]] = {name: [] for name in fns}
        for i in range(rounds):
            pair = list(fns)
            if i % 2:
                pair.reverse()
            for name in pair:
                samples[name].append(await per_acall(fns[name], calls))
        return samples

    return summarise(asyncio.run(run()), "aget_token_for_user")


def leftover_kib(user, calls: int = 5_000) -> float:
    """KiB still allocated after ``calls`` more credential hits (a leak would grow it)."""
    from msal_django.azure import UserCredential

    credential = UserCredential(user)
    for _ in range(200):  # warm
        credential.get_token_info(SCOPE)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(calls):
        credential.get_token(SCOPE)
        credential.get_token_info(SCOPE)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    return sum(s.size_diff for s in after.compare_to(before, "filename")) / 1024


def store_rows(name: str, idp, user, args) -> tuple[list[tuple], str]:
    before = idp.count()
    sync = measure_sync(user, args.rounds, args.calls)
    asyn = measure_async(user, args.rounds, args.async_calls)
    leftover = leftover_kib(user)
    assert idp.count() == before, "a cache hit must not call the identity provider"
    rows = [(name, call, us, ratio, "get_token_for_user") for call, (us, ratio) in sync.items()]
    rows += [(name, call, us, ratio, "aget_token_for_user") for call, (us, ratio) in asyn.items()]
    hop = asyn["aget_token_for_user"][0] / sync["get_token_for_user"][0]
    note = (
        f"{name}: aget_token_for_user is {hop:.1f}x get_token_for_user (the thread hop); "
        f"10,000 more credential calls left {leftover:+.1f} KiB allocated"
    )
    return rows, note


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--async-calls", type=int, default=500)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()

    from msal_django.testing import IdentityProvider

    with IdentityProvider() as idp:
        idp.register_client(CLIENT_ID, SECRET, redirect_uris=["http://testserver/auth/callback/"])
        configure(args.db, idp.authority, args.redis_url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        started = time.perf_counter()
        rows, note = store_rows(f"database ({args.db})", idp, signed_in_user(idp, "alice"), args)
        redis_rows, redis_note = bench_redis(idp, args)
        rows += redis_rows
        notes = [note, redis_note]
        took = time.perf_counter() - started

    print(
        f"\nazure-core credentials on a cache hit, median of {args.rounds} rounds "
        f"({args.calls} sync / {args.async_calls} async calls each), CPU µs per call\n"
    )
    width = max(len(row[0]) for row in rows)
    call_width = max(len(row[1]) for row in rows)
    print(f"| {'store':<{width}} | {'call':<{call_width}} | µs/call | ratio | to |")
    print(f"|{'-' * (width + 2)}|{'-' * (call_width + 2)}|--------:|------:|----|")
    for store, call, us, ratio, to in rows:
        print(f"| {store:<{width}} | {call:<{call_width}} | {us:7.1f} | {ratio:5.2f} | {to} |")
    print()
    for note in notes:
        print(note)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the process: {peak:.0f} MiB")
    print("identity provider requests during the timed calls: 0")
    print(f"({took:.0f} s)")
    return 0


def bench_redis(idp, args) -> tuple[list[tuple], str]:
    import redis
    from django_redis import get_redis_connection

    from msal_django.models import CachedAccount

    try:
        conn = get_redis_connection("tokens")
        conn.ping()
    except redis.RedisError as exc:
        return [], f"redis: skipped, {args.redis_url} unreachable ({type(exc).__name__})"
    try:
        with msal_django_settings(TOKEN_CACHE="redis"):
            rows, note = store_rows("redis", idp, signed_in_user(idp, "bob"), args)
            return rows, note
    finally:
        keys = list(conn.scan_iter(match=f"{REDIS_PREFIX}:*", count=10_000))
        if keys:
            conn.unlink(*keys)
        CachedAccount.objects.filter(store="redis").delete()


if __name__ == "__main__":
    raise SystemExit(main())
