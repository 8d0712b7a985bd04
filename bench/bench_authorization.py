"""A sign-in that maps groups: 10 and 200 groups in the ID token, and an overage of
1,000 groups read from the local provider's Graph (/v1.0/me/transitiveMemberOf).

Each is a real sign-in through the callback view, real MSAL and the local provider over
HTTPS, with ``MIRROR_GROUPS`` (every value a Django group: the most writes). Printed:
the database queries of the callback and its median time, on the first sign-in (groups
and memberships created) and on a repeated one (nothing changed). The membership sync
reads a fixed few rows and writes in bulk: its queries do not grow with the groups.

    python bench/bench_authorization.py [--db sqlite|postgres] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import configure_site

CLIENT_ID, SECRET = "bench-authorization", "bench-authorization-secret"


def configure(db: str, authority: str, graph_url: str) -> None:
    msal = {"CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": SECRET, "AUTHORITY": authority}
    configure_site(
        db, "authorization.sqlite3", {**msal, "GRAPH_URL": graph_url, "MIRROR_GROUPS": True}
    )


def sign_in_once(idp, username: str) -> tuple[int, float, int]:
    """(queries of the callback, its seconds, Graph requests) of one sign-in."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    start = client.get("/auth/login/")
    redirect = urlsplit(idp.sign_in(start["Location"], username))
    graph_before = idp.count("graph_groups")
    with CaptureQueriesContext(connection) as queries:
        began = time.perf_counter()
        response = client.get(f"{redirect.path}?{redirect.query}")
        elapsed = time.perf_counter() - began
    assert response.status_code == 302, response.content[:500]
    return len(queries), elapsed, idp.count("graph_groups") - graph_before


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from msal_django.testing import IdentityProvider

    with IdentityProvider() as idp:
        idp.register_client(CLIENT_ID, SECRET, redirect_uris=["http://testserver/auth/callback/"])
        configure(args.db, idp.authority, f"{idp.base_url}/v1.0")
        from django.contrib.auth.models import Group
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        cases = [("10 groups in the token", 10, False), ("200 groups in the token", 200, False)]
        cases.append(("overage: 1,000 groups from Graph", 1000, True))
        rows = []
        for label, count, overage in cases:
            username = f"u{count}"
            groups = [f"{username}-group-{i:04d}" for i in range(count)]
            idp.add_user(username, groups=groups, overage=overage)
            idp.consent(username, CLIENT_ID, ["GroupMember.Read.All"])
            first = sign_in_once(idp, username)
            again = [sign_in_once(idp, username) for _ in range(args.rounds)]
            assert Group.objects.filter(name__startswith=f"{username}-").count() == count
            rows.append((label, first, again))

    print(f"\nSign-in with group mapping ({args.db}, MIRROR_GROUPS; median of {args.rounds})\n")
    print("| case | first sign-in: queries, time | again: queries, median time | Graph pages |")
    print("| --- | ---: | ---: | ---: |")
    for label, first, again in rows:
        median = statistics.median(t for _, t, _ in again)
        print(
            f"| {label} | {first[0]}, {first[1] * 1000:.1f} ms | "
            f"{again[0][0]}, {median * 1000:.1f} ms | {first[2]} |"
        )


if __name__ == "__main__":
    main()
