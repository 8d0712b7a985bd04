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
