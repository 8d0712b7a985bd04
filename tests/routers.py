"""A primary/replica router for the tests of reads that must go to the primary."""

from __future__ import annotations

from typing import Any


class LaggingReplicaRouter:
    """Reads of msal_django's models go to "replica", writes to "default"."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return "replica" if model._meta.app_label == "msal_django" else None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return "default"

    def allow_relation(self, *objects: Any, **hints: Any) -> bool:
        return True


class OtherPrimaryRouter:
    """Every write (so every read that must see the primary) goes to "replica", which plays
    another primary here; plain reads go to "default"."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return "default"

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return "replica"

    def allow_relation(self, *objects: Any, **hints: Any) -> bool:
        return True
