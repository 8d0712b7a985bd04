"""get_token on a cache hit beside the floor, measured side by side in one run.

The floor is what any per-user cache must do on a hit: one indexed row read, one
decryption, MSAL's deserialize and acquire_token_silent on an application built once.
Each round times both, alternating, and the table gives medians over the rounds.

The Redis rows do the same with the Redis store (floor: one GET, decrypt, deserialize,
acquire_token_silent), first with one account and then with ``--redis-accounts`` (one
million by default) mass-inserted with ``redis-cli --pipe``, in a Redis database of their
own (``--redis-url``) under a key prefix of their own, deleted at the end. The reference
row is Microsoft's ``identity`` package (``identity.django.Auth``): its
``get_token_for_user`` for one signed-in user against the same local provider.

The cluster rows start a Redis Cluster of their own (six ``redis-server`` processes, three
primaries with a replica each, as the tests do), reach it through ``REDIS_CLIENT`` =
``redis.cluster.RedisCluster`` (floor: one ``GET`` routed to the key's primary by the
same client), first with one account and then with ``--cluster-accounts`` spread over
the three primaries (written with one pipeline batch per node), then stop and delete it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import database, msal_django_settings

CLIENT_ID, SECRET = "msal-django-bench", "bench-client-secret-0123456789"
REDIRECT_URI = "http://localhost:8000/auth/callback/"
SCOPES = ["User.Read"]


REDIS_PREFIX = f"msal-django-bench-{uuid.uuid4().hex[:8]}"


def configure(db: str, authority: str, redis_url: str) -> None:
    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "msal_django",
        ],
        AUTHENTICATION_BACKENDS=["msal_django.backends.MsalBackend"],
        DATABASES={"default": database(db, "bench.sqlite3")},
        CACHES={
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "tokens": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": redis_url,
                "KEY_PREFIX": REDIS_PREFIX,
                "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
            },
        },
        USE_TZ=True,
        MSAL_DJANGO={
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_CREDENTIAL": SECRET,
            "AUTHORITY": authority,
            "INSTANCE_DISCOVERY": False,
            "HTTP_CLIENT": "msal_django.testing.http_client",
            "SCOPES": SCOPES,
            "REDIS_CACHE_ALIAS": "tokens",
        },
    )
    django.setup()


def msal_app(idp):
    """An MSAL application of the bench's client, with a token cache of its own."""
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
    return app, cache


def sign_in(idp) -> tuple[str, str]:
    """A real sign-in through MSAL and the local provider: (home_account_id, cache)."""
    app, cache = msal_app(idp)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)
    query = parse_qs(urlsplit(idp.sign_in(flow["auth_uri"], "alice")).query)
    result = app.acquire_token_by_auth_code_flow(flow, {k: v[0] for k, v in query.items()})
    assert "access_token" in result, result.get("error")
    return app.get_accounts()[0]["home_account_id"], cache.serialize()


def floor_parts(idp, state: str):
    """What the floor reuses across calls: the keys and one MSAL application with its cache."""
    from django.conf import settings

    from msal_django.stores.sealing import Keyring

    app, cache = msal_app(idp)
    cache.deserialize(state)
    # AES-GCM with the key derived from SECRET_KEY, as the stores seal caches.
    return Keyring((settings.SECRET_KEY,)), cache, app, app.get_accounts()[0]


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
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--redis-accounts", type=int, default=1_000_000)
    parser.add_argument("--cluster-accounts", type=int, default=1_000_000)
    args = parser.parse_args()

    from msal_django.testing import IdentityProvider

    idp = IdentityProvider()
    idp.register_client(CLIENT_ID, SECRET, redirect_uris=[REDIRECT_URI])
    idp.start()
    try:
        configure(args.db, idp.authority, args.redis_url)
        return run(idp, args)
    finally:
        idp.stop()


