"""What ``SessionCheckMiddleware`` costs, and how often it asks the provider.

1. A request inside the interval: the middleware around a trivial view, beside the same
   view without it, on a request whose session and user are loaded (as a signed-in page
   has them). CPU time per request (``time.process_time``), median of alternating rounds.
2. Provider calls per account: two threads of one signed-in account sending requests
   through the real middleware, views and local provider for a few intervals of 1 s; the
   refresh-token redemptions the provider counted, per interval, and what that makes per
   hour at the default interval (900 s).

    python bench/bench_session_check.py [--db sqlite|postgres] [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import configure_site, signed_in_client

CLIENT_ID, SECRET = "bench-session-check", "bench-session-check-secret"
CALLS = 20_000


def configure(db: str, authority: str) -> None:
    msal = {"CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": SECRET, "AUTHORITY": authority}
    configure_site(
        db,
        "session_check.sqlite3",
        {**msal, "SESSION_CHECK_INTERVAL": 1},
        middleware=("msal_django.middleware.SessionCheckMiddleware",),
    )


def per_request_cost(client, rounds: int) -> tuple[float, float]:
    """(µs of CPU per request without the middleware, with it), inside the interval."""
    from django.http import HttpResponse
    from django.test import RequestFactory

    from msal_django.constants import SESSION_ACCOUNT_KEY
    from msal_django.middleware import SessionCheckMiddleware
    from msal_django.tokens import session_check

    request = RequestFactory().get("/")
    engine = __import__("django.contrib.sessions.backends.db", fromlist=["SessionStore"])
    request.session = engine.SessionStore(client.cookies["sessionid"].value)
    account = request.session[SESSION_ACCOUNT_KEY]
    request.session.load()
    session_check._postpone(account, 3600)  # inside the interval for the whole run

    def view(request):
        return HttpResponse()

    bare, checked = view, SessionCheckMiddleware(view)
    samples: dict[str, list[float]] = {"bare": [], "checked": []}
    for _ in range(rounds):
        for name, handler in (("bare", bare), ("checked", checked)):
            began = time.process_time()
            for _ in range(CALLS):
                handler(request)
            samples[name].append((time.process_time() - began) / CALLS * 1e6)
    return statistics.median(samples["bare"]), statistics.median(samples["checked"])


def provider_calls(idp, client, intervals: int) -> tuple[int, int]:
    """(requests sent, refresh-token redemptions) over ``intervals`` seconds of two
    threads of one account, the interval being 1 s."""
    from django.test import Client

    from msal_django.tokens import session_check

    session_check.reset()
    before = idp.count("token", grant_type="refresh_token")
    sent = [0, 0]
    stop = time.monotonic() + intervals

    def work(slot: int) -> None:
        mine = Client()
        mine.cookies = client.cookies
        while time.monotonic() < stop:
            # A page (the logout confirmation: a GET signs no one out).
            assert mine.get("/auth/logout/").status_code == 200
            sent[slot] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(sent), idp.count("token", grant_type="refresh_token") - before


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--intervals", type=int, default=5)
    args = parser.parse_args()

    from msal_django.testing import IdentityProvider

    with IdentityProvider() as idp:
        idp.register_client(CLIENT_ID, SECRET, redirect_uris=["http://testserver/auth/callback/"])
        configure(args.db, idp.authority)
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        client = signed_in_client(idp, "alice")
        bare, checked = per_request_cost(client, args.rounds)
        sent, calls = provider_calls(idp, client, args.intervals)

    print(f"\nSessionCheckMiddleware ({args.db}; median of {args.rounds} rounds)\n")
    print("| request inside the interval | CPU per request |")
    print("| --- | ---: |")
    print(f"| trivial view | {bare:.2f} µs |")
    print(f"| the same behind SessionCheckMiddleware | {checked:.2f} µs |")
    print(f"| the middleware's own cost | {checked - bare:.2f} µs |")
    per_interval = calls / args.intervals
    print(f"\nOne account, 2 threads, {args.intervals} intervals of 1 s: {sent} requests, ")
    print(f"{calls} refresh-token redemptions ({per_interval:.2f} per interval): at the default")
    print(f"interval (900 s), {per_interval * 3600 / 900:.1f} provider calls per active account")
    print("per hour.")


if __name__ == "__main__":
    main()
