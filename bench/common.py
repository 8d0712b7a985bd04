"""What the benchmark scripts share."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def database(db: str, filename: str) -> dict[str, Any]:
    """The benchmark's database: a fresh SQLite file, or the local PostgreSQL."""
    if db == "postgres":
        return {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": "127.0.0.1",
            "USER": "postgres",
            "NAME": os.environ.get("BENCH_PGDATABASE", "test"),
        }
    path = os.path.join(tempfile.mkdtemp(prefix="msal-django-bench-"), filename)
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": path}


@contextmanager
def msal_django_settings(**changes: Any) -> Iterator[None]:
    """``MSAL_DJANGO`` with ``changes`` (a value of None removes the key) for the block,
    through ``override_settings``, so what the package builds per settings change (the
    MSAL app, the Redis client and key locator, the token memory) is built again."""
    from django.conf import settings
    from django.test import override_settings

    changed = {**settings.MSAL_DJANGO, **changes}
    with override_settings(MSAL_DJANGO={k: v for k, v in changed.items() if v is not None}):
        yield


def configure_site(
    db: str,
    filename: str,
    msal: dict[str, Any],
    *,
    middleware: tuple[str, ...] = (),
    caches: dict[str, Any] | None = None,
) -> None:
    """Django for a benchmark that signs people in through the real views: the sessions
    and auth middleware (then ``middleware``), the bench's URLs, ``MSAL_DJANGO=msal``."""
    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        DEBUG=False,
        ALLOWED_HOSTS=["testserver"],
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "msal_django",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            *middleware,
        ],
        AUTHENTICATION_BACKENDS=["msal_django.backends.MsalBackend"],
        ROOT_URLCONF="bench.auth_urls",
        TEMPLATES=[
            {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}
        ],
        DATABASES={"default": database(db, filename)},
        CACHES=caches or {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        USE_TZ=True,
        MSAL_DJANGO={
            "INSTANCE_DISCOVERY": False,
            "HTTP_CLIENT": "msal_django.testing.http_client",
            "SCOPES": ["User.Read"],
            **msal,
        },
    )
    django.setup()


def signed_in_client(idp: Any, username: str) -> Any:
    """A test client signed in as ``username`` through the views and the local provider."""
    from urllib.parse import urlsplit

    from django.test import Client

    client = Client()
    start = client.get("/auth/login/")
    redirect = urlsplit(idp.sign_in(start["Location"], username))
    assert client.get(f"{redirect.path}?{redirect.query}").status_code == 302
    return client