def run(idp, args) -> int:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    import msal_django
    from msal_django.constants import SESSION_ACCOUNT_KEY
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
    keys, floor_cache, floor_app, account = floor_parts(idp, state)
    table = CachedAccount._meta.db_table
    sql = f"SELECT data FROM {table} WHERE home_account_id = %s"

    def floor() -> str:
        with connection.cursor() as cursor:
            cursor.execute(sql, [home_account_id])
            data = cursor.fetchone()[0]
        floor_cache.deserialize(keys.decrypt(bytes(data), home_account_id))
        return floor_app.acquire_token_silent(SCOPES, account)["access_token"]

    def ours() -> str:
        return msal_django.get_token(request, SCOPES)

    version_sql = f"SELECT version FROM {table} WHERE home_account_id = %s AND user_id = %s"

    def one_read() -> str:
        # The narrow floor: the one read a hit makes, through Django's cursor.
        with connection.cursor() as cursor:
            cursor.execute(version_sql, [home_account_id, user.pk])
            return cursor.fetchone()[0]

    assert floor() == ours()  # the same token, from the cache
    before = idp.count()
    rows = []
    one = measure(floor, ours, args.rounds, args.calls)
    rows.append(("1", *one))
    narrow = measure(one_read, ours, args.rounds, args.calls)
    anywhere_rows = bench_anywhere(args, user, floor, ours, table)

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

    CachedAccount.objects.exclude(home_account_id=home_account_id).delete()
    table_rows = [(f"database ({args.db})", *row) for row in rows]
    table_rows.insert(1, (f"database ({args.db}), vs 1 read", "1", *narrow))
    table_rows += anywhere_rows
    notes = [f"database: get_token with {rows[1][0]} accounts vs 1: {many[1] / one[1]:.2f}x"]
    reference, reference_notes = bench_identity(idp, args, state, user, home_account_id)
    redis_rows, redis_notes = bench_redis(idp, args, home_account_id, state, user, request)
    cluster_rows, cluster_notes = bench_cluster(idp, args, home_account_id, state, user, request)
    table_rows += redis_rows + cluster_rows + reference
    notes += redis_notes + cluster_notes + reference_notes
    CachedAccount.objects.all().delete()

    print(
        f"\nget_token cache hit, median of {args.rounds} rounds x {args.calls} calls,"
        " microseconds per call\n"
    )
    width = max(len("store"), *(len(row[0]) for row in table_rows))
    header = f"| {'store':<{width}} | {'accounts':>9} | {'floor':>7} | {'get_token':>9} |"
    print(f"{header} {'ratio':>5} |")
    print(f"|{'-' * (width + 2)}|{'-' * 11}|{'-' * 9}|{'-' * 11}|{'-' * 7}|")
    for name, label, f, o, r in table_rows:
        print(f"| {name:<{width}} | {label:>9} | {f:7.1f} | {o:9.1f} | {r:5.2f} |")
    print()
    for note in notes:
        print(note)
    print("identity provider requests during the timed calls: 0")
    print(bench_backchannel(idp, args, user, home_account_id, state, one[1]))
    return 0


def bench_anywhere(args, user, floor, ours, table) -> list[tuple]:
    """get_token for a session that did not sign in through msal-django (first without a
    session to remember the account in, then one that has learned it) and
    get_token_for_user, beside the floor plus the one indexed lookup of the newest account."""
    from django.db import connection

    import msal_django

    lookup = (
        f"SELECT home_account_id FROM {table} WHERE user_id = %s ORDER BY updated_at DESC LIMIT 1"
    )

    def floor_and_lookup() -> str:
        with connection.cursor() as cursor:
            cursor.execute(lookup, [user.pk])
            cursor.fetchone()
        return floor()

    class Session(dict):
        session_key = "bench"  # an existing session: get_token remembers the account in it

    no_session = SimpleNamespace(user=user, session={})
    learned = SimpleNamespace(user=user, session=Session())

    def without_account() -> str:
        return msal_django.get_token(no_session, SCOPES)

    def learned_session() -> str:
        return msal_django.get_token(learned, SCOPES)

    def for_user() -> str:
        return msal_django.get_token_for_user(user, SCOPES)

    assert without_account() == learned_session() == for_user() == ours()
    name = f"database ({args.db})"
    return [
        (name, "no acct id", *measure(floor_and_lookup, without_account, args.rounds, args.calls)),
        (name, "learned", *measure(floor, learned_session, args.rounds, args.calls)),
        (name, "for_user", *measure(floor_and_lookup, for_user, args.rounds, args.calls)),
    ]


