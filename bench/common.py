"""What the benchmark scripts share."""

from __future__ import annotations

import os
import tempfile
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
