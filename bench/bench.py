"""get_token on a cache hit beside the floor, measured side by side in one run.

The floor is what any per-user cache must do on a hit: one indexed row read, one
decryption, MSAL's deserialize and acquire_token_silent on an application built once.
Each round times both, alternating, and the table gives medians over the rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CLIENT_ID, SECRET = "msal-django-bench", "bench-client-secret-0123456789"
REDIRECT_URI = "http://localhost:8000/auth/callback/"
SCOPES = ["User.Read"]


def configure(db: str, authority: str) -> None:
    import django
    from django.conf import settings

    if db == "postgres":
        database = {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": "127.0.0.1",
            "USER": "postgres",
            "NAME": os.environ.get("BENCH_PGDATABASE", "test"),
        }
    else:
        path = os.path.join(tempfile.mkdtemp(prefix="msal-django-bench-"), "bench.sqlite3")
        database = {"ENGINE": "django.db.backends.sqlite3", "NAME": path}
    settings.configure(
        SECRET_KEY="bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "msal_django",
        ],
        AUTHENTICATION_BACKENDS=["msal_django.backends.MsalBackend"],
        DATABASES={"default": database},
        USE_TZ=True,
        MSAL_DJANGO={
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_CREDENTIAL": SECRET,
            "AUTHORITY": authority,
            "INSTANCE_DISCOVERY": False,
            "HTTP_CLIENT": "msal_django.testing.http_client",
            "SCOPES": SCOPES,
        },
    )
    django.setup()


def sign_in(idp) -> tuple[str, str]:
    """A real sign-in through MSAL and the local provider: (home_account_id, cache)."""
    import msal

    cache = msal.SerializableTokenCache()
    app = msal.ConfidentialClientApplication(
        CLIENT_ID,
        SECRET,
        authority=idp.authority,
        instance_discovery=False,
        http_client=idp.http_client(),
        token_cache=cache,
    )
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)
    query = parse_qs(urlsplit(idp.sign_in(flow["auth_uri"], "alice")).query)
    result = app.acquire_token_by_auth_code_flow(flow, {k: v[0] for k, v in query.items()})
    assert "access_token" in result, result.get("error")
    return app.get_accounts()[0]["home_account_id"], cache.serialize()


def per_call(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def measure(floor: Callable[[], object], ours: Callable[[], object], rounds: int, calls: int):
    floors, oursl, ratios = [], [], []
    for i in range(rounds):
        pair = [("floor", floor), ("ours", ours)]
        if i % 2:
            pair.reverse()
        timing = {name: per_call(fn, calls) for name, fn in pair}
        floors.append(timing["floor"])
        oursl.append(timing["ours"])
        ratios.append(timing["ours"] / timing["floor"])
    return statistics.median(floors), statistics.median(oursl), statistics.median(ratios)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()

    from msal_django.testing import IdentityProvider

    idp = IdentityProvider()
    idp.register_client(CLIENT_ID, SECRET, redirect_uris=[REDIRECT_URI])
    idp.start()
    try:
        configure(args.db, idp.authority)
        return run(idp, args)
    finally:
        idp.stop()


def run(idp, args) -> int:
    import msal
    from cryptography.fernet import Fernet
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    import msal_django
    from msal_django.crypto import fernet_key
    from msal_django.logout import SESSION_ACCOUNT_KEY
    from msal_django.models import CachedAccount
    from msal_django.stores import AccountInfo, get_store

    call_command("migrate", verbosity=0)
    CachedAccount.objects.all().delete()
    home_account_id, state = sign_in(idp)
    user = get_user_model().objects.get_or_create(username="alice")[0]
    store = get_store()
    store.replace(home_account_id, state, user, AccountInfo(username="alice"))
    request = SimpleNamespace(user=user, session={SESSION_ACCOUNT_KEY: home_account_id})

    # The floor: the same steps written out by hand, on an application built once.
    fernet = Fernet(fernet_key(settings.SECRET_KEY))
    floor_cache = msal.SerializableTokenCache()
    floor_app = msal.ConfidentialClientApplication(
        CLIENT_ID,
        SECRET,
        authority=idp.authority,
        instance_discovery=False,
        http_client=idp.http_client(),
        token_cache=floor_cache,
    )
    floor_cache.deserialize(state)
    account = floor_app.get_accounts()[0]
    table = CachedAccount._meta.db_table
    sql = f"SELECT data FROM {table} WHERE home_account_id = %s"

    def floor() -> str:
        with connection.cursor() as cursor:
            cursor.execute(sql, [home_account_id])
            data = cursor.fetchone()[0]
        floor_cache.deserialize(fernet.decrypt(bytes(data)).decode())
        return floor_app.acquire_token_silent(SCOPES, account)["access_token"]

    def ours() -> str:
        return msal_django.get_token(request, SCOPES)

    assert floor() == ours()  # the same token, from the cache
    before = idp.count()
    rows = []
    one = measure(floor, ours, args.rounds, args.calls)
    rows.append(("1", *one))

    blob = bytes(CachedAccount.objects.get(home_account_id=home_account_id).data)
    batch = 5000
    for start in range(1, args.accounts, batch):
        CachedAccount.objects.bulk_create(
            CachedAccount(
                home_account_id=f"{uuid.uuid4()}.{uuid.uuid4()}",
                data=blob,
                version=uuid.uuid4().hex,
                username=f"user{n}",
            )
            for n in range(start, min(start + batch, args.accounts))
        )
    if args.db == "postgres":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")
    many = measure(floor, ours, args.rounds, args.calls)
    rows.append((f"{CachedAccount.objects.count():,}", *many))
    assert idp.count() == before, "a cache hit must not call the identity provider"

    print(
        f"\nget_token cache hit, database store ({args.db}), median of {args.rounds} rounds"
        f" x {args.calls} calls, microseconds per call\n"
    )
    print(f"| {'accounts':>9} | {'floor':>7} | {'get_token':>9} | {'ratio':>5} |")
    print(f"|{'-' * 11}|{'-' * 9}|{'-' * 11}|{'-' * 7}|")
    for label, f, o, r in rows:
        print(f"| {label:>9} | {f:7.1f} | {o:9.1f} | {r:5.2f} |")
    print(f"\nget_token with {rows[1][0]} accounts vs 1: {many[1] / one[1]:.2f}x")
    print("identity provider requests during the timed calls: 0")
    CachedAccount.objects.all().delete()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