def bench_backchannel(idp, args, user, home_account_id, state, get_token_us) -> str:
    """A back-channel logout (sub only) of a user with 10 sessions, among 1,000 others."""
    import time as clock
    import uuid as uuids
    from urllib.parse import urlencode

    import jwt
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from msal_django.models import SignInSession
    from msal_django.signout import channels
    from msal_django.stores import AccountInfo, get_store

    def add_sessions(count: int, subject: str, home: str) -> None:
        for _ in range(count):
            session = SessionStore()
            session["seen"] = True
            session.save()
            SignInSession.objects.create(
                session_key=session.session_key,
                sid=str(uuids.uuid4()),
                issuer=idp.issuer,
                subject=subject,
                home_account_id=home,
                user=user,
            )

    sample = jwt.decode(
        idp.logout_token(CLIENT_ID, "alice", "x"), options={"verify_signature": False}
    )
    add_sessions(1000, "someone-else", "someone.else")  # what must not be scanned
    factory = RequestFactory()
    timings, queries = [], 0
    for _ in range(max(5, args.rounds)):
        get_store().replace(home_account_id, state, user, AccountInfo(username="alice"))
        add_sessions(10, sample["sub"], home_account_id)
        claims = {k: v for k, v in sample.items() if k != "sid"}
        claims.update(jti=str(uuids.uuid4()), iat=int(clock.time()), exp=int(clock.time()) + 120)
        body = urlencode({"logout_token": idp.sign_jwt(claims, typ="logout+jwt")})
        request = factory.post(
            "/auth/logout/backchannel/", body, content_type="application/x-www-form-urlencoded"
        )
        with CaptureQueriesContext(connection) as captured:
            start = clock.perf_counter()
            response = channels.backchannel_logout(request)
            timings.append(clock.perf_counter() - start)
        assert response.status_code == 200, response.content
        assert not SignInSession.objects.filter(subject=sample["sub"]).exists()
        queries = len(captured)
    SignInSession.objects.all().delete()
    return (
        f"back-channel logout of a user with 10 sessions (1,000 other sessions stored): "
        f"{statistics.median(timings) * 1e3:.2f} ms, {queries} SQL queries; "
        f"one get_token cache hit: {get_token_us / 1e3:.3f} ms"
    )


def bench_redis(idp, args, home_account_id, state, user, request):
    """The Redis store's rows: 1 account, then --redis-accounts; its own keys deleted."""
    import redis
    from django_redis import get_redis_connection

    from msal_django.models import CachedAccount

    try:
        conn = get_redis_connection("tokens")
        conn.ping()
    except redis.RedisError as exc:
        return [], [f"redis: skipped, {args.redis_url} unreachable ({type(exc).__name__})"]
    try:
        with msal_django_settings(TOKEN_CACHE="redis"):
            return redis_rows(
                "redis",
                (idp, args, home_account_id, state, user, request),
                fill=lambda _server: mass_insert(conn, args.redis_accounts - 1),
                count=lambda: sum(
                    1 for _ in conn.scan_iter(match=f"{REDIS_PREFIX}:*", count=10_000)
                ),
                how="",
            )
    finally:
        delete_prefix(conn)
        CachedAccount.objects.filter(store="redis").delete()


def bench_cluster(idp, args, home_account_id, state, user, request):
    """The cluster rows: REDIS_CLIENT on a Redis Cluster of six redis-server processes."""
    import shutil

    from msal_django.models import CachedAccount

    if not (shutil.which("redis-server") and shutil.which("redis-cli")):
        return [], ["redis cluster: skipped, needs redis-server and redis-cli"]
    from tests.redis_servers import RedisClusterServers

    # No persistence: the mass insert is what would wait on the disk, not the reads.
    cluster = RedisClusterServers(6, "appendonly no").start()
    on_cluster = msal_django_settings(
        TOKEN_CACHE="redis",
        REDIS_CLIENT="redis.cluster.RedisCluster",
        REDIS_CLIENT_OPTIONS=cluster.options(),
        REDIS_KEY_PREFIX=REDIS_PREFIX,
        REDIS_CACHE_ALIAS=None,
    )
    try:
        with on_cluster:
            return redis_rows(
                "redis cluster",
                (idp, args, home_account_id, state, user, request),
                fill=lambda client: cluster_insert(client, args.cluster_accounts - 1),
                count=lambda: sum(n.client().dbsize() for n in cluster.nodes if is_primary(n)),
                how=", one pipeline batch per node",
            )
    finally:
        CachedAccount.objects.filter(store="redis").delete()
        cluster.stop()


