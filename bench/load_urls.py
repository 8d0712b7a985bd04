"""The pages bench/load.py measures (settings: load_site.py)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_redis import get_redis_connection

import msal_django
from msal_django.constants import SESSION_ACCOUNT_KEY


def static(request: HttpRequest) -> HttpResponse:
    """No session, no user: the server's own floor."""
    return HttpResponse("static")


@login_required
def signed_in(request: HttpRequest) -> HttpResponse:
    """The session and the user loaded: the page a token page is compared with."""
    return HttpResponse(f"signed in: {request.user.get_username()}")


@login_required
def floor(request: HttpRequest) -> HttpResponse:
    """The bare page plus the one read no per-user token cache can skip: the version of
    the user's partition, on the primary (a raw SELECT, or a GETRANGE of the Redis key)."""
    home_account_id = request.session[SESSION_ACCOUNT_KEY]
    if settings.MSAL_DJANGO["TOKEN_CACHE"] == "redis":
        key = caches["tokens"].make_key(f"msal_django:msal-django-load:{home_account_id}")
        head = get_redis_connection("tokens").getrange(key, 0, 36)
    else:
        with connection.cursor() as cursor:
            cursor.execute(VERSION_SQL, (home_account_id, request.user.pk))
            head = cursor.fetchone()[0]
    return HttpResponse(f"signed in: {request.user.get_username()} ({len(head)})")


VERSION_SQL = (
    "SELECT version FROM msal_django_cachedaccount WHERE home_account_id = %s AND user_id = %s"
)


@login_required
def token(request: HttpRequest) -> HttpResponse:
    """The same page, plus a token for an API (not called: that is the API's time)."""
    access_token = msal_django.get_token(request, ["User.Read"])
    return HttpResponse(f"signed in: {request.user.get_username()} ({len(access_token)})")


@csrf_exempt
@require_POST
def logout_now(request: HttpRequest) -> HttpResponse:
    """Django's logout (``auth.logout``), as the package's logout view makes it: every
    account of the user removed (and, with hits served with no read, the window waited)."""
    logout(request)
    return HttpResponse("signed out")


urlpatterns = [
    path("static/", static),
    path("signed-in/", signed_in),
    path("floor/", floor),
    path("token/", token),
    path("logout-now/", logout_now),
    path("auth/", include("msal_django.urls")),
]
