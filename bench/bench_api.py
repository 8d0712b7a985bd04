"""The protected-API paths, measured side by side in one run (medians over rounds):

- a view behind ``require_token`` (bearer validation with a warm JWKS, the linked user's
  lookup) beside the same bare view, both through Django's test client and middleware;
- ``get_token_on_behalf_of`` on a cache hit beside ``get_token`` on a cache hit (the
  same store, one account each).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench import CLIENT_ID, REDIRECT_URI, SCOPES, SECRET, configure, measure, sign_in

SPA_ID = "msal-django-bench-spa"
URLS = "bench.bench_api"


def bare(request):
    from django.http import JsonResponse

    return JsonResponse({"user": ""})


def _protected(request):
    from django.http import JsonResponse

    return JsonResponse({"user": request.user.get_username()})


def _on_behalf_of(request):
    from django.http import JsonResponse

    import msal_django

    return JsonResponse({"token": len(msal_django.get_token_on_behalf_of(request, SCOPES))})


urlpatterns: list = []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()

    from msal_django.testing import IdentityProvider

    idp = IdentityProvider()
    idp.register_client(CLIENT_ID, SECRET, redirect_uris=[REDIRECT_URI])
    idp.register_client(SPA_ID, "bench-spa-secret")
    idp.start()
    try:
        configure(args.db, idp.authority, args.redis_url)
        return run(idp, args)
    finally:
        idp.stop()


def run(idp, args) -> int:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.urls import clear_url_caches, path

    import msal_django
    from msal_django.api import require_token
    from msal_django.constants import SESSION_ACCOUNT_KEY
    from msal_django.models import CachedAccount
    from msal_django.stores import AccountInfo, get_store

    sys.modules.setdefault(URLS, sys.modules[__name__])  # run as a script: __main__
    settings.ROOT_URLCONF = URLS
    settings.ALLOWED_HOSTS = ["testserver"]
    urlpatterns[:] = [
        path("bare/", bare),
        path("protected/", require_token(scopes=["access_as_user"])(_protected)),
        path("obo/", require_token(scopes=["access_as_user"])(_on_behalf_of)),
    ]
    clear_url_caches()
    call_command("migrate", verbosity=0)
    CachedAccount.objects.all().delete()
    token = idp.access_token_for("alice", SPA_ID, [f"api://{CLIENT_ID}/access_as_user"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    warm = client.get("/protected/")  # warms the JWKS, creates alice
    assert warm.status_code == 200, warm.content
    before = idp.count()
    view = measure(
        lambda: client.get("/bare/"), lambda: client.get("/protected/"), args.rounds, args.calls
    )
    during_view = idp.count() - before

    # get_token's cache hit for a signed-in user beside get_token_on_behalf_of's.
    idp.consent("alice", CLIENT_ID, SCOPES)
    home_account_id, state = sign_in(idp)
    user = get_user_model().objects.get(username="alice@example.com")
    get_store().replace(home_account_id, state, user, AccountInfo(username="alice"))
    request = SimpleNamespace(user=user, session={SESSION_ACCOUNT_KEY: home_account_id})
    admitted = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert admitted.get("/obo/").status_code == 200  # the one provider call
    from django.test import RequestFactory

    from msal_django.api import authenticate

    api_request = RequestFactory().get("/obo/")
    authenticate(api_request, token)
    before_obo = idp.count()
    obo = measure(
        lambda: msal_django.get_token(request, SCOPES),
        lambda: msal_django.get_token_on_behalf_of(api_request, SCOPES),
        args.rounds,
        args.calls,
    )
    during_obo = idp.count() - before_obo
    print(
        f"protected API, {args.db} token store, median of {args.rounds} rounds x {args.calls} calls"
    )
    print("| path                                   | baseline µs |   ours µs | ratio |")
    print("|----------------------------------------|-------------|-----------|-------|")
    for name, (baseline, ours, ratio) in (
        ("require_token view vs bare view", view),
        ("get_token_on_behalf_of hit vs get_token", obo),
    ):
        print(f"| {name:<39}| {baseline:11.1f} | {ours:9.1f} | {ratio:5.2f} |")
    print(f"require_token overhead per request: {view[1] - view[0]:.1f} µs")
    print(f"identity provider requests during the timed calls: {during_view + during_obo}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