def redis_rows(name, signed_in, fill, count, how):
    """One Redis deployment's rows (the store configured for it): a hit beside the full
    floor (GET, decrypt, MSAL) and beside the narrow one (the GETRANGE of the version a
    hit makes), with one account, then beside the full floor again once
    ``fill(server)`` has added the others."""
    import msal_django
    from msal_django.stores import AccountInfo, get_store
    from msal_django.stores.redis import _HEAD
    from msal_django.stores.redis_client import locate

    idp, args, home_account_id, state, user, request = signed_in
    get_store().replace(home_account_id, state, user, AccountInfo(username="alice"))
    server, key = locate(home_account_id)
    keys, floor_cache, floor_app, account = floor_parts(idp, state)
    head = _HEAD + len(str(user.pk)) + 1

    def floor() -> str:
        sealed = server.get(key)[_HEAD:].partition(b":")[2]
        floor_cache.deserialize(keys.decrypt(sealed, home_account_id))
        return floor_app.acquire_token_silent(SCOPES, account)["access_token"]

    def one_read() -> bytes:
        return server.getrange(key, 0, head - 1)

    def ours() -> str:
        return msal_django.get_token(request, SCOPES)

    assert floor() == ours()
    before = idp.count()
    commands = count_commands(ours, 100)
    one = measure(floor, ours, args.rounds, args.calls)
    narrow = measure(one_read, ours, args.rounds, args.calls)
    started = time.perf_counter()
    fill(server)
    inserted = time.perf_counter() - started
    total = count()
    many = measure(floor, ours, args.rounds, args.calls)
    assert idp.count() == before, "a cache hit must not call the identity provider"
    rows = [
        (name, "1", *one),
        (f"{name}, vs 1 GETRANGE", "1", *narrow),
        (name, f"{total:,}", *many),
    ]
    notes = [
        f"{name}: get_token with {total:,} accounts vs 1: {many[1] / one[1]:.2f}x"
        f" ({total - 1:,} keys inserted in {inserted:.1f} s{how})",
        f"{name}: commands per cache hit: {commands:.2f} (GETRANGE of the version only, no write)",
    ]
    return rows, notes


def is_primary(node) -> bool:
    return bool(node.client().role()[0] == b"master")


def cluster_insert(client, count: int) -> None:
    """``count`` filler accounts (256-byte values, with a TTL): a cluster pipeline of
    20,000 SETs at a time, which redis-py sends as one batch per primary."""
    value = b"md1:" + uuid.uuid4().hex.encode() + b"::" + b"x" * 218
    for start in range(0, count, 20_000):
        pipe = client.pipeline(transaction=False)
        for n in range(start, min(count, start + 20_000)):
            pipe.set(f"{REDIS_PREFIX}:{CLIENT_ID}:{uuid.UUID(int=n)}.filler", value, ex=86400)
        pipe.execute()


def count_commands(fn: Callable[[], object], calls: int) -> float:
    from redis.connection import AbstractConnection

    seen: list[str] = []
    original = AbstractConnection.send_command

    def counting(self, *args, **options):
        seen.append(str(args[0]))
        return original(self, *args, **options)

    AbstractConnection.send_command = counting  # type: ignore[method-assign]
    try:
        for _ in range(calls):
            fn()
    finally:
        AbstractConnection.send_command = original  # type: ignore[method-assign]
    assert set(seen) == {"GETRANGE"}, set(seen)  # the version, then the remembered token
    return len(seen) / calls


def mass_insert(conn, count: int) -> None:
    """``count`` filler accounts (256-byte values, with a TTL), as fast as Redis takes them."""
    import shutil
    import subprocess

    value = b"md1:" + uuid.uuid4().hex.encode() + b"::" + b"x" * 218

    def resp(n: int) -> bytes:
        key = f"{REDIS_PREFIX}:1:msal_django:{CLIENT_ID}:{uuid.UUID(int=n)}.filler".encode()
        parts = [b"SET", key, value, b"EX", b"86400"]
        out = [b"*%d\r\n" % len(parts)]
        out += [b"$%d\r\n%s\r\n" % (len(p), p) for p in parts]
        return b"".join(out)

    kwargs = conn.connection_pool.connection_kwargs
    cli = shutil.which("redis-cli")
    if cli:
        command = [
            cli,
            "-h",
            str(kwargs.get("host", "127.0.0.1")),
            "-p",
            str(kwargs.get("port", 6379)),
        ]
        command += ["-n", str(kwargs.get("db", 0)), "--pipe"]
        with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL) as pipe:
            assert pipe.stdin is not None
            for start in range(0, count, 50_000):
                pipe.stdin.write(
                    b"".join(resp(n) for n in range(start, min(count, start + 50_000)))
                )
            pipe.stdin.close()
        return
    for start in range(0, count, 10_000):  # no redis-cli: pipelines of 10,000
        batch = conn.pipeline(transaction=False)
        for n in range(start, min(count, start + 10_000)):
            batch.execute_command(*resp(n).split(b"\r\n")[2::2])
        batch.execute()


def delete_prefix(conn) -> None:
    batch: list[bytes] = []
    for key in conn.scan_iter(match=f"{REDIS_PREFIX}:*", count=10_000):
        batch.append(key)
        if len(batch) >= 10_000:
            conn.unlink(*batch)
            batch = []
    if batch:
        conn.unlink(*batch)


def bench_identity(idp, args, state, user, home_account_id):
    """Microsoft's identity package: get_token_for_user as its Django views call it.

    Both sides load a real Django session per call, as a request does: identity keeps
    the user's token cache in it; we keep the account id in it and the tokens in the store.
    """
    try:
        from identity.django import Auth
    except ImportError:
        return [], ["identity: skipped, `pip install identity` to compare"]
    import msal
    from django.contrib.sessions.backends.db import SessionStore

    import msal_django
    from msal_django.constants import SESSION_ACCOUNT_KEY

    # identity builds its MSAL apps without an http_client: requests must trust the CA.
    os.environ["REQUESTS_CA_BUNDLE"] = idp.ca_file
    auth = Auth(
        CLIENT_ID,
        client_credential=SECRET,
        authority=idp.authority,
        redirect_uri=REDIRECT_URI.rstrip("/"),  # identity mounts its views under it
    )
    cache = msal.SerializableTokenCache()
    cache.deserialize(state)
    username = next(iter(cache.find(msal.TokenCache.CredentialType.ACCOUNT)))["username"]
    # What identity's own sign-in leaves in the Django session: the user and the cache.
    theirs_session = SessionStore()
    theirs_session.update({"_logged_in_user": {"preferred_username": username}})
    theirs_session["_token_cache"] = state
    theirs_session.save()
    ours_session = SessionStore()
    ours_session[SESSION_ACCOUNT_KEY] = home_account_id
    ours_session.save()

    def theirs() -> str:
        session = SessionStore(theirs_session.session_key)
        return str(auth._build_auth(session).get_token_for_user(SCOPES)["access_token"])

    def ours() -> str:
        request = SimpleNamespace(user=user, session=SessionStore(ours_session.session_key))
        return msal_django.get_token(request, SCOPES)

    # The same with the session already loaded, as Django's middleware has it by the
    # time a view asks for a token: the cost of the token call itself.
    loaded_theirs = SessionStore(theirs_session.session_key)
    loaded_theirs.load()
    loaded_request = SimpleNamespace(user=user, session=SessionStore(ours_session.session_key))
    loaded_request.session.load()

    def theirs_loaded() -> str:
        return str(auth._build_auth(loaded_theirs).get_token_for_user(SCOPES)["access_token"])

    def ours_loaded() -> str:
        return msal_django.get_token(loaded_request, SCOPES)

    assert theirs() == ours() == theirs_loaded() == ours_loaded()
    before = idp.count()
    reference, mine, ratio = measure(theirs, ours, args.rounds, args.calls)
    ref_loaded, mine_loaded, ratio_loaded = measure(
        theirs_loaded, ours_loaded, args.rounds, args.calls
    )
    assert idp.count() == before
    rows = [
        ("identity, session loaded", "1", ref_loaded, mine_loaded, ratio_loaded),
        ("identity, + session load", "1", reference, mine, ratio),
    ]
    notes = [
        f"identity (Microsoft's package), get_token_for_user vs our get_token (database "
        f"store): {1 / ratio_loaded:.1f}x faster with the session loaded (the token call "
        f"itself), {1 / ratio:.1f}x including a database session load per call; in those "
        "rows 'floor' is identity's time"
    ]
    return rows, notes


if __name__ == "__main__":
    raise SystemExit(main())
